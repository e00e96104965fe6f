// The PostgreSQL engine (postgres_connection.h). Statements are not
// prepared on the server: each run is one PQexecParams with the SQL's `?`
// numbered to $n and every value in text form, and the whole result is kept
// until the next Reset. The store's statements are small, so a round trip
// per statement is the cost that matters, and prepare-per-use would double it.
#include "controller/store/postgres_connection.h"

#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace clawback::controller::store::sql {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

ErrorKind KindOfSqlState(std::string_view state) {
  if (state == "23505") return ErrorKind::kUnique;
  if (state == "23503") return ErrorKind::kForeignKey;
  if (state.starts_with("23") || state == "P0001") return ErrorKind::kConstraint;
  if (state == "40001" || state == "40P01" || state == "55P03") return ErrorKind::kBusy;
  if (state == "25006") return ErrorKind::kReadOnly;
  if (state == "53100") return ErrorKind::kFull;
  if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("53")) return ErrorKind::kUnavailable;
  if (state.starts_with("XX")) return ErrorKind::kCorrupt;
  return ErrorKind::kOther;
}

// libpq messages span lines ("...failed: Connection refused\n\tIs the
// server running..."); ours are one line.
std::string Trimmed(const char* msg) {
  std::string s;
  for (const char* p = msg ? msg : ""; *p; ++p) {
    if (*p == '\n' || *p == '\t') {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += *p;
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Throws unless `r` is a success status.
ResultPtr Checked(PGconn* conn, PGresult* raw) {
  ResultPtr r(raw);
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return r;
  if (!r || PQstatus(conn) == CONNECTION_BAD) {
    throw Error(ErrorKind::kUnavailable, "connection to PostgreSQL lost: " + Trimmed(PQerrorMessage(conn)));
  }
  const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
  throw Error(KindOfSqlState(state ? state : ""), Trimmed(PQresultErrorMessage(r.get())));
}

class PgStatement final : public Statement {
 public:
  PgStatement(PGconn* conn, const std::string& sql) : conn_(conn), sql_(NumberPlaceholders(sql)) {}

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
    result_ = Checked(conn_, PQexecParams(conn_, sql_.c_str(), static_cast<int>(values.size()), nullptr,
                                          values.data(), nullptr, nullptr, /*resultFormat=*/0));
    row_ = -1;
  }

  PGconn* conn_;
  std::string sql_;
  std::vector<std::optional<std::string>> params_;
  ResultPtr result_;
  int row_ = -1;
};

void IgnoreNotice(void*, const char*) {}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(ConnPtr conn) : conn_(std::move(conn)) {}

  Engine engine() const override { return Engine::kPostgres; }
  std::unique_ptr<Statement> Prepare(const std::string& sql) override {
    return std::make_unique<PgStatement>(conn_.get(), sql);
  }
  void ExecScript(const std::string& sql) override { Checked(conn_.get(), PQexec(conn_.get(), sql.c_str())); }
  void Begin() override {
    ExecScript("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockKey) +
               ")");
  }
  void Commit() override { ExecScript("COMMIT"); }
  void Rollback() noexcept override {
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) PQclear(PQexec(conn_.get(), "ROLLBACK"));
  }
  void Recover() noexcept override {
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) == CONNECTION_OK) PQsetNoticeProcessor(conn_.get(), IgnoreNotice, nullptr);
      return;
    }
    Rollback();
  }

 private:
  ConnPtr conn_;
};

}  // namespace

std::unique_ptr<Connection> ConnectPostgres(const std::string& conninfo) {
  ConnPtr conn(PQconnectdb(conninfo.c_str()));
  if (!conn) throw Error(ErrorKind::kUnavailable, "cannot allocate a PostgreSQL connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw Error(ErrorKind::kUnavailable, Trimmed(PQerrorMessage(conn.get())));
  }
  PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
  return std::make_unique<PgConnection>(std::move(conn));
}

}  // namespace clawback::controller::store::sql
