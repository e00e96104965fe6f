#include "tests/controller/e2e/e2e_fixture.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

void E2eTest::TearDown() {
  // CLAWBACK_E2E_VERBOSE=1 prints the logs of passing tests too.
  const char* verbose = std::getenv("CLAWBACK_E2E_VERBOSE");
  if (stack_ && (HasFailure() || (verbose && *verbose && std::string(verbose) != "0")))
    std::cerr << stack_->Logs();
  stack_.reset();
}

void E2eTest::StartStack(StackOptions options) {
  stack_ = std::make_unique<E2eStack>(std::move(options));
  Status started = stack_->StartController();
  ASSERT_TRUE(started.ok()) << started.ToString();
}

std::string E2eTest::MakeSmallRoot(const std::string& dir) {
  GenerateTree(dir + "/home/claworc", TreeSpec{});
  fs::create_directories(dir + "/etc/app");
  std::ofstream(dir + "/etc/app/app.conf") << "name=" << fs::path(dir).filename().string() << "\n";
  return dir;
}

const std::string& E2eTest::BigRoot() {
  static TempDir* dir = nullptr;
  static std::string root;
  static std::once_flag once;
  std::call_once(once, [] {
    dir = new TempDir("clawback-e2e-big-");  // lives for the process; removed by the OS tmp policy otherwise
    root = dir->Sub("root");
    TreeSpec spec;
    spec.dirs = 2;
    spec.small_files = 10;
    spec.big_file_bytes = 48ull << 20;
    spec.special = false;
    GenerateTree(root + "/home/claworc", spec);
    fs::create_directories(root + "/etc/app");
    std::ofstream(root + "/etc/app/app.conf") << "name=big\n";
    std::atexit([] { delete dir; });
  });
  return root;
}

std::vector<std::string> E2eTest::SlowAgentArgs() {
  return {"--compression-level", "19", "--threads", "1"};
}

nlohmann::json E2eTest::AddInstance(const std::string& name, const std::string& root,
                                    std::vector<std::string> agent_args) {
  auto instance = stack_->AddInstance(name, root, std::move(agent_args));
  EXPECT_TRUE(instance.ok()) << instance.status().ToString();
  if (!instance.ok()) return json();
  return *instance;
}

E2eTest::SourceAndTarget E2eTest::AddAlphaAndEmptyBeta(const std::string& alpha_root) {
  SourceAndTarget out;
  out.alpha = AddInstance("alpha", alpha_root);
  out.beta_root = stack_->tmp().Sub("root-beta");
  fs::create_directories(out.beta_root);
  out.beta = AddInstance("beta", out.beta_root);
  return out;
}

int64_t E2eTest::StartBackup(int64_t instance_id, const json& body) {
  PlainResponse created = stack_->CreateBackup(instance_id, body);
  json j = created.Json();
  EXPECT_EQ(created.status, 202) << created.Describe();
  if (created.status != 202 || !j.is_object() || !j.contains("id")) {
    ADD_FAILURE() << "no backup id in " << created.Describe();
    return -1;
  }
  return j["id"].get<int64_t>();
}

nlohmann::json E2eTest::CompletedBackup(int64_t instance_id, const json& body) {
  int64_t id = StartBackup(instance_id, body);
  if (id < 0) return json();
  bool ok = false;
  json b = stack_->WaitBackupFinal(id, 90s, &ok);
  EXPECT_TRUE(ok) << "backup " << id << " never finished: " << b.dump();
  EXPECT_EQ(b.value("status", ""), "completed") << b.dump();
  return b;
}

nlohmann::json E2eTest::WaitStreaming(int64_t backup_id, const std::string& instance_name) {
  bool ok = false;
  json b = stack_->WaitBackup(
      backup_id,
      [&](const json& j) {
        if (j.value("status", "") != "running")
          return j.value("status", "") != "queued";  // stop on a final state
        if (!j.contains("progress_bytes") || !j["progress_bytes"].is_number() ||
            j["progress_bytes"].get<int64_t>() <= 0) {
          return false;
        }
        for (const std::string& f : InstanceFiles(instance_name)) {
          if (f.size() > 8 && f.compare(f.size() - 8, 8, ".partial") == 0) return true;
        }
        return false;
      },
      60s, &ok);
  EXPECT_TRUE(ok) << "backup " << backup_id << " never streamed into a .partial: " << b.dump();
  EXPECT_EQ(b.value("status", ""), "running")
      << "the backup must still be running when the test acts on it: " << b.dump();
  return b;
}

std::string E2eTest::StoredFile(const json& backup) const {
  return stack_->backups_dir() + "/" + backup.value("instance_name", "?") + "/" +
         backup.value("file_name", "?");
}

std::vector<std::string> E2eTest::InstanceFiles(const std::string& instance_name) const {
  return E2eStack::FilesUnder(stack_->backups_dir() + "/" + instance_name);
}

std::vector<std::string> E2eTest::SortedInstanceFiles(const std::string& instance_name) const {
  std::vector<std::string> files = InstanceFiles(instance_name);
  std::sort(files.begin(), files.end());
  return files;
}

std::string E2eTest::ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool E2eTest::ContainsNoCase(const std::string& haystack, const std::string& needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

}  // namespace clawback::testing
