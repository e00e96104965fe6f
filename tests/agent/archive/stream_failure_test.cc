// Broken streams: truncation anywhere, corrupt bytes, and source errors must
// fail the restore, never report success.
#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "archive_test_util.h"

namespace clawback::agent {
namespace {

using testing::MakeDirs;
using testing::StringSource;
using testing::TarSpec;
using testing::TempDir;

std::string SampleArchive() {
  std::vector<TarSpec> entries;
  for (int i = 0; i < 20; ++i)
    entries.push_back({"home/claworc/f" + std::to_string(i), 'f', testing::SemiCompressibleBytes(50000, i)});
  entries.push_back({"home/claworc/random", 'f', testing::RandomBytes(300000, 1)});
  return testing::BuildTarZstd(entries);
}

Result<RestoreSummary> RestoreFrom(ChunkSource& source, const std::string& root, RestoreSummary* partial) {
  RestoreOptions options;
  options.root = root;
  return ExtractRestore(options, source, partial);
}

TEST(StreamFailureTest, WholeArchiveRestores) {
  TempDir tmp;
  StringSource source(SampleArchive());
  Result<RestoreSummary> r = RestoreFrom(source, tmp.path(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries_written, 21u);
  EXPECT_EQ(r->bytes_written, 20u * 50000 + 300000);
}

TEST(StreamFailureTest, TruncationAnywhereIsCorruption) {
  const std::string archive = SampleArchive();
  for (size_t cut : {size_t{0}, size_t{1}, size_t{4}, size_t{100}, archive.size() / 3, archive.size() / 2,
                     archive.size() - 600, archive.size() - 5, archive.size() - 4, archive.size() - 1}) {
    TempDir tmp;
    StringSource source(archive.substr(0, cut));
    RestoreSummary partial;
    Result<RestoreSummary> r = RestoreFrom(source, tmp.path(), &partial);
    ASSERT_FALSE(r.ok()) << "cut at " << cut << " of " << archive.size() << " reported success";
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << "cut at " << cut << ": " << r.status().ToString();
    if (cut > archive.size() / 2) EXPECT_GT(partial.entries_written, 0u) << "cut at " << cut;
  }
}

TEST(StreamFailureTest, CorruptByteIsAnError) {
  const std::string archive = SampleArchive();
  for (size_t at : {archive.size() / 4, archive.size() / 2, archive.size() - 2}) {
    TempDir tmp;
    std::string bad = archive;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    StringSource source(bad);
    Result<RestoreSummary> r = RestoreFrom(source, tmp.path(), nullptr);
    EXPECT_FALSE(r.ok()) << "corrupt byte at " << at << " not detected";
  }
}

TEST(StreamFailureTest, GarbageIsCorruption) {
  TempDir tmp;
  StringSource source(std::string(100000, 'x'));
  Result<RestoreSummary> r = RestoreFrom(source, tmp.path(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
}

TEST(StreamFailureTest, SourceErrorIsReturnedAsIs) {
  const std::string archive = SampleArchive();
  TempDir tmp;
  StringSource source(archive, 4096);
  source.FailAt(archive.size() / 2, Status::DeadlineExceeded("upload stalled"));
  RestoreSummary partial;
  Result<RestoreSummary> r = RestoreFrom(source, tmp.path(), &partial);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "upload stalled");
  EXPECT_GT(partial.entries_written, 0u);
  EXPECT_GT(partial.bytes_written, 0u);
}

TEST(StreamFailureTest, MissingRootIsInvalidArgument) {
  StringSource source(SampleArchive());
  Result<RestoreSummary> r = RestoreFrom(source, "/nonexistent/clawback/root", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace clawback::agent
