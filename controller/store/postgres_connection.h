// The PostgreSQL engine of the SQL layer (sql_connection.h), over libpq.
// Private to controller/store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "controller/store/sql_connection.h"

namespace clawback::controller::store::sql {

// Connects with libpq to `conninfo` (a postgres:// or postgresql:// URL or a
// "key=value" string; libpq's PG* environment variables such as PGPASSWORD
// and PGSSLMODE fill in what it leaves out). Server notices are dropped.
// Throws Error(kUnavailable) with libpq's reason when the connection fails;
// the reason never contains the password.
//
// The connection keeps up to `prepared_statements` server-side prepared
// statements, keyed by SQL text (postgres_prepared.h); 0 prepares none and
// has the server parse and plan every statement on every run.
inline constexpr size_t kDefaultPreparedStatements = 128;
std::unique_ptr<Connection> ConnectPostgres(const std::string& conninfo,
                                            size_t prepared_statements = kDefaultPreparedStatements);

// The key of the advisory lock that Begin() takes for the length of a
// write transaction, and of the one migrations hold for their whole run.
inline constexpr int64_t kWriteLockKey = 0x636c617762616b01;    // "clawbak" 01
inline constexpr int64_t kMigrateLockKey = 0x636c617762616b02;  // "clawbak" 02

}  // namespace clawback::controller::store::sql
