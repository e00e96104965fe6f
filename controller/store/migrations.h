// The store's schema, as an ordered list of numbered migrations.
//
// Migration N moves the schema from version N-1 to N. Each is applied in its
// own transaction together with its row in `schema_migrations`, so a crash
// leaves the database at a whole version. Migrations are append-only: a
// released migration is never edited; a change is a new, higher number.
// docs/schema.md describes the resulting tables.
#pragma once

#include <span>

namespace clawback::controller::store {

struct Migration {
  int version;              // 1, 2, 3 ... without gaps
  const char* description;  // one line, stored in schema_migrations
  const char* sql;          // one or more statements
};

// All migrations, ascending by version.
std::span<const Migration> Migrations();

// The schema version this binary writes (the last migration's number).
int LatestSchemaVersion();

}  // namespace clawback::controller::store
