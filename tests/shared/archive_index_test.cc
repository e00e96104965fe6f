#include "shared/archive_index.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "shared/seek_table.h"

namespace clawback::archive_index {
namespace {

IndexEntry File(std::string path) {
  IndexEntry e;
  e.path = std::move(path);
  e.type = EntryType::kFile;
  e.size = 5;
  e.mode = 0644;
  e.uid = 1000;
  e.gid = 1000;
  e.uname = "node";
  e.gname = "node";
  e.mtime = 1700000000;
  e.mtime_nsec = 123456789;
  e.offset = 1024;
  e.data_offset = 2048;
  e.frame = 0;
  e.sha256 = std::string(64, 'a');
  return e;
}

IndexEntry Link(std::string path, EntryType type, std::string target) {
  IndexEntry e = File(std::move(path));
  e.type = type;
  e.size = 0;
  e.sha256.clear();
  e.target = std::move(target);
  return e;
}

TEST(ArchiveIndex, EntryLinesRoundTrip) {
  IndexEntry dir = Link("home/node", EntryType::kDir, "");
  dir.mode = 01777;
  dir.mtime = -5;
  std::vector<IndexEntry> entries = {
      File("home/node/a \"quoted\"\\ \t\x01 file"),
      File("home/node/caf\xc3\xa9"),
      File(std::string("home/node/bad\xff\xfe", 15)),
      dir,
      Link("home/node/s", EntryType::kSymlink, "../x/\xff"),
      Link("home/node/h", EntryType::kHardlink, "home/node/caf\xc3\xa9"),
      Link("dev/fifo", EntryType::kFifo, ""),
      Link(".", EntryType::kDir, ""),  // the root, when "/" is backed up
  };
  for (const IndexEntry& e : entries) {
    std::string line = EncodeEntryLine(e);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    Result<IndexEntry> back = ParseEntryLine(line);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << line;
    EXPECT_EQ(*back, e) << line;
  }
  EXPECT_NE(EncodeEntryLine(entries[2]).find("\"path_hex\":\"686f6d652f6e6f64652f626164fffe\""), std::string::npos);
  EXPECT_NE(EncodeEntryLine(entries[4]).find("\"target_hex\""), std::string::npos);
  EXPECT_EQ(EncodeEntryLine(entries[1]).rfind("{\"path\":\"home/node/caf\xc3\xa9\",\"type\":\"file\"", 0), 0u);
}

TEST(ArchiveIndex, HeaderAndEndLines) {
  EXPECT_TRUE(ParseHeaderLine(EncodeHeaderLine()).ok());
  EXPECT_TRUE(ParseHeaderLine("{\"clawback_index\": 1}").ok());
  EXPECT_FALSE(ParseHeaderLine("{\"clawback_index\": 2}").ok());
  EXPECT_FALSE(ParseHeaderLine("[]").ok());
  Result<IndexEnd> end = ParseEndLine(EncodeEndLine({7, 10240}));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, (IndexEnd{7, 10240}));
  EXPECT_FALSE(ParseEndLine("{\"end\": false, \"entries\": 1, \"tar_size\": 1}").ok());
  EXPECT_FALSE(ParseEndLine("{\"end\": true, \"entries\": -1, \"tar_size\": 1}").ok());
}

TEST(ArchiveIndex, RejectsMalformedEntryLines) {
  const std::string good = EncodeEntryLine(File("a/b"));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "{"},
      {"array", "[1]"},
      {"missing path", with("\"path\":\"a/b\",", "")},
      {"both names", with("\"path\":\"a/b\"", "\"path\":\"a/b\",\"path_hex\":\"ff\"")},
      {"hex of UTF-8", with("\"path\":\"a/b\"", "\"path_hex\":\"612f62\"")},
      {"odd hex", with("\"path\":\"a/b\"", "\"path_hex\":\"fff\"")},
      {"dotdot", with("a/b", "a/../b")},
      {"absolute", with("a/b", "/a/b")},
      {"trailing slash", with("a/b", "a/b/")},
      {"double slash", with("a/b", "a//b")},
      {"dot", with("a/b", "./b")},
      {"dot file", with("a/b", ".")},
      {"NUL", with("a/b", "a\\u0000b")},
      {"unknown type", with("\"file\"", "\"socket\"")},
      {"negative size", with("\"size\":5", "\"size\":-5")},
      {"float size", with("\"size\":5", "\"size\":5.5")},
      {"string size", with("\"size\":5", "\"size\":\"5\"")},
      {"mode", with("\"mode\":420", "\"mode\":4096")},
      {"nsec", with("\"mtime_nsec\":123456789", "\"mtime_nsec\":1000000000")},
      {"mtime float", with("\"mtime\":1700000000", "\"mtime\":1.5")},
      {"data before header", with("\"data_offset\":2048", "\"data_offset\":10")},
      {"file without sha", with(",\"sha256\":\"" + std::string(64, 'a') + "\"", "")},
      {"upper sha", with(std::string(64, 'a'), std::string(64, 'A'))},
      {"short sha", with(std::string(64, 'a'), std::string(63, 'a'))},
      {"dir with size", with("\"file\"", "\"dir\"")},
      {"symlink without target", with("\"type\":\"file\",\"size\":5", "\"type\":\"symlink\",\"size\":0")},
      {"file with target", with("\"frame\":0", "\"frame\":0,\"target\":\"x\"")},
      {"empty target", with("\"frame\":0", "\"frame\":0,\"target\":\"\"")},
      {"missing uname", with("\"uname\":\"node\",", "")},
  };
  for (const auto& [name, line] : cases) {
    Result<IndexEntry> r = ParseEntryLine(line);
    EXPECT_FALSE(r.ok()) << name << ": " << line;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << name;
    }
  }
  EXPECT_FALSE(ParseEntryLine(std::string(kMaxLineBytes + 1, ' ')).ok());
  // A hardlink's target is a path like any entry name.
  EXPECT_FALSE(ParseEntryLine(EncodeEntryLine(Link("a", EntryType::kHardlink, "../etc/passwd"))).ok());
}

