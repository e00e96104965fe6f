#include "tests/support/live_database.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <functional>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"

namespace clawback::testing {

using namespace std::chrono_literals;

std::string SqliteWriterScript() { return std::string(CLAWBACK_SOURCE_DIR) + "/tests/integration/sqlite_writer.py"; }

HelperProcess::HelperProcess(const std::vector<std::string>& argv, const std::string& log)
    : pid_(SpawnLogged(argv, log, SpawnOptions{{}, 0, true})), log_(log) {}

bool HelperProcess::running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

void HelperProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  WaitOrKill(pid_, 10s, 20ms);
  pid_ = -1;
}

std::string HelperProcess::Log() const { return ReadWholeFile(log_); }

HelperProcess* StartSqliteWriter(const std::string& db, const std::string& mode, const std::string& progress) {
  return new HelperProcess({"/usr/bin/python3", SqliteWriterScript(), "write", db, mode, progress,
                            "--autocheckpoint", "10", "--pause-ms", "1"},
                           progress + ".log");
}

uint64_t CommittedSequence(const std::string& progress) {
  std::string s = ReadWholeFile(progress);
  if (s.size() < 20) return 0;
  return std::strtoull(s.substr(0, 20).c_str(), nullptr, 10);
}

DbCheck CheckDatabase(const std::string& path) {
  DbCheck out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    out.error = std::string("open: ") + (db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    return out;
  }
  auto query = [&](const char* sql, const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      out.error = std::string(sql) + ": " + sqlite3_errmsg(db);
      return;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
      row(st);
    else if (rc != SQLITE_DONE)
      out.error = std::string(sql) + ": " + sqlite3_errmsg(db);
    sqlite3_finalize(st);
  };
  query("PRAGMA integrity_check",
        [&](sqlite3_stmt* st) { out.integrity = reinterpret_cast<const char*>(sqlite3_column_text(st, 0)); });
  if (out.error.empty()) {
    query("SELECT count(*), coalesce(max(seq), 0), coalesce(sum(seq), 0) FROM t", [&](sqlite3_stmt* st) {
      out.count = sqlite3_column_int64(st, 0);
      out.max_seq = sqlite3_column_int64(st, 1);
      out.sum_seq = sqlite3_column_int64(st, 2);
    });
  }
  if (out.error.empty()) {
    query("SELECT n, sum FROM total WHERE id = 1", [&](sqlite3_stmt* st) {
      out.total_n = sqlite3_column_int64(st, 0);
      out.total_sum = sqlite3_column_int64(st, 1);
    });
  }
  sqlite3_close(db);
  return out;
}

void ExpectWriterInvariant(const std::string& path, uint64_t committed_before_request, const std::string& what) {
  DbCheck c = CheckDatabase(path);
  ASSERT_EQ(c.error, "") << what;
  EXPECT_EQ(c.integrity, "ok") << what;
  EXPECT_EQ(c.count, c.max_seq) << what << ": a gap in the committed sequence";
  EXPECT_EQ(c.total_n, c.count) << what << ": total.n disagrees with the rows";
  EXPECT_EQ(c.total_sum, c.sum_seq) << what << ": total.sum disagrees with the rows";
  EXPECT_GE(static_cast<uint64_t>(c.max_seq), committed_before_request)
      << what << ": transactions committed before the request are missing";
}

}  // namespace clawback::testing
