#include "shared/seek_table.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "shared/archive_index.h"

namespace clawback::seek_table {
namespace {

std::string Zstd(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
  return out;
}

TEST(SeekTable, EncodesZstdSeekableLayout) {
  Result<std::string> t = EncodeSeekTable({{100, 200}, {7, 0}});
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 8u + 16 + 9);
  EXPECT_EQ(ReadU32(t->data()), 0x184D2A5Eu);
  EXPECT_EQ(ReadU32(t->data() + 4), 16u + 9);
  EXPECT_EQ(ReadU32(t->data() + 8), 100u);
  EXPECT_EQ(ReadU32(t->data() + 12), 200u);
  EXPECT_EQ(ReadU32(t->data() + 24), 2u);       // Number_Of_Frames
  EXPECT_EQ((*t)[28], '\0');                     // descriptor
  EXPECT_EQ(ReadU32(t->data() + 29), 0x8F92EAB1u);
  Result<std::vector<FrameSize>> back = ParseSeekTable(*t);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<FrameSize>{{100, 200}, {7, 0}}));
  // The table is a skippable frame: zstd sees it as one of 33 bytes.
  EXPECT_EQ(ZSTD_findFrameCompressedSize(t->data(), t->size()), t->size());
}

TEST(SeekTable, ParseRejectsMalformedTables) {
  const std::string good = *EncodeSeekTable({{100, 200}, {7, 0}});
  auto patched = [&](size_t at, char c) {
    std::string s = good;
    s[at] = c;
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"short", good.substr(0, 10)},
      {"magic", patched(0, 0x5F)},
      {"frame size", patched(4, 0x20)},
      {"count", patched(24, 3)},
      {"reserved bits", patched(28, 0x04)},
      {"checksum flag without checksums", patched(28, static_cast<char>(0x80))},
      {"footer magic", patched(32, 0)},
      {"trailing byte", good + "x"},
  };
  for (const auto& [name, table] : cases) {
    Result<std::vector<FrameSize>> r = ParseSeekTable(table);
    EXPECT_FALSE(r.ok()) << name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << name;
    }
  }
  // Checksums (12-byte entries) are accepted and skipped.
  std::string with_sums = SkippableHeader(kSeekTableMagic, 12 + 9);
  AppendU32(with_sums, 5);
  AppendU32(with_sums, 6);
  AppendU32(with_sums, 0xdeadbeef);
  AppendU32(with_sums, 1);
  with_sums += static_cast<char>(0x80);
  AppendU32(with_sums, kFooterMagic);
  Result<std::vector<FrameSize>> r = ParseSeekTable(with_sums);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<FrameSize>{{5, 6}}));
}

struct Archive {
  std::string bytes;
  std::vector<std::string> tar_parts;
};

// Data frames of `parts`, then an index frame, then the seek table.
Archive Build(const std::vector<std::string>& parts) {
  Archive a;
  std::vector<FrameSize> sizes;
  for (const std::string& p : parts) {
    std::string f = Zstd(p);
    sizes.push_back({static_cast<uint32_t>(f.size()), static_cast<uint32_t>(p.size())});
    a.bytes += f;
  }
  Result<std::unique_ptr<archive_index::IndexWriter>> w = archive_index::IndexWriter::Create();
  std::string index = *(*w)->Finish(0);
  sizes.push_back({static_cast<uint32_t>(index.size()), 0});
  a.bytes += index + *EncodeSeekTable(sizes);
  a.tar_parts = parts;
  return a;
}

ReadAtFn Reader(const std::string& bytes, int* reads = nullptr) {
  return [&bytes, reads](uint64_t offset, size_t size, std::string& out) -> Status {
    if (reads != nullptr) ++*reads;
    if (offset > bytes.size() || size > bytes.size() - offset) return Status::IoError("read past the end");
    out.assign(bytes, offset, size);
    return Status::Ok();
  };
}

