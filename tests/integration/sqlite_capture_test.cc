// Consistent SQLite capture, end to end: real writer processes
// (tests/integration/sqlite_writer.py, Python's sqlite3) commit to databases
// under the backup root while a real clawback-agent takes backups over mTLS;
// every archive is extracted with GNU tar and each database checked with
// SQLite: integrity_check, the writer's invariant, and no transaction missing
// that had committed before the request was sent (the writer publishes each
// committed sequence number; the test reads it just before the request).
// Also: two concurrent backups capturing one database, a >= 1 GiB database
// being written (agent peak RSS), a database locked past the timeout (warning
// + raw bytes; with strict a failed backup), and a file with the SQLite header
// and garbage (warning + identical raw bytes).
//
// CLAWBACK_TEST_LARGE_DB_MIB sets the large database's size (default 1024).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "shared/archive_index.h"
#include "shared/seek_table.h"
#include "tests/support/agent_process.h"
#include "tests/support/file_tree.h"
#include "tests/support/agent_suite.h"
#include "tests/support/child_process.h"
#include "tests/support/live_database.h"
#include "tests/support/mtls_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAgentBinary[] = CLAWBACK_AGENT_BINARY;
constexpr char kWriterScript[] = CLAWBACK_SQLITE_WRITER;
constexpr char kHome[] = "/home/claworc";
// The agent's peak RSS bound, whatever the database size.
constexpr uint64_t kRssBoundKiB = 32 * 1024;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The image's header as documented in docs/live-state.md: the in-header page
// count matches the file size, and bytes 18/19 keep the journal mode (2 = WAL).
void ExpectSelfContainedHeader(const std::string& path, bool wal, const std::string& what) {
  std::string head(100, '\0');
  std::ifstream(path, std::ios::binary).read(head.data(), 100);
  auto byte = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(head[i])); };
  const uint32_t page_size = byte(16) << 8 | byte(17);
  const uint64_t page_bytes = page_size == 1 ? 65536 : page_size;
  const uint32_t in_header_pages = byte(28) << 24 | byte(29) << 16 | byte(30) << 8 | byte(31);
  EXPECT_EQ(uint64_t{in_header_pages} * page_bytes, fs::file_size(path)) << what << ": in-header size";
  EXPECT_EQ(byte(18), wal ? 2u : 1u) << what << ": write version";
  EXPECT_EQ(byte(19), wal ? 2u : 1u) << what << ": read version";
}

// Every check on one extracted database: sound, the writer's invariant, and
// nothing missing that had committed before the request.
void ExpectConsistent(const std::string& path, uint64_t committed_before_request, const std::string& what,
                      bool wal) {
  for (const char* sidecar : {"-wal", "-shm", "-journal"})
    EXPECT_FALSE(fs::exists(path + sidecar)) << what << ": the archive holds " << sidecar;
  ExpectSelfContainedHeader(path, wal, what);
  ExpectWriterInvariant(path, committed_before_request, what);
}

class SqliteCaptureTest : public AgentSuite {
 protected:
  static void SetUpTestSuite() { CreateAgentSuite("clawback-sqlite-it-"); }

  // A fresh root with an empty home; returns its path.
  std::string NewRoot(const std::string& name) {
    std::string root = tmp_->Sub(name);
    fs::create_directories(root + kHome + "/.openclaw");
    return root;
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& root, std::vector<std::string> extra = {}) {
    auto agent = AgentProcess::Start(
        {kAgentBinary, tmp_->path(), agent_cert_.cert, agent_cert_.key, pki_->ca_cert(), root, std::move(extra)});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }

  static std::unique_ptr<HelperProcess> Writer(const std::string& db, const std::string& mode,
                                               const std::string& progress) {
    return std::unique_ptr<HelperProcess>(StartSqliteWriter(db, mode, progress));
  }

