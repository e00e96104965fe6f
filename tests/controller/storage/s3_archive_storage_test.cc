// Archive storage on a real S3-protocol server (moto_server), through a
// fault-injecting proxy: parts retried after 503s and a dropped connection
// with the archive byte-identical, uploads aborted on abandon and at
// startup, ranged reads, Object Lock refusing early deletes. And the local
// directory implementation behind the same interface.
#include "controller/storage/archive_storage.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <random>

#include "controller/storage/multipart_sink.h"
#include "controller/storage/s3_client.h"
#include "tests/controller/storage/s3_test_env.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/temp_dir.h"

namespace clawback::testing {
namespace {

using namespace controller::storage;
using controller::BlockDigests;
using controller::EncodeBlockDigests;
using controller::ParseBlockDigests;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Appends `data` in 256 KiB pieces, seals, stores the .blocks sidecar, publishes.
Result<BlockDigests> WriteArchive(ArchiveStorage& storage, const std::string& name, const std::string& data) {
  auto sink = storage.CreateArchive(name, nullptr);
  if (!sink.ok()) return sink.status();
  for (size_t off = 0; off < data.size(); off += 256 * 1024) {
    CLAWBACK_RETURN_IF_ERROR((*sink)->Append(data.data() + off, std::min<size_t>(256 * 1024, data.size() - off)));
  }
  auto digests = (*sink)->Seal();
  if (!digests.ok()) return digests.status();
  CLAWBACK_RETURN_IF_ERROR(storage.PutSidecar(name, ".blocks", EncodeBlockDigests(*digests)));
  CLAWBACK_RETURN_IF_ERROR((*sink)->Publish());
  return digests;
}

class S3ArchiveStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = SharedS3Server();
    ASSERT_NE(server_, nullptr);
    bucket_ = FreshBucket();
  }
  S3Server* server_ = nullptr;
  std::string bucket_;
};

TEST_F(S3ArchiveStorageTest, PartsAreRetriedAfter503AndADroppedConnectionAndTheArchiveIsIdentical) {
  FaultProxy proxy(server_->port());
  proxy.AddRule({"partNumber=2", 1, 2, FaultProxy::Fault::kStatus503});
  proxy.AddRule({"partNumber=3", 1, 1, FaultProxy::Fault::kDrop});
  proxy.AddRule({"partNumber=1", 1, 1, FaultProxy::Fault::kDelay, std::chrono::milliseconds(300)});
  auto storage = MakeS3ArchiveStorage(TestS3Config(proxy.Endpoint(), bucket_));
  const std::string data = RandomBytes(13 * 1024 * 1024 + 77, 7);  // parts: 5 + 5 + 3 MiB
  auto digests = WriteArchive(*storage, "alpha/alpha-1-20260101-000000.tar.zst", data);
  ASSERT_TRUE(digests.ok()) << digests.status().message();
  EXPECT_EQ(proxy.injected(), 4);
  EXPECT_EQ(digests->size, data.size());
  // The parts, the sidecar and the HEAD share connections; a new one only
  // after the drop (and while part 1 was delayed and the next ran).
  EXPECT_LE(proxy.connections(), 3) << proxy.RequestLines().size() << " requests";

  S3Client direct(TestS3Config(server_->Endpoint(), bucket_));
  auto stored = direct.GetObject("backups/alpha/alpha-1-20260101-000000.tar.zst");
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_TRUE(*stored == data) << "stored archive differs from what was appended";
  auto uploads = direct.ListMultipartUploads("backups/");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());

  // Read back through the storage: ranged, small pieces and large.
  auto reader = storage->OpenArchive("alpha/alpha-1-20260101-000000.tar.zst");
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->size(), data.size());
  std::string piece(512, '\0');
  for (uint64_t off : {uint64_t{0}, uint64_t{512}, uint64_t{5u << 20}, uint64_t{data.size() - 100}}) {
    auto got = (*reader)->ReadAt(off, piece.data(), piece.size());
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, std::min<uint64_t>(512, data.size() - off));
    EXPECT_TRUE(piece.substr(0, *got) == data.substr(off, *got)) << "offset " << off;
  }
  auto sha = Sha256OfArchive(**reader);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, digests->sha256);
  auto sidecar = storage->GetSidecar("alpha/alpha-1-20260101-000000.tar.zst", ".blocks");
  ASSERT_TRUE(sidecar.ok());
  auto parsed = ParseBlockDigests(*sidecar);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->blocks, digests->blocks);

  // Removed with its sidecars.
  ASSERT_TRUE(storage->RemoveArchive("alpha/alpha-1-20260101-000000.tar.zst").ok());
  auto left = storage->List();
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(S3ArchiveStorageTest, PartThatKeepsFailingFailsTheArchiveAndAbortsTheUpload) {
  FaultProxy proxy(server_->port());
  proxy.AddRule({"partNumber=2", 1, 100, FaultProxy::Fault::kStatus503});
  auto config = TestS3Config(proxy.Endpoint(), bucket_);
  config.max_attempts = 3;
  auto storage = MakeS3ArchiveStorage(config);
  auto written = WriteArchive(*storage, "a/a-2-20260101-000000.tar.zst", RandomBytes(11 << 20, 3));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("SlowDown"), std::string::npos) << written.status().message();
  EXPECT_NE(written.status().message().find("after 3 attempts"), std::string::npos) << written.status().message();
  S3Client direct(TestS3Config(server_->Endpoint(), bucket_));
  auto uploads = direct.ListMultipartUploads("backups/");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty()) << "the failed upload was aborted";
  EXPECT_EQ(direct.HeadObject("backups/a/a-2-20260101-000000.tar.zst").status().code(), Status::Code::kNotFound);
}

