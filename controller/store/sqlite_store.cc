// Opening the SQLite store: checks the file can be written, takes the process
// lock, sets WAL, foreign keys and synchronous=FULL, applies migrations
// (sql_schema.cc), and hands the connection to SqlStore (sql_internal.h),
// whose methods live in the sql_<tables>.cc files.
#include "controller/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controller/store/sql_internal.h"
#include "controller/store/sql_schema.h"
#include "controller/store/sqlite_connection.h"

namespace clawback::controller {
namespace {

// Read-only connections for RunRead: as many as the API's handler threads
// (ServerOptions::handler_threads). Every connection, writer or reader, is
// used by one thread at a time (ConnectionPool leases it), so each is opened
// SQLITE_OPEN_NOMUTEX: SQLite's own per-connection mutex would only be taken
// and released around every call for nothing.
constexpr int kReaders = 4;

using store::sql::StoreError;

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Explains up front what SQLite would otherwise report vaguely (or, for a
// write-protected file, silently by opening it read-only).
Status CheckWritable(const std::string& path) {
  std::filesystem::path p(path);
  std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) {
    return Status::IoError(LowerFirst(std::strerror(errno)));
  }
  if (vfs.f_flag & ST_RDONLY) return Status::IoError("read-only file system");
  std::error_code ec;
  if (std::filesystem::exists(p, ec) && ::access(path.c_str(), W_OK) != 0) {
    return Status::IoError("file is not writable: " + LowerFirst(std::strerror(errno)));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return Status::IoError("directory " + dir.string() + " is not writable: " + LowerFirst(std::strerror(errno)));
  }
  return Status::Ok();
}

Result<std::unique_ptr<store::sql::SqlStore>> OpenImpl(const std::string& path, const SqliteStoreOptions& options) {
  if (path.empty()) return Status::InvalidArgument("store path is empty");
  CLAWBACK_RETURN_IF_ERROR(CheckWritable(path));
  store::ProcessLock lock;
  if (options.process_lock) {
    Result<store::ProcessLock> acquired = store::ProcessLock::Acquire(path + ".lock");
    if (!acquired.ok()) return acquired.status();
    lock = std::move(acquired).value();
  }
  try {
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, options.busy_timeout_ms);
    if (sqlite3_db_readonly(db->getHandle(), "main") == 1) {
      return Status::IoError("database is read-only");
    }
    // Checks the header too: a file that is not SQLite fails here.
    std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") return Status::IoError("cannot switch to WAL journal mode (got " + mode + ")");
    db->exec("PRAGMA foreign_keys = ON");
    db->exec("PRAGMA synchronous = FULL");
    std::vector<std::unique_ptr<store::sql::Connection>> connections;
    connections.push_back(store::sql::WrapSqlite(std::move(db)));
    store::sql::ApplyMigrations(*connections.front());
    auto pool = std::make_unique<store::sql::ConnectionPool>(std::move(connections));
    // The readers: opened after the migrations, read-only, so the API's hot
    // reads never wait behind a transfer's commit (WAL readers do not block),
    // and several, so a slow read (the instance list's, or a bulk thread's
    // that lost its CPU) does not hold up the others.
    std::vector<std::unique_ptr<store::sql::Connection>> readers;
    for (int n = 0; n < kReaders; ++n) {
      readers.push_back(store::sql::WrapSqlite(std::make_unique<SQLite::Database>(
          path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, options.busy_timeout_ms)));
    }
    auto reader_pool = std::make_unique<store::sql::ConnectionPool>(std::move(readers));
    return std::make_unique<store::sql::SqlStore>(std::move(lock), std::move(pool), std::move(reader_pool));
  } catch (const StoreError& e) {
    return e.status;
  } catch (const store::sql::Error& e) {
    return store::sql::Translate("", e);
  } catch (const SQLite::Exception& e) {
    return store::sql::Translate("", store::sql::FromSqlite(e));
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace

namespace store::sql {

Result<std::unique_ptr<SqlStore>> OpenSqliteSqlStore(const std::string& path, const SqliteStoreOptions& options) {
  auto r = OpenImpl(path, options);
  if (!r.ok()) return r.status().WithContext("cannot open store " + path);
  return r;
}

}  // namespace store::sql

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const SqliteStoreOptions& options) {
  auto r = store::sql::OpenSqliteSqlStore(path, options);
  if (!r.ok()) return r.status();
  return std::unique_ptr<Store>(std::move(*r));
}
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return OpenSqliteStore(path, SqliteStoreOptions{});
}

}  // namespace clawback::controller
