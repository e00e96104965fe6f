// The engine-neutral SQL layer under the store: a Connection prepares
// Statements, which bind parameters, run, and hand back rows. Two engines
// implement it: SQLite (sqlite_connection.cc, over SQLiteCpp) and PostgreSQL
// (postgres_connection.cc, over libpq). SQL is written once, with `?`
// placeholders; the PostgreSQL connection rewrites them to $1..$n (outside
// quoted literals and identifiers) and sends every value as text, letting the
// server infer types from the column it meets. A new row's id comes back
// through `INSERT ... RETURNING id`, which both engines support.
//
// Dialect rules for SQL run through this layer (both engines accept them):
// no `INSERT OR REPLACE` (use `ON CONFLICT (...) DO UPDATE`), no scalar
// MAX(a, b) (use CASE), no GLOB, integers bound as int64, text as text.
//
// Errors: every failure throws sql::Error, carrying an ErrorKind that means
// the same on both engines (a unique clash is kUnique whether SQLite said
// SQLITE_CONSTRAINT_UNIQUE or PostgreSQL SQLSTATE 23505) and the engine's
// message. The store turns them into Status values (sql_internal.h).
//
// Statements are cheap to ask for again: the SQLite connection keeps the
// ones it prepared, keyed by SQL text, and hands one back out reset, with
// its bindings cleared (sqlite_connection.cc); the PostgreSQL connection
// keeps them prepared on the server, keyed the same way
// (postgres_prepared.h). Both caches are bounded and dropped by ExecScript.
//
// Threading: a Connection and its Statements are used by one thread at a
// time; ConnectionPool hands connections out to threads. A Statement must
// not outlive its Connection.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace clawback::controller::store::sql {

enum class Engine { kSqlite, kPostgres };

// What a failure means, independent of the engine.
enum class ErrorKind {
  kUnique,       // a UNIQUE or PRIMARY KEY clash
  kForeignKey,   // a referenced row does not exist (or is still referenced)
  kConstraint,   // any other constraint or trigger refusal (CHECK, append-only audit)
  kBusy,         // locked by another connection or process; retrying may work
  kReadOnly,     // the database refuses writes
  kFull,         // disk full
  kCorrupt,      // not a clawback database, or damaged
  kIo,           // the file or its directory cannot be read or written
  kUnavailable,  // the server cannot be reached or the connection broke
  kOther,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// One prepared statement. Parameters are numbered from 1 as in SQL, columns
// from 0. Step() runs the statement the first time it is called and moves to
// the next row (false when there is none); column getters read the current
// row. Reset() makes it ready to run again (bindings may then be replaced).
class Statement {
 public:
  virtual ~Statement() = default;

  virtual void BindNull(int index) = 0;
  virtual void Bind(int index, int64_t value) = 0;
  virtual void Bind(int index, double value) = 0;
  virtual void Bind(int index, const std::string& value) = 0;

  virtual bool Step() = 0;
  // Runs the statement to its end; returns the number of rows it changed.
  virtual int64_t Execute() = 0;
  virtual void Reset() = 0;

  virtual bool IsNull(int column) const = 0;
  virtual int64_t Int64(int column) const = 0;
  virtual double Double(int column) const = 0;
  virtual std::string Text(int column) const = 0;
  int Int(int column) const { return static_cast<int>(Int64(column)); }
  // The result's columns; valid once Step() has run.
  virtual int ColumnCount() const = 0;
  virtual std::string ColumnName(int column) const = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;

  virtual Engine engine() const = 0;
  virtual std::unique_ptr<Statement> Prepare(const std::string& sql) = 0;
  // Runs one or more `;`-separated statements without parameters (schema
  // migrations, session settings).
  virtual void ExecScript(const std::string& sql) = 0;

  // A write transaction that serializes with every other one on the same
  // database: SQLite's BEGIN IMMEDIATE; on PostgreSQL, BEGIN plus a
  // transaction-scoped advisory lock, so a read-check-write sequence (the
  // last admin rule) cannot interleave with another replica's.
  virtual void Begin() = 0;
  virtual void Commit() = 0;
  virtual void Rollback() noexcept = 0;

  // Called when the connection goes back to its pool: ends a transaction a
  // failure left open and reconnects a broken connection, so the next user
  // gets a working one. Never throws.
  virtual void Recover() noexcept {}

  // How many prepared statements the connection keeps for reuse (SQLite:
  // those no one is using; PostgreSQL: those prepared on the server). For
  // tests.
  virtual size_t CachedStatementsForTest() const { return 0; }
};

// Begin() on construction; Rollback() on destruction unless Commit() ran.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) { db_.Begin(); }
  ~Transaction() {
    if (!done_) db_.Rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void Commit() {
    db_.Commit();
    done_ = true;
  }

 private:
  Connection& db_;
  bool done_ = false;
};

// A fixed set of open connections. Acquire() blocks until one is free and
// returns it in a Lease, which gives it back (after Recover()) when
// destroyed. A pool of one connection serializes every user, as SQLite
// needs. Thread-safe; the pool must outlive its leases.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::vector<std::unique_ptr<Connection>> connections);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  class Lease {
   public:
    Lease(ConnectionPool& pool, Connection* c) : pool_(&pool), c_(c) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(o.c_) { o.c_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) pool_->Release(c_);
    }
    Connection& operator*() const { return *c_; }
    Connection* operator->() const { return c_; }

   private:
    ConnectionPool* pool_;
    Connection* c_;
  };

  Lease Acquire();
  Engine engine() const { return engine_; }
  size_t size() const { return all_.size(); }

 private:
  void Release(Connection* c);

  Engine engine_;
  std::vector<std::unique_ptr<Connection>> all_;  // owned; fixed after construction
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Connection*> free_;  // guarded by mu_
};

// `sql` with each `?` outside '...' literals and "..." identifiers replaced
// by $1, $2, ... in order (PostgreSQL's placeholders).
std::string NumberPlaceholders(std::string_view sql);

}  // namespace clawback::controller::store::sql
