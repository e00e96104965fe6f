// Format 2 archives (docs/archive-format.md, "Seekable archives and the
// index") written by WriteBackup from a real tree: read by GNU tar and the
// zstd CLI unchanged; the seek table accounts for every byte; the index
// matches the source tree (sizes, types, link targets, SHA-256 computed here
// independently); each entry's header is found by decompressing only its
// frame; frames end at member boundaries; large files span frames.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "agent/archive/seekable_compressor.h"
#include "archive_test_util.h"
#include "shared/archive_index.h"
#include "shared/seek_table.h"

namespace clawback::agent {
namespace {

using archive_index::EntryType;
using archive_index::IndexEntry;
using testing::MakeDirs;
using testing::ReadFile;
using testing::StringSink;
using testing::TempDir;
using testing::WriteFile;

constexpr size_t kMinFrame = 64 << 10;  // small frames: many of them from a small tree
constexpr size_t kMaxFrame = 128 << 10;

std::string Sha256Hex(const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

std::string DecompressAll(const std::string& in) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out;
  std::vector<char> buf(1 << 16);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t last = 1;
  while (ib.pos < ib.size || last != 0) {
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    last = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(last)) {
      ADD_FAILURE() << ZSTD_getErrorName(last);
      break;
    }
    out.append(buf.data(), ob.pos);
    if (ib.pos == ib.size && ob.pos < ob.size) break;
  }
  ZSTD_freeDCtx(d);
  return out;
}

std::string DecompressFrame(const std::string& archive, const seek_table::DataFrame& f) {
  std::string out(f.decompressed_size, '\0');
  // Only this frame's bytes are handed to zstd.
  std::string frame = archive.substr(f.offset, f.compressed_size);
  EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), f.decompressed_size);
  size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  EXPECT_EQ(n, f.decompressed_size);
  return out;
}

uint64_t Octal(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + static_cast<uint64_t>(p[i] - '0');
  return v;
}

bool ValidHeader(std::string_view block) {
  if (block.size() < 512) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  return sum == Octal(block.data() + 148, 8) && block.substr(257, 5) == "ustar";
}

// Reads the tar member at `at` in `tar` (pax extended header allowed):
// returns its name (pax "path" or ustar prefix/name, trailing '/' removed)
// and sets *data_at to its first content byte. Empty on a malformed header.
std::string MemberName(std::string_view tar, uint64_t at, uint64_t* data_at) {
  if (at + 512 > tar.size() || !ValidHeader(tar.substr(at, 512))) return "";
  std::string pax_path;
  if (tar[at + 156] == 'x') {
    const uint64_t size = Octal(tar.data() + at + 124, 12);
    std::string_view records = tar.substr(at + 512, size);
    size_t p = records.find(" path=");
    if (p != std::string_view::npos) {
      size_t end = records.find('\n', p);
      pax_path = std::string(records.substr(p + 6, end - p - 6));
    }
    at += 512 + (size + 511) / 512 * 512;
    if (at + 512 > tar.size() || !ValidHeader(tar.substr(at, 512))) return "";
  }
  *data_at = at + 512;
  std::string name = pax_path;
  if (name.empty()) {
    std::string prefix(tar.data() + at + 345, strnlen(tar.data() + at + 345, 155));
    name = std::string(tar.data() + at, strnlen(tar.data() + at, 100));
    if (!prefix.empty()) name = prefix + "/" + name;
  }
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  return name;
}

struct Archive {
  Result<BackupSummary> summary = Status::Internal("not run");
  std::string bytes;
  std::string tar;  // the whole archive decompressed
  Result<seek_table::ArchiveLayout> layout = Status::Internal("not run");
  std::vector<IndexEntry> index;
  archive_index::IndexEnd end;
};

