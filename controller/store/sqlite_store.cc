#include "controller/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <string_view>
#include <variant>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "controller/store/migrations.h"
#include "controller/store/process_lock.h"

namespace clawback::controller {
namespace {

using Json = nlohmann::json;
using Param = std::variant<int64_t, std::string>;

constexpr int kMaxPageSize = 500;

UnixTime WallClockNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

UnixTime OrNow(UnixTime t) { return t != 0 ? t : WallClockNow(); }

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Thrown inside a store operation to return a specific Status; caught by Run.
struct StoreError {
  Status status;
};

[[noreturn]] void Fail(Status status) { throw StoreError{std::move(status)}; }

bool IsUniqueViolation(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE ||
         e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

bool IsForeignKeyViolation(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_FOREIGNKEY;
}

// Maps a SQLite failure to a Status a user or operator can act on.
Status Translate(std::string_view what, const SQLite::Exception& e) {
  std::string prefix = what.empty() ? std::string() : std::string(what) + ": ";
  switch (e.getErrorCode()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(prefix + "database is locked by another process");
    case SQLITE_READONLY:
      return Status::IoError(prefix + "database is read-only");
    case SQLITE_FULL:
      return Status::ResourceExhausted(prefix + "disk full");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(prefix + "database file is corrupt or not a clawback database: " + e.what());
    case SQLITE_CONSTRAINT:
      if (IsUniqueViolation(e)) return Status::AlreadyExists(prefix + "already exists");
      if (IsForeignKeyViolation(e)) return Status::NotFound(prefix + "a referenced record does not exist");
      return Status::FailedPrecondition(prefix + e.what());
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return Status::IoError(prefix + e.what());
    default:
      return Status::Internal(prefix + e.what());
  }
}

// --- JSON columns ----------------------------------------------------------

std::string StringsToJson(const std::vector<std::string>& v) { return Json(v).dump(); }
std::string IdsToJson(const std::vector<Id>& v) { return Json(v).dump(); }

std::vector<std::string> JsonToStrings(const std::string& text, std::string_view column) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) Fail(Status::Corruption(std::string(column) + " is not a JSON array"));
  std::vector<std::string> out;
  for (const Json& e : j) {
    if (!e.is_string()) Fail(Status::Corruption(std::string(column) + " holds a non-string"));
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<Id> JsonToIds(const std::string& text, std::string_view column) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) Fail(Status::Corruption(std::string(column) + " is not a JSON array"));
  std::vector<Id> out;
  for (const Json& e : j) {
    if (!e.is_number_integer()) Fail(Status::Corruption(std::string(column) + " holds a non-integer"));
    out.push_back(e.get<Id>());
  }
  return out;
}

// --- enums -----------------------------------------------------------------

Role RoleFromColumn(const std::string& s) {
  auto r = ParseRole(s);
  if (!r) Fail(Status::Corruption("unknown role in database: " + s));
  return *r;
}

BackupStatus StatusFromColumn(const std::string& s) {
  auto st = ParseBackupStatus(s);
  if (!st) Fail(Status::Corruption("unknown status in database: " + s));
  return *st;
}

// --- statements ------------------------------------------------------------

void BindAll(SQLite::Statement& q, const std::vector<Param>& params) {
  int i = 1;
  for (const Param& p : params) {
    if (const auto* n = std::get_if<int64_t>(&p)) {
      q.bind(i++, *n);
    } else {
      q.bind(i++, std::get<std::string>(p));
    }
  }
}

int64_t U64(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t ColU64(const SQLite::Column& c) { return static_cast<uint64_t>(c.getInt64()); }

void CheckPage(int limit, int offset) {
  if (limit < 1 || limit > kMaxPageSize) {
    Fail(Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPageSize)));
  }
  if (offset < 0) Fail(Status::InvalidArgument("offset must not be negative"));
}

// "?,?,?" for n parameters.
std::string Placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

constexpr const char* kUserColumns =
    "id, username, role, can_create_instances, password_hash, password_changed_at, created_at";

User ReadUser(SQLite::Statement& q) {
  User u;
  u.id = q.getColumn(0).getInt64();
  u.username = q.getColumn(1).getString();
  u.role = RoleFromColumn(q.getColumn(2).getString());
  u.can_create_instances = q.getColumn(3).getInt() != 0;
  u.password_hash = q.getColumn(4).getString();
  u.password_changed_at = q.getColumn(5).getInt64();
  u.created_at = q.getColumn(6).getInt64();
  return u;
}

constexpr const char* kSessionColumns = "token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at";

Session ReadSession(SQLite::Statement& q) {
  Session s;
  s.token_hash = q.getColumn(0).getString();
  s.user_id = q.getColumn(1).getInt64();
  s.csrf_token = q.getColumn(2).getString();
  s.created_at = q.getColumn(3).getInt64();
  s.expires_at = q.getColumn(4).getInt64();
  s.last_seen_at = q.getColumn(5).getInt64();
  return s;
}

constexpr const char* kTokenColumns = "id, user_id, name, token_hash, created_at, last_used_at, revoked";

ApiToken ReadToken(SQLite::Statement& q) {
  ApiToken t;
  t.id = q.getColumn(0).getInt64();
  t.user_id = q.getColumn(1).getInt64();
  t.name = q.getColumn(2).getString();
  t.token_hash = q.getColumn(3).getString();
  t.created_at = q.getColumn(4).getInt64();
  t.last_used_at = q.getColumn(5).getInt64();
  t.revoked = q.getColumn(6).getInt() != 0;
  return t;
}

constexpr const char* kInstanceColumns = "id, name, agent_url, created_by, created_at";

