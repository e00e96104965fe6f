// End to end on PostgreSQL: `clawback serve --database postgres://...` (a
// private PostgreSQL 15, tests/support/postgres_server.h) with a real agent;
// a backup completes, its record is in PostgreSQL (and no SQLite file is
// made), and it is still there after the controller is killed and started
// again. A database URL the controller cannot use stops it at start with one
// line that does not show the password.
#include <filesystem>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/postgres_server.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class PostgresE2eTest : public E2eTest {};

TEST_F(PostgresE2eTest, BackupCompletesWithMetadataInPostgres) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  StackOptions options;
  options.controller_args = {"--database", url};
  ASSERT_NO_FATAL_FAILURE(StartStack(options));
  const std::string root = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  json alpha = AddInstance("alpha", root);
  ASSERT_FALSE(HasFailure());

  json b = CompletedBackup(alpha["id"].get<int64_t>(), json{{"note", "on postgres"}});
  ASSERT_FALSE(HasFailure());
  const int64_t id = b["id"].get<int64_t>();
  EXPECT_EQ(b["status"], "completed");
  EXPECT_TRUE(fs::is_regular_file(StoredFile(b)));

  PostgresServer* pg = SharedPostgresServer();
  ASSERT_NE(pg, nullptr);
  const std::string db = DatabaseOf(url);
  auto status = pg->QueryValue(db, "SELECT status || ' ' || note || ' ' || sha256 FROM backups WHERE id = " +
                                       std::to_string(id));
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, "completed on postgres " + b["sha256"].get<std::string>());
  EXPECT_EQ(*pg->QueryValue(db, "SELECT COUNT(*) FROM instances WHERE name = 'alpha'"), "1");
  EXPECT_FALSE(fs::exists(stack_->data_dir() + "/clawback.db")) << "SQLite must not be used";
  EXPECT_EQ(stack_->controller()->Log().find(pg->password()), std::string::npos)
      << "the log shows the database password";
  EXPECT_NE(stack_->controller()->Log().find("postgres://clawback:***@"), std::string::npos);

  // The records outlive the process.
  stack_->KillController();
  ASSERT_TRUE(stack_->StartController().ok());
  json again = stack_->GetBackup(id);
  EXPECT_EQ(again["status"], "completed") << again.dump();
  EXPECT_EQ(again["sha256"], b["sha256"]);
}

// The documented move: a controller on SQLite with a completed backup is
// stopped, `clawback store migrate` copies its store into PostgreSQL, and the
// controller started on PostgreSQL serves the same records (and the API token
// made on SQLite) and makes new backups with the next id. A second migrate
// into the now non-empty database is refused with one line and exit 5 (conflict).
TEST_F(PostgresE2eTest, StoreMigrateMovesARunningInstallationToPostgres) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  const std::string root = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  json alpha = AddInstance("alpha", root);
  ASSERT_FALSE(HasFailure());
  json first = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  stack_->KillController();

  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  const std::string sqlite_url = "sqlite://" + stack_->data_dir() + "/clawback.db";
  ProcessOutput migrated =
      RunWithEnv({CLAWBACK_BINARY, "store", "migrate", "--from", sqlite_url, "--to", url}, {}, 60s);
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  EXPECT_NE(migrated.output.find("row counts verified"), std::string::npos) << migrated.output;
  EXPECT_EQ(migrated.output.find(SharedPostgresServer()->password()), std::string::npos) << migrated.output;

  stack_->set_controller_args({"--database", url});
  ASSERT_TRUE(stack_->StartController().ok());
  json again = stack_->GetBackup(first["id"].get<int64_t>());
  EXPECT_EQ(again["status"], "completed") << again.dump();
  EXPECT_EQ(again["sha256"], first["sha256"]);
  json second = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(second["id"].get<int64_t>(), first["id"].get<int64_t>() + 1);

  ProcessOutput refused =
      RunWithEnv({CLAWBACK_BINARY, "store", "migrate", "--from", sqlite_url, "--to", url}, {}, 60s);
  EXPECT_EQ(refused.exit_code, 5) << refused.output;
  EXPECT_NE(refused.output.find("clawback: target database is not empty: table users has"), std::string::npos)
      << refused.output;
}

TEST_F(PostgresE2eTest, UnusableDatabaseUrlStopsTheServiceAtStart) {
  TempDir tmp;
  for (const std::string& value : {std::string("mysql://u:hunter2@h/db"), std::string("sqlite://relative.db")}) {
    ProcessOutput out = RunWithEnv({CLAWBACK_BINARY, "serve", "--data-dir", tmp.Sub("data"), "--listen",
                                    "127.0.0.1:0"},
                                   {{"CLAWORC_DATABASE", value}}, 30s);
    EXPECT_EQ(out.exit_code, 1) << out.output;
    EXPECT_NE(out.output.find("clawback: CLAWORC_DATABASE"), std::string::npos) << out.output;
    EXPECT_EQ(out.output.find("hunter2"), std::string::npos) << out.output;
  }
}

}  // namespace
}  // namespace clawback::testing
