// controller/browse over a hand-built format 2 archive (one data frame, the
// index frame, the seek table): the index is imported and checked against
// what docs/archive-format.md requires (entry count, increasing offsets,
// offsets inside the tar stream, a seek table that accounts for every byte),
// a format 1 archive claiming format 2 is refused, and a read through
// OpenBackupArchive refuses an index whose offset points at another entry.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include "controller/browse/browse.h"
#include "controller/browse/tar_reader.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/block_digests.h"
#include "shared/archive_index.h"
#include "shared/seek_table.h"
#include "tests/support/temp_dir.h"

namespace clawback::controller::browse {
namespace {

namespace ai = clawback::archive_index;
namespace fs = std::filesystem;

struct File {
  std::string name, content;
};

std::string Sha(const std::string& s) {
  Sha256 h;
  h.Update(s.data(), s.size());
  return h.HexDigest();
}

la_ssize_t Append(archive*, void* out, const void* data, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), n);
  return static_cast<la_ssize_t>(n);
}

// ustar: every header is one 512-byte block, so offsets are predictable.
struct Built {
  std::string tar;
  std::vector<ai::IndexEntry> index;
};

Built BuildTar(const std::vector<File>& files) {
  Built b;
  archive* a = archive_write_new();
  archive_write_set_format_ustar(a);
  archive_write_set_bytes_per_block(a, 0);  // unbuffered: the string's size is the stream offset
  archive_write_open(a, &b.tar, nullptr, Append, nullptr);
  auto add = [&](const std::string& name, bool dir, const std::string& content) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_mtime(e, 1700000000, 0);
    // The previous entry's padding is written with this header.
    const uint64_t offset = (b.tar.size() + 511) / 512 * 512;
    archive_write_header(a, e);
    if (!content.empty()) archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
    ai::IndexEntry ie;
    ie.path = name;
    ie.type = dir ? ai::EntryType::kDir : ai::EntryType::kFile;
    ie.size = content.size();
    ie.mode = dir ? 0755 : 0644;
    ie.mtime = 1700000000;
    ie.offset = offset;
    ie.data_offset = offset + 512;
    if (!dir) ie.sha256 = Sha(content);
    b.index.push_back(ie);
  };
  add("home", true, "");
  for (const File& f : files) add(f.name, false, f.content);
  archive_write_close(a);
  archive_write_free(a);
  return b;
}

// The archive bytes: data frame, index frame (from `index`), seek table.
std::string Format2(const Built& b, const std::vector<ai::IndexEntry>& index) {
  std::string frame(ZSTD_compressBound(b.tar.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), b.tar.data(), b.tar.size(), 3));
  auto writer = ai::IndexWriter::Create();
  for (const auto& e : index) EXPECT_TRUE((*writer)->Add(e).ok());
  std::string index_frame = *(*writer)->Finish(b.tar.size());
  auto table = seek_table::EncodeSeekTable({{static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(b.tar.size())},
                                            {static_cast<uint32_t>(index_frame.size()), 0}});
  return frame + index_frame + *table;
}

class ArchiveIndexImportTest : public ::testing::Test {
 protected:
  // Writes `bytes` as archive "<dir>/inst/inst-7-20260101-000000.tar.zst"; returns its path.
  std::string Store(const std::string& bytes) {
    fs::create_directories(dir_.Sub("inst"));
    const std::string path = dir_.Sub("inst/inst-7-20260101-000000.tar.zst");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }
  Status Index(const std::string& bytes, uint64_t entries) {
    const std::string path = Store(bytes);
    fs::remove(path + ".index");
    return IndexWrittenArchive(path, path, entries, Sha(bytes));
  }
  clawback::testing::TempDir dir_{"clawback-browse-test-"};
  const std::vector<File> files_{{"home/a.txt", "alpha file\n"}, {"home/b.txt", std::string(3000, 'b')}};
};

