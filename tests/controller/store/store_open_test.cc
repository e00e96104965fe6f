// Opening the SQLite store: schema migrations, refusal of newer schemas,
// exclusivity between processes, locks held by other connections, and files
// the store cannot write.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "controller/store/migrations.h"
#include "controller/store/sqlite_store.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

int SchemaRows(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT COUNT(*) FROM schema_migrations").getInt();
}

TEST(StoreOpen, CreatesSchemaInWalModeAndReopensWithoutReapplying) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  {
    auto store = OpenTestStore(dir);
    ASSERT_NE(store, nullptr);
    User u;
    u.username = "alice";
    u.password_hash = "x";
    ASSERT_TRUE(store->CreateUser(u).ok());
  }
  EXPECT_EQ(SchemaRows(path), store::LatestSchemaVersion());
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
    EXPECT_EQ(db.execAndGet("SELECT MAX(version) FROM schema_migrations").getInt(), store::LatestSchemaVersion());
  }
  // Reopening applies nothing twice and keeps the data.
  auto store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SchemaRows(path), store::LatestSchemaVersion());
  auto alice = store->GetUserByName("alice");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
}

TEST(StoreOpen, MigrationsAreNumberedWithoutGaps) {
  int expected = 1;
  for (const store::Migration& m : store::Migrations()) {
    EXPECT_EQ(m.version, expected++);
    EXPECT_NE(std::string(m.description), "");
  }
  EXPECT_EQ(store::LatestSchemaVersion(), expected - 1);
}

class StoreEngines : public testing::EngineStoreTest {};
CLAWBACK_BOTH_ENGINES(StoreEngines);

TEST_P(StoreEngines, ReopeningKeepsTheDataAndAppliesNothingTwice) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    User u;
    u.username = "alice";
    u.password_hash = "x";
    ASSERT_TRUE(store->CreateUser(u).ok());
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->GetUserByName("alice").ok());
  std::string rows;
  if (postgres()) {
    auto r = clawback::testing::SharedPostgresServer()->QueryValue(clawback::testing::DatabaseOf(url()),
                                                                     "SELECT COUNT(*) FROM schema_migrations");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    rows = *r;
  } else {
    store.reset();  // the file's process lock
    rows = std::to_string(SchemaRows(dir_.file("clawback.db")));
  }
  EXPECT_EQ(rows, std::to_string(store::LatestSchemaVersion()));
}

TEST_P(StoreEngines, ForeignKeysAreEnforced) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Session s;
  s.token_hash = "h";
  s.user_id = 42;  // no such user
  s.expires_at = 100;
  Status st = store->CreateSession(s);
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
}

TEST(StoreOpen, RefusesSchemaNewerThanTheBinary) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  { ASSERT_NE(OpenTestStore(dir), nullptr); }
  const int newer = store::LatestSchemaVersion() + 2;
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO schema_migrations (version, description, applied_at) VALUES (" + std::to_string(newer) +
            ", 'from the future', 0)");
  }
  auto store = OpenSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(store.status().message(), "cannot open store " + path + ": database schema version " +
                                          std::to_string(newer) + " is newer than this clawback (" +
                                          std::to_string(store::LatestSchemaVersion()) + "): upgrade clawback");
}

