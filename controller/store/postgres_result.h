// libpq results and errors for the PostgreSQL engine (postgres_connection.cc,
// postgres_prepared.cc): RAII owners of PGresult and PGconn, and the one
// place that turns a failed result into sql::Error. Private to
// controller/store.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>

#include "controller/store/sql_connection.h"

namespace clawback::controller::store::sql {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

// What a SQLSTATE means on either engine (sql_connection.h's ErrorKind).
ErrorKind KindOfSqlState(std::string_view state);

// A libpq message on one line (libpq's span lines: "...failed: Connection
// refused\n\tIs the server running...").
std::string Trimmed(const char* msg);

// True when `r` is a success (command, rows, or an empty query).
bool Succeeded(const PGresult* r);

// The SQLSTATE of a failed result ("" when there is none: no result at all,
// or a failure on the client side).
std::string_view SqlStateOf(const PGresult* r);

// Takes ownership of `raw` and returns it when it is a success; otherwise
// throws sql::Error: kUnavailable with libpq's reason when there is no result
// or the connection is gone, else the kind of its SQLSTATE and the server's
// message.
ResultPtr Checked(PGconn* conn, PGresult* raw);

}  // namespace clawback::controller::store::sql