Archive Make(const std::string& root, const std::vector<std::string>& paths, size_t min_frame = kMinFrame,
             size_t max_frame = kMaxFrame) {
  Archive a;
  BackupOptions options;
  options.root = root;
  options.threads = 2;
  options.min_frame_input = min_frame;
  options.max_frame_input = max_frame;
  StringSink sink;
  a.summary = WriteBackup(options, paths, sink);
  a.bytes = std::move(sink.data);
  if (!a.summary.ok()) return a;
  a.tar = DecompressAll(a.bytes);
  a.layout = seek_table::LocateArchive(a.bytes.size(), [&](uint64_t off, size_t size, std::string& out) {
    if (off > a.bytes.size() || size > a.bytes.size() - off) return Status::IoError("read past the end");
    out = a.bytes.substr(off, size);
    return Status::Ok();
  });
  if (!a.layout.ok()) return a;
  std::string payload = a.bytes.substr(a.layout->index_payload_offset(), a.layout->index_payload_size());
  Result<archive_index::IndexEnd> end = archive_index::ReadIndexPayload(payload, [&](IndexEntry&& e) {
    a.index.push_back(std::move(e));
    return Status::Ok();
  });
  EXPECT_TRUE(end.ok()) << end.status().ToString();
  if (end.ok()) a.end = *end;
  return a;
}

class SeekableArchiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "archive tests run as root";
    tmp_ = new TempDir();
    const std::string h = src() + "/home/claworc";
    MakeDirs(h + "/many");
    for (int i = 0; i < 300; ++i)
      WriteFile(h + "/many/f" + std::to_string(i) + ".txt", testing::SemiCompressibleBytes(700 + i * 37, i));
    WriteFile(h + "/big.bin", testing::RandomBytes(600 << 10, 1) + testing::SemiCompressibleBytes(500 << 10, 2));
    WriteFile(h + "/empty", "");
    WriteFile(h + "/caf\xc3\xa9 \"q\"", "unicode");
    WriteFile(h + "/raw-\xff", "not utf-8");
    WriteFile(h + "/" + std::string(150, 'n'), "long name");
    ASSERT_EQ(symlink("many/f1.txt", (h + "/link").c_str()), 0);
    ASSERT_EQ(link((h + "/many/f2.txt").c_str(), (h + "/hard").c_str()), 0);
    ASSERT_EQ(mkfifo((h + "/fifo").c_str(), 0600), 0);
    archive_ = new Archive(Make(src(), {"/home/claworc"}));
  }
  static void TearDownTestSuite() {
    delete archive_;
    delete tmp_;
  }
  static std::string src() { return tmp_->path() + "/src"; }
  const Archive& a() {
    EXPECT_TRUE(archive_->summary.ok()) << archive_->summary.status().ToString();
    EXPECT_TRUE(archive_->layout.ok()) << archive_->layout.status().ToString();
    return *archive_;
  }

  static TempDir* tmp_;
  static Archive* archive_;
};
TempDir* SeekableArchiveTest::tmp_ = nullptr;
Archive* SeekableArchiveTest::archive_ = nullptr;

TEST_F(SeekableArchiveTest, GnuTarAndZstdCliReadItUnchanged) {
  const Archive& ar = a();
  ASSERT_TRUE(ar.layout.ok());
  const std::string file = tmp_->path() + "/a.tar.zst";
  WriteFile(file, ar.bytes);
  std::string out;
  ASSERT_EQ(testing::RunProcess({"zstd", "-q", "-t", file}, &out), 0) << out;
  ASSERT_EQ(testing::RunProcess({"zstd", "-q", "-d", "-f", file, "-o", tmp_->path() + "/a.tar"}, &out), 0) << out;
  EXPECT_EQ(ReadFile(tmp_->path() + "/a.tar"), ar.tar);
  const std::string dst = tmp_->path() + "/gnu";
  MakeDirs(dst);
  ASSERT_EQ(testing::RunProcess({"tar", "--zstd", "-xpf", file, "-C", dst, "--numeric-owner"}, &out), 0) << out;
  EXPECT_EQ(testing::DiffTrees(testing::Snapshot(src() + "/home/claworc"), testing::Snapshot(dst + "/home/claworc"),
                               false),
            "");
}