  // POST /v1/backup with `body`, the archive streamed into `archive`.
  static HttpResponse Backup(uint16_t port, const json& body, const std::string& archive) {
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = body.dump();
    r.on_body = [&out](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      return out ? Status::Ok() : Status::IoError("write failed");
    };
    auto res = SendRequest(port, {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key}, r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : HttpResponse{};
  }

  // Extracts `archive` with GNU tar into a fresh directory; returns it.
  static std::string Extract(const std::string& archive) {
    std::string dir = archive + ".x";
    fs::remove_all(dir);
    fs::create_directories(dir);
    ProcessOutput tar = RunProcess({"tar", "--zstd", "-xf", archive, "-C", dir}, 300s);
    EXPECT_EQ(tar.exit_code, 0) << tar.output;
    return dir;
  }

  // The sha256 the archive's index gives `path` (archive name), "" if absent.
  static std::string IndexSha256(const std::string& archive, const std::string& path) {
    std::ifstream in(archive, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto layout = seek_table::LocateArchive(bytes.size(), [&](uint64_t off, size_t n, std::string& out) {
      out = bytes.substr(off, n);
      return Status::Ok();
    });
    EXPECT_TRUE(layout.ok()) << layout.status().ToString();
    if (!layout.ok()) return "";
    std::string sha;
    auto end = archive_index::ReadIndexPayload(
        std::string_view(bytes).substr(layout->index_payload_offset(), layout->index_payload_size()),
        [&](archive_index::IndexEntry&& e) {
          if (e.path == path) sha = e.sha256;
          return Status::Ok();
        });
    EXPECT_TRUE(end.ok()) << end.status().ToString();
    return sha;
  }

  static std::string Trailer(const HttpResponse& r, const std::string& name) {
    auto it = r.trailers.find(name);
    return it == r.trailers.end() ? "" : it->second;
  }

};


// 20+ backups while a WAL-mode writer (checkpointing every 10 pages) and a
// rollback-journal writer commit: every archive holds both databases as sound,
// self-contained images with every transaction committed before the request.
TEST_F(SqliteCaptureTest, LiveWritersAreCapturedConsistentlyInEveryBackup) {
  const std::string root = NewRoot("live");
  const std::string dir = root + kHome + "/.openclaw";
  auto wal = Writer(dir + "/agent.sqlite", "wal", tmp_->Sub("wal.progress"));
  auto rollback = Writer(dir + "/cron.sqlite", "delete", tmp_->Sub("rollback.progress"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return CommittedSequence(tmp_->Sub("wal.progress")) > 200 && CommittedSequence(tmp_->Sub("rollback.progress")) > 50;
      },
      60s))
      << wal->Log() << rollback->Log();
  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);

  constexpr int kBackups = 20;
  for (int i = 0; i < kBackups; ++i) {
    const std::string what = "backup " + std::to_string(i);
    const uint64_t wal_before = CommittedSequence(tmp_->Sub("wal.progress"));
    const uint64_t rollback_before = CommittedSequence(tmp_->Sub("rollback.progress"));
    json body = {{"paths", {kHome}}};
    if (i % 2 == 1) body["strict"] = true;  // strict changes nothing when every database is captured
    const std::string archive = tmp_->Sub("live-" + std::to_string(i) + ".tar.zst");
    HttpResponse res = Backup(agent->port(), body, archive);
    ASSERT_EQ(res.status, 200) << what;
    ASSERT_TRUE(res.complete) << what << ": " << res.error;
    EXPECT_EQ(Trailer(res, "clawback-status"), "ok") << what;
    EXPECT_EQ(Trailer(res, "clawback-databases"), "2") << what;
    EXPECT_EQ(Trailer(res, "clawback-databases-raw"), "0") << what;
    EXPECT_EQ(Trailer(res, "clawback-warnings"), "0")
        << what << ": " << Trailer(res, "clawback-warning-detail");

    const std::string x = Extract(archive) + kHome + "/.openclaw";
    // The index hashes the captured image as archived, not the file on disk.
    for (const char* db : {"agent.sqlite", "cron.sqlite"}) {
      EXPECT_EQ(IndexSha256(archive, std::string(kHome).substr(1) + "/.openclaw/" + db), Sha256OfFile(x + "/" + db))
          << what << " " << db;
    }
    ExpectConsistent(x + "/agent.sqlite", wal_before, what + " (WAL)", true);
    ExpectConsistent(x + "/cron.sqlite", rollback_before, what + " (rollback journal)", false);
    fs::remove_all(archive + ".x");
    fs::remove(archive);
    if (HasFatalFailure()) break;
  }
  EXPECT_TRUE(wal->running()) << "the WAL writer died: " << wal->Log();
  EXPECT_TRUE(rollback->running()) << "the rollback writer died (locked out?): " << rollback->Log();
}

