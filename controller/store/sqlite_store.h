// The SQLite engine of Store (store.h): SqlStore (sql_internal.h) on one
// SQLite connection, with the options the plain OpenSqliteStore(path) uses
// by default. postgres_store.h is the same store on PostgreSQL;
// database_url.h picks one from CLAWORC_DATABASE.
//
// Concurrency: one connection, serialized by a mutex inside the store, so
// every Store method is atomic and thread-safe. The controller's write rate
// is low (state changes and progress ticks), so one connection is enough;
// WAL mode still lets outside readers (sqlite3 CLI, backups of the database)
// read while the controller writes.
//
// Durability: WAL with synchronous=FULL. Each commit is fsynced, so a state
// change the controller acknowledged (backup completed, token revoked, user
// deleted, schedule slot handled) survives a power loss, not only a crash.
// The write rate makes the extra fsync cheap. Archive files are made durable
// separately by the jobs that write them.
//
// Exclusivity: unless disabled, the store holds an flock on "<path>.lock" for
// its lifetime, so a second controller on the same database refuses to start
// instead of running every schedule twice.
#pragma once

#include <memory>
#include <string>

#include "controller/store/store.h"

namespace clawback::controller {

struct SqliteStoreOptions {
  // How long a statement waits for a lock held by another connection before
  // failing with Unavailable ("database is locked ...").
  int busy_timeout_ms = 5000;
  // Hold "<path>.lock" so that only one process uses the store.
  bool process_lock = true;
};

// As OpenSqliteStore(path), with options. Errors all start with
// "cannot open store <path>: " followed by the reason, e.g. "read-only file
// system", "database is locked by another process", "another clawback
// process (pid 812) is using it", or "database schema version 7 is newer
// than this clawback (5): upgrade clawback".
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const SqliteStoreOptions& options);

}  // namespace clawback::controller
