// The PostgreSQL connection's server-side prepared statements
// (controller/store/postgres_prepared.h), on the binary's real PostgreSQL 15
// server: a statement is prepared once and executed on every later run
// (pg_prepared_statements of the session shows it), the cache stays within
// its bound, and it follows the server when the server forgets: a dropped
// connection, a schema change by another connection or by the connection's
// own script, statements deallocated behind its back, failed prepares and
// rolled-back transactions.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "controller/store/postgres_connection.h"
#include "controller/store/sql_connection.h"
#include "tests/support/postgres_server.h"

namespace clawback::controller::store::sql {
namespace {

using clawback::testing::DatabaseOf;
using clawback::testing::FreshDatabaseUrl;
using clawback::testing::SharedPostgresServer;

constexpr const char* kByIdSql = "SELECT name FROM t WHERE id = ?";
constexpr const char* kByIdServerSql = "SELECT name FROM t WHERE id = $1";

// One row of the session's pg_prepared_statements.
struct ServerStatement {
  std::string name;
  std::string sql;
  int64_t runs = 0;  // generic_plans + custom_plans: executions
};

class PostgresPreparedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = FreshDatabaseUrl();
    ASSERT_FALSE(url_.empty());
    ASSERT_TRUE(Admin("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT)").ok());
    ASSERT_TRUE(Admin("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)").ok());
  }

  Status Admin(const std::string& sql) { return SharedPostgresServer()->Exec(DatabaseOf(url_), sql); }

  std::unique_ptr<Connection> Connect(size_t capacity = kDefaultPreparedStatements) {
    return ConnectPostgres(url_, capacity);
  }

  // The statements the server holds for `db`'s session, but for this query's own.
  static std::vector<ServerStatement> OnServer(Connection& db) {
    auto q = db.Prepare(
        "SELECT name, statement, generic_plans + custom_plans FROM pg_prepared_statements "
        "WHERE statement NOT LIKE '%pg_prepared_statements%' ORDER BY name");
    std::vector<ServerStatement> out;
    while (q->Step()) out.push_back({q->Text(0), q->Text(1), q->Int64(2)});
    return out;
  }

  static std::string NameById(Connection& db, int64_t id) {
    auto q = db.Prepare(kByIdSql);
    q->Bind(1, id);
    if (!q->Step()) return "<no row>";
    return q->IsNull(0) ? "<null>" : q->Text(0);
  }

  std::string url_;
};

TEST_F(PostgresPreparedTest, RepeatedStatementIsPreparedOnceAndRunAgain) {
  auto db = Connect();
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(NameById(*db, 1), "a");
    EXPECT_EQ(NameById(*db, 3), "<null>");
    EXPECT_EQ(NameById(*db, 9), "<no row>");
  }
  auto held = OnServer(*db);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].sql, kByIdServerSql);
  EXPECT_EQ(held[0].runs, 90) << "one prepared statement executed 90 times";
  EXPECT_EQ(db->CachedStatementsForTest(), 2u) << "the statement and OnServer's query";

  // The same text in two live statements at once: both read their own rows.
  auto q1 = db->Prepare(kByIdSql);
  auto q2 = db->Prepare(kByIdSql);
  q1->Bind(1, int64_t{1});
  q2->Bind(1, int64_t{2});
  ASSERT_TRUE(q1->Step());
  ASSERT_TRUE(q2->Step());
  EXPECT_EQ(q1->Text(0), "a");
  EXPECT_EQ(q2->Text(0), "b");
  EXPECT_EQ(OnServer(*db).size(), 1u);
}

TEST_F(PostgresPreparedTest, ValuesAndNullsGoInTextFormThroughAReusedStatement) {
  auto db = Connect();
  const std::string insert = "INSERT INTO t (id, name) VALUES (?, ?) RETURNING id";
  for (int64_t id = 10; id < 20; ++id) {
    auto q = db->Prepare(insert);
    q->Bind(1, id);
    if (id % 2) {
      q->BindNull(2);
    } else {
      q->Bind(2, "it's \"" + std::to_string(id) + "\" ?");
    }
    ASSERT_TRUE(q->Step());
    EXPECT_EQ(q->Int64(0), id);
  }
  EXPECT_EQ(NameById(*db, 12), "it's \"12\" ?");
  EXPECT_EQ(NameById(*db, 13), "<null>");
  auto q = db->Prepare("SELECT ? * 2.5");
  q->Bind(1, 4.0);
  ASSERT_TRUE(q->Step());
  EXPECT_DOUBLE_EQ(q->Double(0), 10.0);
}

