// Restarting the real controller with its backups directory spelled or placed
// differently must never lose an archive (issue 13, item 2): the same
// directory with a trailing slash, with "..", through a symlink, moved with
// the setting updated; a relative path or a URL refuses to start and touches
// nothing; a fresh store pointed at an old backups directory deletes nothing.
// After every restart each completed backup still downloads byte-identical
// (SHA-256 of the download equals the record's).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class BackupsPathRestartTest : public E2eTest {
 protected:
  // A stack with instance alpha and two completed backups in <data>/backups.
  void SetUpArchives() {
    ASSERT_NO_FATAL_FAILURE(StartStack());
    json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
    ASSERT_FALSE(HasFailure());
    alpha_id_ = alpha["id"].get<int64_t>();
    for (int i = 0; i < 2; ++i) {
      json b = CompletedBackup(alpha_id_);
      ASSERT_FALSE(HasFailure());
      backups_.push_back(b);
    }
    real_dir_ = stack_->data_dir() + "/backups";
    ASSERT_EQ(ArchiveCount(real_dir_), 2u);
  }

  static size_t ArchiveCount(const std::string& dir) {
    size_t n = 0;
    for (const std::string& f : E2eStack::FilesUnder(dir)) n += f.ends_with(".tar.zst") ? 1 : 0;
    return n;
  }

  // Restarts the controller with CLAWORC_BACKUPS_PATH = `spelled`.
  void RestartWith(const std::string& spelled) {
    stack_->KillController();
    stack_->set_backups_dir(spelled);
    Status st = stack_->StartController();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // Every backup made so far is completed and downloads intact.
  void ExpectAllDownloadable() {
    for (const json& b : backups_) {
      const int64_t id = b["id"].get<int64_t>();
      json now = stack_->GetBackup(id);
      EXPECT_EQ(now.value("status", ""), "completed") << now.dump();
      const std::string out =
          stack_->tmp().Sub("download-" + std::to_string(id) + "-" + std::to_string(++downloads_));
      PlainResponse dl = stack_->Download("/api/v1/backups/" + std::to_string(id) + "/download", out);
      EXPECT_EQ(dl.status, 200) << dl.Describe();
      if (dl.status == 200) EXPECT_EQ(Sha256OfFile(out), b.value("sha256", "")) << "backup " << id;
    }
  }

  std::string ControllerLog() const { return ReadFile(stack_->tmp().path() + "/controller.log"); }

  int64_t alpha_id_ = 0;
  std::vector<json> backups_;
  std::string real_dir_;
  int downloads_ = 0;
};

TEST_F(BackupsPathRestartTest, TrailingSlashKeepsEveryArchive) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  ASSERT_NO_FATAL_FAILURE(RestartWith(real_dir_ + "/"));
  EXPECT_EQ(ArchiveCount(real_dir_), 2u);
  ExpectAllDownloadable();
  // And back to the plain spelling, with a backup made under the slashed one.
  json b = CompletedBackup(alpha_id_);
  ASSERT_FALSE(HasFailure());
  backups_.push_back(b);
  ASSERT_NO_FATAL_FAILURE(RestartWith(real_dir_));
  EXPECT_EQ(ArchiveCount(real_dir_), 3u);
  ExpectAllDownloadable();
}

TEST_F(BackupsPathRestartTest, DotDotInThePathKeepsEveryArchive) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  ASSERT_NO_FATAL_FAILURE(RestartWith(stack_->data_dir() + "/pki/../backups"));
  EXPECT_EQ(ArchiveCount(real_dir_), 2u);
  ExpectAllDownloadable();
}

TEST_F(BackupsPathRestartTest, SymlinkToTheDirectoryKeepsEveryArchive) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  const std::string link = stack_->tmp().Sub("backups-link");
  fs::create_directory_symlink(real_dir_, link);
  ASSERT_NO_FATAL_FAILURE(RestartWith(link));
  EXPECT_EQ(ArchiveCount(real_dir_), 2u);
  ExpectAllDownloadable();
  json b = CompletedBackup(alpha_id_);
  ASSERT_FALSE(HasFailure());
  backups_.push_back(b);
  ASSERT_NO_FATAL_FAILURE(RestartWith(real_dir_));
  EXPECT_EQ(ArchiveCount(real_dir_), 3u);
  ExpectAllDownloadable();
}

TEST_F(BackupsPathRestartTest, MovedDirectoryWithTheSettingUpdatedKeepsEveryArchive) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  stack_->KillController();
  const std::string moved = stack_->tmp().Sub("moved-backups");
  fs::rename(real_dir_, moved);
  ASSERT_NO_FATAL_FAILURE(RestartWith(moved));
  EXPECT_EQ(ArchiveCount(moved), 2u);
  ExpectAllDownloadable();
  // Restores read the moved archives too.
  const std::string target_root = stack_->tmp().Sub("root-beta");
  fs::create_directories(target_root);
  json beta = AddInstance("beta", target_root);
  ASSERT_FALSE(HasFailure());
  PlainResponse r = stack_->CreateRestore(backups_[0]["id"].get<int64_t>(), beta["id"]);
  ASSERT_EQ(r.status, 202) << r.Describe();
  bool ok = false;
  json restore = stack_->WaitRestoreFinal(r.Json()["id"].get<int64_t>(), 90s, &ok);
  EXPECT_EQ(restore.value("status", ""), "completed") << restore.dump();
}

