// Looking inside a stored backup without restoring it (issue 17): its file
// catalog, single files, subtree archives and diffs. The "start here" header
// of controller/browse; docs/archive-format.md describes the .index file.
//
// OpenBackupArchive opens a completed backup's archive for random access:
// its block digests (written with the backup; recomputed and stored once,
// after a whole-file check against the record, when missing or unusable),
// and its catalog "<archive>.index", built on first use when missing, stale
// (another archive's) or unreadable — by a sequential scan, under a lock per
// archive so concurrent requests build it once. Every compressed byte read
// afterwards is checked against its block digest before it is decompressed.
//
// Errors are for users: they name the backup, never a host path (the
// details go to the log). NotFound for a path not in the backup,
// FailedPrecondition for a backup that is not completed, Corruption for an
// archive or index that does not check out.
//
// Thread-safe: every call opens its own handles; BackupArchive is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "controller/browse/catalog.h"
#include "controller/storage/archive_storage.h"
#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller::browse {

class VerifiedBlocks;
class TarStream;
struct ReadCounters;

class BackupArchive {
 public:
  ~BackupArchive();
  Catalog& catalog() { return *catalog_; }
  TarStream& stream() { return *stream_; }
  VerifiedBlocks& blocks() { return *blocks_; }
  const ReadCounters& counters() const;
  const Backup& backup() const { return backup_; }
  const std::string& archive_path() const { return archive_path_; }

 private:
  friend Result<std::unique_ptr<BackupArchive>> OpenBackupArchive(const std::string&, const Backup&);
  friend struct StoredArchiveOpener;
  BackupArchive() = default;
  Backup backup_;
  std::string archive_path_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<VerifiedBlocks> blocks_;
  std::unique_ptr<TarStream> stream_;
};

Result<std::unique_ptr<BackupArchive>> OpenBackupArchive(const std::string& backups_dir, const Backup& backup);

// Object storage: archives whose backups_dir is `location` (the storage's
// Location(), e.g. "s3://bucket/prefix") are read from `archives` with
// ranged reads (VerifiedBlocks, every block checked before use). Their
// ".index" is a local file under `cache_dir` (the controller's data dir):
// on first use it is fetched from the bucket, or, when the bucket has none
// that describes the archive, built (index frame or scan) and uploaded
// there; always written as .partial and renamed. Call at startup, before
// serving; thread-safe afterwards.
void ServeArchivesFrom(const std::string& location, std::shared_ptr<storage::ArchiveStorage> archives,
                       std::string cache_dir);

// For the backup job on object storage, once a format 2 archive is
// published: reads its seek table and index frame back with ranged reads
// (every block checked against `digests`), checks them against
// `expected_entries` like IndexWrittenArchive, writes the catalog into the
// cache under `cache_dir` and uploads it as the "<name>.index" object.
// Corruption naming what is wrong.
Status IndexStoredArchive(storage::ArchiveStorage& archives, const std::string& cache_dir, const std::string& name,
                          uint64_t expected_entries, const BlockDigests& digests);

// For the backup job, before a format 2 archive is published: reads the seek
// table and index frame back from `written_path` (the .partial file, with
// pread), checks them (catalog_import.h) against `expected_entries` (the
// trailers' count) and writes "<final_archive_path>.index" (.partial, fsync,
// rename; the caller's directory fsync makes it durable with the archive).
// Corruption naming what is wrong, e.g. "archive index lists 9 entries, the
// agent reported 10".
Status IndexWrittenArchive(const std::string& written_path, const std::string& final_archive_path,
                           uint64_t expected_entries, const std::string& archive_sha256);

// "/home/claworc/x" or "home/claworc/x" -> "home/claworc/x"; "/" or "" -> "".
// InvalidArgument for "..", NUL, control characters or an overlong path
// (shared/path_rules.h rules).
Result<std::string> CatalogPathFromQuery(const std::string& query_path);
// "home/claworc/x" -> "/home/claworc/x"; "" -> "/".
std::string DisplayPath(const std::string& catalog_path);

// A selection of subtrees (catalog paths) as the entries to stream, in
// archive order, deduplicated. NotFound naming the first path that is not
// in the backup.
Result<std::vector<IndexEntry>> SelectSubtrees(Catalog& catalog, const std::vector<std::string>& paths);

}  // namespace clawback::controller::browse
