// The controller's copy of a backup's file index: "<archive>.index", a
// SQLite database beside the archive (docs/archive-format.md, "The
// controller's copy of the index"). It is a cache the archive can always
// recreate (catalog_build.h), never the only copy.
//
// Paths inside the catalog are archive entry names as archived
// ("home/claworc/notes.txt": no leading '/', no trailing '/'); the root is
// "". Directories an archive implies but does not hold (the parents of the
// backed-up paths, "home" for "home/claworc") are listed as `dir` entries
// with `in_archive == false`: they can be browsed, never read.
//
// CatalogWriter builds a new catalog at "<path>.partial" in one transaction;
// Commit() fsyncs it and renames it to <path> (the caller fsyncs the
// directory). Catalog opens a finished one read-only for queries. Both own
// their SQLite connection; a Catalog is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace SQLite {
class Database;
class Statement;
}

namespace clawback::controller::browse {

struct IndexEntry {
  std::string path;    // archive name, "" never (the root is implied)
  std::string type;    // file, dir, symlink, hardlink, char, block, fifo
  uint64_t size = 0;   // content bytes (files only)
  uint32_t mode = 0;   // permission bits incl. setuid/setgid/sticky
  int64_t uid = 0, gid = 0;
  std::string uname, gname;
  int64_t mtime = 0;
  int64_t mtime_nsec = 0;
  std::string target;  // symlink text, or the hardlinked entry's path
  uint64_t offset = 0;       // first header byte in the decompressed tar stream
  uint64_t data_offset = 0;  // first content byte
  uint64_t frame = 0;        // data frame holding `offset`
  std::string sha256;        // files: lowercase hex of the content ("" unknown)
  bool in_archive = true;    // false: an implied parent directory

  std::string Name() const;    // last component
  std::string Parent() const;  // "" for a top-level entry
};

struct FrameInfo {
  uint64_t no = 0;
  uint64_t c_offset = 0, c_size = 0;  // in the archive file
  uint64_t d_offset = 0, d_size = 0;  // in the decompressed tar stream
};

struct CatalogMeta {
  int archive_format = 1;   // 1: scanned, 2: from the archive's index frame
  std::string archive_sha256;
  uint64_t archive_size = 0;
  uint64_t tar_size = 0;
  uint64_t entries = 0;     // entries in the archive (implied dirs not counted)
};

// "<archive path>.index"
std::string CatalogPath(const std::string& archive_path);

class CatalogWriter {
 public:
  // Creates "<path>.partial" (replacing a stale one).
  static Result<std::unique_ptr<CatalogWriter>> Create(const std::string& path);
  ~CatalogWriter();  // removes the partial file unless committed
  CatalogWriter(const CatalogWriter&) = delete;
  CatalogWriter& operator=(const CatalogWriter&) = delete;

  Status AddFrame(const FrameInfo& frame);
  // Entries in archive order. A path seen twice keeps the later entry (tar
  // semantics: the last one wins on extraction).
  Status AddEntry(const IndexEntry& entry);
  // Adds implied parent directories, writes meta, commits, fsyncs and
  // renames "<path>.partial" to <path>. No directory fsync.
  Status Commit(const CatalogMeta& meta);

 private:
  CatalogWriter(std::string path, std::unique_ptr<SQLite::Database> db);
  // Finalizes the kept statements, then closes the database.
  void Close();
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  // Prepared once and reused for every row (preparing per entry was a large
  // share of the controller's CPU per backup); declared after db_ so they
  // are finalized before it closes.
  std::unique_ptr<SQLite::Statement> insert_entry_;
  std::unique_ptr<SQLite::Statement> insert_frame_;
  bool committed_ = false;
};

struct ListPage {
  std::vector<IndexEntry> entries;
  uint64_t total = 0;
};

class Catalog {
 public:
  // Opens a finished catalog read-only; Corruption when it is not one.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const CatalogMeta& meta() const { return meta_; }
  const std::vector<FrameInfo>& frames() const { return frames_; }

  // The entry at `path` ("" is the root: an implied dir). NotFound otherwise.
  Result<IndexEntry> Lookup(const std::string& path);
  // Children of directory `dir`, sorted by name (byte order). NotFound when
  // `dir` is not in the catalog, FailedPrecondition when it is no directory.
  Result<ListPage> List(const std::string& dir, uint64_t limit, uint64_t offset);
  // Entries anywhere whose name matches the SQLite GLOB `pattern`, sorted by path.
  Result<ListPage> Search(const std::string& pattern, uint64_t limit, uint64_t offset);
  // `path` and everything below it that is in the archive, in archive order.
  Result<std::vector<IndexEntry>> Subtree(const std::string& path);
  // For the diff: the file attached as schema "other".
  struct Change {
    std::string path;
    std::string type;
    uint64_t size = 0;
    uint64_t old_size = 0;
  };
  struct Diff {
    std::vector<Change> added, removed, changed;
  };
  // Entries of this catalog (newer) versus `older`: added, removed, and
  // changed (type, size, mode, mtime, target or sha256 differ). At most
  // `limit` of each list.
  Result<Diff> DiffAgainst(const std::string& older_path, uint64_t limit);

 private:
  explicit Catalog(std::unique_ptr<SQLite::Database> db);
  std::unique_ptr<SQLite::Database> db_;
  CatalogMeta meta_;
  std::vector<FrameInfo> frames_;
};

}  // namespace clawback::controller::browse
