// Verification of stored archives over a real `clawback serve` and a real
// agent (mTLS on loopback): a good archive passes with its entries counted;
// a flipped byte, a truncated file and a flipped byte in an archive without
// block digests each fail with a message naming the problem; the result is
// on the backup's JSON and in the audit log; a regular user verifies their
// own instance's backups only; --verify-after-backup and the daily sample
// start verifications on their own.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class VerifyE2eTest : public E2eTest {
 protected:
  // Starts the stack (with `args`) and alpha over a small root, takes a backup.
  json Setup(std::vector<std::string> args = {}) {
    StackOptions options;
    options.controller_args = std::move(args);
    StartStack(options);
    if (HasFailure()) return json();
    alpha_ = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
    if (HasFailure()) return json();
    return CompletedBackup(alpha_["id"].get<int64_t>());
  }

  // POST verify (expects 202), then waits for a final verification.
  json Verify(int64_t backup_id) {
    PlainResponse r = stack_->Call("POST", "/api/v1/backups/" + std::to_string(backup_id) + "/verify");
    EXPECT_EQ(r.status, 202) << r.Describe();
    return WaitVerified(backup_id);
  }

  json WaitVerified(int64_t backup_id) {
    json last;
    bool ok = WaitFor(
        [&] {
          last = stack_->GetBackup(backup_id);
          return last["verification"].is_object() && last["verification"]["status"] != "running";
        },
        30s);
    EXPECT_TRUE(ok) << "verification never finished: " << last.dump();
    return last["verification"];
  }

  static void FlipByte(const std::string& path, uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }

  json alpha_;
};

TEST_F(VerifyE2eTest, GoodArchivePassesAndIsAudited) {
  json b = Setup();
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(b["verification"].is_null()) << b.dump();
  json v = Verify(b["id"]);
  EXPECT_EQ(v.value("status", ""), "passed") << v.dump();
  EXPECT_TRUE(v["error"].is_null()) << v.dump();
  EXPECT_EQ(v.value("entries", uint64_t{0}), b["entries"].get<uint64_t>()) << v.dump();
  EXPECT_EQ(v.value("archive_bytes", uint64_t{0}), b["size_bytes"].get<uint64_t>()) << v.dump();
  EXPECT_GE(v.value("frames", 0), 1) << v.dump();
  EXPECT_TRUE(v.value("block_digests", false)) << v.dump();
  EXPECT_TRUE(v.value("index", false)) << "agents write archive format 2: its index is checked " << v.dump();
  EXPECT_EQ(v.value("skippable_frames", 0), 2) << "the index and the seek table " << v.dump();
  EXPECT_TRUE(v["at"].is_string()) << v.dump();

  // In the list too, and audited: the request and the outcome.
  PlainResponse list = stack_->Call("GET", "/api/v1/backups?instance=alpha");
  ASSERT_EQ(list.status, 200) << list.Describe();
  EXPECT_EQ(list.Json()["backups"][0]["verification"].value("status", ""), "passed") << list.body;
  const std::string target = "backup:" + std::to_string(b["id"].get<int64_t>());
  for (const char* action : {"backup.verify", "backup.verified"}) {
    PlainResponse audit = stack_->Call("GET", std::string("/api/v1/audit?action=") + action);
    ASSERT_EQ(audit.status, 200) << audit.Describe();
    const json events = audit.Json()["events"];
    ASSERT_FALSE(events.empty()) << action << ": " << audit.body;
    EXPECT_EQ(events[0].value("target", ""), target) << audit.body;
    EXPECT_EQ(events[0].value("outcome", ""), "ok") << audit.body;
  }
}

TEST_F(VerifyE2eTest, FlippedByteFailsNamingTheBlock) {
  json b = Setup();
  ASSERT_FALSE(HasFailure());
  const std::string file = StoredFile(b);
  FlipByte(file, fs::file_size(file) / 2);
  json v = Verify(b["id"]);
  EXPECT_EQ(v.value("status", ""), "failed") << v.dump();
  EXPECT_TRUE(ContainsNoCase(v.value("error", ""), "sha256 mismatch in block 0")) << v.dump();
  EXPECT_EQ(v["error"].get<std::string>().find(stack_->backups_dir()), std::string::npos)
      << "no host path in the error: " << v.dump();
  PlainResponse audit = stack_->Call("GET", "/api/v1/audit?action=backup.verified");
  EXPECT_TRUE(ContainsNoCase(audit.Json()["events"][0].value("outcome", ""), "failed: sha256 mismatch"))
      << audit.body;
}

TEST_F(VerifyE2eTest, FlippedByteWithoutBlockDigestsFailsInTheFrameOrHash) {
  json b = Setup();
  ASSERT_FALSE(HasFailure());
  const std::string file = StoredFile(b);
  ASSERT_TRUE(fs::remove(file + ".blocks")) << "the backup has block digests";
  FlipByte(file, fs::file_size(file) / 2);
  json v = Verify(b["id"]);
  EXPECT_EQ(v.value("status", ""), "failed") << v.dump();
  const std::string error = v.value("error", "");
  EXPECT_TRUE(ContainsNoCase(error, "zstd frame 1") || ContainsNoCase(error, "sha256 mismatch") ||
              ContainsNoCase(error, "tar entry"))
      << v.dump();
  EXPECT_FALSE(v.value("block_digests", true)) << v.dump();
}