TEST_F(ArchiveIndexImportTest, AnHonestIndexBecomesTheCatalog) {
  Built b = BuildTar(files_);
  const std::string bytes = Format2(b, b.index);
  ASSERT_TRUE(Index(bytes, b.index.size()).ok());
  auto catalog = Catalog::Open(dir_.Sub("inst/inst-7-20260101-000000.tar.zst.index"));
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->meta().archive_format, 2);
  EXPECT_EQ((*catalog)->meta().tar_size, b.tar.size());
  ASSERT_EQ((*catalog)->frames().size(), 1u);
  auto page = (*catalog)->List("home", 10, 0);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 2u);
  EXPECT_EQ(page->entries[1].path, "home/b.txt");
  EXPECT_EQ(page->entries[1].offset, b.index[2].offset);
}

TEST_F(ArchiveIndexImportTest, AnIndexThatDisagreesFailsTheBackup) {
  Built b = BuildTar(files_);
  // Count differs from the trailers.
  Status wrong_count = Index(Format2(b, b.index), b.index.size() + 1);
  EXPECT_EQ(wrong_count.code(), Status::Code::kCorruption);
  EXPECT_NE(wrong_count.message().find("lists 3 entries, the agent reported 4"), std::string::npos)
      << wrong_count.message();
  // Offsets that do not increase.
  auto swapped = b.index;
  std::swap(swapped[1].offset, swapped[2].offset);
  std::swap(swapped[1].data_offset, swapped[2].data_offset);
  Status unordered = Index(Format2(b, swapped), b.index.size());
  EXPECT_NE(unordered.message().find("offsets do not increase"), std::string::npos) << unordered.message();
  // An entry past the end of the tar stream.
  auto beyond = b.index;
  beyond[2].offset = b.tar.size() + 512;
  beyond[2].data_offset = beyond[2].offset + 512;
  Status past = Index(Format2(b, beyond), b.index.size());
  EXPECT_NE(past.message().find("beyond the end"), std::string::npos) << past.message();
  // Bytes the seek table does not account for.
  std::string padded = Format2(b, b.index);
  padded.insert(0, "x");
  EXPECT_EQ(Index(padded, b.index.size()).code(), Status::Code::kCorruption);
  // A format 1 archive (one frame, nothing after it) announced as format 2.
  std::string plain(ZSTD_compressBound(b.tar.size()), '\0');
  plain.resize(ZSTD_compress(plain.data(), plain.size(), b.tar.data(), b.tar.size(), 3));
  Status none = Index(plain, b.index.size());
  EXPECT_EQ(none.code(), Status::Code::kCorruption);
  EXPECT_NE(none.message().find("no seek table"), std::string::npos) << none.message();
  EXPECT_FALSE(fs::exists(dir_.Sub("inst/inst-7-20260101-000000.tar.zst.index")));
}

TEST_F(ArchiveIndexImportTest, AReadRefusesAnOffsetThatNamesAnotherEntry) {
  Built b = BuildTar(files_);
  // The index says a.txt starts where b.txt does (the offsets still increase:
  // b.txt then claims the end-of-archive blocks).
  auto lying = b.index;
  lying[1].offset = b.index[2].offset;
  lying[1].data_offset = b.index[2].data_offset;
  lying[2].offset = b.index[2].offset + 512 * 7;
  lying[2].data_offset = lying[2].offset + 512;
  lying[2].size = 0;
  lying[2].sha256 = Sha("");
  const std::string bytes = Format2(b, lying);
  const std::string path = Store(bytes);
  BlockDigester digester;
  digester.Update(bytes.data(), bytes.size());
  BlockDigests digests = digester.Finish();
  ASSERT_TRUE(WriteBlockDigests(path, digests).ok());
  Backup backup;
  backup.id = 7;
  backup.status = BackupStatus::kCompleted;
  backup.file_path = "inst/inst-7-20260101-000000.tar.zst";
  backup.sha256 = digests.sha256;
  backup.size_bytes = bytes.size();
  backup.entries = lying.size();
  auto archive = OpenBackupArchive(dir_.path(), backup);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  auto entry = (*archive)->catalog().Lookup("home/a.txt");
  ASSERT_TRUE(entry.ok());
  auto content = ReadWholeFile((*archive)->stream(), *entry);
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.status().code(), Status::Code::kCorruption);
  EXPECT_NE(content.status().message().find("names home/b.txt"), std::string::npos) << content.status().message();
}

}  // namespace
}  // namespace clawback::controller::browse
