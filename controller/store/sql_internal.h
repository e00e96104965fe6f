// Private to controller/store: what the files of the SQL store share.
//
// SqlStore implements Store (store.h) over the engine-neutral SQL layer
// (sql_connection.h), for SQLite and PostgreSQL alike. Its methods are
// defined one file per group of tables: sql_users.cc (users and their
// instance assignments), sql_credentials.cc (sessions, API tokens),
// sql_instances.cc, sql_backups.cc, sql_restores.cc, sql_schedules.cc,
// sql_audit.cc and sql_trust.cc. Opening a store is sqlite_store.cc or
// postgres_store.cc; migrating the schema is sql_schema.cc. Each table file
// owns its table's column list and row reader.
//
// Errors: inside an operation they travel as exceptions. Fail() throws the
// exact Status the method must return; the SQL layer throws sql::Error and
// nlohmann::json its own. SqlStore::Run catches them all at the method
// boundary, so every helper here may throw and is only called inside Run (or
// while the store is being opened, whose code catches the same way).
//
// Threading: none of the helpers lock; Run leases one connection from the
// pool for the whole operation, so a method's statements (and its
// transaction) all run on that connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/store/model.h"
#include "controller/store/postgres_store.h"
#include "controller/store/process_lock.h"
#include "controller/store/sql_connection.h"
#include "controller/store/sqlite_store.h"
#include "controller/store/store.h"
#include "shared/status.h"

