// Live OpenClaw state through the whole product: real writer processes commit
// to a WAL-mode database (the agent database) and a rollback-journal one (a
// cron store) under an instance's home while backups are taken through
// `clawback serve`'s API. Every stored archive, extracted by GNU tar, holds
// both databases sound, with every transaction committed before the API call;
// the records count them; and clawback restores one of them into another
// instance over a stale WAL and journal, which must not be replayed into it.
#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/live_database.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kBackups = 20;
constexpr char kAgentDb[] = "/home/claworc/.openclaw/agents/main/agent/openclaw-agent.sqlite";
constexpr char kCronDb[] = "/home/claworc/.openclaw/cron/jobs.sqlite";

class LiveDatabaseE2eTest : public E2eTest {
 protected:
  // Extracts a stored archive with GNU tar into a fresh directory.
  std::string Extract(const std::string& archive, const std::string& name) {
    const std::string dir = stack_->tmp().Sub(name);
    fs::create_directories(dir);
    ProcessOutput tar = RunProcess({"tar", "--zstd", "-xf", archive, "-C", dir}, 120s);
    EXPECT_EQ(tar.exit_code, 0) << tar.output;
    return dir;
  }
};

TEST_F(LiveDatabaseE2eTest, BackupsThroughTheControllerCaptureLiveDatabasesAndRestoreThem) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  const std::string root = stack_->tmp().Sub("root-live");
  fs::create_directories(root + fs::path(kAgentDb).parent_path().string());
  fs::create_directories(root + fs::path(kCronDb).parent_path().string());
  json alpha = AddInstance("alpha", root);
  ASSERT_FALSE(HasFailure());

  const std::string wal_progress = stack_->tmp().Sub("wal.progress");
  const std::string rollback_progress = stack_->tmp().Sub("rollback.progress");
  std::unique_ptr<HelperProcess> wal(StartSqliteWriter(root + kAgentDb, "wal", wal_progress));
  std::unique_ptr<HelperProcess> rollback(StartSqliteWriter(root + kCronDb, "delete", rollback_progress));
  ASSERT_TRUE(WaitFor([&] { return CommittedSequence(wal_progress) > 20 && CommittedSequence(rollback_progress) > 20; },
                      60s, 20ms))
      << wal->Log() << rollback->Log();

  json last;
  uint64_t last_wal_before = 0, last_rollback_before = 0;
  for (int i = 0; i < kBackups; ++i) {
    const uint64_t wal_before = CommittedSequence(wal_progress);
    const uint64_t rollback_before = CommittedSequence(rollback_progress);
    json b = CompletedBackup(alpha["id"].get<int64_t>());
    ASSERT_FALSE(HasFailure()) << "backup " << i;
    EXPECT_EQ(b.value("databases_captured", -1), 2) << b.dump();
    EXPECT_EQ(b.value("databases_raw", -1), 0) << b.dump();
    const std::string dir = Extract(StoredFile(b), "x" + std::to_string(i));
    for (const char* sidecar : {"-wal", "-shm", "-journal"}) {
      EXPECT_FALSE(fs::exists(dir + kAgentDb + sidecar)) << "backup " << i << " archived " << sidecar;
      EXPECT_FALSE(fs::exists(dir + kCronDb + sidecar)) << "backup " << i << " archived " << sidecar;
    }
    ExpectWriterInvariant(dir + kAgentDb, wal_before, "backup " + std::to_string(i) + " WAL database");
    ExpectWriterInvariant(dir + kCronDb, rollback_before, "backup " + std::to_string(i) + " rollback database");
    last = b;
    last_wal_before = wal_before;
    last_rollback_before = rollback_before;
  }
  EXPECT_TRUE(wal->running() && rollback->running()) << "a writer died: " << wal->Log() << rollback->Log();
  wal->Stop();
  rollback->Stop();

  // The target holds other databases at the same paths, each with a stale WAL
  // or hot journal of committed frames (a process that never closed it).
  const std::string beta_root = stack_->tmp().Sub("root-beta");
  fs::create_directories(beta_root);
  for (const char* db : {kAgentDb, kCronDb}) {
    fs::create_directories(beta_root + fs::path(db).parent_path().string());
    ProcessOutput stale = RunProcess({"/usr/bin/python3", "-c",
                                      "import sqlite3, os, sys\n"
                                      "c = sqlite3.connect(sys.argv[1])\n"
                                      "c.execute('PRAGMA journal_mode=WAL')\n"
                                      "c.execute('PRAGMA wal_autocheckpoint=0')\n"
                                      "c.execute('CREATE TABLE stale(a, b)')\n"
                                      "c.executemany('INSERT INTO stale VALUES (?, ?)', "
                                      "[(i, 'x' * 400) for i in range(3000)])\n"
                                      "c.commit()\n"
                                      "os._exit(0)\n",
                                      beta_root + db},
                                     60s);
    ASSERT_EQ(stale.exit_code, 0) << stale.output;
    ASSERT_GT(fs::file_size(beta_root + db + "-wal"), 0u);
    std::ofstream(beta_root + db + "-journal") << "stale hot journal";
  }
  json beta = AddInstance("beta", beta_root);
  ASSERT_FALSE(HasFailure());
  PlainResponse started = stack_->CreateRestore(last["id"].get<int64_t>(), beta["id"]);
  ASSERT_EQ(started.status, 202) << started.Describe();
  bool ok = false;
  json r = stack_->WaitRestoreFinal(started.Json()["id"].get<int64_t>(), 120s, &ok);
  ASSERT_TRUE(ok) << r.dump();
  ASSERT_EQ(r.value("status", ""), "completed") << r.dump();
  for (const char* db : {kAgentDb, kCronDb}) {
    EXPECT_FALSE(fs::exists(beta_root + db + "-journal")) << db << ": stale journal left beside the restore";
    const uint64_t before = std::string(db) == kAgentDb ? last_wal_before : last_rollback_before;
    ExpectWriterInvariant(beta_root + db, before, std::string("restored ") + db);
    EXPECT_EQ(CheckDatabase(beta_root + db).error, "");
  }
  // Nothing of the stale databases came back with the restore.
  ProcessOutput tables =
      RunProcess({"sqlite3", beta_root + kAgentDb, "SELECT count(*) FROM sqlite_master WHERE name='stale';"}, 30s);
  EXPECT_EQ(tables.output, "0\n");
}

}  // namespace
}  // namespace clawback::testing