TEST(SeekTable, LocatesFramesIndexAndTable) {
  Archive a = Build({std::string(3000, 'a'), std::string(10, 'b'), std::string(5000, 'c')});
  int reads = 0;
  Result<ArchiveLayout> l = LocateArchive(a.bytes.size(), Reader(a.bytes, &reads));
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(reads, 3);
  ASSERT_EQ(l->frames.size(), 3u);
  EXPECT_EQ(l->tar_size, 8010u);
  EXPECT_EQ(l->frames[1].tar_offset, 3000u);
  EXPECT_EQ(l->frames[2].tar_offset, 3010u);
  EXPECT_EQ(l->seek_table_offset + l->seek_table_size, a.bytes.size());
  EXPECT_EQ(l->index_offset + l->index_size, l->seek_table_offset);
  EXPECT_EQ(a.bytes.substr(l->index_payload_offset(), 8), "CBINDEX1");
  // Each frame decompresses on its own to its part of the tar stream.
  for (size_t i = 0; i < 3; ++i) {
    const DataFrame& f = l->frames[i];
    std::string out(f.decompressed_size, '\0');
    size_t n = ZSTD_decompress(out.data(), out.size(), a.bytes.data() + f.offset, f.compressed_size);
    ASSERT_FALSE(ZSTD_isError(n));
    EXPECT_EQ(out, a.tar_parts[i]);
  }
  EXPECT_EQ(*FrameAt(*l, 0), 0u);
  EXPECT_EQ(*FrameAt(*l, 2999), 0u);
  EXPECT_EQ(*FrameAt(*l, 3000), 1u);
  EXPECT_EQ(*FrameAt(*l, 3010), 2u);
  EXPECT_EQ(*FrameAt(*l, 8009), 2u);
  EXPECT_EQ(FrameAt(*l, 8010).status().code(), Status::Code::kNotFound);
}

TEST(SeekTable, LocateTellsFormat1FromCorruption) {
  std::string plain = Zstd(std::string(10000, 'x'));
  EXPECT_EQ(LocateArchive(plain.size(), Reader(plain)).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(LocateArchive(3, Reader(plain)).status().code(), Status::Code::kNotFound);

  Archive a = Build({std::string(3000, 'a'), std::string(100, 'b')});
  const size_t table_at = a.bytes.size() - (8 + 3 * 8 + 9);
  auto expect_corrupt = [&](std::string bytes, const char* name) {
    Result<ArchiveLayout> l = LocateArchive(bytes.size(), Reader(bytes));
    EXPECT_FALSE(l.ok()) << name;
    if (!l.ok()) {
      EXPECT_EQ(l.status().code(), Status::Code::kCorruption) << name << ": " << l.status().ToString();
    }
  };
  expect_corrupt(a.bytes.substr(1), "a byte missing at the start");
  std::string extra = a.bytes;
  extra.insert(0, "x");
  expect_corrupt(extra, "a byte more at the start");
  std::string big_count = a.bytes;
  big_count[big_count.size() - 9] = 0x7f;
  big_count[big_count.size() - 8] = 0x7f;
  expect_corrupt(big_count, "more frames than bytes");
  std::string index_magic = a.bytes;
  index_magic[table_at - 1] ^= 1;  // inside the index frame: still a valid table, payload unchecked here
  EXPECT_TRUE(LocateArchive(index_magic.size(), Reader(index_magic)).ok());
  std::string wrong_index = a.bytes;
  Result<ArchiveLayout> layout = LocateArchive(a.bytes.size(), Reader(a.bytes));
  ASSERT_TRUE(layout.ok());
  const size_t index_at = layout->index_offset;
  wrong_index[index_at] ^= 1;
  expect_corrupt(wrong_index, "index frame magic");
  std::string wrong_payload = a.bytes;
  wrong_payload[index_at + 8] = 'X';
  expect_corrupt(wrong_payload, "CBINDEX1");
  std::string zero_frame = a.bytes;
  for (int i = 0; i < 4; ++i) zero_frame[table_at + 12 + i] = 0;  // first frame's decompressed size
  expect_corrupt(zero_frame, "empty data frame");
  std::string only_index;
  {
    Result<std::unique_ptr<archive_index::IndexWriter>> w = archive_index::IndexWriter::Create();
    std::string index = *(*w)->Finish(0);
    only_index = index + *EncodeSeekTable({{static_cast<uint32_t>(index.size()), 0}});
  }
  expect_corrupt(only_index, "no data frame");
}

}  // namespace
}  // namespace clawback::seek_table
