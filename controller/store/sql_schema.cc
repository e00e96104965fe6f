// Migrations on either engine (sql_schema.h).
#include "controller/store/sql_schema.h"

#include "controller/store/migrations.h"
#include "controller/store/postgres_connection.h"
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

Status NewerSchema(int current, int latest) {
  return Status::FailedPrecondition("database schema version " + std::to_string(current) +
                                    " is newer than this clawback (" + std::to_string(latest) +
                                    "): upgrade clawback");
}

void MigrateLocked(Connection& db) {
  const Dialect dialect = db.engine() == Engine::kPostgres ? Dialect::kPostgres : Dialect::kSqlite;
  {
    // On SQLite the IMMEDIATE transaction takes the write lock now, so a
    // database another process holds fails here, at startup.
    Transaction tx(db);
    db.ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    tx.Commit();
  }
  const int latest = LatestSchemaVersion();
  for (const Migration& m : Migrations()) {
    Transaction tx(db);
    int current = SchemaVersion(db);
    if (current > latest) Fail(NewerSchema(current, latest));
    if (m.version <= current) continue;
    if (m.version != current + 1) {
      Fail(Status::Internal("schema migration " + std::to_string(m.version) + " does not follow version " +
                            std::to_string(current)));
    }
    db.ExecScript(MigrationSql(m, dialect));
    Exec(db, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)", m.version,
         std::string(m.description), WallClockNow());
    tx.Commit();
  }
  // Also refuse when there was nothing to migrate but the database is newer.
  int current = SchemaVersion(db);
  if (current > latest) Fail(NewerSchema(current, latest));
}

}  // namespace

int SchemaVersion(Connection& db) {
  auto q = db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q->Step();
  return q->Int(0);
}

void ApplyMigrations(Connection& db) {
  if (db.engine() != Engine::kPostgres) return MigrateLocked(db);
  const std::string key = std::to_string(kMigrateLockKey);
  db.ExecScript("SELECT pg_advisory_lock(" + key + ")");
  try {
    MigrateLocked(db);
  } catch (...) {
    db.Rollback();
    try {
      db.ExecScript("SELECT pg_advisory_unlock(" + key + ")");
    } catch (...) {
      // The lock goes with the session when the connection closes.
    }
    throw;
  }
  db.ExecScript("SELECT pg_advisory_unlock(" + key + ")");
}

}  // namespace clawback::controller::store::sql
