// Which database holds the controller's metadata: CLAWORC_DATABASE (or
// --database), parsed once at start.
//
//   unset / ""                     SQLite at <data dir>/clawback.db (the default)
//   sqlite:///abs/path/file.db     SQLite at that absolute path
//   postgres://user:pw@host:5432/db?sslmode=require   (also postgresql://)
//                                  PostgreSQL 15 through libpq; libpq's own
//                                  parameters and environment (PGPASSWORD,
//                                  PGSSLMODE, ...) apply as usual
//
// Anything else (another scheme, a relative SQLite path, a bare file name) is
// refused with InvalidArgument, so the service stops at start with one clear
// line instead of creating a database somewhere unexpected. Messages and logs
// only ever show the Redacted() form, whose password is replaced by "***".
#pragma once

#include <memory>
#include <string>

#include "controller/store/store.h"

namespace clawback::controller {

struct DatabaseUrl {
  enum class Engine { kSqlite, kPostgres };
  Engine engine = Engine::kSqlite;
  std::string sqlite_path;  // kSqlite: absolute path of the database file
  std::string conninfo;     // kPostgres: the URL as given, for libpq
  std::string redacted;     // for messages: the URL with its password hidden
};

// `value` is CLAWORC_DATABASE's value; `data_dir` gives the default.
// Messages name the value as `setting` ("--from" for store migrate).
Result<DatabaseUrl> ParseDatabaseUrl(const std::string& value, const std::string& data_dir,
                                     const std::string& setting = "CLAWORC_DATABASE");

// `url` with the password of "scheme://user:password@host" and any
// "password=" parameter replaced by "***". Any other text is returned as is.
std::string RedactDatabaseUrl(const std::string& url);

// Opens (creating and migrating) the store `url` names.
Result<std::unique_ptr<Store>> OpenStore(const DatabaseUrl& url);

}  // namespace clawback::controller
