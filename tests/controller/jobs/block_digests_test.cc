// Block digests: the sidecar format round-trips and refuses anything
// malformed or inconsistent; the digester's digests are SHA-256 of each block
// and of the whole, however the bytes are split when appended.
#include "controller/jobs/block_digests.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace clawback::controller {
namespace {

std::string Sha(const std::string& bytes) {
  Sha256 sha;
  sha.Update(bytes.data(), bytes.size());
  return sha.HexDigest();
}

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

TEST(BlockDigesterTest, DigestsEachBlockAndTheWholeWhateverTheSplit) {
  const size_t block = BlockDigests::kBlockSize;
  const std::string bytes = RandomBytes(2 * block + 12345, 7);
  for (size_t piece : {size_t{1000}, size_t{256 * 1024}, block, 3 * block}) {
    BlockDigester digester;
    for (size_t off = 0; off < bytes.size(); off += piece) {
      digester.Update(bytes.data() + off, std::min(piece, bytes.size() - off));
    }
    BlockDigests d = digester.Finish();
    ASSERT_EQ(d.blocks.size(), 3u) << "piece " << piece;
    EXPECT_EQ(d.blocks[0], Sha(bytes.substr(0, block)));
    EXPECT_EQ(d.blocks[1], Sha(bytes.substr(block, block)));
    EXPECT_EQ(d.blocks[2], Sha(bytes.substr(2 * block)));
    EXPECT_EQ(d.sha256, Sha(bytes));
    EXPECT_EQ(d.size, bytes.size());
  }
}

TEST(BlockDigestsTest, TextFormRoundTrips) {
  BlockDigester digester;
  const std::string bytes = RandomBytes(BlockDigests::kBlockSize + 1, 3);
  digester.Update(bytes.data(), bytes.size());
  BlockDigests d = digester.Finish();
  auto parsed = ParseBlockDigests(EncodeBlockDigests(d));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->block_size, d.block_size);
  EXPECT_EQ(parsed->size, d.size);
  EXPECT_EQ(parsed->sha256, d.sha256);
  EXPECT_EQ(parsed->blocks, d.blocks);
}

TEST(BlockDigestsTest, MalformedOrInconsistentTextIsCorruption) {
  BlockDigester digester;
  const std::string bytes = RandomBytes(BlockDigests::kBlockSize + 1, 5);
  digester.Update(bytes.data(), bytes.size());
  const std::string good = EncodeBlockDigests(digester.Finish());
  const std::string digest(64, 'a');
  struct Case {
    const char* why;
    std::string text;
  } cases[] = {
      {"empty", ""},
      {"wrong magic", "clawback-block-digests 2\n" + good.substr(good.find('\n') + 1)},
      {"one block missing", good.substr(0, good.size() - 65)},
      {"one block too many", good + digest + "\n"},
      {"upper-case digest", good.substr(0, good.size() - 65) + std::string(64, 'A') + "\n"},
      {"short digest", good.substr(0, good.size() - 2) + "\n"},
      {"zero block size", "clawback-block-digests 1\nblock-size 0\nsize 0\nsha256 " + digest + "\n"},
      {"size not a number", "clawback-block-digests 1\nblock-size 1048576\nsize -1\nsha256 " + digest + "\n"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseBlockDigests(c.text);
    EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption) << c.why;
  }
}

}  // namespace
}  // namespace clawback::controller