std::string Payload(const std::string& frame) { return frame.substr(seek_table::kSkippableHeaderBytes); }

std::string WriteIndex(const std::vector<IndexEntry>& entries, uint64_t tar_size) {
  Result<std::unique_ptr<IndexWriter>> w = IndexWriter::Create();
  EXPECT_TRUE(w.ok());
  for (const IndexEntry& e : entries) EXPECT_TRUE((*w)->Add(e).ok());
  Result<std::string> frame = (*w)->Finish(tar_size);
  EXPECT_TRUE(frame.ok()) << frame.status().ToString();
  return *frame;
}

TEST(ArchiveIndex, WriterFrameIsReadBack) {
  std::vector<IndexEntry> entries;
  for (int i = 0; i < 5000; ++i) entries.push_back(File("home/node/dir/file-" + std::to_string(i)));
  std::string frame = WriteIndex(entries, 1 << 20);
  ASSERT_GT(frame.size(), 16u);
  EXPECT_EQ(seek_table::ReadU32(frame.data()), kIndexFrameMagic);
  EXPECT_EQ(seek_table::ReadU32(frame.data() + 4), frame.size() - 8);
  EXPECT_EQ(frame.substr(8, 8), "CBINDEX1");

  // The content is plain JSON Lines any zstd reads.
  std::string zframe = frame.substr(16);
  unsigned long long content = ZSTD_getFrameContentSize(zframe.data(), zframe.size());
  std::string text;
  text.resize(ZSTD_DStreamOutSize() * 64);
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer in{zframe.data(), zframe.size(), 0};
  ZSTD_outBuffer out{text.data(), text.size(), 0};
  size_t r = ZSTD_decompressStream(d, &out, &in);
  ZSTD_freeDCtx(d);
  ASSERT_EQ(r, 0u) << (ZSTD_isError(r) ? ZSTD_getErrorName(r) : "incomplete");
  (void)content;
  text.resize(out.pos);
  EXPECT_EQ(text.rfind("{\"clawback_index\":1}\n", 0), 0u);
  EXPECT_NE(text.find("\n{\"end\":true,\"entries\":5000,\"tar_size\":1048576}\n"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');

  std::vector<IndexEntry> got;
  Result<IndexEnd> end = ReadIndexPayload(Payload(frame), [&](IndexEntry&& e) {
    got.push_back(std::move(e));
    return Status::Ok();
  });
  ASSERT_TRUE(end.ok()) << end.status().ToString();
  EXPECT_EQ(*end, (IndexEnd{5000, 1 << 20}));
  EXPECT_EQ(got, entries);

  // Byte by byte through the streaming reader gives the same.
  got.clear();
  Result<std::unique_ptr<IndexReader>> reader = IndexReader::Create([&](IndexEntry&& e) {
    got.push_back(std::move(e));
    return Status::Ok();
  });
  ASSERT_TRUE(reader.ok());
  std::string payload = Payload(frame);
  for (char c : payload) ASSERT_TRUE((*reader)->Feed(std::string_view(&c, 1)).ok());
  ASSERT_TRUE((*reader)->Finish().ok());
  EXPECT_EQ(got.size(), 5000u);
}

TEST(ArchiveIndex, WriterRefusesInvalidEntries) {
  Result<std::unique_ptr<IndexWriter>> w = IndexWriter::Create();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Add(File("../x")).code(), Status::Code::kInvalidArgument);
  IndexEntry no_sha = File("x");
  no_sha.sha256.clear();
  EXPECT_FALSE((*w)->Add(no_sha).ok());
  EXPECT_EQ((*w)->entries(), 0u);
}

// Compresses `text` as one zstd frame.
std::string Zstd(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  out.resize(n);
  return out;
}

TEST(ArchiveIndex, ReaderRejectsMalformedPayloads) {
  const std::string entry = EncodeEntryLine(File("a")) + "\n";
  const std::string head = EncodeHeaderLine() + "\n";
  auto ok_cb = [](IndexEntry&&) { return Status::Ok(); };
  const std::string good = std::string(kPayloadMagic) + Zstd(head + entry + EncodeEndLine({1, 4096}) + "\n");
  ASSERT_TRUE(ReadIndexPayload(good, ok_cb).ok());

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"wrong magic", "CBINDEX2" + good.substr(8)},
      {"truncated", good.substr(0, good.size() - 3)},
      {"bytes after frame", good + "x"},
      {"two frames", good + Zstd("x")},
      {"skippable frame inside", std::string(kPayloadMagic) + seek_table::SkippableHeader(0x184D2A50, 0) +
                                     good.substr(8)},
      {"no header", "CBINDEX1" + Zstd(entry + EncodeEndLine({1, 4096}) + "\n")},
      {"no end", "CBINDEX1" + Zstd(head + entry)},
      {"count mismatch", "CBINDEX1" + Zstd(head + entry + EncodeEndLine({2, 4096}) + "\n")},
      {"line after end", "CBINDEX1" + Zstd(head + EncodeEndLine({0, 1}) + "\n" + entry)},
      {"no final newline", "CBINDEX1" + Zstd(head + EncodeEndLine({0, 1}))},
      {"bad entry", "CBINDEX1" + Zstd(head + "{}\n" + EncodeEndLine({1, 1}) + "\n")},
      {"long line", "CBINDEX1" + Zstd(head + std::string(kMaxLineBytes + 10, 'x') + "\n")},
  };
  for (const auto& [name, payload] : cases) {
    Result<IndexEnd> r = ReadIndexPayload(payload, ok_cb);
    EXPECT_FALSE(r.ok()) << name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << name << ": " << r.status().ToString();
    }
  }
  // The callback's own refusal comes back unchanged.
  Result<IndexEnd> r = ReadIndexPayload(good, [](IndexEntry&&) { return Status::ResourceExhausted("too many"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted);
}

}  // namespace
}  // namespace clawback::archive_index
