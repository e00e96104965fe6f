// Deleting and recovering backups whose archives live in a bucket (moto),
// over a real SQLite store: a delete (a user's, or retention's) removes the
// record and every object; an archive under Object Lock retention is refused
// before the record is touched; at start an interrupted backup's object and
// every multipart upload under the prefix are removed.
#include <gtest/gtest.h>

#include <random>

#include "controller/jobs/archive_location.h"
#include "controller/jobs/backup_removal.h"
#include "controller/jobs/transfers.h"
#include "controller/storage/archive_storage.h"
#include "controller/storage/s3_client.h"
#include "tests/controller/storage/s3_test_env.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

class S3BackupRemovalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = clawback::testing::SharedS3Server();
    ASSERT_NE(server_, nullptr);
    store_ = testing::OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    Instance instance;
    instance.name = "web-1";
    instance.agent_url = "https://127.0.0.1:1";
    auto made = store_->CreateInstance(instance);
    ASSERT_TRUE(made.ok());
    instance_ = *made;
  }

  void UseBucket(bool object_lock) {
    const std::string bucket = clawback::testing::FreshBucket(object_lock);
    config_ = clawback::testing::TestS3Config(server_->Endpoint(), bucket);
    if (object_lock) config_.object_lock_days = 1;
    archives_ = storage::MakeS3ArchiveStorage(config_);
  }

  // A backup record in `status`; a completed one gets its archive and .blocks in the bucket.
  Backup Make(BackupStatus status) {
    Backup b;
    b.instance_id = instance_.id;
    b.instance_name = instance_.name;
    b.status = status;
    b.paths = {"/home/claworc"};
    b.created_at = 1767225600;
    auto made = store_->CreateBackup(b);
    EXPECT_TRUE(made.ok());
    b = *made;
    const std::string name = ArchiveRelativeName(b);
    if (status != BackupStatus::kCompleted) {
      // Left as a crashed controller leaves it: the upload open.
      storage::S3Client direct(config_);
      EXPECT_TRUE(direct.CreateMultipartUpload(config_.prefix + name).ok());
      return b;
    }
    auto sink = archives_->CreateArchive(name, nullptr);
    EXPECT_TRUE(sink.ok()) << sink.status().message();
    if (!sink.ok()) return b;
    const std::string data(100000, static_cast<char>('a' + b.id % 26));
    EXPECT_TRUE((*sink)->Append(data.data(), data.size()).ok());
    auto digests = (*sink)->Seal();
    EXPECT_TRUE(digests.ok());
    EXPECT_TRUE(archives_->PutSidecar(name, ".blocks", EncodeBlockDigests(*digests)).ok());
    EXPECT_TRUE((*sink)->Publish().ok());
    b.file_path = name;
    b.size_bytes = data.size();
    b.sha256 = digests->sha256;
    EXPECT_TRUE(store_->UpdateBackup(b).ok());
    return b;
  }

  size_t Objects() {
    auto listed = archives_->List();
    EXPECT_TRUE(listed.ok());
    return listed.ok() ? listed->size() : 0;
  }

  clawback::testing::S3Server* server_ = nullptr;
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  Instance instance_;
  storage::S3Config config_;
  std::unique_ptr<storage::ArchiveStorage> archives_;
};

TEST_F(S3BackupRemovalTest, DeleteRemovesTheRecordAndEveryObject) {
  ASSERT_NO_FATAL_FAILURE(UseBucket(false));
  Backup kept = Make(BackupStatus::kCompleted);
  Backup gone = Make(BackupStatus::kCompleted);
  ASSERT_EQ(Objects(), 4u);
  ASSERT_TRUE(RemoveBackup(*store_, *archives_, gone).ok());
  EXPECT_EQ(store_->GetBackup(gone.id).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->GetBackup(kept.id).ok());
  auto listed = archives_->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(listed->front().name.rfind(kept.file_path, 0), 0u);
}

