// Bringing a database to this binary's schema (migrations.h), on either
// engine. Private to controller/store.
#pragma once

#include "controller/store/sql_connection.h"

namespace clawback::controller::store::sql {

// Applies the pending migrations, each in its own transaction together with
// its row in schema_migrations (created if missing). On PostgreSQL the whole
// run holds a session advisory lock, so replicas starting at once apply each
// migration exactly once: the others wait, then find nothing to do. Throws
// StoreError(FailedPrecondition, "database schema version 9 is newer than
// this clawback (7): upgrade clawback") for a database from a newer binary,
// and sql::Error when the engine fails.
void ApplyMigrations(Connection& db);

// The highest version recorded in schema_migrations (0 for none).
int SchemaVersion(Connection& db);

}  // namespace clawback::controller::store::sql
