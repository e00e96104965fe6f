// Moving an installation's metadata between engines: `clawback store
// migrate --from URL --to URL` (controller/cli/commands_store.cc).
//
// CopyStore opens both databases as the controller would (so both are
// migrated to this binary's schema; a SQLite file is locked against a
// running controller), refuses a target that holds any row, and copies every
// table, ids included, inside one transaction on the target: a failure
// leaves the target as empty as it was. Known tables go parents first
// (users before sessions, schedules before backups, ...), then any other
// table in name order. Id counters are carried over too (PostgreSQL identity
// sequences via setval, SQLite's sqlite_sequence), at least past the highest
// id, so an id the source ever handed out is never reused. Before the commit
// every table's row count on the target is compared with the source's.
//
// Memory stays bounded however large a table is: each table is read in
// pages of StoreCopyOptions::batch_rows rows in primary key order (keyset
// pagination: the next page is the rows after the last key copied), from one
// snapshot of the source (SQLite: the write lock; PostgreSQL: a read-only
// REPEATABLE READ transaction), and each row is inserted as it is read.
// Every table must have a primary key.
//
// Works in either direction (SQLite -> PostgreSQL, PostgreSQL -> SQLite,
// and same-engine copies). Stop the controller first: rows written to the
// source during a copy may be missed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/store/database_url.h"
#include "shared/status.h"

namespace clawback::controller {

struct TableCopy {
  std::string table;
  int64_t rows = 0;  // copied, and counted on both sides
};

struct StoreCopyOptions {
  // Rows read from the source per query: the most held in memory at once.
  int batch_rows = 1000;
};

// Errors: FailedPrecondition "target database is not empty: table users has
// 2 rows"; the opening errors of OpenStore; Internal "table X: copied N rows
// but the target has M" when counts disagree (nothing is committed then).
Result<std::vector<TableCopy>> CopyStore(const DatabaseUrl& from, const DatabaseUrl& to,
                                         const StoreCopyOptions& options = {});

}  // namespace clawback::controller