TEST(StoreOpen, SecondStoreOnTheSameFileIsRefused) {
  TempDir dir;
  auto first = OpenTestStore(dir);
  ASSERT_NE(first, nullptr);
  auto second = OpenSqliteStore(dir.file("clawback.db"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(second.status().message().find("another clawback process (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << second.status().message();
  first.reset();
  EXPECT_TRUE(OpenSqliteStore(dir.file("clawback.db")).ok()) << "lock must be released with the store";
}

// A real second process holds the store; its exit releases the lock.
TEST(StoreOpen, StoreHeldByAnotherProcessIsRefusedUntilItExits) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    auto store = OpenSqliteStore(path);
    char c = store.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);  // until the parent closes its end
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto refused = OpenSqliteStore(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("(pid " + std::to_string(child) + ")"), std::string::npos)
      << refused.status().message();
  close(release[1]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  close(ready[0]);
  auto reopened = OpenSqliteStore(path);
  EXPECT_TRUE(reopened.ok()) << reopened.status().ToString();
}

TEST(StoreOpen, DatabaseLockedByAnotherConnectionFailsClearlyAndPromptly) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  { ASSERT_NE(OpenTestStore(dir), nullptr); }
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN EXCLUSIVE");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 200;
  auto start = std::chrono::steady_clock::now();
  auto store = OpenSqliteStore(path, options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(store.status().message(), "cannot open store " + path + ": database is locked by another process");
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  other.exec("ROLLBACK");
  EXPECT_TRUE(OpenSqliteStore(path, options).ok());
}

TEST(StoreOpen, WriteLockTakenAfterOpenTimesOutAsUnavailable) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 100;
  auto store = OpenTestStore(dir, options);
  ASSERT_NE(store, nullptr);
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");
  Instance i;
  i.name = "web-1";
  i.agent_url = "https://web-1:9443";
  auto created = store->CreateInstance(i);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(created.status().message(), "create instance: database is locked by another process");
  other.exec("ROLLBACK");
  EXPECT_TRUE(store->CreateInstance(i).ok());
}

// Runs OpenSqliteStore(path) as an unprivileged user in a child process and
// returns its error message ("" on success).
std::string OpenAsUnprivileged(const std::string& path) {
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  pid_t child = fork();
  if (child == 0) {
    close(out[0]);
    if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(2);
    auto store = OpenSqliteStore(path);
    std::string msg = store.ok() ? "" : store.status().message();
    (void)!write(out[1], msg.data(), msg.size());
    _exit(0);
  }
  close(out[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) return "child failed";
  return msg;
}

TEST(StoreOpen, ReadOnlyDatabaseFileIsRefusedWithTheReason) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  { ASSERT_NE(OpenTestStore(dir), nullptr); }
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);  // the directory stays writable
  ASSERT_EQ(chmod(path.c_str(), 0444), 0);
  std::string msg = OpenAsUnprivileged(path);
  EXPECT_EQ(msg, "cannot open store " + path + ": file is not writable: permission denied");
}

TEST(StoreOpen, UnwritableDirectoryIsRefusedWithTheReason) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  ASSERT_EQ(chmod(dir.path().c_str(), 0555), 0);
  std::string msg = OpenAsUnprivileged(path);
  EXPECT_EQ(msg, "cannot open store " + path + ": directory " + dir.path().string() +
                     " is not writable: permission denied");
  chmod(dir.path().c_str(), 0755);
}

TEST(StoreOpen, FileThatIsNotADatabaseIsReportedAsCorrupt) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  std::ofstream(path) << std::string(8192, 'x');
  auto store = OpenSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(store.status().message().rfind("cannot open store " + path + ": database file is corrupt", 0), 0u)
      << store.status().message();
}

TEST(StoreOpen, EmptyPathIsInvalid) {
  auto store = OpenSqliteStore("");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace clawback::controller

namespace clawback::controller {
namespace {

// A version-1 database (as the first release wrote it) with backups whose
// file_path is absolute, in several spellings: migration 2 turns those that
// follow the archive layout into names relative to the backups directory
// and leaves anything else alone; migration 3 gives old tokens no right to
// create tokens.
TEST(StoreMigrations, AbsoluteArchivePathsBecomeRelativeNames) {
  testing::TempDir dir;
  const std::string path = dir.file("clawback.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
            "applied_at INTEGER NOT NULL)");
    db.exec(store::Migrations()[0].sql);
    db.exec("INSERT INTO schema_migrations VALUES (1, 'initial schema', 0)");
    const char* rows[][3] = {
        {"1", "web-1", "/var/lib/claworc/backups/web-1/web-1-1-20260101-020000.tar.zst"},
        {"2", "web-1", "/srv/b//web-1/web-1-2-20260102-020000.tar.zst"},  // trailing-slash spelling
        {"3", "db_1", "/data/../data/backups/db_1/db_1-3-20260103-020000.tar.zst"},
        {"4", "web-1", "/elsewhere/web-1-4.tar.zst"},                      // not the layout: kept
        {"5", "web-1", ""},                                                // failed: no file
        {"6", "web-1", "/b/other/web-1-6-20260101-020000.tar.zst"},       // wrong instance dir: kept
    };
    for (const auto& r : rows) {
      db.exec(std::string("INSERT INTO backups (id, instance_id, instance_name, status, file_path, created_at) "
                          "VALUES (") + r[0] + ", 1, '" + r[1] + "', 'completed', '" + r[2] + "', 0)");
    }
    db.exec("INSERT INTO users (id, username, role, password_hash, created_at) VALUES (1, 'a', 'admin', 'x', 0)");
    db.exec("INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (1, 't', 'h', 0)");
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto get = [&](Id id) { return (*store)->GetBackup(id)->file_path; };
  EXPECT_EQ(get(1), "web-1/web-1-1-20260101-020000.tar.zst");
  EXPECT_EQ(get(2), "web-1/web-1-2-20260102-020000.tar.zst");
  EXPECT_EQ(get(3), "db_1/db_1-3-20260103-020000.tar.zst");
  EXPECT_EQ(get(4), "/elsewhere/web-1-4.tar.zst");
  EXPECT_EQ(get(5), "");
  EXPECT_EQ(get(6), "/b/other/web-1-6-20260101-020000.tar.zst");
  auto tokens = (*store)->ListApiTokens(1);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_FALSE(tokens->front().can_create_tokens);
}

}  // namespace
}  // namespace clawback::controller
