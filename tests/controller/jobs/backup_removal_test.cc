// RemoveBackup and RemoveOrphanArchives over a real SQLite store and real
// files: the record goes first, a file without a record is swept at start,
// nothing a record names (in any state) or that is not one of our archives
// is ever touched, and a directory that looks like another store's is not
// swept at all. Archive locations are stored relative to the backups dir.
#include "controller/jobs/backup_removal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "controller/jobs/archive_location.h"
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
      b.file_path = ArchiveRelativeName(b);
      std::ofstream(ArchivePath(backups_, b)) << "archive " << b.id;
      EXPECT_TRUE(store_->UpdateBackup(b).ok());
    }
    return b;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  Instance instance_;
  std::string backups_;

  std::string PathOf(const Backup& b) const { return ArchivePath(backups_, b); }
};

TEST_F(BackupRemovalTest, RemovesRecordAndFile) {
  Backup b = Make(BackupStatus::kCompleted);
  ASSERT_TRUE(fs::exists(PathOf(b)));
  ASSERT_TRUE(RemoveBackup(*store_, backups_, b).ok());
  EXPECT_EQ(store_->GetBackup(b.id).status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(fs::exists(PathOf(b)));
}

TEST_F(BackupRemovalTest, RefusesASymlinkWhereTheArchiveShouldBeAndKeepsTheRecord) {
  Backup b = Make(BackupStatus::kCompleted);
  const std::string victim = dir_.file("victim");
  std::ofstream(victim) << "not ours";
  fs::remove(PathOf(b));
  fs::create_symlink(victim, PathOf(b));
  Status st = RemoveBackup(*store_, backups_, b);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(store_->GetBackup(b.id).ok()) << "nothing is deleted when the file is refused";
  EXPECT_TRUE(fs::exists(victim));
}

TEST_F(BackupRemovalTest, ACrashBetweenRecordAndFileLeavesOnlyAnOrphanThatStartupSweeps) {
  Backup kept = Make(BackupStatus::kCompleted, 1767225600);
  Backup kept2 = Make(BackupStatus::kCompleted, 1767225610);
  Backup kept3 = Make(BackupStatus::kCompleted, 1767225620);
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
  for (const Backup& b : {kept, kept2, kept3}) EXPECT_TRUE(fs::exists(PathOf(b)));
  EXPECT_FALSE(fs::exists(PathOf(deleted)));
  EXPECT_FALSE(fs::exists(stray));
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_TRUE(fs::exists(partial_like));
  EXPECT_TRUE(store_->GetBackup(kept.id).ok());
}

TEST_F(BackupRemovalTest, AbsolutePathsOfOldRowsAreReadAndProtected) {
  // A row from before relative names, spelled with a doubled slash: its file
  // is still found, kept by the sweep, and removed with its record.
  Backup b = Make(BackupStatus::kCompleted);
  b.file_path = backups_ + "//" + ArchiveRelativeName(b);
  ASSERT_TRUE(store_->UpdateBackup(b).ok());
  Make(BackupStatus::kCompleted, 1767225900);
  int removed = -1;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed).ok());
  EXPECT_EQ(removed, 0);
  EXPECT_TRUE(fs::exists(PathOf(b)));
  ASSERT_TRUE(RemoveBackup(*store_, backups_, b).ok());
  EXPECT_FALSE(fs::exists(PathOf(b)));
}

TEST_F(BackupRemovalTest, NeverDeletesAFileThatARecordInAnyStateNames) {
  Backup completed = Make(BackupStatus::kCompleted);
  // Records that name a file although not completed (as a crashed or older
  // version may leave them): their files stay.
  std::vector<std::string> named;
  for (BackupStatus st : {BackupStatus::kFailed, BackupStatus::kCanceled, BackupStatus::kRunning}) {
    Backup b = Make(st, 1767226000 + static_cast<int>(named.size()));
    b.file_path = ArchiveRelativeName(b);
    ASSERT_TRUE(store_->UpdateBackup(b).ok());
    std::ofstream(PathOf(b)) << "x";
    named.push_back(PathOf(b));
  }
  int removed = -1;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed).ok());
  EXPECT_EQ(removed, 0);
  EXPECT_TRUE(fs::exists(PathOf(completed)));
  for (const std::string& path : named) EXPECT_TRUE(fs::exists(path)) << path;
}

TEST_F(BackupRemovalTest, RefusesToSweepADirectoryThatLooksLikeAnotherStores) {
  // A fresh store over an old backups dir: every archive is unowned.
  for (int id = 1; id <= 3; ++id) {
    std::ofstream(backups_ + "/web-1/web-1-" + std::to_string(100 + id) + "-20260101-000000.tar.zst") << id;
  }
  int removed = -1;
  bool refused = false;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed, &refused).ok());
  EXPECT_TRUE(refused);
  EXPECT_EQ(removed, 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(backups_ + "/web-1"), fs::directory_iterator()), 3);

  // More unowned files than kMaxOrphansPerSweep refuse even when many are owned.
  for (int i = 0; i < 3 * kMaxOrphansPerSweep; ++i) Make(BackupStatus::kCompleted, 1767230000 + i);
  for (int id = 4; id <= kMaxOrphansPerSweep + 1; ++id) {
    std::ofstream(backups_ + "/web-1/web-1-" + std::to_string(100 + id) + "-20260101-000000.tar.zst") << id;
  }
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed, &refused).ok());
  EXPECT_TRUE(refused);
  EXPECT_EQ(removed, 0);
}