namespace clawback::controller::store::sql {

// --- errors -------------------------------------------------------------------

// Thrown inside a store operation to return a specific Status; caught by Run.
struct StoreError {
  Status status;
};

[[noreturn]] void Fail(Status status);

// Maps an engine failure to a Status a user or operator can act on, its
// message prefixed "what: " (nothing when `what` is empty).
Status Translate(std::string_view what, const Error& e);

// The NotFound every lookup returns: `user 7 not found` by id,
// `user "bob" not found` by name.
Status NotFound(std::string_view noun, Id id);
Status NotFound(std::string_view noun, const std::string& name);

// --- values -------------------------------------------------------------------

UnixTime WallClockNow();
UnixTime OrNow(UnixTime t);  // t, or the wall clock when t is 0
std::string Quoted(const std::string& s);

// Integers are stored signed 64-bit (SQLite INTEGER, PostgreSQL BIGINT);
// sizes and counts are stored bit for bit.
inline int64_t U64(uint64_t v) { return static_cast<int64_t>(v); }
inline uint64_t ColU64(const Statement& q, int column) { return static_cast<uint64_t>(q.Int64(column)); }

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

inline void BindValue(Statement& q, int i, int v) { q.Bind(i, int64_t{v}); }
inline void BindValue(Statement& q, int i, int64_t v) { q.Bind(i, v); }
inline void BindValue(Statement& q, int i, bool v) { q.Bind(i, int64_t{v ? 1 : 0}); }
inline void BindValue(Statement& q, int i, double v) { q.Bind(i, v); }
inline void BindValue(Statement& q, int i, const char* v) { q.Bind(i, std::string(v)); }
inline void BindValue(Statement& q, int i, const std::string& v) { q.Bind(i, v); }
void BindValue(Statement& q, int i, const std::optional<Id>& v);
void BindValue(Statement& q, int i, const Param& v);

// Binds `values` to parameters first, first+1, ...; returns the next index.
template <typename... Values>
int BindFrom(Statement& q, int first, const Values&... values) {
  int i = first;
  (BindValue(q, i++, values), ...);
  return i;
}

// Binds `values` to parameters 1..n.
template <typename... Values>
void Bind(Statement& q, const Values&... values) {
  BindFrom(q, 1, values...);
}

// Binds `params` to parameters 1..n.
void BindAll(Statement& q, const std::vector<Param>& params);

// Runs `sql` with `values` bound; returns read(row) for the first row, and
// Fails with `not_found` when there is none.
template <typename Read, typename... Values>
auto QueryOne(Connection& db, const std::string& sql, Read read, const Status& not_found,
              const Values&... values) {
  auto q = db.Prepare(sql);
  Bind(*q, values...);
  if (!q->Step()) Fail(not_found);
  return read(*q);
}

// Fails with `not_found` unless `sql` with `values` bound returns a row.
template <typename... Values>
void RequireRow(Connection& db, const std::string& sql, const Status& not_found, const Values&... values) {
  QueryOne(db, sql, [](const Statement&) { return true; }, not_found, values...);
}

// The integer in the first column of the first row: COUNT(*) queries.
template <typename... Values>
int64_t QueryCount(Connection& db, const std::string& sql, const Values&... values) {
  auto q = db.Prepare(sql);
  Bind(*q, values...);
  q->Step();
  return q->Int64(0);
}

// Runs an already bound query; returns read(row) for every row, in order.
template <typename Read>
auto ReadAll(Statement& q, Read read) {
  std::vector<decltype(read(q))> out;
  while (q.Step()) out.push_back(read(q));
  return out;
}

// Runs `sql` with `values` bound; returns read(row) for every row, in order.
template <typename Read, typename... Values>
auto QueryAll(Connection& db, const std::string& sql, Read read, const Values&... values) {
  auto q = db.Prepare(sql);
  Bind(*q, values...);
  return ReadAll(*q, read);
}

// Runs `sql` with `values` bound; returns the number of rows changed.
template <typename... Values>
int64_t Exec(Connection& db, const std::string& sql, const Values&... values) {
  auto q = db.Prepare(sql);
  Bind(*q, values...);
  return q->Execute();
}

// As Exec, for statements on one row: Fails with `not_found` when no row
// changed.
template <typename... Values>
void ExecOne(Connection& db, const std::string& sql, const Status& not_found, const Values&... values) {
  if (Exec(db, sql, values...) == 0) Fail(not_found);
}

// What an INSERT's or UPDATE's constraint failures mean to its caller. A
// clash left unset propagates as the engine's error (Translate's message).
struct Clashes {
  std::optional<Status> unique;       // a UNIQUE or PRIMARY KEY clash
  std::optional<Status> foreign_key;  // a referenced row does not exist
};

// Executes `q`, Failing as `clashes` says; returns the number of rows changed.
int64_t ExecChecked(Statement& q, const Clashes& clashes);

// As above, preparing `sql` and binding `values` first.
template <typename... Values>
int64_t ExecChecked(Connection& db, const std::string& sql, const Clashes& clashes, const Values&... values) {
  auto q = db.Prepare(sql);
  Bind(*q, values...);
  return ExecChecked(*q, clashes);
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
int64_t Count(Connection& db, const char* table, const Conditions& c);

// One page: "SELECT <columns> FROM <table> <c> ORDER BY <order_by> LIMIT ?
// OFFSET ?", each row through `read`. The caller has checked the page.
template <typename Read>
auto QueryPage(Connection& db, const char* columns, const char* table, Conditions c,
               const char* order_by, int limit, int offset, Read read) {
  auto q = db.Prepare(Select(columns, std::string("FROM ") + table + c.where + " ORDER BY " + order_by +
                             " LIMIT ? OFFSET ?"));
  c.params.emplace_back(int64_t{limit});
  c.params.emplace_back(int64_t{offset});
  BindAll(*q, c.params);
  return ReadAll(*q, read);
}

// Runs a bound INSERT ending in "RETURNING id", Failing as `clashes` says;
// returns the new row's id.
Id InsertReturningId(Statement& q, const Clashes& clashes);

// As above, preparing `sql` and binding `values` first.
template <typename... Values>
Id InsertReturningId(Connection& db, const std::string& sql, const Clashes& clashes, const Values&... values) {
  auto q = db.Prepare(sql);
  Bind(*q, values...);
  return InsertReturningId(*q, clashes);
}

// --- the store --------------------------------------------------------------------

// Store over a connection pool. Every method body runs inside Run, which
// leases one connection for the whole operation: with SQLite the pool holds
// one connection, so operations are serialized as before; with PostgreSQL it
// holds several and operations run concurrently (a method that needs several
// statements to be atomic runs them in a sql::Transaction). The schema is
// already migrated when the constructor runs (sql_schema.cc).
class SqlStore final : public Store {
 public:
  // `readers`, when given, serves the read-only methods that busy API calls
  // make (RunRead): with SQLite in WAL mode read-only connections (four,
  // sqlite_store.cc) let them run while a transfer's commit holds the
  // writing connection through its fsync, and beside each other. Without it (PostgreSQL: the pool is already several
  // connections) they run on `pool`.
  SqlStore(ProcessLock lock, std::unique_ptr<ConnectionPool> pool, std::unique_ptr<ConnectionPool> readers = nullptr)
      : lock_(std::move(lock)), pool_(std::move(pool)), readers_(std::move(readers)) {}

  // sql_users.cc
  Result<User> CreateUser(const User& user) override;
  Result<User> GetUser(Id id) override;
  Result<User> GetUserByName(const std::string& username) override;
  Result<std::vector<User>> ListUsers() override;
  Status UpdateUser(const User& user) override;
  Status DeleteUser(Id id) override;
  Result<int> CountAdmins() override;
  Status SetUserInstances(Id user_id, const std::vector<Id>& instance_ids) override;
  Result<std::vector<Id>> GetUserInstances(Id user_id) override;

  // sql_credentials.cc
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

  // sql_instances.cc
  Result<Instance> CreateInstance(const Instance& instance) override;
  Result<Instance> GetInstance(Id id) override;
  Result<Instance> GetInstanceByName(const std::string& name) override;
  Result<std::vector<Instance>> ListInstances() override;
  Status UpdateInstance(const Instance& instance) override;
  Status DeleteInstance(Id id) override;

  // sql_backups.cc
  Result<Backup> CreateBackup(const Backup& backup) override;
  Result<Backup> GetBackup(Id id) override;
  Result<std::vector<Backup>> ListBackups(const BackupFilter& filter, int64_t* total) override;
  Status UpdateBackup(const Backup& backup) override;
  Status UpdateBackupProgress(Id id, uint64_t progress_bytes) override;
  Status DeleteBackup(Id id) override;
  Result<std::vector<Backup>> ListUnfinishedBackups() override;
  Result<std::vector<Backup>> ListCompletedBackups(Id instance_id) override;
  Result<std::vector<LatestBackups>> ListLatestBackups() override;

  // sql_restores.cc
  Result<Restore> CreateRestore(const Restore& restore) override;
  Result<Restore> GetRestore(Id id) override;
  Result<std::vector<Restore>> ListRestores(std::optional<Id> backup_id, int limit) override;
  Status UpdateRestore(const Restore& restore) override;
  Result<std::vector<Restore>> ListUnfinishedRestores() override;

  // sql_schedules.cc
  Result<Schedule> CreateSchedule(const Schedule& schedule) override;
  Result<Schedule> GetSchedule(Id id) override;
  Result<std::vector<Schedule>> ListSchedules() override;
  Status UpdateSchedule(const Schedule& schedule) override;
  Status DeleteSchedule(Id id) override;
  Status RecordScheduleFired(Id id, UnixTime slot, UnixTime ran_at, const std::string& result) override;
  Status RecordScheduleResult(Id id, UnixTime ran_at, const std::string& result) override;

  // sql_audit.cc
  Status AppendAudit(const AuditEvent& event) override;
  Result<std::vector<AuditEvent>> ListAudit(const AuditFilter& filter, int64_t* total) override;

  // sql_trust.cc
  Status PutBackupCheck(const BackupCheck& check) override;
  Result<std::vector<BackupCheck>> ListBackupChecks(const std::vector<Id>& backup_ids) override;
  Status FailRunningChecks(UnixTime now, const std::string& error, const std::string& previous_life) override;
  Result<std::vector<LatestCheck>> ListLatestChecks() override;
  Result<Webhook> CreateWebhook(const Webhook& hook) override;
  Result<Webhook> GetWebhook(Id id) override;
  Result<std::vector<Webhook>> ListWebhooks() override;
  Status UpdateWebhook(const Webhook& hook) override;
  Status DeleteWebhook(Id id) override;
  Result<WebhookDelivery> CreateWebhookDelivery(const WebhookDelivery& d) override;
  Status UpdateWebhookDelivery(const WebhookDelivery& d) override;
  Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(Id webhook_id, int limit) override;

  // The connections, for tools that work on tables directly (store_copy.cc).
  ConnectionPool& pool() { return *pool_; }

  // sql_leases.cc
  Result<bool> AcquireLease(const std::string& name, const std::string& holder, UnixTime now,
                            UnixTime expires_at) override;
  Status ReleaseLease(const std::string& name, const std::string& holder) override;
  Result<Lease> GetLease(const std::string& name) override;
  Result<int64_t> DeleteExpiredLeases(const std::string& name_prefix, UnixTime expired_before) override;
  Status AssignTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime lease_until) override;
  Result<ClaimOutcome> ClaimTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                     UnixTime lease_until, int max_running) override;
  Result<TransferIds> RenewTransferLeases(const std::string& owner, UnixTime lease_until) override;
  Result<bool> AdoptQueuedTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                   UnixTime lease_until) override;
  Result<int64_t> ReleaseQueuedTransfers(const std::string& owner) override;
  Result<std::vector<TransferLease>> ListTransferLeases() override;
  Result<bool> FailAbandonedTransfer(TransferKind kind, Id id, UnixTime now, const std::string& owner_gone,
                                     const std::string& error) override;
  Result<bool> FinishOwnedBackup(const Backup& backup, const std::string& owner) override;

 private:
  template <typename T>
  using RunResult = std::conditional_t<std::is_void_v<T>, Status, Result<T>>;

  // Runs fn(connection) on a connection leased from the pool, turning every
  // exception the store helpers, SQL layer and JSON layer throw into a Status
  // prefixed with `what` (a StoreError's Status is returned as it is).
  // Returns Result<T> when `fn` returns T, and Status when it returns nothing.
  template <typename Fn>
  RunResult<std::invoke_result_t<Fn&, Connection&>> Run(std::string_view what, Fn&& fn) {
    return RunOn(*pool_, what, std::forward<Fn>(fn));
  }

  // As Run, for methods that only read: on the reader connections when the
  // store has them (see the constructor).
  template <typename Fn>
  RunResult<std::invoke_result_t<Fn&, Connection&>> RunRead(std::string_view what, Fn&& fn) {
    return RunOn(readers_ ? *readers_ : *pool_, what, std::forward<Fn>(fn));
  }

  template <typename Fn>
  RunResult<std::invoke_result_t<Fn&, Connection&>> RunOn(ConnectionPool& pool, std::string_view what, Fn&& fn) {
    try {
      ConnectionPool::Lease db = pool.Acquire();
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Connection&>>) {
        fn(*db);
        return Status::Ok();
      } else {
        return fn(*db);
      }
    } catch (const StoreError& e) {
      return e.status;
    } catch (const Error& e) {
      return Translate(what, e);
    } catch (const nlohmann::json::exception& e) {
      return Status::Internal(std::string(what) + ": " + e.what());
    } catch (const std::exception& e) {
      return Status::Internal(std::string(what) + ": " + e.what());
    }
  }

  ProcessLock lock_;                      // released after the pool closes (declared first)
  std::unique_ptr<ConnectionPool> pool_;  // thread-safe
  std::unique_ptr<ConnectionPool> readers_;  // thread-safe; may be null
};

// The openers behind OpenSqliteStore and OpenPostgresStore, returning the
// SqlStore itself (sqlite_store.cc, postgres_store.cc).
Result<std::unique_ptr<SqlStore>> OpenSqliteSqlStore(const std::string& path, const SqliteStoreOptions& options);
Result<std::unique_ptr<SqlStore>> OpenPostgresSqlStore(const std::string& conninfo,
                                                       const PostgresStoreOptions& options);

}  // namespace clawback::controller::store::sql
