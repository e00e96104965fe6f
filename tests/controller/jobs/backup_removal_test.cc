// RemoveBackup and RemoveOrphanArchives over a real SQLite store and real
// files: the record goes first, a file without a completed record is swept at
// start, and nothing that is not one of our archives is ever touched.
#include "controller/jobs/backup_removal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "controller/jobs/block_digests.h"
#include "controller/jobs/transfer_jobs.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

namespace fs = std::filesystem;
using testing::OpenTestStore;
using testing::TempDir;

class BackupRemovalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    Instance instance;
    instance.name = "web-1";
    instance.agent_url = "https://127.0.0.1:1";
    auto made = store_->CreateInstance(instance);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    instance_ = *made;
    backups_ = dir_.file("backups");
    fs::create_directories(backups_ + "/web-1");
  }

  // A backup record with the given status; a completed one gets a real file.
  Backup Make(BackupStatus status, UnixTime created_at = 1767225600) {
    Backup b;
    b.instance_id = instance_.id;
    b.instance_name = instance_.name;
    b.status = status;
    b.paths = {"/home/claworc"};
    b.created_at = created_at;
    auto made = store_->CreateBackup(b);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    b = *made;
    if (status == BackupStatus::kCompleted) {
      b.file_path = ArchivePath(backups_, b);
      std::ofstream(b.file_path) << "archive " << b.id;
      EXPECT_TRUE(store_->UpdateBackup(b).ok());
    }
    return b;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Instance instance_;
  std::string backups_;
};

TEST_F(BackupRemovalTest, RemovesRecordAndFile) {
  Backup b = Make(BackupStatus::kCompleted);
  ASSERT_TRUE(fs::exists(b.file_path));
  ASSERT_TRUE(RemoveBackup(*store_, b).ok());
  EXPECT_EQ(store_->GetBackup(b.id).status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(fs::exists(b.file_path));
}

TEST_F(BackupRemovalTest, RefusesASymlinkWhereTheArchiveShouldBeAndKeepsTheRecord) {
  Backup b = Make(BackupStatus::kCompleted);
  const std::string victim = dir_.file("victim");
  std::ofstream(victim) << "not ours";
  fs::remove(b.file_path);
  fs::create_symlink(victim, b.file_path);
  Status st = RemoveBackup(*store_, b);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(store_->GetBackup(b.id).ok()) << "nothing is deleted when the file is refused";
  EXPECT_TRUE(fs::exists(victim));
}

TEST_F(BackupRemovalTest, ACrashBetweenRecordAndFileLeavesOnlyAnOrphanThatStartupSweeps) {
  Backup kept = Make(BackupStatus::kCompleted, 1767225600);
  Backup deleted = Make(BackupStatus::kCompleted, 1767225700);
  // The crash: the record is gone, the file is still there.
  ASSERT_TRUE(store_->DeleteBackup(deleted.id).ok());
  // A failed record with a stray file of its name is not an owner either.
  Backup failed = Make(BackupStatus::kFailed, 1767225800);
  const std::string stray = ArchivePath(backups_, failed);
  std::ofstream(stray) << "stray";
  // Things that are not our archives stay, whatever their names.
  const std::string foreign = backups_ + "/web-1/notes.txt";
  const std::string partial_like = backups_ + "/web-1/web-1-99-20260101-000000.tar.zst.bak";
  std::ofstream(foreign) << "operator's file";
  std::ofstream(partial_like) << "x";

  int removed = -1;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed).ok());
  EXPECT_EQ(removed, 2);
  EXPECT_TRUE(fs::exists(kept.file_path));
  EXPECT_FALSE(fs::exists(deleted.file_path));
  EXPECT_FALSE(fs::exists(stray));
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_TRUE(fs::exists(partial_like));
  EXPECT_TRUE(store_->GetBackup(kept.id).ok());
}

TEST_F(BackupRemovalTest, BlockDigestsGoWithTheirArchive) {
  Backup b = Make(BackupStatus::kCompleted);
  std::ofstream(BlockDigestsPath(b.file_path)) << "digests";
  ASSERT_TRUE(RemoveBackup(*store_, b).ok());
  EXPECT_FALSE(fs::exists(b.file_path));
  EXPECT_FALSE(fs::exists(BlockDigestsPath(b.file_path))) << "a deleted backup leaves no block digests behind";
}

TEST_F(BackupRemovalTest, StartupSweepsBlockDigestsNoCompletedBackupOwnsAndKeepsOwnedOnes) {
  Backup kept = Make(BackupStatus::kCompleted, 1767225600);
  std::ofstream(BlockDigestsPath(kept.file_path)) << "digests";
  // A crash after the digests were stored, before the archive was published.
  Backup failed = Make(BackupStatus::kFailed, 1767225700);
  const std::string orphan = BlockDigestsPath(ArchivePath(backups_, failed));
  std::ofstream(orphan) << "digests";

  int removed = -1;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed).ok());
  EXPECT_EQ(removed, 1);
  EXPECT_TRUE(fs::exists(BlockDigestsPath(kept.file_path)));
  EXPECT_FALSE(fs::exists(orphan));
}

TEST_F(BackupRemovalTest, MissingBackupsDirIsNotAnError) {
  int removed = -1;
  EXPECT_TRUE(RemoveOrphanArchives(*store_, dir_.file("nowhere"), &removed).ok());
  EXPECT_EQ(removed, 0);
}

}  // namespace
}  // namespace clawback::controller
