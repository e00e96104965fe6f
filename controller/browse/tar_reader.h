// Tar headers and content read from a TarStream with libarchive (private to
// controller/browse).
//
// A TarReader is a libarchive read session over the decompressed stream,
// started at an entry's offset. Every header it returns can be checked
// against what the catalog says is there (CheckHeader): the header must name
// the requested path with the catalog's type and size, so a lying index
// (an offset pointing at another entry, a wrong size) is refused before any
// content byte is read. Skipped content goes through TarStream::Skip, which
// jumps whole frames when it can.
//
// EntryTypeName and ArchiveName define how catalog entries are named and
// typed; the scan (catalog_build.cc) and the checks here use the same two.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "controller/browse/catalog.h"
#include "controller/browse/tar_stream.h"
#include "shared/status.h"

struct archive;
struct archive_entry;

namespace clawback::controller::browse {

// "file", "dir", "symlink", "hardlink", "char", "block", "fifo" (or "" for
// anything else).
std::string EntryTypeName(archive_entry* entry);
// The entry's name without a leading "./" or trailing '/'.
std::string ArchiveName(archive_entry* entry);

class TarReader {
 public:
  // Positions `stream` at `offset` (a header start) and opens libarchive on it.
  static Result<std::unique_ptr<TarReader>> Open(TarStream& stream, uint64_t offset);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next header, or nullptr at the end of the archive. Valid until the
  // next call. Unread content of the previous entry is skipped.
  Result<archive_entry*> NextHeader();
  // Offset (in the tar stream) of the last header's first block.
  uint64_t header_offset() const { return header_offset_; }
  // Content of the current entry; 0 at its end.
  Result<size_t> ReadData(char* buf, size_t capacity);
  TarStream& stream() { return stream_; }

 private:
  TarReader(TarStream& stream, uint64_t base);
  static long ReadCallback(archive*, void* self, const void** buf);
  static int64_t SkipCallback(archive*, void* self, int64_t request);

  TarStream& stream_;
  uint64_t base_;  // tar stream offset where this session started
  archive* ar_ = nullptr;
  std::string buf_;
  Status broken_;
  uint64_t header_offset_ = 0;
};

// OK when `header` is the entry the catalog describes (name, type, size);
// Corruption "file index does not match the archive at ..." otherwise.
Status CheckHeader(archive_entry* header, const IndexEntry& expected);

// A regular file's content checked against its catalog entry: the header at
// the entry's offset must match (CheckHeader), and the content's SHA-256
// must equal the catalog's (when it has one) by the time the last byte is
// returned; the last Read() before the end fails instead when it does not,
// so a caller that holds back its last piece never forwards a wrong file.
class FileContent {
 public:
  static Result<std::unique_ptr<FileContent>> Open(TarStream& stream, const IndexEntry& entry);
  uint64_t size() const { return entry_.size; }
  // Up to `capacity` bytes; 0 at the end (after the hash checked out).
  Result<size_t> Read(char* buf, size_t capacity);

 private:
  FileContent(std::unique_ptr<TarReader> reader, IndexEntry entry);
  std::unique_ptr<TarReader> reader_;
  IndexEntry entry_;
  uint64_t read_ = 0;
  Sha256 sha_;
};

// The whole content of a file of at most `limit` bytes, verified.
Result<std::string> ReadWholeFile(TarStream& stream, const IndexEntry& entry);

}  // namespace clawback::controller::browse