Instance ReadInstance(SQLite::Statement& q) {
  Instance i;
  i.id = q.getColumn(0).getInt64();
  i.name = q.getColumn(1).getString();
  i.agent_url = q.getColumn(2).getString();
  i.created_by = q.getColumn(3).getInt64();
  i.created_at = q.getColumn(4).getInt64();
  return i;
}

constexpr const char* kBackupColumns =
    "id, instance_id, instance_name, status, paths_json, note, file_path, size_bytes, sha256, entries, "
    "progress_bytes, error_message, warnings_json, created_by, created_by_name, schedule_id, created_at, "
    "started_at, completed_at";

Backup ReadBackup(SQLite::Statement& q) {
  Backup b;
  b.id = q.getColumn(0).getInt64();
  b.instance_id = q.getColumn(1).getInt64();
  b.instance_name = q.getColumn(2).getString();
  b.status = StatusFromColumn(q.getColumn(3).getString());
  b.paths = JsonToStrings(q.getColumn(4).getString(), "backups.paths_json");
  b.note = q.getColumn(5).getString();
  b.file_path = q.getColumn(6).getString();
  b.size_bytes = ColU64(q.getColumn(7));
  b.sha256 = q.getColumn(8).getString();
  b.entries = ColU64(q.getColumn(9));
  b.progress_bytes = ColU64(q.getColumn(10));
  b.error_message = q.getColumn(11).getString();
  b.warnings = JsonToStrings(q.getColumn(12).getString(), "backups.warnings_json");
  b.created_by = q.getColumn(13).getInt64();
  b.created_by_name = q.getColumn(14).getString();
  if (!q.getColumn(15).isNull()) b.schedule_id = q.getColumn(15).getInt64();
  b.created_at = q.getColumn(16).getInt64();
  b.started_at = q.getColumn(17).getInt64();
  b.completed_at = q.getColumn(18).getInt64();
  return b;
}

// Binds every Backup column but id and created_at, in this order.
constexpr const char* kBackupMutableAssignments =
    "instance_id = ?, instance_name = ?, status = ?, paths_json = ?, note = ?, file_path = ?, "
    "size_bytes = ?, sha256 = ?, entries = ?, progress_bytes = ?, error_message = ?, warnings_json = ?, "
    "created_by = ?, created_by_name = ?, schedule_id = ?, started_at = ?, completed_at = ?";

int BindBackupMutable(SQLite::Statement& q, const Backup& b) {
  int i = 1;
  q.bind(i++, b.instance_id);
  q.bind(i++, b.instance_name);
  q.bind(i++, std::string(BackupStatusName(b.status)));
  q.bind(i++, StringsToJson(b.paths));
  q.bind(i++, b.note);
  q.bind(i++, b.file_path);
  q.bind(i++, U64(b.size_bytes));
  q.bind(i++, b.sha256);
  q.bind(i++, U64(b.entries));
  q.bind(i++, U64(b.progress_bytes));
  q.bind(i++, b.error_message);
  q.bind(i++, StringsToJson(b.warnings));
  q.bind(i++, b.created_by);
  q.bind(i++, b.created_by_name);
  if (b.schedule_id) {
    q.bind(i++, *b.schedule_id);
  } else {
    q.bind(i++);  // NULL
  }
  q.bind(i++, b.started_at);
  q.bind(i++, b.completed_at);
  return i;
}

constexpr const char* kRestoreColumns =
    "id, backup_id, target_instance_id, target_instance_name, status, entries_written, bytes_written, "
    "progress_bytes, skipped_json, error_message, created_by, created_by_name, created_at, started_at, "
    "completed_at";

Restore ReadRestore(SQLite::Statement& q) {
  Restore r;
  r.id = q.getColumn(0).getInt64();
  r.backup_id = q.getColumn(1).getInt64();
  r.target_instance_id = q.getColumn(2).getInt64();
  r.target_instance_name = q.getColumn(3).getString();
  r.status = StatusFromColumn(q.getColumn(4).getString());
  r.entries_written = ColU64(q.getColumn(5));
  r.bytes_written = ColU64(q.getColumn(6));
  r.progress_bytes = ColU64(q.getColumn(7));
  r.skipped_json = q.getColumn(8).getString();
  r.error_message = q.getColumn(9).getString();
  r.created_by = q.getColumn(10).getInt64();
  r.created_by_name = q.getColumn(11).getString();
  r.created_at = q.getColumn(12).getInt64();
  r.started_at = q.getColumn(13).getInt64();
  r.completed_at = q.getColumn(14).getInt64();
  return r;
}

constexpr const char* kRestoreMutableAssignments =
    "backup_id = ?, target_instance_id = ?, target_instance_name = ?, status = ?, entries_written = ?, "
    "bytes_written = ?, progress_bytes = ?, skipped_json = ?, error_message = ?, created_by = ?, "
    "created_by_name = ?, started_at = ?, completed_at = ?";

int BindRestoreMutable(SQLite::Statement& q, const Restore& r) {
  Json skipped = Json::parse(r.skipped_json, nullptr, /*allow_exceptions=*/false);
  if (!skipped.is_array()) Fail(Status::InvalidArgument("restore skipped_json must be a JSON array"));
  int i = 1;
  q.bind(i++, r.backup_id);
  q.bind(i++, r.target_instance_id);
  q.bind(i++, r.target_instance_name);
  q.bind(i++, std::string(BackupStatusName(r.status)));
  q.bind(i++, U64(r.entries_written));
  q.bind(i++, U64(r.bytes_written));
  q.bind(i++, U64(r.progress_bytes));
  q.bind(i++, r.skipped_json);
  q.bind(i++, r.error_message);
  q.bind(i++, r.created_by);
  q.bind(i++, r.created_by_name);
  q.bind(i++, r.started_at);
  q.bind(i++, r.completed_at);
  return i;
}