TEST_F(PostgresPreparedTest, StaysWithinItsBoundByDeallocatingTheLeastRecentlyRun) {
  constexpr size_t kBound = 4;
  auto db = Connect(kBound);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(NameById(*db, 2), "b");  // kept warm: never the least recently run
    auto q = db->Prepare("SELECT ? + " + std::to_string(i));
    q->Bind(1, int64_t{1});
    ASSERT_TRUE(q->Step());
    EXPECT_EQ(q->Int64(0), 1 + i);
    EXPECT_LE(db->CachedStatementsForTest(), kBound);
  }
  EXPECT_EQ(db->CachedStatementsForTest(), kBound);
  auto held = OnServer(*db);  // its own query is one of the kBound
  ASSERT_EQ(held.size(), kBound - 1);
  EXPECT_EQ(held[0].sql, kByIdServerSql);
  EXPECT_EQ(held[0].runs, 20) << "the warm statement was never deallocated";
  EXPECT_EQ(held[1].sql, "SELECT $1 + 18");
  EXPECT_EQ(held[2].sql, "SELECT $1 + 19");
}

TEST_F(PostgresPreparedTest, AStatementHeldAcrossItsEvictionRunsAgain) {
  auto db = Connect(2);
  auto held = db->Prepare(kByIdSql);
  held->Bind(1, int64_t{1});
  ASSERT_TRUE(held->Step());
  EXPECT_EQ(held->Text(0), "a");
  for (int i = 0; i < 3; ++i) db->Prepare("SELECT " + std::to_string(i))->Execute();  // evicts it
  held->Reset();
  held->Bind(1, int64_t{2});
  ASSERT_TRUE(held->Step());
  EXPECT_EQ(held->Text(0), "b");
}

