// The fixture every end-to-end test uses: one fresh E2eStack (own temp dir,
// own data dir, own controller and agents) per test, sample container roots,
// and waits shared by the suites. On failure (or with CLAWBACK_E2E_VERBOSE=1),
// TearDown prints the tails of the controller's and agents' logs.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/controller/e2e/controller_stack.h"

namespace clawback::testing {

class E2eTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  void TearDown() override;

  // Creates the stack and starts its controller (fatal failure on error).
  void StartStack(StackOptions options = {});

  // A small container root: <dir>/home/claworc with the default generated
  // tree (special files included) and <dir>/etc/app/app.conf.
  static std::string MakeSmallRoot(const std::string& dir);
  // A container root shared read-only by the tests of this process, with a
  // 48 MiB log file under /home/claworc: with SlowAgentArgs() its backup
  // streams for many seconds, long enough to act on it mid-transfer.
  static const std::string& BigRoot();
  // Agent flags that make compression the bottleneck (zstd level 19, one worker).
  static std::vector<std::string> SlowAgentArgs();

  // Adds an instance with its agent; fatal failure on error.
  json AddInstance(const std::string& name, const std::string& root,
                   std::vector<std::string> agent_args = {});

  // A source and an empty restore target: instance `alpha` over
  // `alpha_root` and instance `beta` over a new empty <tmp>/root-beta. Check
  // HasFailure() after it.
  struct SourceAndTarget {
    json alpha;
    json beta;
    std::string beta_root;
  };
  SourceAndTarget AddAlphaAndEmptyBeta(const std::string& alpha_root);

  // Starts a backup (expects 202) and returns its id, or -1 after a failure.
  int64_t StartBackup(int64_t instance_id, const json& body = json::object());
  // Starts a backup and waits for it to complete; returns the record.
  json CompletedBackup(int64_t instance_id, const json& body = json::object());
  // Waits until the backup is `running` with bytes received and its
  // *.partial file exists under <backups>/<instance>/.
  json WaitStreaming(int64_t backup_id, const std::string& instance_name);

  // Path of a completed backup's archive in the store.
  std::string StoredFile(const json& backup) const;
  // Files of an instance's folder in the backups dir.
  std::vector<std::string> InstanceFiles(const std::string& instance_name) const;
  // The same, sorted by name.
  std::vector<std::string> SortedInstanceFiles(const std::string& instance_name) const;

  static std::string ReadFile(const std::string& path);
  static bool ContainsNoCase(const std::string& haystack, const std::string& needle);

  std::unique_ptr<E2eStack> stack_;
};

}  // namespace clawback::testing