TEST_F(SeekableArchiveTest, SeekTableAccountsForEveryByte) {
  const Archive& ar = a();
  ASSERT_TRUE(ar.layout.ok());
  const seek_table::ArchiveLayout& l = *ar.layout;
  EXPECT_GT(l.frames.size(), 5u);
  EXPECT_EQ(l.frames.size(), ar.summary->frames);
  EXPECT_EQ(l.tar_size, ar.tar.size());
  EXPECT_EQ(l.tar_size, ar.summary->tar_bytes);
  EXPECT_EQ(l.seek_table_offset + l.seek_table_size, ar.bytes.size());
  EXPECT_EQ(ar.summary->bytes_sent, ar.bytes.size());
  EXPECT_EQ(ar.summary->sha256, Sha256Hex(ar.bytes));
  // The table itself is zstd's seekable format: its last 9 bytes and magics.
  EXPECT_EQ(seek_table::ReadU32(ar.bytes.data() + l.seek_table_offset), 0x184D2A5Eu);
  EXPECT_EQ(seek_table::ReadU32(ar.bytes.data() + ar.bytes.size() - 4), 0x8F92EAB1u);
  EXPECT_EQ(seek_table::ReadU32(ar.bytes.data() + ar.bytes.size() - 9), l.frames.size() + 1);
  // Each data frame is a whole zstd frame on its own, with checksum and size.
  std::string joined;
  for (const seek_table::DataFrame& f : l.frames) {
    EXPECT_LE(f.decompressed_size, kMaxFrame);
    EXPECT_EQ(ZSTD_findFrameCompressedSize(ar.bytes.data() + f.offset, f.compressed_size), f.compressed_size);
    joined += DecompressFrame(ar.bytes, f);
  }
  EXPECT_EQ(joined, ar.tar);
  // The tar stream ends with its two zero blocks, inside the data frames.
  ASSERT_GE(ar.tar.size(), 1024u);
  EXPECT_EQ(ar.tar.substr(ar.tar.size() - 1024), std::string(1024, '\0'));
  EXPECT_EQ(ar.end.tar_size, l.tar_size);
  EXPECT_EQ(ar.end.entries, ar.index.size());
  EXPECT_EQ(ar.summary->entries, ar.index.size());
  EXPECT_EQ(ar.summary->index_entries, ar.index.size());
}

