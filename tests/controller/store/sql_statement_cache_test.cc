// The SQLite connection's prepared-statement cache (sqlite_connection.cc):
// a repeated query reuses its statement, and a statement comes back from
// the cache reset and unbound whatever its last use ended with (rows left
// unread, a constraint error, a schema change), on a real database file.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

#include "controller/store/sql_connection.h"
#include "controller/store/sqlite_connection.h"

namespace clawback::controller::store::sql {
namespace {

class StatementCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("clawback-stmt-cache-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = Open();
    db_->ExecScript("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)");
    db_->ExecScript("INSERT INTO t (name) VALUES ('a'), ('b')");
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Connection> Open() {
    return WrapSqlite(std::make_unique<SQLite::Database>((dir_ / "db.sqlite").string(),
                                                         SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 1000));
  }
  int64_t Count(Connection& c) {
    auto q = c.Prepare("SELECT COUNT(*) FROM t");
    EXPECT_TRUE(q->Step());
    return q->Int64(0);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Connection> db_;
};

TEST_F(StatementCacheTest, RepeatedQueryReusesItsStatement) {
  EXPECT_EQ(db_->CachedStatementsForTest(), 0u);
  EXPECT_EQ(Count(*db_), 2);
  EXPECT_EQ(db_->CachedStatementsForTest(), 1u);
  {
    auto q = db_->Prepare("SELECT COUNT(*) FROM t");
    EXPECT_EQ(db_->CachedStatementsForTest(), 0u) << "the cached statement was taken, not a new one prepared";
    // The same SQL while the first is in use: a second statement.
    auto q2 = db_->Prepare("SELECT COUNT(*) FROM t");
    ASSERT_TRUE(q->Step());
    ASSERT_TRUE(q2->Step());
    EXPECT_EQ(q->Int64(0), 2);
    EXPECT_EQ(q2->Int64(0), 2);
  }
  EXPECT_EQ(db_->CachedStatementsForTest(), 1u) << "one kept per SQL text";
  EXPECT_EQ(Count(*db_), 2);
}

TEST_F(StatementCacheTest, ComesBackUnboundAndFromTheFirstRow) {
  {
    auto q = db_->Prepare("SELECT ?, name FROM t ORDER BY id");
    q->Bind(1, int64_t{5});
    ASSERT_TRUE(q->Step());
    EXPECT_EQ(q->Int64(0), 5);
    EXPECT_EQ(q->Text(1), "a");
    // Left with a row unread.
  }
  // Another connection writes; a statement left mid-read would have kept
  // this connection's read snapshot (WAL) and hidden the new row.
  auto other = Open();
  EXPECT_EQ(other->Prepare("INSERT INTO t (name) VALUES ('c')")->Execute(), 1);
  EXPECT_EQ(Count(*db_), 3);
  auto q = db_->Prepare("SELECT ?, name FROM t ORDER BY id");
  ASSERT_TRUE(q->Step());
  EXPECT_TRUE(q->IsNull(0)) << "bindings of the last use are cleared";
  EXPECT_EQ(q->Text(1), "a");
  ASSERT_TRUE(q->Step());
  ASSERT_TRUE(q->Step());
  EXPECT_EQ(q->Text(1), "c");
  EXPECT_FALSE(q->Step());
}

TEST_F(StatementCacheTest, StatementThatFailedIsReusable) {
  const std::string insert = "INSERT INTO t (name) VALUES (?)";
  {
    auto q = db_->Prepare(insert);
    q->Bind(1, std::string("a"));
    try {
      q->Execute();
      FAIL() << "a duplicate name must be refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUnique);
    }
  }
  EXPECT_EQ(db_->CachedStatementsForTest(), 1u);
  {
    Transaction tx(*db_);
    auto q = db_->Prepare(insert);
    q->Bind(1, std::string("d"));
    EXPECT_EQ(q->Execute(), 1);
    tx.Commit();
  }
  EXPECT_EQ(Count(*db_), 3);
  // Unbound: NULL is not a clash for UNIQUE, so this inserts a NULL name.
  EXPECT_EQ(db_->Prepare(insert)->Execute(), 1);
  auto q = db_->Prepare("SELECT COUNT(*) FROM t WHERE name IS NULL");
  ASSERT_TRUE(q->Step());
  EXPECT_EQ(q->Int64(0), 1);
}

TEST_F(StatementCacheTest, SchemaChangesShowInReusedStatements) {
  const std::string all = "SELECT * FROM t ORDER BY id";
  {
    auto q = db_->Prepare(all);
    ASSERT_TRUE(q->Step());
    EXPECT_EQ(q->ColumnCount(), 2);
  }
  // By this connection (the migrations' way): the cache is dropped.
  db_->ExecScript("ALTER TABLE t ADD COLUMN size INTEGER NOT NULL DEFAULT 7");
  EXPECT_EQ(db_->CachedStatementsForTest(), 0u);
  {
    auto q = db_->Prepare(all);
    ASSERT_TRUE(q->Step());
    ASSERT_EQ(q->ColumnCount(), 3);
    EXPECT_EQ(q->ColumnName(2), "size");
    EXPECT_EQ(q->Int64(2), 7);
  }
  // By another connection: SQLite re-prepares the cached statement.
  EXPECT_EQ(db_->CachedStatementsForTest(), 1u);
  Open()->ExecScript("ALTER TABLE t ADD COLUMN note TEXT DEFAULT 'n'");
  auto q = db_->Prepare(all);
  ASSERT_TRUE(q->Step());
  ASSERT_EQ(q->ColumnCount(), 4);
  EXPECT_EQ(q->Text(3), "n");
  EXPECT_THROW(q->Int64(4), Error);
}

TEST_F(StatementCacheTest, CacheIsBounded) {
  for (int i = 0; i < 300; ++i) {
    auto q = db_->Prepare("SELECT " + std::to_string(i));
    ASSERT_TRUE(q->Step());
    EXPECT_EQ(q->Int64(0), i);
  }
  EXPECT_LE(db_->CachedStatementsForTest(), 128u);
  EXPECT_GT(db_->CachedStatementsForTest(), 0u);
}

}  // namespace
}  // namespace clawback::controller::store::sql