TEST_F(S3BackupRemovalTest, LockedArchiveIsRefusedBeforeTheRecordIsTouched) {
  ASSERT_NO_FATAL_FAILURE(UseBucket(true));
  Backup b = Make(BackupStatus::kCompleted);
  Status st = RemoveBackup(*store_, *archives_, b);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.message();
  EXPECT_NE(st.message().find("protected by S3 Object Lock until"), std::string::npos) << st.message();
  EXPECT_TRUE(store_->GetBackup(b.id).ok()) << "the record stays while its archive is locked";
  EXPECT_EQ(Objects(), 2u);
}

TEST_F(S3BackupRemovalTest, StartupRecoveryFailsInterruptedBackupsAndAbortsTheirUploads) {
  ASSERT_NO_FATAL_FAILURE(UseBucket(false));
  Backup done = Make(BackupStatus::kCompleted);
  Backup running = Make(BackupStatus::kRunning);
  // Another replica's transfer, still running: its upload must survive.
  Backup elsewhere = Make(BackupStatus::kRunning);
  const UnixTime now = 1767225600 + 100;  // the records were made at 1767225600
  ASSERT_TRUE(store_->AssignTransfer(TransferKind::kBackup, running.id, "old-me", now - 1).ok());
  ASSERT_TRUE(store_->AssignTransfer(TransferKind::kBackup, elsewhere.id, "alive", now + 60).ok());
  storage::S3Client direct(config_);
  auto uploads = direct.ListMultipartUploads(config_.prefix);
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), 2u);
  // A crash after CompleteMultipartUpload, before the record said completed.
  ASSERT_TRUE(direct.PutObject(config_.prefix + ArchiveRelativeName(running), "whole but unrecorded").ok());

  ASSERT_TRUE(RecoverInterruptedTransfers(*store_, *archives_, now, "old-me").ok());
  auto after = store_->GetBackup(running.id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, BackupStatus::kFailed);
  EXPECT_EQ(after->error_message, "interrupted: controller restarted");
  EXPECT_EQ(store_->GetBackup(elsewhere.id)->status, BackupStatus::kRunning);
  uploads = direct.ListMultipartUploads(config_.prefix);
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), 1u) << "only the live replica's upload stays";
  EXPECT_EQ(uploads->front().key, config_.prefix + ArchiveRelativeName(elsewhere));
  auto listed = archives_->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u) << "only the completed backup's archive and .blocks stay";
  EXPECT_EQ(store_->GetBackup(done.id)->status, BackupStatus::kCompleted);
}

TEST_F(S3BackupRemovalTest, StartupSweepsObjectsNoRecordOwnsAndKeepsOwnedOnes) {
  ASSERT_NO_FATAL_FAILURE(UseBucket(false));
  Backup kept = Make(BackupStatus::kCompleted);
  Backup kept2 = Make(BackupStatus::kCompleted);
  Backup cut = Make(BackupStatus::kCompleted);
  // A delete cut short between the record and the objects.
  ASSERT_TRUE(store_->DeleteBackup(cut.id).ok());
  // Not named like ours: never touched.
  storage::S3Client direct(config_);
  ASSERT_TRUE(direct.PutObject(config_.prefix + "web-1/notes.txt", "mine").ok());
  ASSERT_EQ(Objects(), 7u);
  int removed = 0;
  bool refused = true;
  ASSERT_TRUE(RemoveOrphanArchives(*store_, *archives_, &removed, &refused).ok());
  EXPECT_FALSE(refused);
  EXPECT_EQ(removed, 2) << "the orphan archive and its .blocks";
  EXPECT_EQ(Objects(), 5u);
  EXPECT_TRUE(direct.HeadObject(config_.prefix + kept.file_path).ok());
  EXPECT_TRUE(direct.HeadObject(config_.prefix + kept2.file_path).ok());
  EXPECT_EQ(direct.HeadObject(config_.prefix + cut.file_path).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace clawback::controller