TEST_F(SeekableArchiveTest, IndexMatchesTheSourceTree) {
  const Archive& ar = a();
  std::map<std::string, const IndexEntry*> by_path;
  for (const IndexEntry& e : ar.index) EXPECT_TRUE(by_path.emplace(e.path, &e).second) << "twice: " << e.path;
  // Every entry on disk is in the index, and nothing else.
  testing::TreeSnapshot tree = testing::Snapshot(src() + "/home/claworc");
  EXPECT_EQ(by_path.size(), tree.size());  // tree[""] is home/claworc itself
  for (const auto& [rel, snap] : tree) {
    const std::string path = "home/claworc/" + rel;
    auto it = by_path.find(rel.empty() ? "home/claworc" : path);
    ASSERT_NE(it, by_path.end()) << "not in the index: " << path;
    const IndexEntry& e = *it->second;
    struct stat st;
    ASSERT_EQ(lstat((src() + "/" + e.path).c_str(), &st), 0) << e.path;
    EXPECT_EQ(e.mode, st.st_mode & 07777) << e.path;
    EXPECT_EQ(e.uid, st.st_uid);
    EXPECT_EQ(e.mtime, st.st_mtim.tv_sec) << e.path;
    EXPECT_EQ(e.mtime_nsec, static_cast<uint32_t>(st.st_mtim.tv_nsec)) << e.path;
    switch (snap.type) {
      case 'f':
        if (e.type == EntryType::kHardlink) {
          EXPECT_EQ(e.size, 0u);
          EXPECT_TRUE(e.sha256.empty());
        } else {
          EXPECT_EQ(e.type, EntryType::kFile) << e.path;
          EXPECT_EQ(e.size, static_cast<uint64_t>(st.st_size)) << e.path;
          EXPECT_EQ(e.sha256, Sha256Hex(ReadFile(src() + "/" + e.path))) << e.path;
        }
        break;
      case 'd': EXPECT_EQ(e.type, EntryType::kDir) << e.path; break;
      case 'l':
        EXPECT_EQ(e.type, EntryType::kSymlink) << e.path;
        EXPECT_EQ(e.target, snap.link_target);
        break;
      case 'p': EXPECT_EQ(e.type, EntryType::kFifo) << e.path; break;
      default: ADD_FAILURE() << "unexpected type " << snap.type;
    }
  }
  // One of the two hardlinked names is a hardlink to the other.
  const IndexEntry* h1 = by_path["home/claworc/hard"];
  const IndexEntry* h2 = by_path["home/claworc/many/f2.txt"];
  ASSERT_TRUE(h1 && h2);
  const IndexEntry* link = h1->type == EntryType::kHardlink ? h1 : h2;
  const IndexEntry* file = link == h1 ? h2 : h1;
  EXPECT_EQ(link->type, EntryType::kHardlink);
  EXPECT_EQ(link->target, file->path);
  EXPECT_EQ(file->type, EntryType::kFile);
  EXPECT_LT(file->offset, link->offset);
  // A non-UTF-8 name survives (as path_hex on the wire).
  EXPECT_EQ(by_path.count("home/claworc/raw-\xff"), 1u);
}

TEST_F(SeekableArchiveTest, EachEntryIsFoundByDecompressingOnlyItsFrame) {
  const Archive& ar = a();
  ASSERT_TRUE(ar.layout.ok());
  const seek_table::ArchiveLayout& l = *ar.layout;
  uint64_t previous = 0;
  for (const IndexEntry& e : ar.index) {
    EXPECT_GE(e.offset, previous) << "index not in archive order";
    previous = e.offset;
    ASSERT_LT(e.frame, l.frames.size()) << e.path;
    EXPECT_EQ(*seek_table::FrameAt(l, e.offset), e.frame) << e.path;
    const seek_table::DataFrame& f = l.frames[e.frame];
    std::string frame = DecompressFrame(ar.bytes, f);
    uint64_t data_at = 0;
    EXPECT_EQ(MemberName(frame, e.offset - f.tar_offset, &data_at), e.path);
    EXPECT_EQ(data_at + f.tar_offset, e.data_offset) << e.path;
    if (e.type == EntryType::kFile) {
      // The content, read from the frames that hold it, hashes to sha256.
      std::string content;
      for (size_t i = *seek_table::FrameAt(l, e.data_offset); content.size() < e.size; ++i) {
        ASSERT_LT(i, l.frames.size());
        std::string part = DecompressFrame(ar.bytes, l.frames[i]);
        uint64_t from = std::max(e.data_offset, l.frames[i].tar_offset) - l.frames[i].tar_offset;
        content += part.substr(from, e.size - content.size());
      }
      EXPECT_EQ(Sha256Hex(content), e.sha256) << e.path;
    }
  }
}

