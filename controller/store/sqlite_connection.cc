// The SQLite engine (sqlite_connection.h): the database is SQLiteCpp's,
// statements are sqlite3_stmt kept in a per-connection cache; every failure
// leaves as sql::Error.
#include "controller/store/sqlite_connection.h"

#include <sqlite3.h>

#include <string>
#include <unordered_map>
#include <utility>

namespace clawback::controller::store::sql {
namespace {

template <typename Fn>
auto Guard(Fn&& fn) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    throw FromSqlite(e);
  }
}

[[noreturn]] void Throw(sqlite3* db, int rc) { throw FromSqlite(SQLite::Exception(db, rc & 0xff)); }

// Owns one sqlite3_stmt (finalized on destruction).
struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Prepared statements kept per connection, keyed by SQL text, so a hot
// query is compiled once rather than on every call (sqlite3_prepare_v2 was a
// large share of the controller's CPU under load). A statement is checked
// out while in use (two live uses of the same SQL get two statements) and
// comes back reset with its bindings cleared, so it holds no read snapshot
// and carries nothing into its next use, whatever the last use ended with
// (a row left unread, a constraint error, an exception). SQLite re-prepares
// a statement itself when the schema changes (prepare_v2) and columns are
// read from the statement as it is now; the cache is dropped as well
// whenever ExecScript runs (migrations).
class StatementCache {
 public:
  // At most this many idle statements; dynamic SQL (IN lists of varying
  // length) must not grow the cache without bound.
  static constexpr size_t kMaxIdle = 128;

  StmtPtr Take(const std::string& sql) {
    auto it = idle_.find(sql);
    if (it == idle_.end()) return nullptr;
    StmtPtr q = std::move(it->second);
    idle_.erase(it);
    return q;
  }

  void Give(const std::string& sql, StmtPtr q) noexcept {
    // The error of a failed last step comes back from reset; it was
    // reported then.
    sqlite3_reset(q.get());
    sqlite3_clear_bindings(q.get());
    try {
      if (idle_.size() >= kMaxIdle) idle_.erase(idle_.begin());
      idle_.try_emplace(sql, std::move(q));  // a second statement for the same SQL is finalized
    } catch (...) {
      // Out of memory: the statement is finalized instead of kept.
    }
  }

  void Clear() noexcept { idle_.clear(); }
  size_t idle() const { return idle_.size(); }

 private:
  std::unordered_map<std::string, StmtPtr> idle_;
};

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(StatementCache& cache, sqlite3* db, std::string sql, StmtPtr q)
      : cache_(cache), db_(db), sql_(std::move(sql)), q_(std::move(q)) {}
  ~SqliteStatement() override { cache_.Give(sql_, std::move(q_)); }

  void BindNull(int i) override { Check(sqlite3_bind_null(q_.get(), i)); }
  void Bind(int i, int64_t v) override { Check(sqlite3_bind_int64(q_.get(), i, v)); }
  void Bind(int i, double v) override { Check(sqlite3_bind_double(q_.get(), i, v)); }
  void Bind(int i, const std::string& v) override {
    Check(sqlite3_bind_text(q_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }

  bool Step() override {
    if (done_) throw Error(ErrorKind::kOther, "statement needs a reset");
    const int rc = sqlite3_step(q_.get());
    if (rc == SQLITE_ROW) return has_row_ = true;
    has_row_ = false;
    if (rc == SQLITE_DONE) {
      done_ = true;
      return false;
    }
    Throw(db_, rc);
  }
  int64_t Execute() override {
    while (Step()) {
    }
    return static_cast<int64_t>(sqlite3_changes(db_));
  }
  void Reset() override {
    has_row_ = done_ = false;
    Check(sqlite3_reset(q_.get()));
  }

  bool IsNull(int c) const override { return sqlite3_column_type(Row(c), c) == SQLITE_NULL; }
  int64_t Int64(int c) const override { return sqlite3_column_int64(Row(c), c); }
  double Double(int c) const override { return sqlite3_column_double(Row(c), c); }
  std::string Text(int c) const override {
    sqlite3_stmt* s = Row(c);
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
    return text ? std::string(text, static_cast<size_t>(sqlite3_column_bytes(s, c))) : std::string();
  }
  int ColumnCount() const override { return sqlite3_column_count(q_.get()); }
  std::string ColumnName(int c) const override {
    CheckColumn(c);
    const char* name = sqlite3_column_name(q_.get(), c);
    return name ? name : "";
  }

 private:
  void Check(int rc) const {
    if (rc != SQLITE_OK) Throw(db_, rc);
  }
  void CheckColumn(int c) const {
    if (c < 0 || c >= sqlite3_column_count(q_.get())) {
      throw Error(ErrorKind::kOther, "column index " + std::to_string(c) + " out of range");
    }
  }
  // The statement, once `c` is one of its columns and a row is current.
  sqlite3_stmt* Row(int c) const {
    if (!has_row_) throw Error(ErrorKind::kOther, "no row to read (Step() first)");
    CheckColumn(c);
    return q_.get();
  }

  StatementCache& cache_;
  sqlite3* db_;
  std::string sql_;
  StmtPtr q_;
  bool has_row_ = false;
  bool done_ = false;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

  Engine engine() const override { return Engine::kSqlite; }
  std::unique_ptr<Statement> Prepare(const std::string& sql) override {
    sqlite3* db = db_->getHandle();
    StmtPtr q = cache_.Take(sql);
    if (!q) {
      sqlite3_stmt* raw = nullptr;
      const int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size() + 1), &raw, nullptr);
      q.reset(raw);
      if (rc != SQLITE_OK) Throw(db, rc);
      if (!q) throw Error(ErrorKind::kOther, "no SQL statement in: " + sql);
    }
    return std::make_unique<SqliteStatement>(cache_, db, sql, std::move(q));
  }
  void ExecScript(const std::string& sql) override {
    cache_.Clear();
    Exec(sql);
  }
  void Begin() override { Exec("BEGIN IMMEDIATE"); }
  void Commit() override { Exec("COMMIT"); }
  void Rollback() noexcept override {
    try {
      if (!sqlite3_get_autocommit(db_->getHandle())) db_->exec("ROLLBACK");
    } catch (...) {
    }
  }
  void Recover() noexcept override { Rollback(); }
  size_t CachedStatementsForTest() const override { return cache_.idle(); }

 private:
  void Exec(const std::string& sql) {
    Guard([&] { db_->exec(sql); });
  }

  std::unique_ptr<SQLite::Database> db_;
  StatementCache cache_;  // declared after db_: finalized before the database closes
};

}  // namespace

std::unique_ptr<Connection> WrapSqlite(std::unique_ptr<SQLite::Database> db) {
  return std::make_unique<SqliteConnection>(std::move(db));
}

Error FromSqlite(const SQLite::Exception& e) {
  const int ext = e.getExtendedErrorCode();
  switch (e.getErrorCode()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorKind::kBusy, "database is locked by another process");
    case SQLITE_READONLY:
      return Error(ErrorKind::kReadOnly, "database is read-only");
    case SQLITE_FULL:
      return Error(ErrorKind::kFull, "disk full");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error(ErrorKind::kCorrupt,
                   std::string("database file is corrupt or not a clawback database: ") + e.what());
    case SQLITE_CONSTRAINT:
      if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Error(ErrorKind::kUnique, e.what());
      }
      if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) return Error(ErrorKind::kForeignKey, e.what());
      return Error(ErrorKind::kConstraint, e.what());
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return Error(ErrorKind::kIo, e.what());
    default:
      return Error(ErrorKind::kOther, e.what());
  }
}

}  // namespace clawback::controller::store::sql
