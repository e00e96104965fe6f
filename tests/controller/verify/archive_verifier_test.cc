// VerifyArchive on archives built here: a plain one-frame archive and a
// hand-made "archive format 2" (several frames, the index frame and a seek
// table, docs/archive-format.md) pass; a wrong index entry, a wrong index
// count, a stream cut short whose record agrees with it, data after the tar
// end, a flipped byte (with and without block digests) and a canceled pass
// fail with a message naming the problem.
#include "controller/verify/archive_verifier.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <zstd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "controller/jobs/archive_file.h"
#include "controller/jobs/block_digests.h"
#include "shared/archive_index.h"
#include "tests/support/temp_dir.h"

namespace clawback::controller {
namespace {

struct Entry {
  std::string path;
  std::string content;  // files only
  bool dir = false;
};

std::string Hex(const std::string& bytes) {
  Sha256 h;
  h.Update(bytes.data(), bytes.size());
  return h.HexDigest();
}

// A pax tar of `entries`, in memory.
std::string Tar(const std::vector<Entry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const Entry& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_filetype(ae, e.dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(ae, e.dir ? 0755 : 0644);
    archive_entry_set_size(ae, e.dir ? 0 : static_cast<la_int64_t>(e.content.size()));
    archive_write_header(a, ae);
    if (!e.dir) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::string Frame(const std::string& data) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(c);
  out.resize(n);
  return out;
}

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string Skippable(uint32_t magic, const std::string& payload) {
  return Le32(magic) + Le32(static_cast<uint32_t>(payload.size())) + payload;
}

std::vector<Entry> Sample() {
  return {{"home/x", "", true}, {"home/x/a.txt", "alpha\n"}, {"home/x/b.bin", std::string(70000, 'b')}};
}

// The index JSON Lines of `entries` for a tar stream of `tar_size` bytes.
std::string IndexLines(const std::vector<Entry>& entries, uint64_t tar_size, int bad_sha_at = -1, int extra_count = 0) {
  std::string text = archive_index::EncodeHeaderLine() + "\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    archive_index::IndexEntry line;
    line.path = e.path;
    line.type = e.dir ? archive_index::EntryType::kDir : archive_index::EntryType::kFile;
    line.size = e.dir ? 0 : e.content.size();
    line.mode = e.dir ? 0755 : 0644;
    if (!e.dir) line.sha256 = static_cast<int>(i) == bad_sha_at ? std::string(64, '0') : Hex(e.content);
    text += archive_index::EncodeEntryLine(line) + "\n";
  }
  text += archive_index::EncodeEndLine({entries.size() + extra_count, tar_size}) + "\n";
  return text;
}

// Format 2: the tar in two frames, the index frame, a seek table frame.
std::string Format2(const std::vector<Entry>& entries, int bad_sha_at = -1, int extra_count = 0) {
  const std::string tar = Tar(entries);
  const size_t cut = 1024;  // inside the stream, at a 512-byte block boundary
  std::string index = "CBINDEX1" + Frame(IndexLines(entries, tar.size(), bad_sha_at, extra_count));
  return Frame(tar.substr(0, cut)) + Frame(tar.substr(cut)) + Skippable(0x184D2A5B, index) +
         Skippable(0x184D2A5E, std::string(16, '\0'));
}

class ArchiveVerifierTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    std::string path = dir_.path() + "/a" + std::to_string(++n_) + ".tar.zst";
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  Result<VerifyReport> Verify(const std::string& bytes, bool with_digests = false, VerifyPacing pacing = {}) {
    std::string path = Write(bytes);
    std::optional<BlockDigests> digests;
    if (with_digests) {
      BlockDigester d;
      d.Update(bytes.data(), bytes.size());
      digests = d.Finish();
    }
    return VerifyArchive(path, bytes.size(), Hex(bytes), digests, pacing);
  }
  static bool Says(const Status& st, const std::string& text) { return st.message().find(text) != std::string::npos; }

