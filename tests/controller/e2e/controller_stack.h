// The end-to-end test stack: a real `clawback serve` process on a temp data
// dir and real `clawback-agent` processes, all on 127.0.0.1 port 0 (ports come
// from --port-file), plus an authenticated REST client (a personal API token
// created through the API). Every child is SIGKILLed and reaped when the stack
// goes away; a tmpfs the stack mounted is unmounted.
//
// Not thread-safe: one test thread drives one stack.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"
#include "tests/controller/e2e/http_client.h"
#include "tests/support/agent_process.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace clawback::testing {

// Polls `done` every `interval` until it returns true or `timeout` passes.
// For conditions with no event to wait on (a status turning over).
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(50));

// Runs a program to completion with `env` overrides, capturing its output;
// it dies with the test binary.
ProcessOutput RunWithEnv(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

struct ControllerOptions {
  std::string binary;       // clawback
  std::string work_dir;     // port file and log go here
  std::string data_dir;     // --data-dir and CLAWORC_DATA_PATH
  std::string backups_dir;  // CLAWORC_BACKUPS_PATH when non-empty
  std::string admin_password;
  std::vector<std::string> extra_args;  // e.g. {"--stall-timeout", "5"}
  uint64_t fsize_limit = 0;
  std::chrono::milliseconds start_timeout{20000};
};

// One `clawback serve` process.
class ControllerProcess : public ServerProcess {
 public:
  static Result<std::unique_ptr<ControllerProcess>> Start(const ControllerOptions& options);

 private:
  ControllerProcess() = default;
};

struct StackOptions {
  std::vector<std::string>
      controller_args;            // extra `clawback serve` flags (--probe-interval 1 is always set)
  bool backups_on_tmpfs = false;  // CLAWORC_BACKUPS_PATH on a tmpfs of tmpfs_size
  std::string tmpfs_size = "2m";
  uint64_t fsize_limit = 0;  // RLIMIT_FSIZE for the controller (fallback when mount fails)
  std::string backups_dir;   // explicit CLAWORC_BACKUPS_PATH (overrides tmpfs)
};

class E2eStack {
 public:
  static constexpr const char* kAdminPassword = "e2e-admin-password-1";

  explicit E2eStack(StackOptions options = {});
  ~E2eStack();
  E2eStack(const E2eStack&) = delete;
  E2eStack& operator=(const E2eStack&) = delete;

  TempDir& tmp() { return tmp_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string pki_dir() const { return data_dir_ + "/pki"; }
  // Where archives go: CLAWORC_BACKUPS_PATH or <data>/backups.
  std::string backups_dir() const;
  // CLAWORC_BACKUPS_PATH for the next StartController (spelled as given).
  void set_backups_dir(const std::string& dir) { options_.backups_dir = dir; }
  // Extra `clawback serve` flags for the next StartController.
  void set_controller_args(std::vector<std::string> args) { options_.controller_args = std::move(args); }
  bool tmpfs_mounted() const { return tmpfs_mounted_; }
  ControllerProcess* controller() { return controller_.get(); }

  // Starts `clawback serve` (again, after a kill, on the same data dir), then
  // signs in and, the first time, creates the API token used by Call().
  Status StartController();
  // SIGKILLs the controller and reaps it.
  void KillController();

  // An authenticated API call (Bearer token). `path` starts with "/api/v1" or
  // "/healthz"; a null body sends none. Transport errors become a status 0
  // response with the error text.
  PlainResponse Call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
                     std::vector<std::pair<std::string, std::string>> headers = {});
  // The same without credentials.
  PlainResponse CallAnonymous(const std::string& method, const std::string& path,
                              const nlohmann::json& body = nullptr,
                              std::vector<std::pair<std::string, std::string>> headers = {});
  // GET path streamed into `file`.
  PlainResponse Download(const std::string& path, const std::string& file,
                         std::vector<std::pair<std::string, std::string>> headers = {});

  // Registers instance `name` (agent_url first pointing nowhere), gets its
  // bundle from POST /instances/{id}/bundle, starts its agent over `root`,
  // points the instance at it and waits until it is `running`. Returns the
  // instance JSON, or an error. With `cert` set, the agent uses those files
  // (and `ca`) instead of a bundle.
  Result<nlohmann::json> AddInstance(
      const std::string& name, const std::string& root, std::vector<std::string> agent_args = {},
      const std::optional<std::pair<std::string, std::string>>& cert = std::nullopt,
      const std::string& ca = "");
  // Writes ca.crt, agent.crt, agent.key of an instance's bundle into `dir`:
  // from the admin API, or offline with `clawback instance bundle`.
  Status BundleViaApi(int64_t instance_id, const std::string& dir);
  Status BundleViaCli(const std::string& name, const std::string& dir);
  // Registers an instance without an agent of its own.
  Result<nlohmann::json> RegisterInstance(const std::string& name, const std::string& agent_url);
  AgentProcess* agent(const std::string& name);
  std::string AgentUrl(const std::string& name);
  // SIGKILLs an instance's agent and reaps it.
  void KillAgent(const std::string& name);
  // Starts an instance's agent again (after KillAgent, or SIGKILLing a live
  // one first) with the options AddInstance gave it, on a new port, and
  // points the instance at it. Does not wait for the prober.
  Status RestartAgent(const std::string& name);

  nlohmann::json GetInstance(int64_t id);
  // Polls the instance until `pred` holds; returns the last JSON seen.
  nlohmann::json WaitInstance(int64_t id, const std::function<bool(const nlohmann::json&)>& pred,
                              std::chrono::milliseconds timeout, bool* ok);

  // POST /instances/{id}/backups; returns the response (202 {id} expected).
  PlainResponse CreateBackup(int64_t instance_id, const nlohmann::json& body = nlohmann::json::object());
  nlohmann::json GetBackup(int64_t id);
  // POST /backups/{id}/restore into `target_instance_id` (202 {id} expected).
  PlainResponse CreateRestore(int64_t backup_id, const nlohmann::json& target_instance_id);
  // Polls the backup until `pred` holds (or a final state when pred is null).
  nlohmann::json WaitBackup(int64_t id, const std::function<bool(const nlohmann::json&)>& pred,
                            std::chrono::milliseconds timeout, bool* ok);
  nlohmann::json WaitBackupFinal(int64_t id, std::chrono::milliseconds timeout, bool* ok);
  nlohmann::json WaitRestoreFinal(int64_t id, std::chrono::milliseconds timeout, bool* ok);

  // Every regular file below `dir`, as paths relative to it.
  static std::vector<std::string> FilesUnder(const std::string& dir);

  // Log tails of the controller and agents, for failure messages.
  std::string Logs() const;

 private:
  PlainResponse DoCall(const std::string& method, const std::string& path, const nlohmann::json& body,
                       std::vector<std::pair<std::string, std::string>> headers, bool auth);

  StackOptions options_;
  TempDir tmp_;
  std::string data_dir_;
  std::string tmpfs_dir_;
  bool tmpfs_mounted_ = false;
  std::unique_ptr<ControllerProcess> controller_;
  std::string token_;
  std::map<std::string, std::unique_ptr<AgentProcess>> agents_;
  std::map<std::string, std::pair<int64_t, AgentProcessOptions>> agent_options_;  // for RestartAgent
  std::vector<std::string> old_controller_logs_;
};

// Binaries under test (compile definitions from CMake).
const char* ClawbackBinary();
const char* AgentBinary();

}  // namespace clawback::testing
