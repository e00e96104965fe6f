#include "agent/archive/sqlite_capture.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace clawback::agent {
namespace {

constexpr char kVfsName[] = "clawback-dirfd";
// SQLite's page cache for a capture: pages are read once, in order, so a
// small cache is enough (at most 16 x 64 KiB = 1 MiB).
constexpr int kCachePages = 16;

// xFullPathname that keeps the (absolute) name as given: the /proc magic link
// must reach the kernel, not be readlink()ed into a path string first.
int KeepPathname(sqlite3_vfs*, const char* name, int out_size, char* out) {
  const size_t n = std::strlen(name);
  if (name[0] != '/' || n + 1 > static_cast<size_t>(out_size)) return SQLITE_CANTOPEN;
  std::memcpy(out, name, n + 1);
  return SQLITE_OK;
}

// The default unix VFS with KeepPathname, registered once (not as default).
const char* DirFdVfs() {
  static sqlite3_vfs vfs;
  static bool registered = false;
  static std::once_flag once;
  std::call_once(once, [] {
    if (sqlite3_initialize() != SQLITE_OK) return;
    sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
    if (unix_vfs == nullptr) return;
    vfs = *unix_vfs;
    vfs.pNext = nullptr;
    vfs.zName = kVfsName;
    vfs.xFullPathname = KeepPathname;
    registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
  });
  return registered ? kVfsName : nullptr;
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

bool IsBusy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}
bool IsNotADatabase(int rc) {
  return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT;
}

}  // namespace

std::unique_lock<std::mutex> LockDatabaseFiles() {
  static std::mutex database_files;
  return std::unique_lock<std::mutex>(database_files);
}

bool HasSqliteHeader(int fd) {
  char head[sizeof kSqliteHeader];
  static_assert(sizeof kSqliteHeader == 16);
  ssize_t n;
  do {
    n = pread(fd, head, sizeof head, 0);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof head) && std::memcmp(head, kSqliteHeader, sizeof head) == 0;
}

std::string SidecarDatabaseName(const std::string& name) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const size_t n = std::strlen(suffix);
    if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0)
      return name.substr(0, name.size() - n);
  }
  return "";
}

Result<std::unique_ptr<DatabaseSnapshot>> DatabaseSnapshot::Begin(int dir_fd, const std::string& name,
                                                                  const std::string& display_path,
                                                                  std::chrono::milliseconds busy_timeout) {
  const char* vfs = DirFdVfs();
  if (vfs == nullptr) return Status::Internal("cannot register the SQLite VFS for database capture");
  const std::string path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE | SQLITE_OPEN_EXRESCODE, vfs);
  // The snapshot owns `db` from here on, also when opening failed.
  std::unique_ptr<DatabaseSnapshot> snapshot(new DatabaseSnapshot(db, display_path));
  if (rc != SQLITE_OK) return snapshot->Error("cannot open");
  CLAWBACK_RETURN_IF_ERROR(snapshot->Start(busy_timeout));
  return snapshot;
}

Status DatabaseSnapshot::Start(std::chrono::milliseconds busy_timeout) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
  // A reader never checkpoints: the database file is not ours to write.
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  const std::string setup =
      "PRAGMA cache_size=" + std::to_string(kCachePages) + "; PRAGMA mmap_size=0; BEGIN";
  if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Error("cannot start");
  in_transaction_ = true;

  // The first read starts the read transaction (waiting for a rollback-mode
  // writer up to the busy timeout); it also reads the schema, which fails
  // for a file that only starts like a database.
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_schema", -1, &raw, nullptr) != SQLITE_OK)
    return Error("cannot read");
  Statement schema(raw);
  if (sqlite3_step(schema.get()) != SQLITE_ROW) return Error("cannot read");
  schema.reset();

  for (auto [pragma, out] :
       {std::pair{"PRAGMA page_size", &page_size_}, std::pair{"PRAGMA page_count", &page_count_}}) {
    raw = nullptr;
    if (sqlite3_prepare_v2(db_, pragma, -1, &raw, nullptr) != SQLITE_OK) return Error("cannot read");
    Statement stmt(raw);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) return Error("cannot read");
    *out = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
  }
  if (page_size_ < 512 || page_size_ > 65536 || page_count_ == 0)
    return Status::Corruption("not a valid SQLite database: " + display_path_ + " (page size " +
                              std::to_string(page_size_) + ", " + std::to_string(page_count_) + " pages)");
  return Status::Ok();
}

Status DatabaseSnapshot::WritePages(const PageWriter& write, uint64_t* pages_written) {
  *pages_written = 0;
  sqlite3_stmt* raw = nullptr;
  // sqlite_dbpage walks pages 1..page_count of the open read transaction.
  if (sqlite3_prepare_v2(db_, "SELECT data FROM sqlite_dbpage", -1, &raw, nullptr) != SQLITE_OK)
    return Error("cannot read pages of");
  Statement pages(raw);
  for (;;) {
    const int rc = sqlite3_step(pages.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error("reading page " + std::to_string(*pages_written + 1) + " of");
    const void* data = sqlite3_column_blob(pages.get(), 0);
    const int size = sqlite3_column_bytes(pages.get(), 0);
    if (data == nullptr || static_cast<uint64_t>(size) != page_size_)
      return Status::Corruption("page " + std::to_string(*pages_written + 1) + " of " + display_path_ +
                                " has " + std::to_string(size) + " bytes, not " + std::to_string(page_size_));
    if (*pages_written == page_count_)
      return Status::Corruption(display_path_ + " has more pages than its snapshot's page count");
    CLAWBACK_RETURN_IF_ERROR(write(data, static_cast<size_t>(size)));
    ++*pages_written;
  }
  if (*pages_written != page_count_)
    return Status::Corruption(display_path_ + ": " + std::to_string(*pages_written) + " of " +
                              std::to_string(page_count_) + " pages read");
  return Status::Ok();
}

Status DatabaseSnapshot::Error(const std::string& what) const {
  const int rc = db_ != nullptr ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM;
  const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
  if (IsBusy(rc)) return Status::Unavailable("locked by another process past the timeout: " + display_path_);
  if (IsNotADatabase(rc))
    return Status::Corruption("not a valid SQLite database (corrupt or encrypted): " + display_path_ + ": " +
                              detail);
  return Status::IoError(what + " SQLite database " + display_path_ + ": " + detail);
}

DatabaseSnapshot::~DatabaseSnapshot() {
  if (db_ == nullptr) return;
  // Ends the read transaction (there is nothing to roll back: it only read).
  if (in_transaction_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db_);
}

}  // namespace clawback::agent
