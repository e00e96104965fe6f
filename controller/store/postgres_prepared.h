// The server-side prepared statements of one PostgreSQL connection
// (postgres_connection.cc). Private to controller/store.
//
// Keyed by SQL text (placeholders already numbered $1..$n). The first run of
// a text is a PQprepare under a name of our own ("clawback_<n>", never
// reused on the connection); every run after that is one PQexecPrepared: one
// round trip, as PQexecParams was, without the server parsing and planning
// the statement again. Values go in text form and the server infers the
// parameter types when it prepares, as it did for PQexecParams on every call.
// Which plan a prepared statement runs (custom or generic) is PostgreSQL's
// plan cache's choice (plan_cache_mode).
//
// Bounded: at most `capacity` statements; the one run least recently is
// deallocated (DEALLOCATE) to make room, so SQL built at run time (IN lists
// of varying length) cannot grow the session without bound.
//
// The server forgets statements, and the cache follows it:
// - a new session (PQreset after a broken connection): Lost() says so, and
//   a changed backend pid is noticed at the next Run() as well;
// - Forget(): the connection's own schema scripts (migrations) drop the
//   cache, so no statement outlives the schema it was planned on;
// - statements dropped behind our back (DISCARD ALL from a pooler) fail with
//   SQLSTATE 26000, and a schema change by another connection that alters a
//   cached statement's result columns (ALTER TABLE under SELECT *) fails with
//   0A000 "cached plan must not change result type". On either, the cache is
//   dropped and, outside a transaction, the statement is prepared and run
//   again once (the failed run changed nothing). Inside a transaction the
//   error aborts it, as any failed statement does, and reaches the caller
//   as kBusy (retrying the transaction works); the next run prepares afresh.
//
// Transactions: PREPARE and DEALLOCATE are not transactional, so a statement
// prepared in a transaction that rolls back stays prepared (and cached). A
// failed PQprepare aborts the transaction it ran in, like any failed
// statement, and leaves no entry. In an aborted transaction nothing is
// deallocated (the server would refuse); a DEALLOCATE ALL due then runs at
// the first Run() after the rollback.
//
// capacity 0 turns the cache off: every run is one PQexecParams (parse, plan
// and execute each time).
//
// Thread safety: none; used by its connection's one user at a time, on the
// connection `conn`, which must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/store/postgres_result.h"

namespace clawback::controller::store::sql {

class PreparedStatements {
 public:
  PreparedStatements(PGconn* conn, size_t capacity) : conn_(conn), capacity_(capacity) {}
  PreparedStatements(const PreparedStatements&) = delete;
  PreparedStatements& operator=(const PreparedStatements&) = delete;

  // Runs `sql` with `values` (text form; nullptr for NULL) and returns its
  // whole result. Throws sql::Error (postgres_result.h's Checked).
  ResultPtr Run(const std::string& sql, const std::vector<const char*>& values);

  // Drops every statement: DEALLOCATE ALL now, or at the first Run() after
  // an aborted transaction ends. Throws sql::Error when DEALLOCATE ALL
  // fails.
  void Forget();

  // The session is gone (the connection was reset): the server holds none.
  void Lost() noexcept;

  // Statements prepared on the server and known to the cache.
  size_t size() const { return by_sql_.size(); }

 private:
  struct Entry {
    std::string name;
    uint64_t last_run;  // of clock_
  };

  // The name `sql` is prepared under, preparing it first if needed.
  std::string NameFor(const std::string& sql);
  void EvictLeastRecentlyUsed();

  PGconn* conn_;
  const size_t capacity_;
  std::unordered_map<std::string, Entry> by_sql_;
  uint64_t clock_ = 0;      // one tick per run: the order of last use
  uint64_t last_name_ = 0;  // names are never reused on the connection
  int backend_pid_ = 0;     // the server session the entries belong to
  bool deallocate_all_due_ = false;
};

}  // namespace clawback::controller::store::sql
