// Plain records the controller keeps: users, sessions, tokens, instances,
// backups, restores, schedules and audit events. No behaviour beyond the
// string forms of the enums; JSON shapes live in controller/api.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clawback::controller {

using Id = int64_t;
using UnixTime = int64_t;  // seconds since the epoch, UTC

enum class Role { kAdmin, kUser };
std::string_view RoleName(Role role);                       // "admin" | "user"
std::optional<Role> ParseRole(std::string_view name);

struct User {
  Id id = 0;
  std::string username;
  Role role = Role::kUser;
  bool can_create_instances = false;
  std::string password_hash;   // PHC-like string from auth/password.h; never serialized out
  UnixTime password_changed_at = 0;
  UnixTime created_at = 0;
};

struct Session {
  std::string token_hash;      // SHA-256 hex of the cookie value
  Id user_id = 0;
  std::string csrf_token;
  UnixTime created_at = 0;
  UnixTime expires_at = 0;     // absolute expiry
  UnixTime last_seen_at = 0;   // last authenticated use (idle expiry); set to created_at on create
};

struct ApiToken {
  Id id = 0;
  Id user_id = 0;
  std::string name;
  std::string token_hash;      // SHA-256 hex of the secret; the secret is shown once
  UnixTime created_at = 0;
  UnixTime last_used_at = 0;
  bool revoked = false;
  bool can_create_tokens = false;  // granted at creation by a session, never by a token
};

struct Instance {
  Id id = 0;
  std::string name;            // tls::ValidateInstanceName rules
  std::string agent_url;       // https://host:port
  Id created_by = 0;
  UnixTime created_at = 0;
};

enum class BackupStatus { kQueued, kRunning, kCompleted, kFailed, kCanceled };
std::string_view BackupStatusName(BackupStatus status);     // "queued" ...
std::optional<BackupStatus> ParseBackupStatus(std::string_view name);
bool IsFinal(BackupStatus status);

struct Backup {
  Id id = 0;
  Id instance_id = 0;
  std::string instance_name;
  BackupStatus status = BackupStatus::kQueued;
  std::vector<std::string> paths;   // resolved absolute paths
  std::vector<std::string> excludes;         // custom globs as requested (shared/exclude_rules.h)
  std::vector<std::string> exclude_presets;  // preset names ("logs", "caches")
  bool strict = false;              // a database not captured consistently fails the backup
  std::string note;
  std::string file_path;            // final archive path; empty until completed
  uint64_t size_bytes = 0;
  std::string sha256;
  uint64_t entries = 0;
  uint64_t databases_captured = 0;  // SQLite databases archived as consistent images
  uint64_t databases_raw = 0;       // files with the SQLite header archived as plain bytes (warned)
  uint64_t progress_bytes = 0;
  std::string error_message;
  std::vector<std::string> warnings;
  Id created_by = 0;                // user id; 0 for the scheduler
  std::string created_by_name;      // username or "schedule:<name>"
  std::optional<Id> schedule_id;
  UnixTime created_at = 0;
  UnixTime started_at = 0;
  UnixTime completed_at = 0;
};

// Restores share the backup status names; kCanceled is unused for now.
using RestoreStatus = BackupStatus;

struct Restore {
  Id id = 0;
  Id backup_id = 0;
  Id target_instance_id = 0;
  std::string target_instance_name;
  RestoreStatus status = RestoreStatus::kQueued;
  uint64_t entries_written = 0;
  uint64_t bytes_written = 0;
  uint64_t progress_bytes = 0;      // archive bytes sent so far
  std::string skipped_json = "[]";  // [{"path","reason"}] as reported by the agent
  std::string error_message;
  Id created_by = 0;
  std::string created_by_name;
  UnixTime created_at = 0;
  UnixTime started_at = 0;
  UnixTime completed_at = 0;
  bool quiesce = true;    // asked the agent to run its quiesce hooks (pre-/post-restore)
  bool quiesced = false;  // the agent said its pre-restore hook ran and succeeded
  bool dry_run = false;   // a preview: the agent compared and reported, writing nothing
  std::string paths_json = "[]";  // selected paths ("/home/claworc/x"); [] = the whole backup
  std::string changes_json;       // the agent's {"create","replace","unchanged"} summary, "" when none
};

struct RetentionPolicy {
  int keep_last = 0;       // 0 = rule unused
  int keep_hourly = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  bool empty() const { return !keep_last && !keep_hourly && !keep_daily && !keep_weekly && !keep_monthly; }
};

struct Schedule {
  Id id = 0;
  std::string name;
  bool all_instances = false;
  std::vector<Id> instance_ids;     // used when !all_instances
  std::string cron;                 // 5 fields or @macro
  std::string timezone = "UTC";     // IANA name
  std::vector<std::string> paths;   // as requested (aliases allowed); resolved at firing
  std::vector<std::string> excludes;         // custom globs, passed to every backup it fires
  std::vector<std::string> exclude_presets;  // preset names, likewise
  bool strict = false;              // likewise
  bool verify_after_backup = false; // verify each of its backups once completed (issue 19)
  std::string note;
  bool enabled = true;
  RetentionPolicy retention;
  Id created_by = 0;
  UnixTime created_at = 0;
  UnixTime last_slot = 0;           // last scheduled slot handled (0 = none)
  UnixTime last_run_at = 0;
  std::string last_result;          // e.g. "started 3 backups; skipped 1: ..."
};

struct AuditEvent {
  Id id = 0;
  UnixTime at = 0;
  Id actor_id = 0;                  // 0 = system / anonymous
  std::string actor;                // username, "scheduler", or "anonymous"
  std::string source;               // client address
  std::string action;               // "auth.login", "backup.create", ...
  std::string target;               // "backup:12", "instance:web-1", "user:bob"
  std::string outcome;              // "ok", "denied", "failed: ..."
  std::string detail_json = "{}";
};

}  // namespace clawback::controller