constexpr const char* kScheduleColumns =
    "id, name, all_instances, instance_ids_json, cron, timezone, paths_json, note, enabled, keep_last, "
    "keep_hourly, keep_daily, keep_weekly, keep_monthly, created_by, created_at, last_slot, last_run_at, "
    "last_result";

Schedule ReadSchedule(SQLite::Statement& q) {
  Schedule s;
  s.id = q.getColumn(0).getInt64();
  s.name = q.getColumn(1).getString();
  s.all_instances = q.getColumn(2).getInt() != 0;
  s.instance_ids = JsonToIds(q.getColumn(3).getString(), "schedules.instance_ids_json");
  s.cron = q.getColumn(4).getString();
  s.timezone = q.getColumn(5).getString();
  s.paths = JsonToStrings(q.getColumn(6).getString(), "schedules.paths_json");
  s.note = q.getColumn(7).getString();
  s.enabled = q.getColumn(8).getInt() != 0;
  s.retention.keep_last = q.getColumn(9).getInt();
  s.retention.keep_hourly = q.getColumn(10).getInt();
  s.retention.keep_daily = q.getColumn(11).getInt();
  s.retention.keep_weekly = q.getColumn(12).getInt();
  s.retention.keep_monthly = q.getColumn(13).getInt();
  s.created_by = q.getColumn(14).getInt64();
  s.created_at = q.getColumn(15).getInt64();
  s.last_slot = q.getColumn(16).getInt64();
  s.last_run_at = q.getColumn(17).getInt64();
  s.last_result = q.getColumn(18).getString();
  return s;
}

// The schedule's definition; last_slot/last_run_at/last_result belong to
// RecordScheduleFired alone, so an edit can never move last_slot back.
constexpr const char* kScheduleDefinitionAssignments =
    "name = ?, all_instances = ?, instance_ids_json = ?, cron = ?, timezone = ?, paths_json = ?, note = ?, "
    "enabled = ?, keep_last = ?, keep_hourly = ?, keep_daily = ?, keep_weekly = ?, keep_monthly = ?, "
    "created_by = ?";

int BindScheduleDefinition(SQLite::Statement& q, const Schedule& s) {
  int i = 1;
  q.bind(i++, s.name);
  q.bind(i++, s.all_instances ? 1 : 0);
  q.bind(i++, IdsToJson(s.instance_ids));
  q.bind(i++, s.cron);
  q.bind(i++, s.timezone);
  q.bind(i++, StringsToJson(s.paths));
  q.bind(i++, s.note);
  q.bind(i++, s.enabled ? 1 : 0);
  q.bind(i++, s.retention.keep_last);
  q.bind(i++, s.retention.keep_hourly);
  q.bind(i++, s.retention.keep_daily);
  q.bind(i++, s.retention.keep_weekly);
  q.bind(i++, s.retention.keep_monthly);
  q.bind(i++, s.created_by);
  return i;
}

constexpr const char* kAuditColumns = "id, at, actor_id, actor, source, action, target, outcome, detail_json";