TEST_F(S3ArchiveStorageTest, AbandonedAndLeftoverUploadsAreAborted) {
  auto storage = MakeS3ArchiveStorage(TestS3Config(server_->Endpoint(), bucket_));
  S3Client direct(TestS3Config(server_->Endpoint(), bucket_));
  {
    auto sink = storage->CreateArchive("a/a-3-20260101-000000.tar.zst", nullptr);
    ASSERT_TRUE(sink.ok()) << sink.status().message();
    const std::string data = RandomBytes(6 << 20, 4);
    ASSERT_TRUE((*sink)->Append(data.data(), data.size()).ok());
    auto uploads = direct.ListMultipartUploads("backups/");
    ASSERT_TRUE(uploads.ok());
    EXPECT_EQ(uploads->size(), 1u);
  }  // destroyed unpublished: aborted
  auto uploads = direct.ListMultipartUploads("backups/");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());

  // Leftovers of a crashed controller, one outside the prefix and one of a
  // transfer still running (on another replica): the last two are kept.
  ASSERT_TRUE(direct.CreateMultipartUpload("backups/a/a-4-20260101-000000.tar.zst").ok());
  ASSERT_TRUE(direct.CreateMultipartUpload("backups/b/b-5-20260101-000000.tar.zst").ok());
  ASSERT_TRUE(direct.CreateMultipartUpload("backups/c/c-6-20260101-000000.tar.zst").ok());
  ASSERT_TRUE(direct.CreateMultipartUpload("elsewhere/x").ok());
  int removed = 0;
  ASSERT_TRUE(storage->RemoveInterruptedWrites({"c/c-6-20260101-000000.tar.zst"}, &removed).ok());
  EXPECT_EQ(removed, 2);
  uploads = direct.ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), 2u);
  std::vector<std::string> kept;
  for (const auto& u : *uploads) kept.push_back(u.key);
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"backups/c/c-6-20260101-000000.tar.zst", "elsewhere/x"}));
}