TEST_F(PostgresPreparedTest, TurnedOffTheServerHoldsNone) {
  auto db = Connect(0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(NameById(*db, 1), "a");
  EXPECT_EQ(db->CachedStatementsForTest(), 0u);
  EXPECT_TRUE(OnServer(*db).empty());
}

TEST_F(PostgresPreparedTest, ADroppedConnectionIsResetWithAnEmptyCache) {
  auto db = Connect();
  EXPECT_EQ(NameById(*db, 1), "a");
  db->Prepare("SELECT COUNT(*) FROM t")->Execute();
  ASSERT_EQ(OnServer(*db).size(), 2u);
  ASSERT_TRUE(Admin("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                  .ok());
  try {
    NameById(*db, 1);
    ADD_FAILURE() << "the first call on a dropped connection fails";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable) << e.what();
  }
  db->Recover();  // what the pool does when the connection comes back
  EXPECT_EQ(NameById(*db, 1), "a");
  EXPECT_EQ(NameById(*db, 2), "b");
  auto held = OnServer(*db);
  ASSERT_EQ(held.size(), 1u) << "the new session holds only what ran since";
  EXPECT_EQ(held[0].runs, 2);
}

TEST_F(PostgresPreparedTest, ResultColumnsChangedByAnotherConnectionArePreparedAgain) {
  auto db = Connect();
  const std::string all = "SELECT * FROM t ORDER BY id";
  auto columns = [&] {
    auto q = db->Prepare(all);
    EXPECT_TRUE(q->Step());
    std::vector<std::string> names;
    for (int c = 0; c < q->ColumnCount(); ++c) names.push_back(q->ColumnName(c) + "=" + q->Text(c));
    return names;
  };
  EXPECT_EQ(columns(), (std::vector<std::string>{"id=1", "name=a"}));
  // Another connection (a newer replica's migration) adds a column.
  ASSERT_TRUE(Admin("ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT 'n'").ok());
  EXPECT_EQ(columns(), (std::vector<std::string>{"id=1", "name=a", "note=n"}))
      << "outside a transaction: retried";

  // Inside a transaction the stale statement fails the transaction once;
  // the next one prepares afresh.
  ASSERT_TRUE(Admin("ALTER TABLE t DROP COLUMN note").ok());
  {
    Transaction tx(*db);
    try {
      columns();
      ADD_FAILURE() << "a stale plan inside a transaction must fail it";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBusy) << "retrying the transaction works";
      EXPECT_NE(std::string(e.what()).find("cached plan must not change result type"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(columns(), (std::vector<std::string>{"id=1", "name=a"}));
  {
    Transaction tx(*db);
    EXPECT_EQ(columns(), (std::vector<std::string>{"id=1", "name=a"}));
    tx.Commit();
  }
}

TEST_F(PostgresPreparedTest, ASchemaScriptDropsTheCache) {
  auto db = Connect();
  auto first = db->Prepare("SELECT * FROM t WHERE id = 1");
  ASSERT_TRUE(first->Step());
  EXPECT_EQ(first->ColumnCount(), 2);
  EXPECT_EQ(NameById(*db, 1), "a");
  EXPECT_EQ(db->CachedStatementsForTest(), 2u);
  db->ExecScript("ALTER TABLE t ADD COLUMN size BIGINT NOT NULL DEFAULT 7");  // a migration
  EXPECT_EQ(db->CachedStatementsForTest(), 0u);
  EXPECT_TRUE(OnServer(*db).empty()) << "DEALLOCATE ALL ran on the server";
  auto q = db->Prepare("SELECT * FROM t WHERE id = 1");
  ASSERT_TRUE(q->Step());
  ASSERT_EQ(q->ColumnCount(), 3);
  EXPECT_EQ(q->Int64(2), 7);
}

TEST_F(PostgresPreparedTest, AFailedPrepareInATransactionLeavesNoEntry) {
  auto db = Connect();
  EXPECT_EQ(NameById(*db, 1), "a");
  const size_t before = db->CachedStatementsForTest();
  db->Begin();
  EXPECT_EQ(NameById(*db, 2), "b");
  try {
    db->Prepare("SELECT no_such_column FROM t")->Step();
    ADD_FAILURE() << "an unknown column must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_column"), std::string::npos) << e.what();
  }
  EXPECT_EQ(db->CachedStatementsForTest(), before);
  // The transaction is aborted, as after any failed statement.
  EXPECT_THROW(NameById(*db, 1), Error);
  db->Rollback();
  EXPECT_EQ(NameById(*db, 1), "a");
  EXPECT_EQ(db->CachedStatementsForTest(), before);
  for (const ServerStatement& s : OnServer(*db)) EXPECT_EQ(s.sql.find("no_such_column"), std::string::npos);
  const size_t with_listing = db->CachedStatementsForTest();  // OnServer's query added
  EXPECT_THROW(db->Prepare("SELECT no_such_column FROM t")->Step(), Error);
  EXPECT_EQ(db->CachedStatementsForTest(), with_listing);
}

TEST_F(PostgresPreparedTest, AStatementPreparedInARolledBackTransactionIsKept) {
  auto db = Connect();
  db->Begin();
  EXPECT_EQ(NameById(*db, 1), "a");
  db->Rollback();
  EXPECT_EQ(NameById(*db, 2), "b");
  auto held = OnServer(*db);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].runs, 2) << "prepared in the rolled-back transaction, run again after it";
}

TEST_F(PostgresPreparedTest, StatementsDeallocatedBehindItsBackArePreparedAgain) {
  auto db = Connect();
  EXPECT_EQ(NameById(*db, 1), "a");
  // What a pooler's DISCARD ALL does to the session.
  db->Prepare("DEALLOCATE ALL")->Execute();
  EXPECT_EQ(NameById(*db, 1), "a") << "outside a transaction: prepared again and run";
  db->Prepare("DEALLOCATE ALL")->Execute();
  {
    Transaction tx(*db);
    try {
      NameById(*db, 1);
      ADD_FAILURE() << "inside a transaction the error reaches the caller";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBusy) << e.what();
    }
  }
  EXPECT_EQ(NameById(*db, 1), "a");
  EXPECT_EQ(OnServer(*db).size(), 1u) << "the DEALLOCATE ALL due after the aborted transaction ran";
}

}  // namespace
}  // namespace clawback::controller::store::sql
