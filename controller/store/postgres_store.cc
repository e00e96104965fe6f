// Opening the PostgreSQL store (postgres_store.h): connects the pool,
// migrates on the first connection, and hands the pool to SqlStore.
#include "controller/store/postgres_store.h"

#include "controller/store/database_url.h"
#include "controller/store/postgres_connection.h"
#include "controller/store/sql_internal.h"
#include "controller/store/sql_schema.h"

namespace clawback::controller {
namespace store::sql {

Result<std::unique_ptr<SqlStore>> OpenPostgresSqlStore(const std::string& conninfo,
                                                       const PostgresStoreOptions& options) {
  const std::string context = "cannot open store " + RedactDatabaseUrl(conninfo);
  if (options.connections < 1) return Status::InvalidArgument(context + ": connections must be at least 1");
  try {
    std::vector<std::unique_ptr<Connection>> connections;
    for (int i = 0; i < options.connections; ++i) connections.push_back(ConnectPostgres(conninfo, options.prepared_statements));
    ApplyMigrations(*connections.front());
    auto pool = std::make_unique<ConnectionPool>(std::move(connections));
    return std::make_unique<SqlStore>(ProcessLock(), std::move(pool));
  } catch (const StoreError& e) {
    return e.status.WithContext(context);
  } catch (const Error& e) {
    return Translate("", e).WithContext(context);
  } catch (const std::exception& e) {
    return Status::Internal(e.what()).WithContext(context);
  }
}

}  // namespace store::sql

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, const PostgresStoreOptions& options) {
  auto r = store::sql::OpenPostgresSqlStore(conninfo, options);
  if (!r.ok()) return r.status();
  return std::unique_ptr<Store>(std::move(*r));
}

}  // namespace clawback::controller