TEST_F(BackupsPathRestartTest, RelativePathOrUrlRefusesToStartAndTouchesNothing) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  const struct {
    std::string spelled;
    std::string says;
  } cases[] = {
      {"relative-backups", "backups path must be absolute"},
      {"ftp://bucket/prefix", "is a URL with an unsupported scheme"},
      // Object storage is supported, but not without credentials.
      {"s3://bucket/prefix", "no AWS credentials"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.spelled);
    stack_->KillController();
    stack_->set_backups_dir(c.spelled);
    Status st = stack_->StartController();
    EXPECT_FALSE(st.ok()) << "the controller started with CLAWORC_BACKUPS_PATH=" << c.spelled;
    EXPECT_TRUE(ContainsNoCase(ControllerLog(), c.says)) << ControllerLog();
    EXPECT_FALSE(fs::exists(c.spelled)) << "a relative directory was created";
    EXPECT_EQ(ArchiveCount(real_dir_), 2u);
  }
  ASSERT_NO_FATAL_FAILURE(RestartWith(real_dir_));
  ExpectAllDownloadable();
}

TEST_F(BackupsPathRestartTest, AFreshStoreOverAnOldBackupsDirectoryDeletesNothing) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  stack_->KillController();
  // A reset data dir (a new store) pointed at the old archives.
  const std::string work = stack_->tmp().Sub("fresh");
  fs::create_directories(work);
  ControllerOptions o;
  o.binary = ClawbackBinary();
  o.work_dir = work;
  o.data_dir = stack_->tmp().Sub("fresh-data");
  o.backups_dir = real_dir_;
  o.admin_password = E2eStack::kAdminPassword;
  auto fresh = ControllerProcess::Start(o);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  ASSERT_TRUE(
      WaitFor([&] { return ContainsNoCase(ReadFile(work + "/controller.log"), "clawback serving"); }, 20s));
  EXPECT_EQ(ArchiveCount(real_dir_), 2u) << ReadFile(work + "/controller.log");
  EXPECT_TRUE(ContainsNoCase(ReadFile(work + "/controller.log"), "does not look like this store"))
      << ReadFile(work + "/controller.log");
  (*fresh)->Signal(SIGKILL);
  (*fresh)->WaitExit(10s);
  // The original store still has them all.
  ASSERT_NO_FATAL_FAILURE(RestartWith(real_dir_));
  ExpectAllDownloadable();
}

// Issue 13 item 6: what users see about a broken archive names the backup,
// never a path of the controller's disk (the log keeps the path).
TEST_F(BackupsPathRestartTest, ArchiveErrorsUsersSeeNameNoHostPath) {
  ASSERT_NO_FATAL_FAILURE(SetUpArchives());
  const std::string target_root = stack_->tmp().Sub("root-beta");
  fs::create_directories(target_root);
  json beta = AddInstance("beta", target_root);
  ASSERT_FALSE(HasFailure());
  const std::string host_dir = fs::canonical(real_dir_).string();

  // A corrupted archive: the restore job fails before sending a byte.
  const json& corrupt = backups_[0];
  {
    std::fstream f(StoredFile(corrupt), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x5a');
  }
  PlainResponse r = stack_->CreateRestore(corrupt["id"].get<int64_t>(), beta["id"]);
  ASSERT_EQ(r.status, 202) << r.Describe();
  bool ok = false;
  json restore = stack_->WaitRestoreFinal(r.Json()["id"].get<int64_t>(), 90s, &ok);
  ASSERT_EQ(restore.value("status", ""), "failed") << restore.dump();
  const std::string message = restore.value("error_message", "");
  EXPECT_NE(message.find("sha256"), std::string::npos) << message;
  EXPECT_EQ(message.find(host_dir), std::string::npos) << message;
  EXPECT_EQ(message.find(stack_->tmp().path()), std::string::npos) << message;

  // A missing archive: refused when the restore is asked for.
  const json& missing = backups_[1];
  fs::remove(StoredFile(missing));
  PlainResponse refused = stack_->CreateRestore(missing["id"].get<int64_t>(), beta["id"]);
  EXPECT_GE(refused.status, 400) << refused.Describe();
  const std::string error = refused.Json().value("error", "");
  EXPECT_NE(error.find("missing"), std::string::npos) << refused.Describe();
  EXPECT_EQ(error.find(stack_->tmp().path()), std::string::npos) << refused.Describe();
  // The log has the path for the operator.
  EXPECT_NE(ControllerLog().find(host_dir), std::string::npos);
}

}  // namespace
}  // namespace clawback::testing
