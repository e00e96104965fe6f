// Private to controller/store: what the files of the SQLite store share.
//
// SqliteStore implements Store (store.h, sqlite_store.h). Its methods are
// defined one file per group of tables: sqlite_users.cc (users and their
// instance assignments), sqlite_credentials.cc (sessions, API tokens),
// sqlite_instances.cc, sqlite_backups.cc, sqlite_restores.cc,
// sqlite_schedules.cc and sqlite_audit.cc. Opening and migrating the database
// is sqlite_store.cc. Each file owns its table's column list and row reader.
//
// Errors: inside an operation they travel as exceptions. Fail() throws the
// exact Status the method must return; SQLiteCpp and nlohmann::json throw
// their own. SqliteStore::Run catches them all at the method boundary, so
// every helper here may throw and is only called inside Run (or while the
// store is being opened, whose code catches the same way).
//
// Threading: none of the helpers lock; Run holds the connection mutex for
// the whole operation (RunRead the read-only connection's).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "controller/store/model.h"
#include "controller/store/process_lock.h"
#include "controller/store/store.h"
#include "shared/status.h"

namespace clawback::controller::store::sqlite {

// --- errors -------------------------------------------------------------------

// Thrown inside a store operation to return a specific Status; caught by Run.
struct StoreError {
  Status status;
};

[[noreturn]] void Fail(Status status);

bool IsUniqueViolation(const SQLite::Exception& e);
bool IsForeignKeyViolation(const SQLite::Exception& e);

// Maps a SQLite failure to a Status a user or operator can act on, its
// message prefixed "what: " (nothing when `what` is empty).
Status Translate(std::string_view what, const SQLite::Exception& e);

// The NotFound every lookup returns: `user 7 not found` by id,
// `user "bob" not found` by name.
Status NotFound(std::string_view noun, Id id);
Status NotFound(std::string_view noun, const std::string& name);

// --- values -------------------------------------------------------------------

UnixTime WallClockNow();
UnixTime OrNow(UnixTime t);  // t, or the wall clock when t is 0
std::string Quoted(const std::string& s);

// SQLite integers are signed 64-bit; sizes and counts are stored bit for bit.
inline int64_t U64(uint64_t v) { return static_cast<int64_t>(v); }
inline uint64_t ColU64(const SQLite::Column& c) { return static_cast<uint64_t>(c.getInt64()); }

// JSON array columns. Readers Fail with Corruption naming `column` (e.g.
// "backups.paths_json") when the stored text is not an array of that type.
std::string StringsToJson(const std::vector<std::string>& v);
std::string IdsToJson(const std::vector<Id>& v);
std::vector<std::string> JsonToStrings(const std::string& text, std::string_view column);
std::vector<Id> JsonToIds(const std::string& text, std::string_view column);

// backups.status and restores.status; Corruption for an unknown name.
BackupStatus StatusFromColumn(const std::string& s);

// --- statements -----------------------------------------------------------------

// "SELECT <columns> <rest>", e.g. Select(kUserColumns, "FROM users WHERE id = ?").
std::string Select(const char* columns, std::string_view rest);

// "?,?,?" for n parameters.
std::string Placeholders(size_t n);

// InvalidArgument unless 1 <= limit <= 500 and offset >= 0.
void CheckPage(int limit, int offset);

// Binding one parameter: bool as 0/1, an unset optional id as NULL, a Param
// as whichever it holds. uint64_t has no overload on purpose: convert with
// U64 so the signed storage is visible at the call.
using Param = std::variant<int64_t, std::string>;

inline void BindValue(SQLite::Statement& q, int i, int v) { q.bind(i, v); }
inline void BindValue(SQLite::Statement& q, int i, int64_t v) { q.bind(i, v); }
inline void BindValue(SQLite::Statement& q, int i, bool v) { q.bind(i, v ? 1 : 0); }
inline void BindValue(SQLite::Statement& q, int i, const char* v) { q.bind(i, v); }
inline void BindValue(SQLite::Statement& q, int i, const std::string& v) { q.bind(i, v); }
void BindValue(SQLite::Statement& q, int i, const std::optional<Id>& v);
void BindValue(SQLite::Statement& q, int i, const Param& v);

// Binds `values` to parameters first, first+1, ...; returns the next index.
template <typename... Values>
int BindFrom(SQLite::Statement& q, int first, const Values&... values) {
  int i = first;
  (BindValue(q, i++, values), ...);
  return i;
}

// Binds `values` to parameters 1..n.
template <typename... Values>
void Bind(SQLite::Statement& q, const Values&... values) {
  BindFrom(q, 1, values...);
}

// Binds `params` to parameters 1..n.
void BindAll(SQLite::Statement& q, const std::vector<Param>& params);

// Runs `sql` with `values` bound; returns read(row) for the first row, and
// Fails with `not_found` when there is none.
template <typename Read, typename... Values>
auto QueryOne(SQLite::Database& db, const std::string& sql, Read read, const Status& not_found,
              const Values&... values) {
  SQLite::Statement q(db, sql);
  Bind(q, values...);
  if (!q.executeStep()) Fail(not_found);
  return read(q);
}

// Fails with `not_found` unless `sql` with `values` bound returns a row.
template <typename... Values>
void RequireRow(SQLite::Database& db, const std::string& sql, const Status& not_found, const Values&... values) {
  QueryOne(db, sql, [](SQLite::Statement&) { return true; }, not_found, values...);
}

// The integer in the first column of the first row: COUNT(*) queries.
template <typename... Values>
int64_t QueryCount(SQLite::Database& db, const std::string& sql, const Values&... values) {
  SQLite::Statement q(db, sql);
  Bind(q, values...);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

// Runs an already bound query; returns read(row) for every row, in order.
template <typename Read>
auto ReadAll(SQLite::Statement& q, Read read) {
  std::vector<decltype(read(q))> out;
  while (q.executeStep()) out.push_back(read(q));
  return out;
}

// As above, on a statement already prepared (StatementCache).
template <typename Read, typename... Values>
auto QueryOne(SQLite::Statement& q, Read read, const Status& not_found, const Values&... values) {
  Bind(q, values...);
  if (!q.executeStep()) Fail(not_found);
  return read(q);
}

// Runs `sql` with `values` bound; returns read(row) for every row, in order.
template <typename Read, typename... Values>
auto QueryAll(SQLite::Database& db, const std::string& sql, Read read, const Values&... values) {
  SQLite::Statement q(db, sql);
  Bind(q, values...);
  return ReadAll(q, read);
}

// As above, on a statement already prepared (StatementCache).
template <typename Read, typename... Values>
auto QueryAll(SQLite::Statement& q, Read read, const Values&... values) {
  Bind(q, values...);
  return ReadAll(q, read);
}

// Prepared statements of one connection kept for reuse: parsing and planning
// the SQL is most of the cost of a small query. Get() hands out a statement
// with no bindings, reset again (tryReset) when the Lease goes, so no read
// transaction stays open between calls. Not thread-safe: used under the
// connection's mutex; one Lease per SQL text at a time. Holds at most
// kMaxStatements (SQL built from filters varies), then starts over.
class StatementCache {
 public:
  explicit StatementCache(SQLite::Database& db) : db_(db) {}

  class Lease {
   public:
    explicit Lease(SQLite::Statement& q) : q_(&q) {}
    ~Lease() { q_->tryReset(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SQLite::Statement& operator*() const { return *q_; }
    SQLite::Statement* operator->() const { return q_; }

   private:
    SQLite::Statement* q_;
  };

  Lease Get(const std::string& sql);

 private:
  static constexpr size_t kMaxStatements = 64;
  SQLite::Database& db_;
  std::map<std::string, std::unique_ptr<SQLite::Statement>> statements_;
};

// Runs `sql` with `values` bound; returns the number of rows changed.
template <typename... Values>
int Exec(SQLite::Database& db, const std::string& sql, const Values&... values) {
  SQLite::Statement q(db, sql);
  Bind(q, values...);
  return q.exec();
}

// As Exec, for statements on one row: Fails with `not_found` when no row
// changed.
template <typename... Values>
void ExecOne(SQLite::Database& db, const std::string& sql, const Status& not_found, const Values&... values) {
  if (Exec(db, sql, values...) == 0) Fail(not_found);
}

// What an INSERT's or UPDATE's constraint failures mean to its caller. A
// clash left unset propagates as the SQLite error (Translate's message).
struct Clashes {
  std::optional<Status> unique;       // a UNIQUE or PRIMARY KEY clash
  std::optional<Status> foreign_key;  // a referenced row does not exist
};

// Executes `q`, Failing as `clashes` says; returns the number of rows changed.
int ExecChecked(SQLite::Statement& q, const Clashes& clashes);

// As above, preparing `sql` and binding `values` first.
template <typename... Values>
int ExecChecked(SQLite::Database& db, const std::string& sql, const Clashes& clashes, const Values&... values) {
  SQLite::Statement q(db, sql);
  Bind(q, values...);
  return ExecChecked(q, clashes);
}

// The optional filters of a list query, as " WHERE 1 = 1 AND ..." and the
// parameters in the order they appear.
struct Conditions {
  std::string where = " WHERE 1 = 1";
  std::vector<Param> params;

  void Add(std::string_view condition, Param value);                // e.g. "actor = ?"
  void AddIn(std::string_view column, const std::vector<Id>& ids);  // column IN (...)
};

// SELECT COUNT(*) FROM `table` under `c`.
int64_t Count(SQLite::Database& db, const char* table, const Conditions& c);

// One page: "SELECT <columns> FROM <table> <c> ORDER BY <order_by> LIMIT ?
// OFFSET ?", each row through `read`. The caller has checked the page.
template <typename Read>
auto QueryPage(SQLite::Database& db, const char* columns, const char* table, Conditions c,
               const char* order_by, int limit, int offset, Read read) {
  SQLite::Statement q(db, Select(columns, std::string("FROM ") + table + c.where + " ORDER BY " + order_by +
                                              " LIMIT ? OFFSET ?"));
  c.params.emplace_back(int64_t{limit});
  c.params.emplace_back(int64_t{offset});
  BindAll(q, c.params);
  return ReadAll(q, read);
}

// --- the store --------------------------------------------------------------------

// Store on one SQLite connection. Every method body runs inside Run, which
// holds mu_ for the whole operation. The schema is already migrated when the
// constructor runs (OpenSqliteStore in sqlite_store.cc).
class SqliteStore final : public Store {
 public:
  // `reader` is a read-only connection to the same file (see RunRead).
  SqliteStore(ProcessLock lock, std::unique_ptr<SQLite::Database> db, std::unique_ptr<SQLite::Database> reader)
      : lock_(std::move(lock)), db_(std::move(db)), reader_(std::move(reader)), reader_statements_(*reader_) {}

  // sqlite_users.cc
  Result<User> CreateUser(const User& user) override;
  Result<User> GetUser(Id id) override;
  Result<User> GetUserByName(const std::string& username) override;
  Result<std::vector<User>> ListUsers() override;
  Status UpdateUser(const User& user) override;
  Status DeleteUser(Id id) override;
  Result<int> CountAdmins() override;
  Status SetUserInstances(Id user_id, const std::vector<Id>& instance_ids) override;
  Result<std::vector<Id>> GetUserInstances(Id user_id) override;

  // sqlite_credentials.cc
  Status CreateSession(const Session& session) override;
  Result<Session> GetSession(const std::string& token_hash) override;
  Status DeleteSession(const std::string& token_hash) override;
  Status DeleteUserSessions(Id user_id) override;
  Status DeleteExpiredSessions(UnixTime now) override;
  Status TouchSession(const std::string& token_hash, UnixTime now) override;
  Result<ApiToken> CreateApiToken(const ApiToken& token) override;
  Result<ApiToken> GetApiTokenByHash(const std::string& token_hash) override;
  Result<std::vector<ApiToken>> ListApiTokens(Id user_id) override;
  Status RevokeApiToken(Id user_id, Id token_id) override;
  Status RevokeUserApiTokens(Id user_id) override;
  Status TouchApiToken(Id token_id, UnixTime now) override;

  // sqlite_instances.cc
  Result<Instance> CreateInstance(const Instance& instance) override;
  Result<Instance> GetInstance(Id id) override;
  Result<Instance> GetInstanceByName(const std::string& name) override;
  Result<std::vector<Instance>> ListInstances() override;
  Status UpdateInstance(const Instance& instance) override;
  Status DeleteInstance(Id id) override;

  // sqlite_backups.cc
  Result<Backup> CreateBackup(const Backup& backup) override;
  Result<Backup> GetBackup(Id id) override;
  Result<std::vector<Backup>> ListBackups(const BackupFilter& filter, int64_t* total) override;
  Status UpdateBackup(const Backup& backup) override;
  Status UpdateBackupProgress(Id id, uint64_t progress_bytes) override;
  Status DeleteBackup(Id id) override;
  Result<std::vector<Backup>> ListUnfinishedBackups() override;
  Result<std::vector<Backup>> ListCompletedBackups(Id instance_id) override;
  Result<std::vector<LatestBackups>> ListLatestBackups() override;

  // sqlite_restores.cc
  Result<Restore> CreateRestore(const Restore& restore) override;
  Result<Restore> GetRestore(Id id) override;
  Result<std::vector<Restore>> ListRestores(std::optional<Id> backup_id, int limit) override;
  Status UpdateRestore(const Restore& restore) override;
  Result<std::vector<Restore>> ListUnfinishedRestores() override;

  // sqlite_schedules.cc
  Result<Schedule> CreateSchedule(const Schedule& schedule) override;
  Result<Schedule> GetSchedule(Id id) override;
  Result<std::vector<Schedule>> ListSchedules() override;
  Status UpdateSchedule(const Schedule& schedule) override;
  Status DeleteSchedule(Id id) override;
  Status RecordScheduleFired(Id id, UnixTime slot, UnixTime ran_at, const std::string& result) override;
  Status RecordScheduleResult(Id id, UnixTime ran_at, const std::string& result) override;

  // sqlite_audit.cc
  Status AppendAudit(const AuditEvent& event) override;
  Result<std::vector<AuditEvent>> ListAudit(const AuditFilter& filter, int64_t* total) override;

  // sqlite_trust.cc
  Status PutBackupCheck(const BackupCheck& check) override;
  Result<std::vector<BackupCheck>> ListBackupChecks(const std::vector<Id>& backup_ids) override;
  Result<std::vector<LatestCheck>> ListLatestChecks() override;
  Status FailRunningChecks(UnixTime now, const std::string& error) override;
  Result<Webhook> CreateWebhook(const Webhook& hook) override;
  Result<Webhook> GetWebhook(Id id) override;
  Result<std::vector<Webhook>> ListWebhooks() override;
  Status UpdateWebhook(const Webhook& hook) override;
  Status DeleteWebhook(Id id) override;
  Result<WebhookDelivery> CreateWebhookDelivery(const WebhookDelivery& d) override;
  Status UpdateWebhookDelivery(const WebhookDelivery& d) override;
  Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(Id webhook_id, int limit) override;

 private:
  template <typename T>
  using RunResult = std::conditional_t<std::is_void_v<T>, Status, Result<T>>;

  // Runs `fn` under the connection mutex, turning every exception the store
  // helpers, SQLite and JSON layers throw into a Status prefixed with `what`
  // (a StoreError's Status is returned as it is). Returns Result<T> when `fn`
  // returns T, and Status when it returns nothing.
  template <typename Fn>
  RunResult<std::invoke_result_t<Fn&>> Run(std::string_view what, Fn&& fn) {
    return RunUnder(mu_, what, fn);
  }

  // As Run, for a read-only method whose body uses *reader_ (under
  // reader_mu_): the methods on busy API paths (instance list, backup list,
  // sign-in checks). In WAL mode this reader never waits for a writer nor
  // for its commit's fsync, and sees every commit that finished before the
  // statement started; each method stays one consistent snapshot when it
  // runs one statement (or wraps several in a transaction).
  template <typename Fn>
  RunResult<std::invoke_result_t<Fn&>> RunRead(std::string_view what, Fn&& fn) {
    return RunUnder(reader_mu_, what, fn);
  }

  template <typename Fn>
  RunResult<std::invoke_result_t<Fn&>> RunUnder(std::mutex& mu, std::string_view what, Fn& fn) {
    std::lock_guard<std::mutex> lock(mu);
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
        fn();
        return Status::Ok();
      } else {
        return fn();
      }
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

  std::mutex mu_;
  std::mutex reader_mu_;
  ProcessLock lock_;                          // released after db_ closes (declared first)
  std::unique_ptr<SQLite::Database> db_;      // guarded by mu_
  std::unique_ptr<SQLite::Database> reader_;  // read-only; guarded by reader_mu_
  StatementCache reader_statements_;          // reader_'s; guarded by reader_mu_ (destroyed before reader_)
};

}  // namespace clawback::controller::store::sqlite