TEST_F(SeekableArchiveTest, FramesEndAtMemberBoundariesAndLargeFilesSpanThem) {
  const Archive& ar = a();
  ASSERT_TRUE(ar.layout.ok());
  const seek_table::ArchiveLayout& l = *ar.layout;
  std::map<uint64_t, const IndexEntry*> starts;
  for (const IndexEntry& e : ar.index) starts[e.offset] = &e;
  for (size_t i = 1; i < l.frames.size(); ++i) {
    const seek_table::DataFrame& prev = l.frames[i - 1];
    if (starts.count(l.frames[i].tar_offset)) {
      EXPECT_GE(prev.decompressed_size, kMinFrame) << "frame " << i - 1 << " ended early";
    } else {
      EXPECT_EQ(prev.decompressed_size, kMaxFrame) << "frame " << i - 1 << " cut inside a member below the max";
    }
  }
  const IndexEntry* big = nullptr;
  for (const IndexEntry& e : ar.index)
    if (e.path == "home/claworc/big.bin") big = &e;
  ASSERT_NE(big, nullptr);
  size_t first = *seek_table::FrameAt(l, big->data_offset);
  size_t last = *seek_table::FrameAt(l, big->data_offset + big->size - 1);
  EXPECT_GE(last - first, 7u) << "1.1 MiB in 128 KiB frames";
  // A small file never spans frames.
  for (const IndexEntry& e : ar.index) {
    if (e.type != EntryType::kFile || e.size == 0 || e.size > kMaxFrame - kMinFrame - 4096) continue;
    EXPECT_EQ(*seek_table::FrameAt(l, e.offset), *seek_table::FrameAt(l, e.data_offset + e.size - 1)) << e.path;
  }
}

TEST_F(SeekableArchiveTest, DefaultFrameSizesWithManyWorkersAndInline) {
  for (int threads : {0, 1, 4}) {
    BackupOptions options;
    options.root = src();
    options.threads = threads;
    StringSink sink;
    Result<BackupSummary> s = WriteBackup(options, {"/home/claworc"}, sink);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(DecompressAll(sink.data), a().tar) << threads << " threads";
    Result<seek_table::ArchiveLayout> l =
        seek_table::LocateArchive(sink.data.size(), [&](uint64_t off, size_t size, std::string& out) {
          out = sink.data.substr(off, size);
          return Status::Ok();
        });
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    EXPECT_EQ(l->frames.size(), s->frames);
    for (size_t i = 0; i + 1 < l->frames.size(); ++i) {
      EXPECT_GE(l->frames[i].decompressed_size, SeekableCompressor::kMinFrameInput);
      EXPECT_LE(l->frames[i].decompressed_size, SeekableCompressor::kMaxFrameInput);
    }
  }
}

TEST(SeekableArchive, EmptyDirectoryMakesAOneEntryArchive) {
  TempDir tmp;
  MakeDirs(tmp.path() + "/home/claworc");
  Archive ar = Make(tmp.path(), {"/home/claworc"});
  ASSERT_TRUE(ar.summary.ok()) << ar.summary.status().ToString();
  ASSERT_TRUE(ar.layout.ok()) << ar.layout.status().ToString();
  EXPECT_EQ(ar.layout->frames.size(), 1u);
  ASSERT_EQ(ar.index.size(), 1u);
  EXPECT_EQ(ar.index[0].path, "home/claworc");
  EXPECT_EQ(ar.index[0].type, EntryType::kDir);
  EXPECT_EQ(ar.index[0].offset, 0u);
  EXPECT_EQ(ar.end.tar_size, ar.tar.size());
  const std::string file = tmp.path() + "/e.tar.zst";
  WriteFile(file, ar.bytes);
  std::string out;
  EXPECT_EQ(testing::RunProcess({"tar", "--zstd", "-tf", file}, &out), 0) << out;
  EXPECT_NE(out.find("home/claworc/"), std::string::npos) << out;
}

TEST(SeekableArchive, FailingSinkStopsTheWorkersAndFails) {
  TempDir tmp;
  MakeDirs(tmp.path() + "/home/claworc");
  WriteFile(tmp.path() + "/home/claworc/x", testing::RandomBytes(5 << 20, 3));
  for (size_t fail_after : {0, 1, 3}) {
    BackupOptions options;
    options.root = tmp.path();
    options.threads = 2;
    options.min_frame_input = 64 << 10;
    options.max_frame_input = 128 << 10;
    testing::FailingSink sink(fail_after);
    Result<BackupSummary> s = WriteBackup(options, {"/home/claworc"}, sink);
    EXPECT_FALSE(s.ok()) << fail_after;
  }
}

}  // namespace
}  // namespace clawback::agent