AuditEvent ReadAudit(SQLite::Statement& q) {
  AuditEvent e;
  e.id = q.getColumn(0).getInt64();
  e.at = q.getColumn(1).getInt64();
  e.actor_id = q.getColumn(2).getInt64();
  e.actor = q.getColumn(3).getString();
  e.source = q.getColumn(4).getString();
  e.action = q.getColumn(5).getString();
  e.target = q.getColumn(6).getString();
  e.outcome = q.getColumn(7).getString();
  e.detail_json = q.getColumn(8).getString();
  return e;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// ---------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(store::ProcessLock lock, std::unique_ptr<SQLite::Database> db)
      : lock_(std::move(lock)), db_(std::move(db)) {}

  // --- users ---------------------------------------------------------------

  Result<User> CreateUser(const User& user) override {
    return Run<User>("create user", [&] {
      User u = user;
      u.created_at = OrNow(u.created_at);
      SQLite::Statement q(*db_,
                          "INSERT INTO users (username, role, can_create_instances, password_hash, "
                          "password_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?)");
      q.bind(1, u.username);
      q.bind(2, std::string(RoleName(u.role)));
      q.bind(3, u.can_create_instances ? 1 : 0);
      q.bind(4, u.password_hash);
      q.bind(5, u.password_changed_at);
      q.bind(6, u.created_at);
      ExecUnique(q, "user " + Quoted(u.username) + " already exists");
      u.id = db_->getLastInsertRowid();
      return u;
    });
  }

  Result<User> GetUser(Id id) override {
    return Run<User>("get user", [&] { return LoadUser(id); });
  }

  Result<User> GetUserByName(const std::string& username) override {
    return Run<User>("get user", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kUserColumns + " FROM users WHERE username = ?");
      q.bind(1, username);
      if (!q.executeStep()) Fail(Status::NotFound("user " + Quoted(username) + " not found"));
      return ReadUser(q);
    });
  }

  Result<std::vector<User>> ListUsers() override {
    return Run<std::vector<User>>("list users", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id");
      std::vector<User> out;
      while (q.executeStep()) out.push_back(ReadUser(q));
      return out;
    });
  }

  Status UpdateUser(const User& user) override {
    return RunStatus("update user", [&] {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      User current = LoadUser(user.id);
      if (current.role == Role::kAdmin && user.role != Role::kAdmin && AdminCount() <= 1) {
        Fail(Status::FailedPrecondition("cannot demote " + Quoted(current.username) +
                                        ": it is the last admin"));
      }
      SQLite::Statement q(*db_,
                          "UPDATE users SET username = ?, role = ?, can_create_instances = ?, "
                          "password_hash = ?, password_changed_at = ? WHERE id = ?");
      q.bind(1, user.username);
      q.bind(2, std::string(RoleName(user.role)));
      q.bind(3, user.can_create_instances ? 1 : 0);
      q.bind(4, user.password_hash);
      q.bind(5, user.password_changed_at);
      q.bind(6, user.id);
      ExecUnique(q, "user " + Quoted(user.username) + " already exists");
      tx.commit();
    });
  }

  Status DeleteUser(Id id) override {
    return RunStatus("delete user", [&] {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      User current = LoadUser(id);
      if (current.role == Role::kAdmin && AdminCount() <= 1) {
        Fail(Status::FailedPrecondition("cannot delete " + Quoted(current.username) +
                                        ": it is the last admin"));
      }
      // Sessions, tokens and assignments go with it (ON DELETE CASCADE).
      SQLite::Statement q(*db_, "DELETE FROM users WHERE id = ?");
      q.bind(1, id);
      q.exec();
      tx.commit();
    });
  }

  Result<int> CountAdmins() override {
    return Run<int>("count admins", [&] { return AdminCount(); });
  }

  Status SetUserInstances(Id user_id, const std::vector<Id>& instance_ids) override {
    return RunStatus("set user instances", [&] {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      LoadUser(user_id);
      std::set<Id> unique(instance_ids.begin(), instance_ids.end());
      for (Id iid : unique) {
        if (!Exists("SELECT 1 FROM instances WHERE id = ?", iid)) {
          Fail(Status::NotFound("instance " + std::to_string(iid) + " not found"));
        }
      }
      SQLite::Statement del(*db_, "DELETE FROM user_instances WHERE user_id = ?");
      del.bind(1, user_id);
      del.exec();
      SQLite::Statement ins(*db_, "INSERT INTO user_instances (user_id, instance_id) VALUES (?, ?)");
      for (Id iid : unique) {
        ins.bind(1, user_id);
        ins.bind(2, iid);
        ins.exec();
        ins.reset();
      }
      tx.commit();
    });
  }

  Result<std::vector<Id>> GetUserInstances(Id user_id) override {
    return Run<std::vector<Id>>("get user instances", [&] {
      LoadUser(user_id);
      SQLite::Statement q(*db_, "SELECT instance_id FROM user_instances WHERE user_id = ? ORDER BY instance_id");
      q.bind(1, user_id);
      std::vector<Id> out;
      while (q.executeStep()) out.push_back(q.getColumn(0).getInt64());
      return out;
    });
  }

  // --- sessions ------------------------------------------------------------

  Status CreateSession(const Session& session) override {
    return RunStatus("create session", [&] {
      SQLite::Statement q(*db_, std::string("INSERT INTO sessions (") + kSessionColumns +
                                    ") VALUES (?, ?, ?, ?, ?, ?)");
      UnixTime created = OrNow(session.created_at);
      q.bind(1, session.token_hash);
      q.bind(2, session.user_id);
      q.bind(3, session.csrf_token);
      q.bind(4, created);
      q.bind(5, session.expires_at);
      q.bind(6, session.last_seen_at != 0 ? session.last_seen_at : created);
      try {
        q.exec();
      } catch (const SQLite::Exception& e) {
        if (IsForeignKeyViolation(e)) Fail(Status::NotFound("user " + std::to_string(session.user_id) + " not found"));
        if (IsUniqueViolation(e)) Fail(Status::AlreadyExists("session already exists"));
        throw;
      }
    });
  }

  Result<Session> GetSession(const std::string& token_hash) override {
    return Run<Session>("get session", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE token_hash = ?");
      q.bind(1, token_hash);
      if (!q.executeStep()) Fail(Status::NotFound("session not found"));
      return ReadSession(q);
    });
  }

  Status DeleteSession(const std::string& token_hash) override {
    return RunStatus("delete session", [&] {
      SQLite::Statement q(*db_, "DELETE FROM sessions WHERE token_hash = ?");
      q.bind(1, token_hash);
      if (q.exec() == 0) Fail(Status::NotFound("session not found"));
    });
  }

  Status DeleteUserSessions(Id user_id) override {
    return RunStatus("delete user sessions", [&] {
      SQLite::Statement q(*db_, "DELETE FROM sessions WHERE user_id = ?");
      q.bind(1, user_id);
      q.exec();
    });
  }

  Status DeleteExpiredSessions(UnixTime now) override {
    return RunStatus("delete expired sessions", [&] {
      SQLite::Statement q(*db_, "DELETE FROM sessions WHERE expires_at <= ?");
      q.bind(1, now);
      q.exec();
    });
  }

  Status TouchSession(const std::string& token_hash, UnixTime now) override {
    return RunStatus("touch session", [&] {
      SQLite::Statement q(*db_, "UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE token_hash = ?");
      q.bind(1, now);
      q.bind(2, token_hash);
      if (q.exec() == 0) Fail(Status::NotFound("session not found"));
    });
  }

  // --- API tokens ----------------------------------------------------------

  Result<ApiToken> CreateApiToken(const ApiToken& token) override {
    return Run<ApiToken>("create API token", [&] {
      ApiToken t = token;
      t.created_at = OrNow(t.created_at);
      SQLite::Statement q(*db_,
                          "INSERT INTO api_tokens (user_id, name, token_hash, created_at, last_used_at, revoked) "
                          "VALUES (?, ?, ?, ?, ?, ?)");
      q.bind(1, t.user_id);
      q.bind(2, t.name);
      q.bind(3, t.token_hash);
      q.bind(4, t.created_at);
      q.bind(5, t.last_used_at);
      q.bind(6, t.revoked ? 1 : 0);
      try {
        q.exec();
      } catch (const SQLite::Exception& e) {
        if (IsForeignKeyViolation(e)) Fail(Status::NotFound("user " + std::to_string(t.user_id) + " not found"));
        if (IsUniqueViolation(e)) Fail(Status::AlreadyExists("API token already exists"));
        throw;
      }
      t.id = db_->getLastInsertRowid();
      return t;
    });
  }

  Result<ApiToken> GetApiTokenByHash(const std::string& token_hash) override {
    return Run<ApiToken>("get API token", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE token_hash = ?");
      q.bind(1, token_hash);
      if (!q.executeStep()) Fail(Status::NotFound("API token not found"));
      return ReadToken(q);
    });
  }

  Result<std::vector<ApiToken>> ListApiTokens(Id user_id) override {
    return Run<std::vector<ApiToken>>("list API tokens", [&] {
      SQLite::Statement q(*db_,
                          std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE user_id = ? ORDER BY id");
      q.bind(1, user_id);
      std::vector<ApiToken> out;
      while (q.executeStep()) out.push_back(ReadToken(q));
      return out;
    });
  }

  Status RevokeApiToken(Id user_id, Id token_id) override {
    return RunStatus("revoke API token", [&] {
      SQLite::Statement q(*db_, "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ?");
      q.bind(1, token_id);
      q.bind(2, user_id);
      if (q.exec() == 0) Fail(Status::NotFound("API token " + std::to_string(token_id) + " not found"));
    });
  }

  Status TouchApiToken(Id token_id, UnixTime now) override {
    return RunStatus("touch API token", [&] {
      SQLite::Statement q(*db_, "UPDATE api_tokens SET last_used_at = MAX(last_used_at, ?) WHERE id = ?");
      q.bind(1, now);
      q.bind(2, token_id);
      if (q.exec() == 0) Fail(Status::NotFound("API token " + std::to_string(token_id) + " not found"));
    });
  }

  // --- instances -----------------------------------------------------------

  Result<Instance> CreateInstance(const Instance& instance) override {
    return Run<Instance>("create instance", [&] {
      Instance i = instance;
      i.created_at = OrNow(i.created_at);
      SQLite::Statement q(*db_, "INSERT INTO instances (name, agent_url, created_by, created_at) VALUES (?, ?, ?, ?)");
      q.bind(1, i.name);
      q.bind(2, i.agent_url);
      q.bind(3, i.created_by);
      q.bind(4, i.created_at);
      ExecUnique(q, "instance " + Quoted(i.name) + " already exists");
      i.id = db_->getLastInsertRowid();
      return i;
    });
  }

  Result<Instance> GetInstance(Id id) override {
    return Run<Instance>("get instance", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kInstanceColumns + " FROM instances WHERE id = ?");
      q.bind(1, id);
      if (!q.executeStep()) Fail(Status::NotFound("instance " + std::to_string(id) + " not found"));
      return ReadInstance(q);
    });
  }

  Result<Instance> GetInstanceByName(const std::string& name) override {
    return Run<Instance>("get instance", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kInstanceColumns + " FROM instances WHERE name = ?");
      q.bind(1, name);
      if (!q.executeStep()) Fail(Status::NotFound("instance " + Quoted(name) + " not found"));
      return ReadInstance(q);
    });
  }

  Result<std::vector<Instance>> ListInstances() override {
    return Run<std::vector<Instance>>("list instances", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kInstanceColumns + " FROM instances ORDER BY name");
      std::vector<Instance> out;
      while (q.executeStep()) out.push_back(ReadInstance(q));
      return out;
    });
  }

  Status UpdateInstance(const Instance& instance) override {
    return RunStatus("update instance", [&] {
      SQLite::Statement q(*db_, "UPDATE instances SET name = ?, agent_url = ?, created_by = ? WHERE id = ?");
      q.bind(1, instance.name);
      q.bind(2, instance.agent_url);
      q.bind(3, instance.created_by);
      q.bind(4, instance.id);
      if (ExecUnique(q, "instance " + Quoted(instance.name) + " already exists") == 0) {
        Fail(Status::NotFound("instance " + std::to_string(instance.id) + " not found"));
      }
    });
  }

  Status DeleteInstance(Id id) override {
    return RunStatus("delete instance", [&] {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement q(*db_, "DELETE FROM instances WHERE id = ?");
      q.bind(1, id);
      if (q.exec() == 0) Fail(Status::NotFound("instance " + std::to_string(id) + " not found"));
      // Schedules naming the instance stop naming it, so a later instance
      // can never be backed up by a schedule meant for this one.
      SQLite::Statement list(*db_, "SELECT id, instance_ids_json FROM schedules WHERE all_instances = 0");
      std::vector<std::pair<Id, std::vector<Id>>> changed;
      while (list.executeStep()) {
        std::vector<Id> ids = JsonToIds(list.getColumn(1).getString(), "schedules.instance_ids_json");
        auto it = std::remove(ids.begin(), ids.end(), id);
        if (it != ids.end()) {
          ids.erase(it, ids.end());
          changed.emplace_back(list.getColumn(0).getInt64(), std::move(ids));
        }
      }
      SQLite::Statement upd(*db_, "UPDATE schedules SET instance_ids_json = ? WHERE id = ?");
      for (const auto& [sid, ids] : changed) {
        upd.bind(1, IdsToJson(ids));
        upd.bind(2, sid);
        upd.exec();
        upd.reset();
      }
      tx.commit();
    });
  }

  // --- backups -------------------------------------------------------------

  Result<Backup> CreateBackup(const Backup& backup) override {
    return Run<Backup>("create backup", [&] {
      Backup b = backup;
      b.created_at = OrNow(b.created_at);
      SQLite::Statement q(*db_,
                          "INSERT INTO backups (instance_id, instance_name, status, paths_json, note, file_path, "
                          "size_bytes, sha256, entries, progress_bytes, error_message, warnings_json, created_by, "
                          "created_by_name, schedule_id, started_at, completed_at, created_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      int next = BindBackupMutable(q, b);
      q.bind(next, b.created_at);
      ExecWithScheduleRef(q, b.schedule_id);
      b.id = db_->getLastInsertRowid();
      return b;
    });
  }

  Result<Backup> GetBackup(Id id) override {
    return Run<Backup>("get backup", [&] { return LoadBackup(id); });
  }

  Result<std::vector<Backup>> ListBackups(const BackupFilter& filter, int64_t* total) override {
    return Run<std::vector<Backup>>("list backups", [&] {
      CheckPage(filter.limit, filter.offset);
      std::vector<Backup> out;
      if (filter.visible_instances && filter.visible_instances->empty()) {
        if (total) *total = 0;
        return out;
      }
      std::string where = " WHERE 1 = 1";
      std::vector<Param> params;
      if (filter.instance_id) {
        where += " AND instance_id = ?";
        params.emplace_back(*filter.instance_id);
      }
      if (filter.instance_name) {
        where += " AND instance_name = ?";
        params.emplace_back(*filter.instance_name);
      }
      if (filter.status) {
        where += " AND status = ?";
        params.emplace_back(std::string(BackupStatusName(*filter.status)));
      }
      if (filter.schedule_id) {
        where += " AND schedule_id = ?";
        params.emplace_back(*filter.schedule_id);
      }
      if (filter.visible_instances) {
        where += " AND instance_id IN (" + Placeholders(filter.visible_instances->size()) + ")";
        for (Id iid : *filter.visible_instances) params.emplace_back(iid);
      }
      if (total) {
        SQLite::Statement count(*db_, "SELECT COUNT(*) FROM backups" + where);
        BindAll(count, params);
        count.executeStep();
        *total = count.getColumn(0).getInt64();
      }
      SQLite::Statement q(*db_, std::string("SELECT ") + kBackupColumns + " FROM backups" + where +
                                    " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?");
      params.emplace_back(int64_t{filter.limit});
      params.emplace_back(int64_t{filter.offset});
      BindAll(q, params);
      while (q.executeStep()) out.push_back(ReadBackup(q));
      return out;
    });
  }

  Status UpdateBackup(const Backup& backup) override {
    return RunStatus("update backup", [&] {
      SQLite::Statement q(*db_, std::string("UPDATE backups SET ") + kBackupMutableAssignments + " WHERE id = ?");
      int next = BindBackupMutable(q, backup);
      q.bind(next, backup.id);
      if (ExecWithScheduleRef(q, backup.schedule_id) == 0) {
        Fail(Status::NotFound("backup " + std::to_string(backup.id) + " not found"));
      }
    });
  }

  Status UpdateBackupProgress(Id id, uint64_t progress_bytes) override {
    return RunStatus("update backup progress", [&] {
      SQLite::Statement q(*db_, "UPDATE backups SET progress_bytes = ? WHERE id = ?");
      q.bind(1, U64(progress_bytes));
      q.bind(2, id);
      if (q.exec() == 0) Fail(Status::NotFound("backup " + std::to_string(id) + " not found"));
    });
  }

  Status DeleteBackup(Id id) override {
    return RunStatus("delete backup", [&] {
      SQLite::Statement q(*db_, "DELETE FROM backups WHERE id = ?");
      q.bind(1, id);
      if (q.exec() == 0) Fail(Status::NotFound("backup " + std::to_string(id) + " not found"));
    });
  }

  Result<std::vector<Backup>> ListUnfinishedBackups() override {
    return Run<std::vector<Backup>>("list unfinished backups", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kBackupColumns +
                                    " FROM backups WHERE status IN ('queued', 'running') ORDER BY id");
      std::vector<Backup> out;
      while (q.executeStep()) out.push_back(ReadBackup(q));
      return out;
    });
  }

  Result<std::vector<Backup>> ListCompletedBackups(Id instance_id) override {
    return Run<std::vector<Backup>>("list completed backups", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kBackupColumns +
                                    " FROM backups WHERE instance_id = ? AND status = 'completed' "
                                    "ORDER BY created_at DESC, id DESC");
      q.bind(1, instance_id);
      std::vector<Backup> out;
      while (q.executeStep()) out.push_back(ReadBackup(q));
      return out;
    });
  }

  // --- restores ------------------------------------------------------------

  Result<Restore> CreateRestore(const Restore& restore) override {
    return Run<Restore>("create restore", [&] {
      Restore r = restore;
      r.created_at = OrNow(r.created_at);
      SQLite::Statement q(*db_,
                          "INSERT INTO restores (backup_id, target_instance_id, target_instance_name, status, "
                          "entries_written, bytes_written, progress_bytes, skipped_json, error_message, created_by, "
                          "created_by_name, started_at, completed_at, created_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      int next = BindRestoreMutable(q, r);
      q.bind(next, r.created_at);
      q.exec();
      r.id = db_->getLastInsertRowid();
      return r;
    });
  }

  Result<Restore> GetRestore(Id id) override {
    return Run<Restore>("get restore", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kRestoreColumns + " FROM restores WHERE id = ?");
      q.bind(1, id);
      if (!q.executeStep()) Fail(Status::NotFound("restore " + std::to_string(id) + " not found"));
      return ReadRestore(q);
    });
  }

  Result<std::vector<Restore>> ListRestores(std::optional<Id> backup_id, int limit) override {
    return Run<std::vector<Restore>>("list restores", [&] {
      CheckPage(limit, 0);
      std::string sql = std::string("SELECT ") + kRestoreColumns + " FROM restores";
      if (backup_id) sql += " WHERE backup_id = ?";
      sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
      SQLite::Statement q(*db_, sql);
      int i = 1;
      if (backup_id) q.bind(i++, *backup_id);
      q.bind(i, limit);
      std::vector<Restore> out;
      while (q.executeStep()) out.push_back(ReadRestore(q));
      return out;
    });
  }

  Status UpdateRestore(const Restore& restore) override {
    return RunStatus("update restore", [&] {
      SQLite::Statement q(*db_, std::string("UPDATE restores SET ") + kRestoreMutableAssignments + " WHERE id = ?");
      int next = BindRestoreMutable(q, restore);
      q.bind(next, restore.id);
      if (q.exec() == 0) Fail(Status::NotFound("restore " + std::to_string(restore.id) + " not found"));
    });
  }

  Result<std::vector<Restore>> ListUnfinishedRestores() override {
    return Run<std::vector<Restore>>("list unfinished restores", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kRestoreColumns +
                                    " FROM restores WHERE status IN ('queued', 'running') ORDER BY id");
      std::vector<Restore> out;
      while (q.executeStep()) out.push_back(ReadRestore(q));
      return out;
    });
  }

  // --- schedules -----------------------------------------------------------

  Result<Schedule> CreateSchedule(const Schedule& schedule) override {
    return Run<Schedule>("create schedule", [&] {
      Schedule s = schedule;
      s.created_at = OrNow(s.created_at);
      SQLite::Statement q(*db_,
                          "INSERT INTO schedules (name, all_instances, instance_ids_json, cron, timezone, paths_json, "
                          "note, enabled, keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, created_by, "
                          "created_at, last_slot, last_run_at, last_result) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      int i = BindScheduleDefinition(q, s);
      q.bind(i++, s.created_at);
      q.bind(i++, s.last_slot);
      q.bind(i++, s.last_run_at);
      q.bind(i++, s.last_result);
      q.exec();
      s.id = db_->getLastInsertRowid();
      return s;
    });
  }

  Result<Schedule> GetSchedule(Id id) override {
    return Run<Schedule>("get schedule", [&] { return LoadSchedule(id); });
  }

  Result<std::vector<Schedule>> ListSchedules() override {
    return Run<std::vector<Schedule>>("list schedules", [&] {
      SQLite::Statement q(*db_, std::string("SELECT ") + kScheduleColumns + " FROM schedules ORDER BY id");
      std::vector<Schedule> out;
      while (q.executeStep()) out.push_back(ReadSchedule(q));
      return out;
    });
  }

  Status UpdateSchedule(const Schedule& schedule) override {
    return RunStatus("update schedule", [&] {
      SQLite::Statement q(*db_,
                          std::string("UPDATE schedules SET ") + kScheduleDefinitionAssignments + " WHERE id = ?");
      int next = BindScheduleDefinition(q, schedule);
      q.bind(next, schedule.id);
      if (q.exec() == 0) Fail(Status::NotFound("schedule " + std::to_string(schedule.id) + " not found"));
    });
  }

  Status DeleteSchedule(Id id) override {
    return RunStatus("delete schedule", [&] {
      // Its backups keep existing with schedule_id NULL (ON DELETE SET NULL).
      SQLite::Statement q(*db_, "DELETE FROM schedules WHERE id = ?");
      q.bind(1, id);
      if (q.exec() == 0) Fail(Status::NotFound("schedule " + std::to_string(id) + " not found"));
    });
  }

  Status RecordScheduleFired(Id id, UnixTime slot, UnixTime ran_at, const std::string& result) override {
    return RunStatus("record schedule run", [&] {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement q(*db_,
                          "UPDATE schedules SET last_slot = ?, last_run_at = ?, last_result = ? "
                          "WHERE id = ? AND last_slot < ?");
      q.bind(1, slot);
      q.bind(2, ran_at);
      q.bind(3, result);
      q.bind(4, id);
      q.bind(5, slot);
      if (q.exec() == 0) {
        Schedule s = LoadSchedule(id);  // NotFound when missing
        Fail(Status::FailedPrecondition("schedule " + std::to_string(id) + ": slot " + std::to_string(slot) +
                                        " already handled (last slot " + std::to_string(s.last_slot) + ")"));
      }
      tx.commit();
    });
  }

  Status RecordScheduleResult(Id id, UnixTime ran_at, const std::string& result) override {
    return RunStatus("record schedule result", [&] {
      SQLite::Statement q(*db_, "UPDATE schedules SET last_run_at = ?, last_result = ? WHERE id = ?");
      q.bind(1, ran_at);
      q.bind(2, result);
      q.bind(3, id);
      if (q.exec() == 0) Fail(Status::NotFound("schedule " + std::to_string(id) + " not found"));
    });
  }

  // --- audit ---------------------------------------------------------------

  Status AppendAudit(const AuditEvent& event) override {
    return RunStatus("append audit event", [&] {
      Json detail = Json::parse(event.detail_json, nullptr, /*allow_exceptions=*/false);
      if (!detail.is_object()) Fail(Status::InvalidArgument("audit detail must be a JSON object"));
      SQLite::Statement q(*db_,
                          "INSERT INTO audit_events (at, actor_id, actor, source, action, target, outcome, detail_json) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      q.bind(1, OrNow(event.at));
      q.bind(2, event.actor_id);
      q.bind(3, event.actor);
      q.bind(4, event.source);
      q.bind(5, event.action);
      q.bind(6, event.target);
      q.bind(7, event.outcome);
      q.bind(8, event.detail_json);
      q.exec();
    });
  }

  Result<std::vector<AuditEvent>> ListAudit(const AuditFilter& filter, int64_t* total) override {
    return Run<std::vector<AuditEvent>>("list audit events", [&] {
      CheckPage(filter.limit, filter.offset);
      std::string where = " WHERE 1 = 1";
      std::vector<Param> params;
      if (filter.actor) {
        where += " AND actor = ?";
        params.emplace_back(*filter.actor);
      }
      if (filter.action) {
        where += " AND action = ?";
        params.emplace_back(*filter.action);
      }
      if (filter.since) {
        where += " AND at >= ?";
        params.emplace_back(*filter.since);
      }
      if (filter.until) {
        where += " AND at <= ?";
        params.emplace_back(*filter.until);
      }
      if (total) {
        SQLite::Statement count(*db_, "SELECT COUNT(*) FROM audit_events" + where);
        BindAll(count, params);
        count.executeStep();
        *total = count.getColumn(0).getInt64();
      }
      SQLite::Statement q(*db_, std::string("SELECT ") + kAuditColumns + " FROM audit_events" + where +
                                    " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?");
      params.emplace_back(int64_t{filter.limit});
      params.emplace_back(int64_t{filter.offset});
      BindAll(q, params);
      std::vector<AuditEvent> out;
      while (q.executeStep()) out.push_back(ReadAudit(q));
      return out;
    });
  }

 private:
  // Runs `fn` under the connection mutex, turning every exception the
  // SQLite and JSON layers throw into a Status prefixed with `what`.
  template <typename T, typename Fn>
  Result<T> Run(std::string_view what, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      return fn();
    } catch (const StoreError& e) {
      return e.status;
    } catch (const SQLite::Exception& e) {
      return Translate(what, e);
    } catch (const nlohmann::json::exception& e) {
      return Status::Internal(std::string(what) + ": " + e.what());
    } catch (const std::exception& e) {
      return Status::Internal(std::string(what) + ": " + e.what());
    }
  }

  template <typename Fn>
  Status RunStatus(std::string_view what, Fn&& fn) {
    Result<bool> r = Run<bool>(what, [&] {
      fn();
      return true;
    });
    return r.ok() ? Status::Ok() : r.status();
  }

  // Executes an INSERT/UPDATE whose only expected constraint failure is a
  // unique key; returns the number of rows changed.
  int ExecUnique(SQLite::Statement& q, const std::string& already_exists) {
    try {
      return q.exec();
    } catch (const SQLite::Exception& e) {
      if (IsUniqueViolation(e)) Fail(Status::AlreadyExists(already_exists));
      throw;
    }
  }

  int ExecWithScheduleRef(SQLite::Statement& q, std::optional<Id> schedule_id) {
    try {
      return q.exec();
    } catch (const SQLite::Exception& e) {
      if (IsForeignKeyViolation(e) && schedule_id) {
        Fail(Status::NotFound("schedule " + std::to_string(*schedule_id) + " not found"));
      }
      throw;
    }
  }

  bool Exists(const char* sql, Id id) {
    SQLite::Statement q(*db_, sql);
    q.bind(1, id);
    return q.executeStep();
  }

  int AdminCount() {
    SQLite::Statement q(*db_, "SELECT COUNT(*) FROM users WHERE role = 'admin'");
    q.executeStep();
    return q.getColumn(0).getInt();
  }

  User LoadUser(Id id) {
    SQLite::Statement q(*db_, std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) Fail(Status::NotFound("user " + std::to_string(id) + " not found"));
    return ReadUser(q);
  }

  Backup LoadBackup(Id id) {
    SQLite::Statement q(*db_, std::string("SELECT ") + kBackupColumns + " FROM backups WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) Fail(Status::NotFound("backup " + std::to_string(id) + " not found"));
    return ReadBackup(q);
  }

  Schedule LoadSchedule(Id id) {
    SQLite::Statement q(*db_, std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) Fail(Status::NotFound("schedule " + std::to_string(id) + " not found"));
    return ReadSchedule(q);
  }

  std::mutex mu_;
  store::ProcessLock lock_;              // released after db_ closes (declared first)
  std::unique_ptr<SQLite::Database> db_;  // guarded by mu_
};

// --- opening -----------------------------------------------------------------

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
    int current = db.execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
    if (current > latest) {
      Fail(Status::FailedPrecondition("database schema version " + std::to_string(current) +
                                      " is newer than this clawback (" + std::to_string(latest) +
                                      "): upgrade clawback"));
    }
    if (m.version <= current) continue;
    if (m.version != current + 1) {
      Fail(Status::Internal("schema migration " + std::to_string(m.version) + " does not follow version " +
                            std::to_string(current)));
    }
    db.exec(m.sql);
    SQLite::Statement ins(db, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)");
    ins.bind(1, m.version);
    ins.bind(2, m.description);
    ins.bind(3, WallClockNow());
    ins.exec();
    tx.commit();
  }
  // Also refuse when there was nothing to migrate but the file is newer.
  int current = db.execAndGet("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").getInt();
  if (current > latest) {
    Fail(Status::FailedPrecondition("database schema version " + std::to_string(current) +
                                    " is newer than this clawback (" + std::to_string(latest) +
                                    "): upgrade clawback"));
  }
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
    return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(lock), std::move(db)));
  } catch (const StoreError& e) {
    return e.status;
  } catch (const SQLite::Exception& e) {
    return Translate("", e);
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