TEST_F(S3ArchiveStorageTest, CanceledTransferStopsAndAborts) {
  FaultProxy proxy(server_->port());
  proxy.AddRule({"partNumber=1", 1, 1, FaultProxy::Fault::kDelay, std::chrono::milliseconds(1500)});
  auto storage = MakeS3ArchiveStorage(TestS3Config(proxy.Endpoint(), bucket_));
  std::atomic<bool> cancel{false};
  auto sink = storage->CreateArchive("a/a-6-20260101-000000.tar.zst", &cancel);
  ASSERT_TRUE(sink.ok());
  const std::string data = RandomBytes(12 << 20, 5);
  std::thread canceler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.store(true);
  });
  Status st = (*sink)->Append(data.data(), data.size());
  canceler.join();
  EXPECT_EQ(st.code(), Status::Code::kCanceled) << st.message();
  sink->reset();
  S3Client direct(TestS3Config(server_->Endpoint(), bucket_));
  auto uploads = direct.ListMultipartUploads("backups/");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
}

TEST_F(S3ArchiveStorageTest, ObjectLockedArchiveIsNotRemovedBeforeItsDate) {
  const std::string bucket = FreshBucket(/*object_lock=*/true);
  auto config = TestS3Config(server_->Endpoint(), bucket);
  config.object_lock_days = 1;
  auto storage = MakeS3ArchiveStorage(config);
  ASSERT_TRUE(WriteArchive(*storage, "a/a-7-20260101-000000.tar.zst", RandomBytes(1000, 6)).ok());
  auto until = storage->LockedUntil("a/a-7-20260101-000000.tar.zst");
  ASSERT_TRUE(until.ok()) << until.status().message();
  ASSERT_TRUE(until->has_value());
  EXPECT_GT(**until, static_cast<int64_t>(std::time(nullptr)) + 86000);
  Status st = storage->RemoveArchive("a/a-7-20260101-000000.tar.zst");
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.message();
  EXPECT_NE(st.message().find("locked"), std::string::npos) << st.message();
  auto left = storage->List();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 2u) << "archive and .blocks stay";
}

TEST(MultipartSinkTest, PartSizesFitFiveTebibytesInTenThousandParts) {
  const uint64_t first = 8ull << 20;
  uint64_t total = 0;
  for (int n = 1; n <= MultipartSink::kMaxParts; ++n) {
    const uint64_t size = MultipartSink::PartSize(first, n);
    EXPECT_LE(size, MultipartSink::kMaxPartSize);
    EXPECT_GE(size, 5ull << 20);
    total += size;
  }
  EXPECT_GE(total, 5ull << 40);
  EXPECT_EQ(MultipartSink::PartSize(first, 1), first);
  EXPECT_EQ(MultipartSink::PartSize(first, 1000), first);
  EXPECT_EQ(MultipartSink::PartSize(first, 1001), 2 * first);
}

TEST(LocalArchiveStorageTest, SameContractOnADirectory) {
  TempDir dir;
  auto storage = MakeLocalArchiveStorage(dir.path());
  const std::string data = RandomBytes(3 << 20, 8);
  auto digests = WriteArchive(*storage, "alpha/alpha-9-20260101-000000.tar.zst", data);
  ASSERT_TRUE(digests.ok()) << digests.status().message();
  auto reader = storage->OpenArchive("alpha/alpha-9-20260101-000000.tar.zst");
  ASSERT_TRUE(reader.ok());
  auto sha = Sha256OfArchive(**reader);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, digests->sha256);
  auto listed = storage->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  {
    auto sink = storage->CreateArchive("alpha/alpha-10-20260101-000000.tar.zst", nullptr);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Append("abc", 3).ok());
    EXPECT_FALSE((*sink)->staged_path().empty());
  }
  ASSERT_TRUE(storage->RemoveArchive("alpha/alpha-9-20260101-000000.tar.zst").ok());
  listed = storage->List();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(storage->OpenArchive("alpha/alpha-9-20260101-000000.tar.zst").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace clawback::testing