// Two backups at once capturing the same rollback-journal database while it
// is written: POSIX locks belong to the process, so one backup closing its
// descriptor of the file must not end the other's read lock mid-copy.
TEST_F(SqliteCaptureTest, ConcurrentBackupsOfOneDatabaseAreEachConsistent) {
  const std::string root = NewRoot("concurrent");
  const std::string db = root + kHome + "/.openclaw/shared.sqlite";
  ProcessOutput fill = RunProcess({"/usr/bin/python3", kWriterScript, "fill", db, "delete", "48"}, 300s);
  ASSERT_EQ(fill.exit_code, 0) << fill.output;
  const std::string progress = tmp_->Sub("concurrent.progress");
  auto writer = Writer(db, "delete", progress);
  ASSERT_TRUE(WaitFor([&] { return CommittedSequence(progress) > 20; }, 60s)) << writer->Log();
  auto agent = StartAgent(root, {"--max-transfers", "2"});
  ASSERT_TRUE(agent);

  for (int round = 0; round < 4; ++round) {
    const uint64_t before = CommittedSequence(progress);
    std::vector<std::future<HttpResponse>> backups;
    for (int i = 0; i < 2; ++i) {
      const std::string archive = tmp_->Sub("concurrent-" + std::to_string(i) + ".tar.zst");
      backups.push_back(std::async(std::launch::async, [&, archive] {
        return Backup(agent->port(), {{"paths", {kHome}}}, archive);
      }));
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * round));  // vary the overlap
    }
    for (int i = 0; i < 2; ++i) {
      const std::string what = "round " + std::to_string(round) + " backup " + std::to_string(i);
      HttpResponse res = backups[static_cast<size_t>(i)].get();
      ASSERT_TRUE(res.complete) << what << ": " << res.error;
      EXPECT_EQ(Trailer(res, "clawback-databases"), "1") << what << Trailer(res, "clawback-warning-detail");
      const std::string archive = tmp_->Sub("concurrent-" + std::to_string(i) + ".tar.zst");
      ExpectConsistent(Extract(archive) + kHome + "/.openclaw/shared.sqlite", before, what, false);
      fs::remove_all(archive + ".x");
    }
    if (HasFailure()) break;
  }
  EXPECT_TRUE(writer->running()) << writer->Log();
  writer->Stop();
  fs::remove_all(root);
}

// A database of CLAWBACK_TEST_LARGE_DB_MIB (default 1 GiB) being written:
// captured consistently and streamed, the agent's peak RSS within the bound.
TEST_F(SqliteCaptureTest, LargeDatabaseBeingWrittenIsStreamedWithinTheMemoryBound) {
  const char* env = std::getenv("CLAWBACK_TEST_LARGE_DB_MIB");
  const uint64_t mib = env ? std::strtoull(env, nullptr, 10) : 1024;
  const std::string root = NewRoot("large");
  const std::string db = root + kHome + "/.openclaw/large.sqlite";
  ProcessOutput fill =
      RunProcess({"/usr/bin/python3", kWriterScript, "fill", db, "wal", std::to_string(mib)}, 600s);
  ASSERT_EQ(fill.exit_code, 0) << fill.output;
  ASSERT_GE(fs::file_size(db), mib << 20);

  auto writer = Writer(db, "wal", tmp_->Sub("large.progress"));
  ASSERT_TRUE(WaitFor([&] { return CommittedSequence(tmp_->Sub("large.progress")) > 100; }, 60s)) << writer->Log();
  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);
  const uint64_t before = CommittedSequence(tmp_->Sub("large.progress"));
  const std::string archive = tmp_->Sub("large.tar.zst");
  HttpResponse res = Backup(agent->port(), {{"paths", {kHome}}}, archive);
  const uint64_t peak_kib = agent->PeakRssKiB();
  const uint64_t during = CommittedSequence(tmp_->Sub("large.progress"));
  ASSERT_TRUE(res.complete) << res.error;
  EXPECT_EQ(Trailer(res, "clawback-status"), "ok");
  EXPECT_EQ(Trailer(res, "clawback-databases"), "1");
  writer->Stop();

  const std::string x = Extract(archive) + kHome + "/.openclaw/large.sqlite";
  fs::remove(archive);
  EXPECT_GE(fs::file_size(x), mib << 20);
  ExpectConsistent(x, before, "large database", true);
  std::cout << "[sqlite] " << mib << " MiB database: agent VmHWM " << peak_kib / 1024
            << " MiB; the writer committed " << during - before << " transactions during the backup"
            << std::endl;
  EXPECT_GT(peak_kib, 0u);
  EXPECT_LE(peak_kib, kRssBoundKiB) << "agent peak RSS above the bound";
  fs::remove_all(tmp_->Sub("large.tar.zst.x"));
  fs::remove_all(root);
}

