// The file index of a format 2 archive (docs/archive-format.md, "Seekable
// archives and the index"): one JSON line per archive entry, between a header
// line and an end line, compressed as one zstd frame behind the 8 bytes
// "CBINDEX1" inside a zstd skippable frame (magic 0x184D2A5B).
//
// This file owns that format in both directions: the agent writes it with
// IndexWriter, the controller reads it with IndexReader. Everything read is
// untrusted: the parsers accept only what the writer can produce (canonical
// entry names, known types, consistent fields) and return Corruption naming
// the line and the problem otherwise. Pure functions and single-owner
// classes; nothing here is shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback::archive_index {

// Skippable-frame magic of the index frame, and the payload's first 8 bytes.
inline constexpr uint32_t kIndexFrameMagic = 0x184D2A5B;
inline constexpr std::string_view kPayloadMagic = "CBINDEX1";
// Longest index line the reader accepts (a 4096-byte name and target, both in
// hex, plus fields fit comfortably).
inline constexpr size_t kMaxLineBytes = 64 * 1024;

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo };

// "file", "dir", "symlink", "hardlink", "char", "block", "fifo".
std::string_view TypeName(EntryType type);
// The inverse; InvalidArgument for any other text.
Result<EntryType> ParseTypeName(std::string_view name);

struct IndexEntry {
  std::string path;   // archive name ("home/node/x"): bytes, need not be UTF-8
  EntryType type = EntryType::kFile;
  uint64_t size = 0;  // content bytes archived; 0 unless kFile
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (<= 07777)
  uint64_t uid = 0;
  uint64_t gid = 0;
  std::string uname;  // may be empty; must be valid UTF-8 (others are dropped by the writer)
  std::string gname;
  int64_t mtime = 0;         // seconds since the epoch
  uint32_t mtime_nsec = 0;   // < 1e9
  uint64_t offset = 0;       // tar-stream offset of the entry's first header block
  uint64_t data_offset = 0;  // tar-stream offset of its first content byte
  uint64_t frame = 0;        // data frame holding `offset`
  std::string target;        // symlink text or hardlink target path; empty otherwise
  std::string sha256;        // lowercase hex SHA-256 of the content; kFile only

  bool operator==(const IndexEntry&) const = default;
};

struct IndexEnd {
  uint64_t entries = 0;   // count of entry lines
  uint64_t tar_size = 0;  // bytes of the decompressed tar stream
  bool operator==(const IndexEnd&) const = default;
};

// One line of the index, without the trailing '\n'. Names and targets that are
// not valid UTF-8 go out as "path_hex"/"target_hex". The entry is assumed valid
// (ValidateEntry); the writer's caller guarantees it.
std::string EncodeHeaderLine();
std::string EncodeEntryLine(const IndexEntry& entry);
std::string EncodeEndLine(const IndexEnd& end);

// Parses one line (no trailing '\n'). Corruption for anything that is not
// exactly what Encode*Line produces in meaning (unknown keys are ignored, so a
// later version may add fields).
Status ParseHeaderLine(std::string_view line);
Result<IndexEntry> ParseEntryLine(std::string_view line);
Result<IndexEnd> ParseEndLine(std::string_view line);

// The field rules ParseEntryLine enforces after decoding: canonical relative
// path (non-empty, no NUL, no leading or trailing '/', no empty, "." or ".."
// component; the one exception is "." for a dir, the root when "/" is backed up), mode <= 07777, mtime_nsec < 1e9, data_offset >= offset, size 0
// unless file, sha256 (64 lowercase hex) exactly for files, target non-empty
// without NUL exactly for symlinks and hardlinks (a hardlink's also canonical).
Status ValidateEntry(const IndexEntry& entry);

// Builds the index frame incrementally: each Add compresses its line at once
// (zstd level 3, single thread), so memory is the compressed index so far plus
// the compressor's fixed state (~1.3 MiB, its window limited to 1 MiB) —
// about 20-40 bytes per typical entry (measured figure in
// agent/archive/seekable_compressor.h).
class IndexWriter {
 public:
  static Result<std::unique_ptr<IndexWriter>> Create();
  ~IndexWriter();
  IndexWriter(const IndexWriter&) = delete;
  IndexWriter& operator=(const IndexWriter&) = delete;

  // Appends one entry line; InvalidArgument when ValidateEntry refuses it.
  Status Add(const IndexEntry& entry);
  // Writes the end line and returns the whole skippable index frame
  // (magic, Frame_Size, "CBINDEX1", zstd frame). Call once.
  Result<std::string> Finish(uint64_t tar_size);

  uint64_t entries() const { return entries_; }
  // Compressed bytes held so far (the memory the index costs).
  size_t compressed_bytes() const;

 private:
  struct Impl;
  IndexWriter();
  Status Compress(std::string_view line, bool end);
  std::unique_ptr<Impl> impl_;
  uint64_t entries_ = 0;
  bool finished_ = false;
};

// Reads an index payload ("CBINDEX1" + one zstd frame, i.e. the index frame
// without its 8-byte skippable header) a piece at a time, decompressing as it
// goes and handing each entry to `on_entry` in archive order. Memory: one
// zstd decompression context (window <= 8 MiB accepted) and one line.
class IndexReader {
 public:
  using EntryFn = std::function<Status(IndexEntry&&)>;
  static Result<std::unique_ptr<IndexReader>> Create(EntryFn on_entry);
  ~IndexReader();
  IndexReader(const IndexReader&) = delete;
  IndexReader& operator=(const IndexReader&) = delete;

  // Feeds the next bytes of the payload. A non-OK status from on_entry is
  // returned as is; malformed input is Corruption. Errors are sticky.
  Status Feed(std::string_view bytes);
  // Checks that the payload ended exactly with the zstd frame after the end
  // line, and that the end line's count equals the entries seen.
  Result<IndexEnd> Finish();

 private:
  struct Impl;
  IndexReader();
  Status Line(std::string_view line);
  Status Produced(std::string_view bytes);
  Status Fail(Status s);
  std::unique_ptr<Impl> impl_;
};

// The whole payload at once (convenience over IndexReader).
Result<IndexEnd> ReadIndexPayload(std::string_view payload, const IndexReader::EntryFn& on_entry);

}  // namespace clawback::archive_index