TEST_F(BackupRemovalTest, ArchiveLocationsResolveOnlyPlainRelativeNames) {
  EXPECT_EQ(*ArchiveAbsolutePath("/b", "web-1/web-1-1-20260101-000000.tar.zst"),
            "/b/web-1/web-1-1-20260101-000000.tar.zst");
  EXPECT_EQ(*ArchiveAbsolutePath("/b", "/old/web-1/x.tar.zst"), "/old/web-1/x.tar.zst");
  for (const char* bad : {"../etc/passwd", "web-1/../../x", "web-1//x", "./x", "web-1/."}) {
    EXPECT_FALSE(ArchiveAbsolutePath("/b", bad).ok()) << bad;
  }
  EXPECT_EQ(WithoutBackupsDir("disk full while writing /b/web-1/x.partial: No space", "/b"),
            "disk full while writing web-1/x.partial: No space");
}

TEST_F(BackupRemovalTest, BackupsDirIsResolvedToOneCanonicalPathOrRefused) {
  const std::string real = dir_.file("real-backups");
  fs::create_directories(real + "/sub");
  fs::create_directory_symlink(real, dir_.file("link"));
  const std::string canonical = fs::canonical(real).string();
  for (const std::string& spelled :
       {real, real + "/", real + "//", real + "/sub/..", real + "/./", dir_.file("link"), dir_.file("link") + "/"}) {
    auto resolved = ResolveBackupsDir(spelled, dir_.file("data"));
    ASSERT_TRUE(resolved.ok()) << spelled << ": " << resolved.status().ToString();
    EXPECT_EQ(*resolved, canonical) << spelled;
  }
  for (const std::string& bad : {std::string("relative/backups"), std::string("s3://bucket/prefix"),
                                 std::string("./backups")}) {
    auto resolved = ResolveBackupsDir(bad, dir_.file("data"));
    EXPECT_EQ(resolved.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  auto fallback = ResolveBackupsDir("", dir_.file("data"));
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(*fallback, fs::canonical(dir_.file("data") + "/backups").string());
}

TEST_F(BackupRemovalTest, BlockDigestsGoWithTheirArchive) {
  Backup b = Make(BackupStatus::kCompleted);
  std::ofstream(BlockDigestsPath(PathOf(b))) << "digests";
  ASSERT_TRUE(RemoveBackup(*store_, backups_, b).ok());
  EXPECT_FALSE(fs::exists(PathOf(b)));
  EXPECT_FALSE(fs::exists(BlockDigestsPath(PathOf(b)))) << "a deleted backup leaves no block digests behind";
}

TEST_F(BackupRemovalTest, StartupSweepsBlockDigestsNoCompletedBackupOwnsAndKeepsOwnedOnes) {
  Backup kept = Make(BackupStatus::kCompleted, 1767225600);
  std::ofstream(BlockDigestsPath(PathOf(kept))) << "digests";
  // A crash after the digests were stored, before the archive was published.
  Backup failed = Make(BackupStatus::kFailed, 1767225700);
  const std::string orphan = BlockDigestsPath(ArchivePath(backups_, failed));
  std::ofstream(orphan) << "digests";

  int removed = -1;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed).ok());
  EXPECT_EQ(removed, 1);
  EXPECT_TRUE(fs::exists(BlockDigestsPath(PathOf(kept))));
  EXPECT_FALSE(fs::exists(orphan));
}

TEST_F(BackupRemovalTest, FileIndexesGoWithTheirArchiveAndOrphansAreSwept) {
  Backup kept = Make(BackupStatus::kCompleted, 1767225600);
  std::ofstream(ArchiveIndexPath(PathOf(kept))) << "index";
  Backup deleted = Make(BackupStatus::kCompleted, 1767225650);
  std::ofstream(ArchiveIndexPath(PathOf(deleted))) << "index";
  ASSERT_TRUE(RemoveBackup(*store_, backups_, deleted).ok());
  EXPECT_FALSE(fs::exists(ArchiveIndexPath(PathOf(deleted)))) << "a deleted backup leaves no .index behind";
  Backup failed = Make(BackupStatus::kFailed, 1767225700);
  const std::string orphan = ArchiveIndexPath(ArchivePath(backups_, failed));
  std::ofstream(orphan) << "index";

  int removed = -1;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, backups_, &removed).ok());
  EXPECT_EQ(removed, 1);
  EXPECT_TRUE(fs::exists(ArchiveIndexPath(PathOf(kept))));
  EXPECT_FALSE(fs::exists(orphan));
}

TEST_F(BackupRemovalTest, MissingBackupsDirIsNotAnError) {
  int removed = -1;
  EXPECT_TRUE(RemoveOrphanArchives(*store_, dir_.file("nowhere"), &removed).ok());
  EXPECT_EQ(removed, 0);
}

}  // namespace
}  // namespace clawback::controller