  testing::TempDir dir_;
  int n_ = 0;
};

TEST_F(ArchiveVerifierTest, OneFrameArchivePasses) {
  auto r = Verify(Frame(Tar(Sample())), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries, 3u);
  EXPECT_EQ(r->frames, 1u);
  EXPECT_FALSE(r->index);
  EXPECT_TRUE(r->block_digests);
}

TEST_F(ArchiveVerifierTest, Format2WithIndexPasses) {
  auto r = Verify(Format2(Sample()), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries, 3u);
  EXPECT_EQ(r->frames, 2u);
  EXPECT_EQ(r->skippable_frames, 2u);
  EXPECT_TRUE(r->index);
}

TEST_F(ArchiveVerifierTest, IndexEntryWithWrongDigestFailsNamingIt) {
  auto r = Verify(Format2(Sample(), /*bad_sha_at=*/2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_TRUE(Says(r.status(), "index entry 3 (home/x/b.bin)")) << r.status().ToString();
  EXPECT_TRUE(Says(r.status(), "sha256")) << r.status().ToString();
}

TEST_F(ArchiveVerifierTest, IndexCountMismatchFails) {
  auto r = Verify(Format2(Sample(), -1, /*extra_count=*/1));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Says(r.status(), "end line counts 4 entries, 3 were listed")) << r.status().ToString();
}

TEST_F(ArchiveVerifierTest, StreamCutShortFailsEvenWhenTheRecordAgrees) {
  std::string bytes = Frame(Tar(Sample()));
  bytes.resize(bytes.size() - 10);
  auto r = Verify(bytes);  // record size and sha256 describe the cut file
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Says(r.status(), "truncated")) << r.status().ToString();
  EXPECT_TRUE(Says(r.status(), "zstd frame 1")) << r.status().ToString();
}

TEST_F(ArchiveVerifierTest, DataAfterTheTarEndFails) {
  auto r = Verify(Frame(Tar(Sample())) + Frame("not a tar block"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Says(r.status(), "data after the end of the tar archive")) << r.status().ToString();
}

TEST_F(ArchiveVerifierTest, FlippedByteFailsInTheBlockOrTheFrame) {
  std::string bytes = Frame(Tar(Sample()));
  std::string path = Write(bytes);
  BlockDigester d;
  d.Update(bytes.data(), bytes.size());
  BlockDigests digests = d.Finish();
  const std::string sha = Hex(bytes);
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  auto with = VerifyArchive(path, bytes.size(), sha, digests, {});
  ASSERT_FALSE(with.ok());
  EXPECT_TRUE(Says(with.status(), "sha256 mismatch in block 0 (bytes 0-")) << with.status().ToString();

  auto without = VerifyArchive(path, bytes.size(), sha, std::nullopt, {});
  ASSERT_FALSE(without.ok());
  EXPECT_TRUE(Says(without.status(), "zstd frame 1") || Says(without.status(), "sha256 mismatch") ||
              Says(without.status(), "tar entry"))
      << without.status().ToString();
}

TEST_F(ArchiveVerifierTest, SizeDifferencesAreNamed) {
  std::string bytes = Frame(Tar(Sample()));
  std::string path = Write(bytes);
  auto shorter = VerifyArchive(path, bytes.size() + 5, Hex(bytes), std::nullopt, {});
  EXPECT_TRUE(Says(shorter.status(), "truncated: the archive is")) << shorter.status().ToString();
  auto longer = VerifyArchive(path, bytes.size() - 5, Hex(bytes), std::nullopt, {});
  EXPECT_TRUE(Says(longer.status(), "bytes were appended")) << longer.status().ToString();
}

TEST_F(ArchiveVerifierTest, CancelEndsAPacedPass) {
  std::atomic<bool> cancel{true};
  VerifyPacing pacing;
  pacing.bytes_per_second = 1;
  pacing.cancel = &cancel;
  auto r = Verify(Frame(Tar(Sample())), false, pacing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCanceled);
}

TEST_F(ArchiveVerifierTest, PausesWhileAskedAndGoesOnAfterwards) {
  // should_pause says "busy" for its first 3 polls: the pass waits, then
  // completes (the verifier yields to transfers instead of failing).
  int polls = 0;
  VerifyPacing pacing;
  pacing.should_pause = [&] { return ++polls <= 3; };
  auto r = Verify(Frame(Tar(Sample())), false, pacing);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(polls, 4);
}

}  // namespace
}  // namespace clawback::controller
