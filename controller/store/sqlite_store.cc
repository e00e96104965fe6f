// Opening the SQLite store: checks the file can be written, takes the process
// lock, sets WAL, foreign keys and synchronous=FULL, applies migrations, and
// hands the connection (and a second, read-only one) to SqliteStore (sqlite_internal.h), whose methods live
// in the sqlite_<tables>.cc files.
#include "controller/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controller/store/migrations.h"
#include "controller/store/sqlite_internal.h"

namespace clawback::controller {
namespace {

using store::sqlite::Fail;
using store::sqlite::StoreError;

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

Status NewerSchema(int current, int latest) {
  return Status::FailedPrecondition("database schema version " + std::to_string(current) +
                                    " is newer than this clawback (" + std::to_string(latest) +
                                    "): upgrade clawback");
}

int SchemaVersion(SQLite::Database& db) {
  return db.execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
}

// Applies pending migrations, one transaction each; refuses newer schemas.
void Migrate(SQLite::Database& db) {
  {
    // IMMEDIATE takes the write lock now, so a database another process
    // holds fails here, at startup, with "database is locked".
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    tx.commit();
  }
  const int latest = store::LatestSchemaVersion();
  for (const store::Migration& m : store::Migrations()) {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    int current = SchemaVersion(db);
    if (current > latest) Fail(NewerSchema(current, latest));
    if (m.version <= current) continue;
    if (m.version != current + 1) {
      Fail(Status::Internal("schema migration " + std::to_string(m.version) + " does not follow version " +
                            std::to_string(current)));
    }
    db.exec(m.sql);
    SQLite::Statement ins(db, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)");
    store::sqlite::Bind(ins, m.version, m.description, store::sqlite::WallClockNow());
    ins.exec();
    tx.commit();
  }
  // Also refuse when there was nothing to migrate but the file is newer.
  int current = SchemaVersion(db);
  if (current > latest) Fail(NewerSchema(current, latest));
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

Result<std::unique_ptr<Store>> OpenImpl(const std::string& path, const SqliteStoreOptions& options) {
  if (path.empty()) return Status::InvalidArgument("store path is empty");
  CLAWBACK_RETURN_IF_ERROR(CheckWritable(path));
  store::ProcessLock lock;
  if (options.process_lock) {
    Result<store::ProcessLock> acquired = store::ProcessLock::Acquire(path + ".lock");
    if (!acquired.ok()) return acquired.status();
    lock = std::move(acquired).value();
  }
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                                 options.busy_timeout_ms);
    if (sqlite3_db_readonly(db->getHandle(), "main") == 1) {
      return Status::IoError("database is read-only");
    }
    // Checks the header too: a file that is not SQLite fails here.
    std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") return Status::IoError("cannot switch to WAL journal mode (got " + mode + ")");
    db->exec("PRAGMA foreign_keys = ON");
    db->exec("PRAGMA synchronous = FULL");
    Migrate(*db);
    auto reader = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, options.busy_timeout_ms);
    return std::unique_ptr<Store>(
        std::make_unique<store::sqlite::SqliteStore>(std::move(lock), std::move(db), std::move(reader)));
  } catch (const StoreError& e) {
    return e.status;
  } catch (const SQLite::Exception& e) {
    return store::sqlite::Translate("", e);
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const SqliteStoreOptions& options) {
  Result<std::unique_ptr<Store>> r = OpenImpl(path, options);
  if (!r.ok()) return r.status().WithContext("cannot open store " + path);
  return r;
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return OpenSqliteStore(path, SqliteStoreOptions{});
}

}  // namespace clawback::controller
