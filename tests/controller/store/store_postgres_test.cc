// Choosing the store (CLAWORC_DATABASE) and what only PostgreSQL needs:
// URL parsing and refusals, password redaction, migrations applied once
// when stores open the same fresh database at once (advisory lock), refusal
// of a newer schema, and the append-only audit triggers in PL/pgSQL.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "controller/store/database_url.h"
#include "controller/store/migrations.h"
#include "controller/store/postgres_store.h"
#include "controller/store/sql_connection.h"
#include "tests/controller/store/test_store.h"
#include "tests/support/postgres_server.h"

namespace clawback::controller {
namespace {

using clawback::testing::DatabaseOf;
using clawback::testing::FreshDatabaseUrl;
using clawback::testing::SharedPostgresServer;

TEST(DatabaseUrl, SelectsTheEngine) {
  struct Case {
    const char* value;
    DatabaseUrl::Engine engine;
    const char* path_or_conninfo;
  } cases[] = {
      {"", DatabaseUrl::Engine::kSqlite, "/data/clawback.db"},
      {"sqlite:///srv/meta/c.db", DatabaseUrl::Engine::kSqlite, "/srv/meta/c.db"},
      {"postgres://u:p@db:5432/claw", DatabaseUrl::Engine::kPostgres, "postgres://u:p@db:5432/claw"},
      {"postgresql://db/claw?sslmode=require", DatabaseUrl::Engine::kPostgres, "postgresql://db/claw?sslmode=require"},
      {"POSTGRES://db/claw", DatabaseUrl::Engine::kPostgres, "POSTGRES://db/claw"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    auto url = ParseDatabaseUrl(c.value, "/data");
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    EXPECT_EQ(url->engine, c.engine);
    EXPECT_EQ(c.engine == DatabaseUrl::Engine::kSqlite ? url->sqlite_path : url->conninfo, c.path_or_conninfo);
  }
}

TEST(DatabaseUrl, RefusesWhatItCannotUseWithOneClearLine) {
  const char* refused[] = {"sqlite://relative/c.db", "sqlite:c.db", "sqlite://", "mysql://u:hunter2@h/db",
                           "clawback.db", "/var/lib/c.db", "s3://bucket/x"};
  for (const char* value : refused) {
    SCOPED_TRACE(value);
    auto url = ParseDatabaseUrl(value, "/data");
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(url.status().message().find('\n'), std::string::npos);
    EXPECT_NE(url.status().message().find("CLAWORC_DATABASE"), std::string::npos);
    EXPECT_EQ(url.status().message().find("hunter2"), std::string::npos) << url.status().message();
  }
}

TEST(DatabaseUrl, RedactsPasswords) {
  EXPECT_EQ(RedactDatabaseUrl("postgres://u:hunter2@h:5432/db"), "postgres://u:***@h:5432/db");
  EXPECT_EQ(RedactDatabaseUrl("postgres://u@h/db?password=hunter2&sslmode=require"),
            "postgres://u@h/db?password=***&sslmode=require");
  EXPECT_EQ(RedactDatabaseUrl("host=h password=hunter2 dbname=x"), "host=h password=*** dbname=x");
  EXPECT_EQ(RedactDatabaseUrl("postgres://h/db"), "postgres://h/db");
  EXPECT_EQ(RedactDatabaseUrl("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
}

TEST(PostgresStore, PlaceholdersAreNumberedOutsideQuotes) {
  using store::sql::NumberPlaceholders;
  EXPECT_EQ(NumberPlaceholders("SELECT a FROM t WHERE b = ? AND c IN (?,?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2,$3)");
  EXPECT_EQ(NumberPlaceholders("UPDATE t SET s = 'what?', \"odd?col\" = ? WHERE n = 'it''s ?' AND id = ?"),
            "UPDATE t SET s = 'what?', \"odd?col\" = $1 WHERE n = 'it''s ?' AND id = $2");
  EXPECT_EQ(NumberPlaceholders("SELECT 1"), "SELECT 1");
}

TEST(PostgresStore, WrongPasswordFailsWithoutShowingIt) {
  auto* server = SharedPostgresServer();
  ASSERT_NE(server, nullptr);
  std::string url = server->Url("postgres");
  url.replace(url.find(server->password()), server->password().size(), "wrong-Secret-99");
  auto store = OpenPostgresStore(url);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().message().find("wrong-Secret-99"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("password authentication failed"), std::string::npos)
      << store.status().message();
}

TEST(PostgresStore, StoresOpeningAFreshDatabaseAtOnceApplyTheSchemaOnce) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  constexpr int kOpeners = 4;
  std::vector<Result<std::unique_ptr<Store>>> opened;
  for (int i = 0; i < kOpeners; ++i) opened.emplace_back(Status::Internal("not run"));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      opened[i] = OpenPostgresStore(url, {.connections = 1});
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  for (auto& r : opened) ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto rows = SharedPostgresServer()->QueryValue(DatabaseOf(url), "SELECT COUNT(*) FROM schema_migrations");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, std::to_string(store::LatestSchemaVersion()));
  // Each store works on the shared schema.
  Instance i;
  i.name = "alpha";
  i.agent_url = "https://127.0.0.1:1";
  ASSERT_TRUE((*opened[0])->CreateInstance(i).ok());
  EXPECT_TRUE((*opened[kOpeners - 1])->GetInstanceByName("alpha").ok());
}

TEST(PostgresStore, RefusesSchemaNewerThanTheBinary) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  { ASSERT_TRUE(OpenPostgresStore(url).ok()); }
  const int newer = store::LatestSchemaVersion() + 2;
  ASSERT_TRUE(SharedPostgresServer()
                  ->Exec(DatabaseOf(url), "INSERT INTO schema_migrations VALUES (" + std::to_string(newer) +
                                              ", 'from the future', 0)")
                  .ok());
  auto store = OpenPostgresStore(url);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(store.status().message(), "cannot open store " + RedactDatabaseUrl(url) + ": database schema version " +
                                          std::to_string(newer) + " is newer than this clawback (" +
                                          std::to_string(store::LatestSchemaVersion()) + "): upgrade clawback");
  EXPECT_EQ(store.status().message().find(SharedPostgresServer()->password()), std::string::npos);
}

TEST(PostgresStore, AuditLogRefusesUpdatesAndDeletes) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  auto store = OpenPostgresStore(url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  AuditEvent e;
  e.actor = "alice";
  e.action = "user.create";
  e.outcome = "ok";
  ASSERT_TRUE((*store)->AppendAudit(e).ok());
  const std::string db = DatabaseOf(url);
  Status upd = SharedPostgresServer()->Exec(db, "UPDATE audit_events SET actor = 'mallory'");
  EXPECT_NE(upd.message().find("audit log is append-only"), std::string::npos) << upd.ToString();
  Status del = SharedPostgresServer()->Exec(db, "DELETE FROM audit_events");
  EXPECT_NE(del.message().find("audit log is append-only"), std::string::npos) << del.ToString();
  EXPECT_EQ(*SharedPostgresServer()->QueryValue(db, "SELECT COUNT(*) FROM audit_events"), "1");
}

TEST(PostgresStore, ABrokenConnectionFailsOneCallAndIsReconnected) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  auto store = OpenPostgresStore(url, {.connections = 1});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Instance i;
  i.name = "alpha";
  i.agent_url = "https://127.0.0.1:1";
  ASSERT_TRUE((*store)->CreateInstance(i).ok());
  // The server drops the store's connection (a restart, a failover, an admin).
  ASSERT_TRUE(SharedPostgresServer()
                  ->Exec(DatabaseOf(url),
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                  .ok());
  auto first = (*store)->GetInstanceByName("alpha");
  if (!first.ok()) {
    EXPECT_EQ(first.status().code(), Status::Code::kUnavailable) << first.status().ToString();
    EXPECT_EQ(first.status().message().find(SharedPostgresServer()->password()), std::string::npos);
  }
  auto again = (*store)->GetInstanceByName("alpha");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->name, "alpha");
}

// The connection's prepared statements (postgres_prepared.h) across what a
// running controller meets: the server dropping the connection after the
// statements were prepared, and another replica's migration adding a column
// to a table they read.
TEST(PostgresStore, PreparedStatementsSurviveADroppedConnectionAndASchemaChange) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  auto store = OpenPostgresStore(url, {.connections = 1});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Instance i;
  i.name = "alpha";
  i.agent_url = "https://127.0.0.1:1";
  ASSERT_TRUE((*store)->CreateInstance(i).ok());
  auto read_all = [&] {
    auto one = (*store)->GetInstanceByName("alpha");
    auto all = (*store)->ListInstances();
    if (!one.ok()) return one.status();
    if (!all.ok()) return all.status();
    if (one->name != "alpha" || all->size() != 1) return Status::Internal("wrong rows");
    return Status::Ok();
  };
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(read_all().ok());  // prepared, then run again

  const std::string db = DatabaseOf(url);
  ASSERT_TRUE(SharedPostgresServer()
                  ->Exec(db, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                  .ok());
  Status first = read_all();
  if (!first.ok()) EXPECT_EQ(first.code(), Status::Code::kUnavailable) << first.ToString();
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(read_all().ok()) << read_all().ToString();

  // A newer replica's migration: a column added to the table under the cached statements.
  ASSERT_TRUE(SharedPostgresServer()->Exec(db, "ALTER TABLE instances ADD COLUMN added_later TEXT").ok());
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(read_all().ok()) << read_all().ToString();
  i.name = "beta";
  EXPECT_TRUE((*store)->CreateInstance(i).ok());
  EXPECT_EQ((*store)->ListInstances()->size(), 2u);
}

}  // namespace
}  // namespace clawback::controller
