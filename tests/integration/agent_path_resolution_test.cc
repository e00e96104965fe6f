// Requested backup paths are resolved inside the agent's root, and the system
// dirs and pseudo filesystems are left out by what a path resolves to, not by
// its text (issue 13, item 5). Real clawback-agent processes over mTLS; the
// tests with --root / only read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/agent_suite.h"
#include "tests/support/mtls_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kAgentBinary[] = CLAWBACK_AGENT_BINARY;

class AgentPathResolutionTest : public AgentSuite {
 protected:
  static void SetUpTestSuite() { CreateAgentSuite("clawback-resolve-it-"); }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& root) {
    auto agent = AgentProcess::Start(
        {kAgentBinary, tmp_->path(), agent_cert_.cert, agent_cert_.key, pki_->ca_cert(), root, {}});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }

  // POST /v1/backup with `paths`; the archive goes to a file whose entry
  // names are listed in `names` (when the backup streamed).
  HttpResponse Backup(uint16_t port, const std::vector<std::string>& paths, std::string* names = nullptr) {
    fs::create_directories(tmp_->Sub("archives"));
    const std::string archive = tmp_->Sub("archives") + "/" + std::to_string(++archives_) + ".tar.zst";
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = json{{"paths", paths}}.dump();
    r.on_body = [&out](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      return out ? Status::Ok() : Status::IoError("write failed");
    };
    auto res = SendRequest(port, {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key}, r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    out.close();
    // on_body received the body whatever the status: an error's JSON is in the file.
    if (res.ok() && res->status != 200) res->body = ReadWholeFile(archive);
    if (names != nullptr && res.ok() && res->status == 200) {
      ProcessOutput tar = RunProcess({"tar", "--zstd", "-tf", archive});
      EXPECT_EQ(tar.exit_code, 0) << tar.output;
      *names = tar.output;
    }
    return res.ok() ? *res : HttpResponse{};
  }

  static void ExpectRefusedAsExcluded(const HttpResponse& res) {
    EXPECT_EQ(res.status, 400) << res.body;
    json body = json::parse(res.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res.body;
    EXPECT_NE(body.value("error", "").find("excluded system directory"), std::string::npos) << res.body;
  }

  int archives_ = 0;
};


void WriteText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A container root with its own var/run -> ../run (as Debian images have),
// a /run with content, a planted ~/p -> /proc and a /proc stand-in, and a
// legitimate var/lib/app -> /srv/app.
TEST_F(AgentPathResolutionTest, SymlinkedComponentsResolveInsideTheRootAndExclusionsApplyToTheResult) {
  const std::string root = tmp_->Sub("container");
  WriteText(root + "/run/lock/secret", "lock state\n");
  WriteText(root + "/proc/1/environ", "TOKEN=secret\n");
  WriteText(root + "/srv/app/data.txt", "app data\n");
  WriteText(root + "/home/claworc/notes.txt", "notes\n");
  fs::create_directories(root + "/var/lib");
  fs::create_symlink("../run", root + "/var/run");
  fs::create_symlink("/srv/app", root + "/var/lib/app");
  fs::create_symlink("/proc", root + "/home/claworc/p");
  fs::create_symlink("../../../run/lock", root + "/home/claworc/lock");
  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);

  ExpectRefusedAsExcluded(Backup(agent->port(), {"/var/run/lock"}));
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/var/run/lock/secret"}));
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/home/claworc/p/1/environ"}));
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/home/claworc/lock/secret"}));

  // A symlinked component that stays out of the excluded dirs is followed
  // within the root (an absolute target starts at the root, not the host's /),
  // and the entries are named by where the data really is.
  std::string names;
  HttpResponse res = Backup(agent->port(), {"/var/lib/app/data.txt"}, &names);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.trailers["clawback-status"], "ok") << res.error;
  EXPECT_EQ(names, "srv/app/data.txt\n");
  // The last component itself is not followed: a symlink is archived as one.
  res = Backup(agent->port(), {"/var/lib/app"}, &names);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(names, "var/lib/app\n");

  // The symlinks themselves are archived as symlinks when their directory is
  // backed up, and nothing behind them comes along.
  res = Backup(agent->port(), {"HOME"}, &names);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(names, "home/claworc/\nhome/claworc/lock\nhome/claworc/notes.txt\nhome/claworc/p\n");
}

// --root /, reading only: /var/run is a symlink to /run on Debian.
TEST_F(AgentPathResolutionTest, VarRunIsTheExcludedRunUnderTheRealRoot) {
  ASSERT_TRUE(fs::is_symlink("/var/run")) << "this test needs the usual /var/run -> /run";
  ASSERT_TRUE(fs::is_directory("/run/lock"));
  auto agent = StartAgent("/");
  ASSERT_TRUE(agent);
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/var/run/lock"}));
}

// --root /, reading only: a user plants a symlink to /proc in a directory of
// theirs (here one in the build tree, outside the excluded /tmp) and asks for
// another process's environment through it.
TEST_F(AgentPathResolutionTest, PlantedSymlinkToProcUnderTheRealRoot) {
  const std::string home =
      std::string(CLAWBACK_BINARY_DIR) + "/resolve-test-home-" + std::to_string(getpid());
  fs::create_directories(home);
  fs::create_symlink("/proc", home + "/p");
  auto agent = StartAgent("/");
  ASSERT_TRUE(agent);
  ExpectRefusedAsExcluded(Backup(agent->port(), {home + "/p/1/environ"}));
  ExpectRefusedAsExcluded(Backup(agent->port(), {home + "/p/self"}));
  fs::remove_all(home);
}

// Pseudo filesystems are recognised by type wherever the walk meets them,
// including where it starts: an agent whose root is the real /proc (no path
// text names /proc then) archives nothing from it.
TEST_F(AgentPathResolutionTest, PseudoFilesystemIsExcludedByTypeWhereTheWalkStarts) {
  auto agent = StartAgent("/proc");
  ASSERT_TRUE(agent);
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/self/status"}));
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/1/environ"}));
  ExpectRefusedAsExcluded(Backup(agent->port(), {"/"}));
}

}  // namespace
}  // namespace clawback::testing