// An EXCLUSIVE lock held past the timeout: the file is archived as plain
// bytes with a warning naming it; with strict the backup fails with the reason.
TEST_F(SqliteCaptureTest, DatabaseLockedPastTheTimeoutIsWarnedOrWithStrictFailsTheBackup) {
  const std::string root = NewRoot("locked");
  const std::string db = root + kHome + "/.openclaw/locked.sqlite";
  ProcessOutput fill = RunProcess({"/usr/bin/python3", kWriterScript, "fill", db, "delete", "1"}, 120s);
  ASSERT_EQ(fill.exit_code, 0) << fill.output;
  const std::string original = FileBytes(db);
  const std::string ready = tmp_->Sub("locked.ready");
  HelperProcess locker({"/usr/bin/python3", kWriterScript, "lock", db, ready}, ready + ".log");
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ready); }, 30s)) << locker.Log();
  auto agent = StartAgent(root, {"--db-lock-timeout-ms", "300"});
  ASSERT_TRUE(agent);

  const std::string archive = tmp_->Sub("locked.tar.zst");
  HttpResponse res = Backup(agent->port(), {{"paths", {kHome}}}, archive);
  ASSERT_TRUE(res.complete) << res.error;
  EXPECT_EQ(Trailer(res, "clawback-status"), "ok");
  EXPECT_EQ(Trailer(res, "clawback-databases"), "0");
  EXPECT_EQ(Trailer(res, "clawback-databases-raw"), "1");
  EXPECT_EQ(Trailer(res, "clawback-warnings"), "1");
  const std::string detail = Trailer(res, "clawback-warning-detail");
  EXPECT_NE(detail.find("locked"), std::string::npos) << detail;
  EXPECT_NE(detail.find("/home/claworc/.openclaw/locked.sqlite"), std::string::npos) << detail;
  EXPECT_EQ(FileBytes(Extract(archive) + kHome + "/.openclaw/locked.sqlite"), original);

  HttpResponse strict = Backup(agent->port(), {{"paths", {kHome}}, {"strict", true}}, archive);
  ASSERT_EQ(strict.status, 200);
  EXPECT_TRUE(strict.complete) << "a refusal ends the body with the final chunk: " << strict.error;
  EXPECT_EQ(Trailer(strict, "clawback-status"), "error");
  const std::string reason = Trailer(strict, "clawback-error");
  EXPECT_NE(reason.find("locked"), std::string::npos) << reason;
  EXPECT_NE(reason.find("/home/claworc/.openclaw/locked.sqlite"), std::string::npos) << reason;
}

// A file that starts like a database but is not one: a warning, and its bytes
// (and its "-wal" beside it: nothing is left out of a raw copy) archived as
// they are. A bad "strict" value is refused before the stream starts.
TEST_F(SqliteCaptureTest, FileWithTheHeaderButGarbageIsArchivedByteIdenticalWithAWarning) {
  const std::string root = NewRoot("garbage");
  const std::string dir = root + kHome + "/.openclaw";
  std::string garbage = std::string("SQLite format 3", 16);
  for (int i = 0; i < 5000; ++i) garbage.push_back(static_cast<char>((i * 7919) % 251));
  std::ofstream(dir + "/fake.sqlite", std::ios::binary) << garbage;
  std::ofstream(dir + "/fake.sqlite-wal", std::ios::binary) << "wal bytes";
  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);

  const std::string archive = tmp_->Sub("garbage.tar.zst");
  HttpResponse res = Backup(agent->port(), {{"paths", {kHome}}}, archive);
  ASSERT_TRUE(res.complete) << res.error;
  EXPECT_EQ(Trailer(res, "clawback-status"), "ok");
  EXPECT_EQ(Trailer(res, "clawback-databases"), "0");
  EXPECT_EQ(Trailer(res, "clawback-databases-raw"), "1");
  const std::string detail = Trailer(res, "clawback-warning-detail");
  EXPECT_NE(detail.find("not a valid SQLite database"), std::string::npos) << detail;
  EXPECT_NE(detail.find("/home/claworc/.openclaw/fake.sqlite"), std::string::npos) << detail;
  const std::string x = Extract(archive) + kHome + "/.openclaw";
  EXPECT_EQ(FileBytes(x + "/fake.sqlite"), garbage);
  EXPECT_EQ(FileBytes(x + "/fake.sqlite-wal"), "wal bytes");

  HttpResponse bad = Backup(agent->port(), {{"paths", {kHome}}, {"strict", "yes"}}, archive);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(FileBytes(archive).find("strict"), std::string::npos) << FileBytes(archive);
}

}  // namespace
}  // namespace clawback::testing
