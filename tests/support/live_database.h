// Live SQLite databases for the capture tests: a real writer process
// (tests/integration/sqlite_writer.py, Python's sqlite3) committing to a
// database while backups run, and the checks every captured copy must pass.
//
// The writer's invariant: transaction k inserts row seq=k into t and adds k to
// the running totals in `total`, so a consistent copy has seq exactly
// 1..count, total.n == count and total.sum == sum(seq). After each commit the
// writer publishes k in its progress file, so a test that reads k there before
// a backup request knows transaction k had committed before it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace clawback::testing {

// The writer script (sqlite_writer.py) in the source tree.
std::string SqliteWriterScript();

// A helper process killed (SIGTERM, then SIGKILL) and reaped on destruction.
class HelperProcess {
 public:
  HelperProcess(const std::vector<std::string>& argv, const std::string& log);
  ~HelperProcess() { Stop(); }
  HelperProcess(const HelperProcess&) = delete;
  HelperProcess& operator=(const HelperProcess&) = delete;
  bool running() const;
  void Stop();
  std::string Log() const;

 private:
  pid_t pid_;
  std::string log_;
};

// sqlite_writer.py write DB MODE PROGRESS with a low autocheckpoint (so WAL
// checkpoints happen during backups). MODE: "wal" or "delete".
HelperProcess* StartSqliteWriter(const std::string& db, const std::string& mode, const std::string& progress);

// The highest sequence number the writer has published as committed.
uint64_t CommittedSequence(const std::string& progress);

struct DbCheck {
  std::string error;      // empty when the database opened and was read
  std::string integrity;  // PRAGMA integrity_check's first row
  int64_t count = 0, max_seq = 0, sum_seq = 0;
  int64_t total_n = -1, total_sum = -1;
};

// Opens `path` read-write (as an application would after a restore) and
// reads what the tests check.
DbCheck CheckDatabase(const std::string& path);

// gtest expectations on one captured or restored database: it opens, passes
// integrity_check, keeps the writer's invariant, and holds every transaction
// committed before `committed_before_request`. `what` names it in failures.
void ExpectWriterInvariant(const std::string& path, uint64_t committed_before_request, const std::string& what);

}  // namespace clawback::testing
