// The store's schema, as an ordered list of numbered migrations.
//
// Migration N moves the schema from version N-1 to N. Each is applied in its
// own transaction together with its row in `schema_migrations`, so a crash
// leaves the database at a whole version. Migrations are append-only: a
// released migration is never edited; a change is a new, higher number.
// docs/schema.md describes the resulting tables.
//
// One history serves both engines: version N means the same tables on
// SQLite and on PostgreSQL. A migration's `sql` is run on both unless it has
// a `postgres_sql`, which PostgreSQL runs instead. Write new migrations in
// portable SQL (BIGINT for integers, TEXT, no AUTOINCREMENT or SQLite-only
// functions) so that `sql` alone is enough; add `postgres_sql` only where the
// dialects differ (identity columns, triggers, DOUBLE PRECISION).
#pragma once

#include <span>

namespace clawback::controller::store {

struct Migration {
  int version;              // 1, 2, 3 ... without gaps
  const char* description;  // one line, stored in schema_migrations
  const char* sql;          // one or more statements; run on both engines
  const char* postgres_sql = nullptr;  // PostgreSQL's text when it differs
};

enum class Dialect { kSqlite, kPostgres };

// The text `m` runs on `dialect`.
inline const char* MigrationSql(const Migration& m, Dialect dialect) {
  return dialect == Dialect::kPostgres && m.postgres_sql != nullptr ? m.postgres_sql : m.sql;
}

// All migrations, ascending by version.
std::span<const Migration> Migrations();

// The schema version this binary writes (the last migration's number).
int LatestSchemaVersion();

}  // namespace clawback::controller::store
