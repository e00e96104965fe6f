// libpq results and errors (postgres_result.h).
#include "controller/store/postgres_result.h"

namespace clawback::controller::store::sql {

ErrorKind KindOfSqlState(std::string_view state) {
  if (state == "23505") return ErrorKind::kUnique;
  if (state == "23503") return ErrorKind::kForeignKey;
  if (state.starts_with("23") || state == "P0001") return ErrorKind::kConstraint;
  if (state == "40001" || state == "40P01" || state == "55P03") return ErrorKind::kBusy;
  if (state == "25006") return ErrorKind::kReadOnly;
  if (state == "53100") return ErrorKind::kFull;
  if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("53"))
    return ErrorKind::kUnavailable;
  if (state.starts_with("XX")) return ErrorKind::kCorrupt;
  return ErrorKind::kOther;
}

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

bool Succeeded(const PGresult* r) {
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

std::string_view SqlStateOf(const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return state ? state : "";
}

ResultPtr Checked(PGconn* conn, PGresult* raw) {
  ResultPtr r(raw);
  if (Succeeded(r.get())) return r;
  if (!r || PQstatus(conn) == CONNECTION_BAD) {
    throw Error(ErrorKind::kUnavailable, "connection to PostgreSQL lost: " + Trimmed(PQerrorMessage(conn)));
  }
  throw Error(KindOfSqlState(SqlStateOf(r.get())), Trimmed(PQresultErrorMessage(r.get())));
}

}  // namespace clawback::controller::store::sql
