// `clawback serve` on a store it cannot own: a second controller on the same
// data dir, another process holding the data dir's lock or SQLite's write
// lock, a read-only data dir. Each must exit non-zero at startup with a
// message naming the problem, and leave the running controller and its data
// alone. (The store's own unit tests cover OpenSqliteStore; these run the
// real binary.)
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>

#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class StoreStartupFaultsTest : public E2eTest {
 protected:
  // Starts a controller on `data_dir` expecting it to fail: returns its exit
  // code and log.
  std::pair<int, std::string> StartExpectingFailure(const std::string& data_dir, const std::string& work) {
    fs::create_directories(work);
    ControllerOptions o;
    o.binary = ClawbackBinary();
    o.work_dir = work;
    o.data_dir = data_dir;
    o.admin_password = E2eStack::kAdminPassword;
    o.start_timeout = 40s;
    auto started = ControllerProcess::Start(o);
    if (started.ok()) {
      ADD_FAILURE() << "a second controller started on " << data_dir << ": " << (*started)->Log();
      return {0, (*started)->Log()};
    }
    auto code = 0;
    std::string log;
    {
      std::ifstream in(work + "/controller.log");
      std::ostringstream s;
      s << in.rdbuf();
      log = s.str();
    }
    const std::string msg = started.status().message();
    size_t at = msg.find("exited with ");
    if (at != std::string::npos) code = std::atoi(msg.c_str() + at + 12);
    return {code, log};
  }

  int cases_ = 0;
};

TEST_F(StoreStartupFaultsTest, SecondControllerOnTheSameDataDirExitsWithAClearError) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  auto [code, log] = StartExpectingFailure(stack_->data_dir(), stack_->tmp().Sub("second"));
  EXPECT_NE(code, 0);
  EXPECT_TRUE(ContainsNoCase(log, "another clawback process")) << log;
  EXPECT_TRUE(ContainsNoCase(log, "pid " + std::to_string(stack_->controller()->pid()))) << log;
  // The first one is untouched.
  EXPECT_EQ(stack_->CallAnonymous("GET", "/healthz").status, 200);
  EXPECT_EQ(stack_->Call("GET", "/api/v1/instances").status, 200);
}

TEST_F(StoreStartupFaultsTest, LockHeldByAnotherProcessIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  stack_->KillController();
  // Another process (a child that sleeps) holds the data dir lock, then the
  // store's lock file, then SQLite's write lock.
  struct Holder {
    std::string what;
    std::vector<std::string> argv;
    std::string expect;
  };
  const std::string data = stack_->data_dir();
  const std::string py_flock = "import fcntl,sys,time\nf=open(sys.argv[1],'a')\nfcntl.flock(f,fcntl.LOCK_EX)\n"
                               "print('locked',flush=True)\ntime.sleep(120)\n";
  const std::string py_sqlite = "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
                                "c.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(120)\n";
  const Holder holders[] = {
      {"data dir lock", {"/usr/bin/python3", "-c", py_flock, data + "/clawback.lock"}, "another clawback process"},
      {"store lock", {"/usr/bin/python3", "-c", py_flock, data + "/clawback.db.lock"}, "another clawback process"},
      {"sqlite write lock", {"/usr/bin/python3", "-c", py_sqlite, data + "/clawback.db"}, "locked"},
  };
  int n = 0;
  for (const Holder& h : holders) {
    SCOPED_TRACE(h.what);
    const std::string holder_log = stack_->tmp().Sub("holder-" + std::to_string(n) + ".log");
    SpawnOptions spawn;
    spawn.die_with_parent = true;
    pid_t pid = SpawnLogged(h.argv, holder_log, spawn);
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(WaitFor([&] { return ReadFile(holder_log).find("locked") != std::string::npos; }, 10s))
        << ReadFile(holder_log);
    auto [code, log] = StartExpectingFailure(data, stack_->tmp().Sub("try-" + std::to_string(n++)));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ++cases_;
    EXPECT_NE(code, 0) << log;
    EXPECT_TRUE(ContainsNoCase(log, h.expect)) << log;
  }
  // With the lock gone the controller starts on the same data.
  Status st = stack_->StartController();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(stack_->Call("GET", "/api/v1/instances").status, 200);
  std::cout << "[faults] lock holders tried: " << cases_ << ", each refused with a clear error" << std::endl;
}

TEST_F(StoreStartupFaultsTest, ReadOnlyDataDirIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  stack_->KillController();
  const std::string data = stack_->data_dir();
  // Root ignores file modes, so make the whole data dir a read-only mount.
  if (::mount(data.c_str(), data.c_str(), nullptr, MS_BIND, nullptr) != 0) GTEST_SKIP() << "cannot bind-mount";
  if (::mount(nullptr, data.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    ::umount2(data.c_str(), MNT_DETACH);
    GTEST_SKIP() << "cannot remount read-only";
  }
  auto [code, log] = StartExpectingFailure(data, stack_->tmp().Sub("ro"));
  ::umount2(data.c_str(), MNT_DETACH);
  EXPECT_NE(code, 0) << log;
  EXPECT_TRUE(ContainsNoCase(log, "read-only")) << log;
  Status st = stack_->StartController();
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(StoreStartupFaultsTest, ReadOnlyStoreFileIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  stack_->KillController();
  const std::string db = stack_->data_dir() + "/clawback.db";
  // A read-only bind mount of just the database file.
  if (::mount(db.c_str(), db.c_str(), nullptr, MS_BIND, nullptr) != 0) GTEST_SKIP() << "cannot bind-mount";
  if (::mount(nullptr, db.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    ::umount2(db.c_str(), MNT_DETACH);
    GTEST_SKIP() << "cannot remount read-only";
  }
  auto [code, log] = StartExpectingFailure(stack_->data_dir(), stack_->tmp().Sub("ro-file"));
  ::umount2(db.c_str(), MNT_DETACH);
  EXPECT_NE(code, 0) << log;
  EXPECT_TRUE(ContainsNoCase(log, "read-only")) << log;
  Status st = stack_->StartController();
  EXPECT_TRUE(st.ok()) << st.ToString();
}

}  // namespace
}  // namespace clawback::testing