TEST_F(VerifyE2eTest, TruncatedArchiveFails) {
  json b = Setup();
  ASSERT_FALSE(HasFailure());
  const std::string file = StoredFile(b);
  fs::resize_file(file, fs::file_size(file) - 100);
  json v = Verify(b["id"]);
  EXPECT_EQ(v.value("status", ""), "failed") << v.dump();
  EXPECT_TRUE(ContainsNoCase(v.value("error", ""), "truncated")) << v.dump();
}

TEST_F(VerifyE2eTest, SecondRequestWhileRunningConflicts) {
  json b = Setup({"--verify-rate", "1"});  // 1 byte/s: stays running
  ASSERT_FALSE(HasFailure());
  const std::string path = "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()) + "/verify";
  PlainResponse first = stack_->Call("POST", path);
  ASSERT_EQ(first.status, 202) << first.Describe();
  EXPECT_EQ(first.Json()["verification"].value("status", ""), "running") << first.body;
  PlainResponse second = stack_->Call("POST", path);
  EXPECT_EQ(second.status, 409) << second.Describe();
  json running = stack_->GetBackup(b["id"]);
  EXPECT_EQ(running["verification"].value("status", ""), "running") << running.dump();
}

TEST_F(VerifyE2eTest, RegularUserVerifiesOwnInstanceOnly) {
  json b = Setup();
  ASSERT_FALSE(HasFailure());
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("root-beta")));
  ASSERT_FALSE(HasFailure());
  json other = CompletedBackup(beta["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const uint16_t port = stack_->controller()->port();
  PlainResponse made = stack_->Call("POST", "/api/v1/users",
                                    json{{"username", "ops"}, {"password", "ops-password-123"},
                                         {"instance_ids", {alpha_["id"]}}});
  ASSERT_EQ(made.status, 201) << made.Describe();
  const auto ops = BearerHeaders(MintToken(port, "ops", "ops-password-123"));

  PlainResponse own = Send(port, "POST", "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()) + "/verify",
                           nullptr, ops);
  EXPECT_EQ(own.status, 202) << own.Describe();
  PlainResponse foreign = Send(
      port, "POST", "/api/v1/backups/" + std::to_string(other["id"].get<int64_t>()) + "/verify", nullptr, ops);
  EXPECT_EQ(foreign.status, 404) << foreign.Describe();
  WaitVerified(b["id"]);
  PlainResponse seen = Send(port, "GET", "/api/v1/backups", nullptr, ops);
  ASSERT_EQ(seen.status, 200) << seen.Describe();
  ASSERT_EQ(seen.Json()["backups"].size(), 1u) << seen.body;
  EXPECT_EQ(seen.Json()["backups"][0]["verification"].value("status", ""), "passed") << seen.body;
}

TEST_F(VerifyE2eTest, VerifyAfterBackupRunsOnItsOwn) {
  json b = Setup({"--verify-after-backup"});
  ASSERT_FALSE(HasFailure());
  json v = WaitVerified(b["id"]);
  EXPECT_EQ(v.value("status", ""), "passed") << v.dump();
  PlainResponse audit = stack_->Call("GET", "/api/v1/audit?action=backup.verified");
  EXPECT_EQ(audit.Json()["events"][0].value("actor", ""), "system") << audit.body;
}

TEST_F(VerifyE2eTest, ScheduleWithVerifyAfterBackupVerifiesItsBackupsOnly) {
  json manual = Setup();
  ASSERT_FALSE(HasFailure());
  PlainResponse made = stack_->Call("POST", "/api/v1/backup-schedules",
                                    json{{"name", "nightly"}, {"instance_ids", {alpha_["id"]}}, {"cron", "0 3 * * *"},
                                         {"paths", {"HOME"}}, {"verify_after_backup", true}});
  ASSERT_EQ(made.status, 201) << made.Describe();
  EXPECT_TRUE(made.Json().value("verify_after_backup", false)) << made.body;
  PlainResponse run = stack_->Call("POST", "/api/v1/backup-schedules/" + std::to_string(made.Json()["id"].get<int64_t>()) + "/run");
  ASSERT_EQ(run.status, 202) << run.Describe();
  ASSERT_EQ(run.Json()["backups"].size(), 1u) << run.body;
  const int64_t id = run.Json()["backups"][0];
  bool ok = false;
  json b = stack_->WaitBackupFinal(id, 60s, &ok);
  ASSERT_TRUE(ok && b["status"] == "completed") << b.dump();
  json v = WaitVerified(id);
  EXPECT_EQ(v.value("status", ""), "passed") << v.dump();
  EXPECT_TRUE(stack_->GetBackup(manual["id"])["verification"].is_null()) << "the manual backup is not verified";
}

TEST_F(VerifyE2eTest, DailySampleVerifiesExistingBackups) {
  json b = Setup({"--verify-sample-percent", "100", "--trust-scan-interval", "1"});
  ASSERT_FALSE(HasFailure());
  json v = WaitVerified(b["id"]);
  EXPECT_EQ(v.value("status", ""), "passed") << v.dump();
}

}  // namespace
}  // namespace clawback::testing
