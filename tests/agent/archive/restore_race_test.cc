// Restores raced by a process in the target: while a restore of thousands of
// entries runs, a process under another uid keeps swapping directories of the
// restore target with symlinks to a root-only directory outside the root
// (renameat2 RENAME_EXCHANGE, both ways, in a loop). Nothing outside the root
// may ever be created, replaced, removed or chmod-ed, whichever way the writer
// resolves paths. Also: a restored SQLite database is never paired with the
// target's stale WAL.
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "archive_test_util.h"

namespace clawback::agent {
namespace {

using testing::MakeDirs;
using testing::ReadFile;
using testing::Snapshot;
using testing::StringSource;
using testing::TarSpec;
using testing::TempDir;
using testing::WriteFile;

constexpr uid_t kUser = 1000;
constexpr int kDirs = 30;
constexpr int kFilesPerDir = 50;
constexpr int kRestores = 8;

// Swaps each (a, b) pair with RENAME_EXCHANGE until killed, as `kUser`.
// Counts successful swaps in *swaps (shared memory). Only async-signal-safe
// calls after fork.
pid_t StartRacer(const std::vector<std::pair<std::string, std::string>>& pairs, std::atomic<long>* swaps) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  if (setgid(kUser) != 0 || setuid(kUser) != 0) _exit(3);
  for (;;) {
    for (const auto& [a, b] : pairs) {
      if (syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0)
        swaps->fetch_add(1, std::memory_order_relaxed);
    }
  }
}

class RestoreRaceTest : public ::testing::TestWithParam<Resolution> {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "the race needs a second uid";
    ASSERT_EQ(chmod(tmp_.path().c_str(), 0755), 0);
    MakeDirs(outer_, 0755);
    // The prize: a root-only directory beside the root, with files named like
    // the archive's, and subdirectories named like its directories.
    MakeDirs(secret_, 0700);
    WriteFile(secret_ + "/f0", "secret f0", 0600);
    WriteFile(secret_ + "/passwd", "root:x:0:0", 0600);
    for (int d = 0; d < 3; ++d) {
      MakeDirs(secret_ + "/d" + std::to_string(d), 0700);
      WriteFile(secret_ + "/d" + std::to_string(d) + "/f1", "secret", 0600);
    }
    // The target: a home owned by the user, with the directories the archive
    // restores into already there (a restore over an existing home).
    MakeDirs(home_, 0755);
    ASSERT_EQ(chown((root_ + "/home").c_str(), 0, 0), 0);
    for (const std::string& dir : Dirs()) {
      MakeDirs(dir, 0755);
      ASSERT_EQ(chown(dir.c_str(), kUser, kUser), 0);
    }
    ASSERT_EQ(chown(home_.c_str(), kUser, kUser), 0);
    swaps_ = static_cast<std::atomic<long>*>(
        mmap(nullptr, sizeof(std::atomic<long>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(swaps_, MAP_FAILED);
    new (swaps_) std::atomic<long>(0);
  }

  void TearDown() override {
    if (racer_ > 0) {
      kill(racer_, SIGKILL);
      waitpid(racer_, nullptr, 0);
    }
    if (swaps_ != nullptr && swaps_ != MAP_FAILED) munmap(swaps_, sizeof(std::atomic<long>));
  }

  std::vector<std::string> Dirs() const {
    std::vector<std::string> dirs = {home_ + "/r"};
    for (int d = 0; d < kDirs; ++d) dirs.push_back(home_ + "/r/d" + std::to_string(d));
    return dirs;
  }

  // Decoys the racer swaps in: symlinks (owned by the user) to the secret
  // directory and into it.
  std::vector<std::pair<std::string, std::string>> Decoys() {
    std::vector<std::pair<std::string, std::string>> pairs;
    auto decoy = [&](const std::string& dir, const std::string& target) {
      const std::string link = dir + "-decoy";
      EXPECT_EQ(symlink(target.c_str(), link.c_str()), 0);
      EXPECT_EQ(lchown(link.c_str(), kUser, kUser), 0);
      pairs.emplace_back(dir, link);
    };
    decoy(home_ + "/r", secret_);
    for (int d = 0; d < kDirs; d += 3) decoy(home_ + "/r/d" + std::to_string(d), secret_ + "/d" + std::to_string(d % 3));
    return pairs;
  }

  // Files only (the directories exist and stay the user's, so the racer keeps
  // its rights for the whole restore).
  static std::string Archive() {
    std::vector<TarSpec> entries;
    entries.push_back({"home/claworc/r/f0", 'f', "from the archive"});
    entries.push_back({"home/claworc/r/passwd", 'f', "pwned"});
    entries.push_back({"home/claworc/r/new.txt", 'f', "new"});
    for (int d = 0; d < kDirs; ++d) {
      for (int f = 0; f < kFilesPerDir; ++f) {
        entries.push_back({"home/claworc/r/d" + std::to_string(d) + "/f" + std::to_string(f), 'f',
                           "content " + std::to_string(d) + "/" + std::to_string(f), "", 0640});
      }
      entries.push_back({"home/claworc/r/d" + std::to_string(d) + "/sub/deep.txt", 'f', "deep"});
      entries.push_back({"home/claworc/r/d" + std::to_string(d) + "/link", 'l', "", "../f0"});
    }
    return testing::BuildTarZstd(entries);
  }

  TempDir tmp_;
  std::string outer_ = tmp_ / "outer";
  std::string secret_ = outer_ + "/secret";
  std::string root_ = outer_ + "/root";
  std::string home_ = root_ + "/home/claworc";
  std::atomic<long>* swaps_ = nullptr;
  pid_t racer_ = -1;
};

TEST_P(RestoreRaceTest, SwappingDirectoriesForSymlinksNeverRedirectsAWrite) {
  const std::string archive = Archive();
  const auto pairs = Decoys();
  struct stat secret_before;
  ASSERT_EQ(lstat(secret_.c_str(), &secret_before), 0);
  const testing::TreeSnapshot before = Snapshot(secret_);

  racer_ = StartRacer(pairs, swaps_);
  ASSERT_GT(racer_, 0);
  uint64_t written = 0, skipped = 0;
  for (int i = 0; i < kRestores; ++i) {
    RestoreOptions options;
    options.root = root_;
    options.resolution = GetParam();
    StringSource source(archive);
    Result<RestoreSummary> r = ExtractRestore(options, source);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    written += r->entries_written;
    skipped += r->skipped.size();
    for (const SkippedEntry& s : r->skipped)
      EXPECT_EQ(s.reason.find(outer_), std::string::npos) << "reasons name container paths: " << s.reason;
    ASSERT_EQ(testing::DiffTrees(before, Snapshot(secret_)), "") << "restore " << i << " wrote outside the root";
  }
  kill(racer_, SIGKILL);
  waitpid(racer_, nullptr, 0);
  racer_ = -1;

  EXPECT_GT(swaps_->load(), 100) << "the racer never got to race";
  struct stat secret_after;
  ASSERT_EQ(lstat(secret_.c_str(), &secret_after), 0);
  EXPECT_EQ(secret_after.st_mode, secret_before.st_mode) << "secret directory chmod-ed";
  EXPECT_EQ(secret_after.st_uid, secret_before.st_uid);
  EXPECT_EQ(ReadFile(secret_ + "/f0"), "secret f0");
  EXPECT_EQ(ReadFile(secret_ + "/passwd"), "root:x:0:0");
  // Most entries still land; the raced ones are reported, not lost silently.
  EXPECT_GT(written, static_cast<uint64_t>(kRestores) * kDirs * kFilesPerDir / 4);
  std::cout << "[race] " << swaps_->load() << " swaps, " << written << " entries written, " << skipped
            << " skipped over " << kRestores << " restores\n";
}

INSTANTIATE_TEST_SUITE_P(BothResolutions, RestoreRaceTest,
                         ::testing::Values(Resolution::kOpenat2, Resolution::kComponentWalk),
                         [](const ::testing::TestParamInfo<Resolution>& info) {
                           return testing::ResolutionName(info.param);
                         });

// ---- SQLite sidecars ----

class SqliteRestoreTest : public ::testing::Test {
 protected:
  static std::string Sqlite(const std::string& db, const std::string& sql) {
    std::string out;
    int rc = testing::RunProcess({"sqlite3", "-batch", db, sql}, &out);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }
  TempDir tmp_;
};

TEST_F(SqliteRestoreTest, StaleWalOfTheTargetIsRemovedWithTheDatabase) {
  // The archived database: WAL mode, checkpointed, self-contained.
  const std::string src = tmp_ / "src.sqlite";
  Sqlite(src, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES ('restored');");
  Sqlite(src, "PRAGMA wal_checkpoint(TRUNCATE);");
  const std::string image = ReadFile(src);

  // The target: another database at the same path whose WAL still holds
  // committed, uncheckpointed frames (a process that never closed it).
  const std::string root = tmp_ / "root";
  MakeDirs(root + "/home/claworc");
  const std::string db = root + "/home/claworc/state.sqlite";
  std::string out;
  ASSERT_EQ(testing::RunProcess({"/usr/bin/python3", "-c",
                                 "import sqlite3, os, sys\n"
                                 "c = sqlite3.connect(sys.argv[1])\n"
                                 "c.execute('PRAGMA journal_mode=WAL')\n"
                                 "c.execute('PRAGMA wal_autocheckpoint=0')\n"
                                 "c.execute('CREATE TABLE old(a, b)')\n"
                                 "c.executemany('INSERT INTO old VALUES (?, ?)', [(i, 'x' * 500) for i in range(2000)])\n"
                                 "c.commit()\n"
                                 "os._exit(0)\n",
                                 db},
                                &out),
            0)
      << out;
  struct stat st;
  ASSERT_EQ(stat((db + "-wal").c_str(), &st), 0);
  ASSERT_GT(st.st_size, 0) << "the target's WAL must hold frames for this test to mean anything";
  WriteFile(db + "-journal", "stale hot journal");

  RestoreOptions options;
  options.root = root;
  StringSource source(testing::BuildTarZstd({{"home/claworc/state.sqlite", 'f', image}}));
  Result<RestoreSummary> r = ExtractRestore(options, source);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(stat((db + "-wal").c_str(), &st), 0) << "stale WAL left beside the restored database";
  EXPECT_NE(stat((db + "-journal").c_str(), &st), 0) << "stale journal left beside the restored database";
  EXPECT_EQ(Sqlite(db, "PRAGMA integrity_check;"), "ok\n");
  EXPECT_EQ(Sqlite(db, "SELECT x FROM t;"), "restored\n");
  EXPECT_EQ(Sqlite(db, "SELECT count(*) FROM sqlite_master WHERE name = 'old';"), "0\n");
}

TEST_F(SqliteRestoreTest, OtherFilesKeepTheirNeighbours) {
  // Only a file whose data starts with the SQLite header takes sidecars with it.
  const std::string root = tmp_ / "root";
  MakeDirs(root + "/home/claworc");
  WriteFile(root + "/home/claworc/notes.txt-wal", "unrelated");
  RestoreOptions options;
  options.root = root;
  StringSource source(testing::BuildTarZstd({{"home/claworc/notes.txt", 'f', "plain text"}}));
  ASSERT_TRUE(ExtractRestore(options, source).ok());
  EXPECT_EQ(ReadFile(root + "/home/claworc/notes.txt-wal"), "unrelated");
}

}  // namespace
}  // namespace clawback::agent
