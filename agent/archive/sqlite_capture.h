// DatabaseSnapshot: a transactionally consistent image of a live SQLite
// database, streamed page by page into a backup (docs/live-state.md).
//
// What "consistent" means: the image holds exactly the database's committed
// state at one instant, the start of ONE read transaction taken when the
// capture begins (so after the backup request arrived: everything committed
// before the request is in it). Every page is read inside that transaction
// through the sqlite_dbpage table, so pages from the -wal and the main file
// come from the same snapshot. The image is the database as it would be after
// a full checkpoint at that instant: one self-contained file, page_count x
// page_size bytes, that opens with no -wal/-journal beside it. Its header
// is left exactly as SQLite has it: a WAL database stays in WAL mode (bytes
// 18/19 = 2), which SQLite opens as a WAL database with an empty log; the
// in-header page count and change counter are those of the snapshot, and the
// in-header size equals the image size.
//
//   * WAL mode: writers are never blocked. The read transaction only pins the
//     snapshot: checkpoints stop short of it and the -wal grows until the
//     capture ends.
//   * Rollback-journal mode: the read transaction is a SHARED lock. Begin()
//     waits up to `busy_timeout` for a writer to finish; a writer then waits
//     for the copy (and only the copy) to end.
//
// How the file is opened (the container must not redirect the agent): SQLite
// is handed "/proc/self/fd/<dir_fd>/<name>", where dir_fd is the directory the
// tree walker opened below --root without following symlinks. The kernel
// resolves the /proc magic link to that very directory, never re-walking a
// path string, and SQLite's unix VFS opens the name and its "-wal", "-shm",
// "-journal" siblings with O_NOFOLLOW. SQLite normally resolves symlinks in a
// database path itself (xFullPathname readlink()s every component, which
// would turn the magic link back into a path string a container could race);
// so the database is opened through a VFS registered here, "clawback-dirfd",
// which is the default unix VFS with one change: xFullPathname keeps the name
// as given. A connection is read-only (SQLITE_OPEN_READONLY, no checkpoint on
// close); like any SQLite reader of a WAL database it may create an empty
// -wal/-shm when none exists (owned like the database).
//
// Memory: SQLite's page cache is capped at kCachePages pages, and pages are
// handed to the caller one at a time; nothing is copied to disk or held whole.
//
// Errors are what the caller turns into a warning (the file is then archived
// as plain bytes): Unavailable when the database stayed locked past the
// timeout, Corruption when the file has the header but is not a valid (or is
// an encrypted) database, IoError for anything else.
//
// Thread safety: a DatabaseSnapshot is used by one thread. The process's
// POSIX locks on a file are dropped when ANY descriptor of it is closed in
// this process, so a backup on another thread closing its descriptor of the
// same database (or of its -wal/-shm) would silently end this snapshot's read
// lock. Hence LockDatabaseFiles(): captures, and every open descriptor of a
// database-looking file until it is closed, are serialized process-wide.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "shared/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace clawback::agent {

// The 16 bytes every SQLite 3 database file starts with.
inline constexpr char kSqliteHeader[] = "SQLite format 3";  // + its '\0': 16 bytes

// True when the first 16 bytes of the regular file `fd` are kSqliteHeader
// (read with pread, the file offset is untouched).
bool HasSqliteHeader(int fd);

// For "x.db-wal", "x.db-shm" and "x.db-journal": the database name "x.db";
// empty for any other name.
std::string SidecarDatabaseName(const std::string& name);

// The process-wide lock that makes the dropped-lock hazard above impossible:
// hold it from before a DatabaseSnapshot begins until after the walker closed
// its descriptor of that file, and likewise around the life of any descriptor
// of a file with the SQLite header or a -wal/-shm/-journal name.
std::unique_lock<std::mutex> LockDatabaseFiles();

class DatabaseSnapshot {
 public:
  // Opens `name` in the directory `dir_fd` read-only and begins the read
  // transaction, waiting up to `busy_timeout` for a writer (rollback mode).
  // `display_path` names the file in error messages.
  static Result<std::unique_ptr<DatabaseSnapshot>> Begin(int dir_fd, const std::string& name,
                                                         const std::string& display_path,
                                                         std::chrono::milliseconds busy_timeout);

  ~DatabaseSnapshot();  // ends the read transaction and closes the connection
  DatabaseSnapshot(const DatabaseSnapshot&) = delete;
  DatabaseSnapshot& operator=(const DatabaseSnapshot&) = delete;

  // page_count x page_size of the snapshot: the exact size of the image.
  uint64_t image_size() const { return page_count_ * page_size_; }
  uint64_t page_count() const { return page_count_; }

  // Calls `write` with each page, page 1 first, page_size bytes each, all read
  // inside the one read transaction. Returns the first non-OK status from
  // `write`, or IoError/Corruption when a page cannot be read (after
  // *pages_written pages went out; the caller must then not present the
  // image as consistent).
  using PageWriter = std::function<Status(const void* page, size_t size)>;
  Status WritePages(const PageWriter& write, uint64_t* pages_written);

 private:
  DatabaseSnapshot(sqlite3* db, std::string display_path) : db_(db), display_path_(std::move(display_path)) {}
  Status Start(std::chrono::milliseconds busy_timeout);
  Status Error(const std::string& what) const;

  sqlite3* db_;
  std::string display_path_;
  bool in_transaction_ = false;
  uint64_t page_size_ = 0;
  uint64_t page_count_ = 0;
};

}  // namespace clawback::agent
