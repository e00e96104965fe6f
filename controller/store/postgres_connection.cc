// The PostgreSQL engine (postgres_connection.h). Each statement's `?` are
// numbered to $n and every value goes in text form. Runs go through the
// connection's server-side prepared statements (postgres_prepared.h): the
// first run of a SQL text prepares it, later runs execute it, one round trip
// each. The whole result is kept until the statement's next Reset.
#include "controller/store/postgres_connection.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "controller/store/postgres_prepared.h"
#include "controller/store/postgres_result.h"

namespace clawback::controller::store::sql {
namespace {

class PgStatement final : public Statement {
 public:
  PgStatement(PreparedStatements& prepared, const std::string& sql)
      : prepared_(prepared), sql_(NumberPlaceholders(sql)) {}

  void BindNull(int i) override { Slot(i).reset(); }
  void Bind(int i, int64_t v) override { Slot(i) = std::to_string(v); }
  void Bind(int i, double v) override {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    Slot(i) = buf;
  }
  void Bind(int i, const std::string& v) override { Slot(i) = v; }

  bool Step() override {
    if (!result_) Run();
    if (row_ + 1 >= PQntuples(result_.get())) {
      row_ = PQntuples(result_.get());
      return false;
    }
    ++row_;
    return true;
  }
  int64_t Execute() override {
    if (!result_) Run();
    const char* n = PQcmdTuples(result_.get());
    return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
  }
  void Reset() override {
    result_.reset();
    row_ = -1;
  }

  bool IsNull(int c) const override { return PQgetisnull(result_.get(), row_, c) != 0; }
  int64_t Int64(int c) const override { return std::strtoll(PQgetvalue(result_.get(), row_, c), nullptr, 10); }
  double Double(int c) const override { return std::strtod(PQgetvalue(result_.get(), row_, c), nullptr); }
  std::string Text(int c) const override {
    return std::string(PQgetvalue(result_.get(), row_, c), PQgetlength(result_.get(), row_, c));
  }
  int ColumnCount() const override { return result_ ? PQnfields(result_.get()) : 0; }
  std::string ColumnName(int c) const override { return PQfname(result_.get(), c); }

 private:
  std::optional<std::string>& Slot(int i) {
    if (i < 1) throw Error(ErrorKind::kOther, "parameter index must start at 1");
    if (static_cast<size_t>(i) > params_.size()) params_.resize(i);
    return params_[i - 1];
  }

  void Run() {
    std::vector<const char*> values;
    values.reserve(params_.size());
    for (const auto& p : params_) values.push_back(p ? p->c_str() : nullptr);
    result_ = prepared_.Run(sql_, values);
    row_ = -1;
  }

  PreparedStatements& prepared_;  // the connection's
  std::string sql_;
  std::vector<std::optional<std::string>> params_;
  ResultPtr result_;
  int row_ = -1;
};

void IgnoreNotice(void*, const char*) {}

class PgConnection final : public Connection {
 public:
  PgConnection(ConnPtr conn, size_t prepared_statements)
      : conn_(std::move(conn)), prepared_(conn_.get(), prepared_statements) {}

  Engine engine() const override { return Engine::kPostgres; }
  std::unique_ptr<Statement> Prepare(const std::string& sql) override {
    return std::make_unique<PgStatement>(prepared_, sql);
  }
  // A script may change the schema the cached statements were planned on.
  void ExecScript(const std::string& sql) override {
    prepared_.Forget();
    Exec(sql);
  }
  void Begin() override {
    Exec("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" +
         std::to_string(kWriteLockKey) + ")");
  }
  void Commit() override { Exec("COMMIT"); }
  void Rollback() noexcept override {
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) PQclear(PQexec(conn_.get(), "ROLLBACK"));
  }
  void Recover() noexcept override {
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      PQreset(conn_.get());
      prepared_.Lost();  // a new session holds none of the old one's statements
      if (PQstatus(conn_.get()) == CONNECTION_OK) PQsetNoticeProcessor(conn_.get(), IgnoreNotice, nullptr);
      return;
    }
    Rollback();
  }
  size_t CachedStatementsForTest() const override { return prepared_.size(); }

 private:
  void Exec(const std::string& sql) { Checked(conn_.get(), PQexec(conn_.get(), sql.c_str())); }

  ConnPtr conn_;
  PreparedStatements prepared_;  // on conn_
};

}  // namespace

std::unique_ptr<Connection> ConnectPostgres(const std::string& conninfo, size_t prepared_statements) {
  ConnPtr conn(PQconnectdb(conninfo.c_str()));
  if (!conn) throw Error(ErrorKind::kUnavailable, "cannot allocate a PostgreSQL connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw Error(ErrorKind::kUnavailable, Trimmed(PQerrorMessage(conn.get())));
  }
  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  return std::make_unique<PgConnection>(std::move(conn), prepared_statements);
}

}  // namespace clawback::controller::store::sql
