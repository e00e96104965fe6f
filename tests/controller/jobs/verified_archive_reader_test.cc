// The restore side of block digests, over real files: every byte handed out
// is the recorded archive's; a flipped byte stops the stream before any byte
// of its block is handed out (earlier blocks go, as they were verified); a
// whole-file mismatch holds back the last block; a file of another size is
// refused. And the backup side: bytes committed through the background
// writer land in the file with the digests the reader later checks.
#include "controller/jobs/verified_archive_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "controller/jobs/archive_file.h"
#include "controller/jobs/background_archive_writer.h"
#include "controller/jobs/block_digests.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using testing::TempDir;
constexpr size_t kBlock = BlockDigests::kBlockSize;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

BlockDigests DigestsOf(const std::string& bytes) {
  BlockDigester digester;
  digester.Update(bytes.data(), bytes.size());
  return digester.Finish();
}

// Everything the reader hands out until the end or an error.
struct Drained {
  std::string bytes;
  Status end;
};
Drained Drain(VerifiedArchiveReader& reader) {
  Drained out;
  for (;;) {
    auto piece = reader.Next();
    if (!piece.ok()) {
      out.end = piece.status();
      return out;
    }
    if (piece->empty()) return out;
    out.bytes.append(piece->data(), piece->size());
  }
}

class VerifiedArchiveReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = RandomBytes(3 * kBlock + 4321, 11);
    digests_ = DigestsOf(original_);
    path_ = dir_.file("a.tar.zst");
    WriteFile(path_, original_);
  }

  std::unique_ptr<VerifiedArchiveReader> Open(std::optional<BlockDigests> digests, const std::string& sha) {
    auto reader = VerifiedArchiveReader::Open(path_, original_.size(), sha, std::move(digests), nullptr);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::move(reader).value() : nullptr;
  }

  TempDir dir_;
  std::string original_;
  BlockDigests digests_;
  std::string path_;
};

TEST_F(VerifiedArchiveReaderTest, HandsOutTheWholeArchiveInOrder) {
  auto reader = Open(digests_, digests_.sha256);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->WaitForFirst().ok());
  Drained d = Drain(*reader);
  EXPECT_TRUE(d.end.ok()) << d.end.ToString();
  EXPECT_TRUE(d.bytes == original_) << "handed out " << d.bytes.size() << " of " << original_.size()
                                    << " bytes";
}

TEST_F(VerifiedArchiveReaderTest, AFlippedByteStopsTheStreamBeforeAnyByteOfItsBlock) {
  for (size_t block : {size_t{0}, size_t{2}, size_t{3}}) {
    std::string damaged = original_;
    const size_t at = block * kBlock + 777;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    WriteFile(path_, damaged);
    auto reader = Open(digests_, digests_.sha256);
    ASSERT_NE(reader, nullptr);
    Drained d = Drain(*reader);
    EXPECT_EQ(d.end.code(), Status::Code::kCorruption) << "block " << block << ": " << d.end.ToString();
    EXPECT_NE(d.end.message().find("block " + std::to_string(block)), std::string::npos) << d.end.message();
    EXPECT_EQ(d.bytes.size(), block * kBlock)
        << "only the verified blocks before block " << block << " were handed out";
    EXPECT_TRUE(d.bytes == original_.substr(0, d.bytes.size())) << "and they are the original bytes";
    if (block == 0) {
      auto again = Open(digests_, digests_.sha256);
      ASSERT_NE(again, nullptr);
      EXPECT_EQ(again->WaitForFirst().code(), Status::Code::kCorruption)
          << "a corrupt first block is known before the agent would be contacted";
    }
  }
}

TEST_F(VerifiedArchiveReaderTest, AWholeFileMismatchHoldsBackTheLastBlock) {
  // Digests that match the file on disk, but not the record's SHA-256 (e.g.
  // a consistent archive + sidecar that are not what was backed up).
  std::string other = original_;
  other[kBlock + 5] = static_cast<char>(other[kBlock + 5] ^ 1);
  WriteFile(path_, other);
  BlockDigests forged = DigestsOf(other);
  forged.sha256 = digests_.sha256;
  auto reader = Open(forged, digests_.sha256);
  ASSERT_NE(reader, nullptr);
  Drained d = Drain(*reader);
  EXPECT_EQ(d.end.code(), Status::Code::kCorruption) << d.end.ToString();
  EXPECT_EQ(d.bytes.size(), 3 * kBlock) << "the last block is never handed out";
}

TEST_F(VerifiedArchiveReaderTest, WithoutBlockDigestsTheWholeFileStillGatesTheLastBlock) {
  std::string damaged = original_;
  damaged[10] = static_cast<char>(damaged[10] ^ 1);
  WriteFile(path_, damaged);
  auto reader = Open(std::nullopt, digests_.sha256);
  ASSERT_NE(reader, nullptr);
  Drained d = Drain(*reader);
  EXPECT_EQ(d.end.code(), Status::Code::kCorruption) << d.end.ToString();
  EXPECT_LT(d.bytes.size(), original_.size());
}

TEST_F(VerifiedArchiveReaderTest, AFileOfAnotherSizeIsRefused) {
  WriteFile(path_, original_.substr(0, original_.size() - 1));
  auto reader = VerifiedArchiveReader::Open(path_, original_.size(), digests_.sha256, digests_, nullptr);
  EXPECT_EQ(reader.status().code(), Status::Code::kCorruption);
}

TEST(BackgroundArchiveWriterTest, CommittedBytesLandInTheFileWithTheirDigests) {
  TempDir dir;
  const std::string bytes = RandomBytes(2 * kBlock + 999, 21);
  const std::string final_path = dir.file("b.tar.zst");
  auto file = PartialArchive::Create(final_path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  uint64_t last_progress = 0;
  {
    BackgroundArchiveWriter writer(**file, [&](uint64_t n) { last_progress = n; });
    size_t off = 0;
    std::mt19937 rng(4);
    while (off < bytes.size()) {
      auto buffer = writer.Buffer();
      ASSERT_TRUE(buffer.ok()) << buffer.status().ToString();
      // Uneven fills, as network reads are.
      size_t n = std::min({buffer->size(), bytes.size() - off, size_t{1} + rng() % buffer->size()});
      std::memcpy(buffer->data(), bytes.data() + off, n);
      ASSERT_TRUE(writer.Commit(n).ok());
      off += n;
    }
    ASSERT_TRUE(writer.Finish().ok());
  }
  EXPECT_EQ(last_progress, bytes.size());
  EXPECT_EQ((*file)->bytes(), bytes.size());
  auto digests = (*file)->Seal();
  ASSERT_TRUE(digests.ok()) << digests.status().ToString();
  const BlockDigests expected = DigestsOf(bytes);
  EXPECT_EQ(digests->sha256, expected.sha256);
  EXPECT_EQ(digests->blocks, expected.blocks);
  ASSERT_TRUE(WriteBlockDigests(final_path, *digests).ok());
  ASSERT_TRUE((*file)->Publish().ok());
  auto stored = ReadBlockDigests(final_path);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->blocks, expected.blocks);
  std::ifstream in(final_path, std::ios::binary);
  std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(on_disk == bytes);
}

}  // namespace
}  // namespace clawback::controller
