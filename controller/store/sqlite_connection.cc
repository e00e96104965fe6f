// The SQLite engine (sqlite_connection.h): each call into SQLiteCpp is
// wrapped so its exceptions leave as sql::Error.
#include "controller/store/sqlite_connection.h"

#include <sqlite3.h>

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

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(SQLite::Database& db, const std::string& sql)
      : handle_(db.getHandle()), q_(Guard([&] { return std::make_unique<SQLite::Statement>(db, sql); })) {}

  void BindNull(int i) override { Guard([&] { q_->bind(i); }); }
  void Bind(int i, int64_t v) override { Guard([&] { q_->bind(i, v); }); }
  void Bind(int i, double v) override { Guard([&] { q_->bind(i, v); }); }
  void Bind(int i, const std::string& v) override { Guard([&] { q_->bind(i, v); }); }

  bool Step() override { return Guard([&] { return q_->executeStep(); }); }
  int64_t Execute() override {
    return Guard([&] {
      while (q_->executeStep()) {
      }
      return static_cast<int64_t>(sqlite3_changes(handle_));
    });
  }
  void Reset() override { Guard([&] { q_->reset(); }); }

  bool IsNull(int c) const override { return q_->getColumn(c).isNull(); }
  int64_t Int64(int c) const override { return q_->getColumn(c).getInt64(); }
  double Double(int c) const override { return q_->getColumn(c).getDouble(); }
  std::string Text(int c) const override { return q_->getColumn(c).getString(); }
  int ColumnCount() const override { return q_->getColumnCount(); }
  std::string ColumnName(int c) const override { return q_->getColumnName(c); }

 private:
  sqlite3* handle_;
  std::unique_ptr<SQLite::Statement> q_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

  Engine engine() const override { return Engine::kSqlite; }
  std::unique_ptr<Statement> Prepare(const std::string& sql) override {
    return std::make_unique<SqliteStatement>(*db_, sql);
  }
  void ExecScript(const std::string& sql) override { Guard([&] { db_->exec(sql); }); }
  void Begin() override { ExecScript("BEGIN IMMEDIATE"); }
  void Commit() override { ExecScript("COMMIT"); }
  void Rollback() noexcept override {
    try {
      if (!sqlite3_get_autocommit(db_->getHandle())) db_->exec("ROLLBACK");
    } catch (...) {
    }
  }
  void Recover() noexcept override { Rollback(); }

 private:
  std::unique_ptr<SQLite::Database> db_;
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
