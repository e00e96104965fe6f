// The SQLite engine of the SQL layer (sql_connection.h), over SQLiteCpp.
// Private to controller/store.
#pragma once

#include <memory>

#include <SQLiteCpp/SQLiteCpp.h>

#include "controller/store/sql_connection.h"

namespace clawback::controller::store::sql {

// Wraps an open database (the caller has set its pragmas). Begin() is BEGIN
// IMMEDIATE: the write lock is taken up front, so a read-check-write
// transaction cannot be overtaken. SQLite errors become sql::Error with the
// messages the store has always reported ("database is locked by another
// process", "database is read-only").
std::unique_ptr<Connection> WrapSqlite(std::unique_ptr<SQLite::Database> db);

// The sql::Error for a SQLiteCpp exception.
Error FromSqlite(const SQLite::Exception& e);

}  // namespace clawback::controller::store::sql
