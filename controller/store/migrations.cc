#include "controller/store/migrations.h"

namespace clawback::controller::store {
namespace {

// Ids use AUTOINCREMENT (PostgreSQL: identity columns, whose sequence never
// goes back) so a deleted row's id is never reused: a new instance must not
// inherit an old instance's backups or a user's access.
constexpr Migration kMigrations[] = {
    {1, "initial schema", R"sql(
CREATE TABLE users (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  username             TEXT    NOT NULL UNIQUE,
  role                 TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
  can_create_instances INTEGER NOT NULL DEFAULT 0,
  password_hash        TEXT    NOT NULL,
  password_changed_at  INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL
);

CREATE TABLE sessions (
  token_hash   TEXT    PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token   TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT    NOT NULL,
  token_hash   TEXT    NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0,
  revoked      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

CREATE TABLE instances (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT    NOT NULL UNIQUE,
  agent_url  TEXT    NOT NULL,
  created_by INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);

CREATE TABLE user_instances (
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, instance_id)
);
CREATE INDEX user_instances_by_instance ON user_instances(instance_id);

CREATE TABLE schedules (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  name              TEXT    NOT NULL,
  all_instances     INTEGER NOT NULL DEFAULT 0,
  instance_ids_json TEXT    NOT NULL DEFAULT '[]',
  cron              TEXT    NOT NULL,
  timezone          TEXT    NOT NULL DEFAULT 'UTC',
  paths_json        TEXT    NOT NULL DEFAULT '[]',
  note              TEXT    NOT NULL DEFAULT '',
  enabled           INTEGER NOT NULL DEFAULT 1,
  keep_last         INTEGER NOT NULL DEFAULT 0,
  keep_hourly       INTEGER NOT NULL DEFAULT 0,
  keep_daily        INTEGER NOT NULL DEFAULT 0,
  keep_weekly       INTEGER NOT NULL DEFAULT 0,
  keep_monthly      INTEGER NOT NULL DEFAULT 0,
  created_by        INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL,
  last_slot         INTEGER NOT NULL DEFAULT 0,
  last_run_at       INTEGER NOT NULL DEFAULT 0,
  last_result       TEXT    NOT NULL DEFAULT ''
);

-- instance_id is not a foreign key: backups outlive their instance record.
CREATE TABLE backups (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id     INTEGER NOT NULL,
  instance_name   TEXT    NOT NULL,
  status          TEXT    NOT NULL
                  CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  paths_json      TEXT    NOT NULL DEFAULT '[]',
  note            TEXT    NOT NULL DEFAULT '',
  file_path       TEXT    NOT NULL DEFAULT '',
  size_bytes      INTEGER NOT NULL DEFAULT 0,
  sha256          TEXT    NOT NULL DEFAULT '',
  entries         INTEGER NOT NULL DEFAULT 0,
  progress_bytes  INTEGER NOT NULL DEFAULT 0,
  error_message   TEXT    NOT NULL DEFAULT '',
  warnings_json   TEXT    NOT NULL DEFAULT '[]',
  created_by      INTEGER NOT NULL DEFAULT 0,
  created_by_name TEXT    NOT NULL DEFAULT '',
  schedule_id     INTEGER REFERENCES schedules(id) ON DELETE SET NULL,
  created_at      INTEGER NOT NULL,
  started_at      INTEGER NOT NULL DEFAULT 0,
  completed_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX backups_by_time ON backups(created_at DESC, id DESC);
CREATE INDEX backups_by_instance ON backups(instance_id, created_at DESC, id DESC);
CREATE INDEX backups_by_status ON backups(status);
CREATE INDEX backups_by_schedule ON backups(schedule_id);

-- backup_id is not a foreign key: restore history outlives a deleted backup.
CREATE TABLE restores (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  backup_id            INTEGER NOT NULL,
  target_instance_id   INTEGER NOT NULL,
  target_instance_name TEXT    NOT NULL,
  status               TEXT    NOT NULL
                       CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  entries_written      INTEGER NOT NULL DEFAULT 0,
  bytes_written        INTEGER NOT NULL DEFAULT 0,
  progress_bytes       INTEGER NOT NULL DEFAULT 0,
  skipped_json         TEXT    NOT NULL DEFAULT '[]',
  error_message        TEXT    NOT NULL DEFAULT '',
  created_by           INTEGER NOT NULL DEFAULT 0,
  created_by_name      TEXT    NOT NULL DEFAULT '',
  created_at           INTEGER NOT NULL,
  started_at           INTEGER NOT NULL DEFAULT 0,
  completed_at         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX restores_by_backup ON restores(backup_id);
CREATE INDEX restores_by_status ON restores(status);

CREATE TABLE audit_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  actor_id    INTEGER NOT NULL DEFAULT 0,
  actor       TEXT    NOT NULL,
  source      TEXT    NOT NULL DEFAULT '',
  action      TEXT    NOT NULL,
  target      TEXT    NOT NULL DEFAULT '',
  outcome     TEXT    NOT NULL,
  detail_json TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit_events(at DESC, id DESC);
CREATE INDEX audit_by_actor ON audit_events(actor);
CREATE INDEX audit_by_action ON audit_events(action);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
)sql",
     R"sql(
CREATE TABLE users (
  id                   BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  username             TEXT    NOT NULL UNIQUE,
  role                 TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
  can_create_instances BIGINT  NOT NULL DEFAULT 0,
  password_hash        TEXT    NOT NULL,
  password_changed_at  BIGINT  NOT NULL DEFAULT 0,
  created_at           BIGINT  NOT NULL
);

CREATE TABLE sessions (
  token_hash   TEXT    PRIMARY KEY,
  user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token   TEXT    NOT NULL,
  created_at   BIGINT  NOT NULL,
  expires_at   BIGINT  NOT NULL,
  last_seen_at BIGINT  NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
  id           BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  user_id      BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT    NOT NULL,
  token_hash   TEXT    NOT NULL UNIQUE,
  created_at   BIGINT  NOT NULL,
  last_used_at BIGINT  NOT NULL DEFAULT 0,
  revoked      BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

CREATE TABLE instances (
  id         BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  agent_url  TEXT    NOT NULL,
  created_by BIGINT  NOT NULL DEFAULT 0,
  created_at BIGINT  NOT NULL
);

CREATE TABLE user_instances (
  user_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id BIGINT  NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, instance_id)
);
CREATE INDEX user_instances_by_instance ON user_instances(instance_id);

CREATE TABLE schedules (
  id                BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  name              TEXT    NOT NULL,
  all_instances     BIGINT  NOT NULL DEFAULT 0,
  instance_ids_json TEXT    NOT NULL DEFAULT '[]',
  cron              TEXT    NOT NULL,
  timezone          TEXT    NOT NULL DEFAULT 'UTC',
  paths_json        TEXT    NOT NULL DEFAULT '[]',
  note              TEXT    NOT NULL DEFAULT '',
  enabled           BIGINT  NOT NULL DEFAULT 1,
  keep_last         BIGINT  NOT NULL DEFAULT 0,
  keep_hourly       BIGINT  NOT NULL DEFAULT 0,
  keep_daily        BIGINT  NOT NULL DEFAULT 0,
  keep_weekly       BIGINT  NOT NULL DEFAULT 0,
  keep_monthly      BIGINT  NOT NULL DEFAULT 0,
  created_by        BIGINT  NOT NULL DEFAULT 0,
  created_at        BIGINT  NOT NULL,
  last_slot         BIGINT  NOT NULL DEFAULT 0,
  last_run_at       BIGINT  NOT NULL DEFAULT 0,
  last_result       TEXT    NOT NULL DEFAULT ''
);

-- instance_id is not a foreign key: backups outlive their instance record.
CREATE TABLE backups (
  id              BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  instance_id     BIGINT  NOT NULL,
  instance_name   TEXT    NOT NULL,
  status          TEXT    NOT NULL
                  CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  paths_json      TEXT    NOT NULL DEFAULT '[]',
  note            TEXT    NOT NULL DEFAULT '',
  file_path       TEXT    NOT NULL DEFAULT '',
  size_bytes      BIGINT  NOT NULL DEFAULT 0,
  sha256          TEXT    NOT NULL DEFAULT '',
  entries         BIGINT  NOT NULL DEFAULT 0,
  progress_bytes  BIGINT  NOT NULL DEFAULT 0,
  error_message   TEXT    NOT NULL DEFAULT '',
  warnings_json   TEXT    NOT NULL DEFAULT '[]',
  created_by      BIGINT  NOT NULL DEFAULT 0,
  created_by_name TEXT    NOT NULL DEFAULT '',
  schedule_id     BIGINT  REFERENCES schedules(id) ON DELETE SET NULL,
  created_at      BIGINT  NOT NULL,
  started_at      BIGINT  NOT NULL DEFAULT 0,
  completed_at    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX backups_by_time ON backups(created_at DESC, id DESC);
CREATE INDEX backups_by_instance ON backups(instance_id, created_at DESC, id DESC);
CREATE INDEX backups_by_status ON backups(status);
CREATE INDEX backups_by_schedule ON backups(schedule_id);

-- backup_id is not a foreign key: restore history outlives a deleted backup.
CREATE TABLE restores (
  id                   BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  backup_id            BIGINT  NOT NULL,
  target_instance_id   BIGINT  NOT NULL,
  target_instance_name TEXT    NOT NULL,
  status               TEXT    NOT NULL
                       CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  entries_written      BIGINT  NOT NULL DEFAULT 0,
  bytes_written        BIGINT  NOT NULL DEFAULT 0,
  progress_bytes       BIGINT  NOT NULL DEFAULT 0,
  skipped_json         TEXT    NOT NULL DEFAULT '[]',
  error_message        TEXT    NOT NULL DEFAULT '',
  created_by           BIGINT  NOT NULL DEFAULT 0,
  created_by_name      TEXT    NOT NULL DEFAULT '',
  created_at           BIGINT  NOT NULL,
  started_at           BIGINT  NOT NULL DEFAULT 0,
  completed_at         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX restores_by_backup ON restores(backup_id);
CREATE INDEX restores_by_status ON restores(status);

CREATE TABLE audit_events (
  id          BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at          BIGINT  NOT NULL,
  actor_id    BIGINT  NOT NULL DEFAULT 0,
  actor       TEXT    NOT NULL,
  source      TEXT    NOT NULL DEFAULT '',
  action      TEXT    NOT NULL,
  target      TEXT    NOT NULL DEFAULT '',
  outcome     TEXT    NOT NULL,
  detail_json TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit_events(at DESC, id DESC);
CREATE INDEX audit_by_actor ON audit_events(actor);
CREATE INDEX audit_by_action ON audit_events(action);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
)sql"},
    // Archive locations become relative to the backups directory, so the
    // directory can be spelled differently, symlinked or moved without any
    // record losing its file. An absolute path that ends in the layout's
    // "/<instance>/<instance>-<id>-<yyyymmdd-hhmmss>.tar.zst" (always true of
    // rows this program wrote) keeps that tail; anything else stays absolute
    // and is read as it is.
    {2, "backups.file_path relative to the backups directory", R"sql(
UPDATE backups
SET file_path = instance_name || '/' || instance_name || '-' || id || '-' || substr(file_path, -23, 15) || '.tar.zst'
WHERE substr(file_path, 1, 1) = '/'
  AND substr(file_path, -23, 15) GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]'
  AND substr(file_path, -(length(instance_name) * 2 + length(id) + 27)) =
      '/' || instance_name || '/' || instance_name || '-' || id || '-' || substr(file_path, -23, 15) || '.tar.zst';
)sql",
     // PostgreSQL stores were created after this fix: every row they hold
     // (written by the controller or copied by `store migrate`) is relative.
     "SELECT 1;"},
    // A token may create tokens only if a signed-in session gave it that
    // right when creating it; tokens from before this version have not.
    {3, "api_tokens.can_create_tokens", R"sql(
ALTER TABLE api_tokens ADD COLUMN can_create_tokens INTEGER NOT NULL DEFAULT 0;
)sql"},
    // quiesce: the user asked the agent to run its quiesce hooks (default 1);
    // quiesced: the agent reported its pre-restore hook ran and succeeded.
    {4, "restores record quiesce", R"sql(
ALTER TABLE restores ADD COLUMN quiesce  INTEGER NOT NULL DEFAULT 1 CHECK (quiesce IN (0, 1));
ALTER TABLE restores ADD COLUMN quiesced INTEGER NOT NULL DEFAULT 0 CHECK (quiesced IN (0, 1));
)sql"},
    {5, "backup excludes, strict option and database counts", R"sql(
ALTER TABLE backups ADD COLUMN excludes_json        TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE backups ADD COLUMN exclude_presets_json TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE backups ADD COLUMN strict               INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN databases_captured   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN databases_raw        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN excludes_json        TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE schedules ADD COLUMN exclude_presets_json TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE schedules ADD COLUMN strict               INTEGER NOT NULL DEFAULT 0;
)sql"},
    // Partial restores and previews (issue 17): dry_run, the selected paths
    // (JSON array, [] for the whole backup) and the agent's change summary.
    {6, "restores record dry_run, paths and changes", R"sql(
ALTER TABLE restores ADD COLUMN dry_run      INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1));
ALTER TABLE restores ADD COLUMN paths_json   TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE restores ADD COLUMN changes_json TEXT    NOT NULL DEFAULT '';
)sql"},
    // Verification and restore drill results (latest per backup and kind),
    // webhooks and their delivery log.
    {7, "backup checks, webhooks, webhook deliveries, schedules.verify_after_backup", R"sql(
CREATE TABLE backup_checks (
  backup_id   INTEGER NOT NULL,
  kind        TEXT    NOT NULL CHECK (kind IN ('verify', 'drill')),
  status      TEXT    NOT NULL CHECK (status IN ('running', 'passed', 'failed')),
  at          INTEGER NOT NULL,
  duration_s  REAL    NOT NULL DEFAULT 0,
  error       TEXT    NOT NULL DEFAULT '',
  detail_json TEXT    NOT NULL DEFAULT '{}',
  PRIMARY KEY (backup_id, kind)
);
CREATE TRIGGER backups_drop_checks AFTER DELETE ON backups
BEGIN DELETE FROM backup_checks WHERE backup_id = OLD.id; END;

CREATE TABLE webhooks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  url         TEXT    NOT NULL,
  secret      TEXT    NOT NULL,
  events_json TEXT    NOT NULL DEFAULT '[]',
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_by  INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event           TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  last_attempt_at INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  http_status     INTEGER NOT NULL DEFAULT 0,
  error           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, id DESC);

ALTER TABLE schedules ADD COLUMN verify_after_backup INTEGER NOT NULL DEFAULT 0 CHECK (verify_after_backup IN (0, 1));
)sql",
     R"sql(
CREATE TABLE backup_checks (
  backup_id   BIGINT  NOT NULL,
  kind        TEXT    NOT NULL CHECK (kind IN ('verify', 'drill')),
  status      TEXT    NOT NULL CHECK (status IN ('running', 'passed', 'failed')),
  at          BIGINT  NOT NULL,
  duration_s  DOUBLE PRECISION NOT NULL DEFAULT 0,
  error       TEXT    NOT NULL DEFAULT '',
  detail_json TEXT    NOT NULL DEFAULT '{}',
  PRIMARY KEY (backup_id, kind)
);
CREATE FUNCTION backups_drop_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM backup_checks WHERE backup_id = OLD.id; RETURN OLD; END $$;
CREATE TRIGGER backups_drop_checks AFTER DELETE ON backups
FOR EACH ROW EXECUTE FUNCTION backups_drop_checks();

CREATE TABLE webhooks (
  id          BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  url         TEXT    NOT NULL,
  secret      TEXT    NOT NULL,
  events_json TEXT    NOT NULL DEFAULT '[]',
  enabled     BIGINT  NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_by  BIGINT  NOT NULL DEFAULT 0,
  created_at  BIGINT  NOT NULL
);

CREATE TABLE webhook_deliveries (
  id              BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  webhook_id      BIGINT  NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event           TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  created_at      BIGINT  NOT NULL,
  last_attempt_at BIGINT  NOT NULL DEFAULT 0,
  attempts        BIGINT  NOT NULL DEFAULT 0,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  http_status     BIGINT  NOT NULL DEFAULT 0,
  error           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, id DESC);

ALTER TABLE schedules ADD COLUMN verify_after_backup BIGINT  NOT NULL DEFAULT 0 CHECK (verify_after_backup IN (0, 1));
)sql"},
    // Several controller replicas on one store (issue 18): named leases (the
    // leader's) and the owner and lease of every unfinished transfer. Written
    // in SQL both SQLite and PostgreSQL accept (BIGINT, TEXT; no
    // AUTOINCREMENT). Existing rows get owner '' and lease_until 0: already
    // expired, so a leftover queued/running row is declared interrupted.
    {8, "leases; backups and restores record their owning replica and lease", R"sql(
CREATE TABLE leases (
  name       TEXT   NOT NULL PRIMARY KEY,
  holder     TEXT   NOT NULL,
  expires_at BIGINT NOT NULL
);
ALTER TABLE backups ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE backups ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restores ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE restores ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
)sql"},
    // The replica running each verification or drill, so a starting replica
    // fails only the checks no live replica runs. Existing rows get owner
    // '': a leftover running check is failed at the next start, as before.
    {9, "backup checks record their owning replica", R"sql(
ALTER TABLE backup_checks ADD COLUMN owner TEXT NOT NULL DEFAULT '';
)sql"},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

}  // namespace clawback::controller::store
