// The PostgreSQL implementation of Store (store.h): the same SqlStore as
// SQLite's, over a small pool of libpq connections, so requests run
// concurrently and several controllers can share one database.
//
// Schema: the same numbered migrations as SQLite (migrations.h), applied at
// open under a PostgreSQL advisory lock, so replicas starting together never
// race; a database from a newer clawback is refused.
//
// Transactions that read, check and write (the last admin rule) take a
// transaction-scoped advisory lock, so they serialize across connections and
// replicas as SQLite's BEGIN IMMEDIATE does; single statements are atomic on
// their own and run concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "controller/store/store.h"

namespace clawback::controller {

struct PostgresStoreOptions {
  // Connections kept open; also the number of store calls that can run at
  // once. Each is opened at start, so a wrong password fails the open.
  int connections = 4;
  // Server-side prepared statements kept per connection, keyed by SQL text
  // (controller/store/postgres_prepared.h). 0 turns them off: the server
  // parses and plans every statement on every call (the benchmark's
  // baseline).
  size_t prepared_statements = 128;
};

// Opens a store on `conninfo`: a postgres:// or postgresql:// URL or a libpq
// "key=value" string; libpq's environment (PGPASSWORD, PGSSLMODE, ...) fills
// in what it leaves out. Errors start with "cannot open store <conninfo with
// the password hidden>: " and give libpq's reason.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, const PostgresStoreOptions& options = {});

}  // namespace clawback::controller
