// A private PostgreSQL server for tests (postgres_server.h).
#include "tests/support/postgres_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A private server on loopback: a fixed password is as good as a random one,
// and lets tests check that it never shows in messages.
constexpr const char* kPassword = "pg-test-Secret-71";

std::string BinDir() {
  const char* env = std::getenv("CLAWBACK_PG_BIN");
  return env && *env ? env : "/usr/lib/postgresql/15/bin";
}

// Who runs the PostgreSQL programs: `postgres` when we are root (they
// refuse root), else ourselves.
struct Owner {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<Owner> ServerOwner() {
  Owner o;
  o.uid = ::getuid();
  o.gid = ::getgid();
  if (o.uid != 0) return o;
  struct passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) return Status::FailedPrecondition("running as root and there is no `postgres` user");
  o.switch_user = true;
  o.uid = pw->pw_uid;
  o.gid = pw->pw_gid;
  return o;
}

Status ChownTree(const fs::path& root, const Owner& o) {
  if (!o.switch_user) return Status::Ok();
  if (::chown(root.c_str(), o.uid, o.gid) != 0) return Status::IoError("chown " + root.string());
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (::lchown(it->path().c_str(), o.uid, o.gid) != 0) return Status::IoError("chown " + it->path().string());
  }
  if (ec) return Status::IoError("walking " + root.string() + ": " + ec.message());
  return Status::Ok();
}

// fork + exec of argv as `o`, output appended to `log`. The child dies with
// the thread that started it.
pid_t SpawnAs(const Owner& o, const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (fd < 0 || null_fd < 0) ::_exit(126);
  ::dup2(null_fd, 0);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  if (o.switch_user) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(o.gid) != 0 || ::setuid(o.uid) != 0) ::_exit(126);
  }
  // After setuid: changing credentials clears the parent-death signal.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

Status RunAs(const Owner& o, const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = SpawnAs(o, argv, log);
  if (pid < 0) return Status::IoError("fork failed");
  int code = WaitOrKill(pid, 60s, 20ms);
  if (code != 0) {
    return Status::Internal(argv[0] + " exited with " + std::to_string(code) + ": " + Tail(ReadWholeFile(log), 2000));
  }
  return Status::Ok();
}

// The initdb'd cluster every server copies, made once per build tree under
// a lock (ctest runs test processes in parallel).
Result<fs::path> TemplateCluster(const Owner& o) {
  const fs::path tmpl = fs::path(CLAWBACK_BINARY_DIR) / "pg-template-15";
  const std::string lock_path = tmpl.string() + ".lock";
  int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return Status::IoError("cannot open " + lock_path);
  ::flock(lock, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};
  if (fs::exists(tmpl / "data" / "PG_VERSION")) return tmpl;
  // initdb runs in a temp dir, which the `postgres` user can reach even when
  // the build tree is under a private home; the result is copied over.
  std::string tmp_name = (fs::temp_directory_path() / "clawback-initdb-XXXXXX").string();
  if (::mkdtemp(tmp_name.data()) == nullptr) return Status::IoError("mkdtemp failed");
  const fs::path tmp = tmp_name;
  struct RemoveTmp {
    fs::path p;
    ~RemoveTmp() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remove_tmp{tmp};
  std::error_code ec;
  {
    std::ofstream pw(tmp / "pwfile");
    pw << kPassword << "\n";
  }
  CLAWBACK_RETURN_IF_ERROR(ChownTree(tmp, o));
  CLAWBACK_RETURN_IF_ERROR(RunAs(o,
                                 {BinDir() + "/initdb", "-D", (tmp / "data").string(), "-U", "clawback",
                                  "--pwfile=" + (tmp / "pwfile").string(), "--auth-local=trust",
                                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"},
                                 (tmp / "initdb.log").string()));
  const fs::path staged = tmpl.string() + ".tmp";
  fs::remove_all(staged, ec);
  fs::create_directories(staged, ec);
  fs::copy(tmp / "data", staged / "data", fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return Status::IoError("cannot copy the new cluster to " + staged.string() + ": " + ec.message());
  fs::remove_all(tmpl, ec);
  fs::rename(staged, tmpl, ec);
  if (ec) return Status::IoError("cannot rename " + staged.string() + ": " + ec.message());
  return tmpl;
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

std::unique_ptr<PostgresServer> g_server;  // the shared one; main thread only
std::mutex g_create_mu;

class StopSharedServer : public ::testing::Environment {
 public:
  void TearDown() override { g_server.reset(); }
};

[[maybe_unused]] auto* const g_environment = ::testing::AddGlobalTestEnvironment(new StopSharedServer);

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  auto owner = ServerOwner();
  if (!owner.ok()) return owner.status();
  auto tmpl = TemplateCluster(*owner);
  if (!tmpl.ok()) return tmpl.status();

  std::string root_tmpl = (fs::temp_directory_path() / "clawback-pg-XXXXXX").string();
  if (::mkdtemp(root_tmpl.data()) == nullptr) return Status::IoError("mkdtemp failed");
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->root_ = root_tmpl;
  server->password_ = kPassword;
  const fs::path root = server->root_;
  std::error_code ec;
  fs::copy(*tmpl / "data", root / "data", fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return Status::IoError("copying the template cluster: " + ec.message());
  fs::create_directories(root / "sock", ec);
  fs::permissions(root / "data", fs::perms::owner_all, ec);
  fs::permissions(root / "sock", fs::perms::owner_all, ec);
  CLAWBACK_RETURN_IF_ERROR(ChownTree(root, *owner));

  const std::string log = (root / "postgres.log").string();
  for (int attempt = 0; attempt < 3; ++attempt) {
    uint16_t port = FreePort();
    pid_t pid = SpawnAs(*owner,
                        {BinDir() + "/postgres", "-D", (root / "data").string(), "-p", std::to_string(port), "-k",
                         (root / "sock").string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                         "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200", "-c",
                         "shared_buffers=16MB"},
                        log);
    if (pid < 0) return Status::IoError("fork failed");
    server->pid_ = pid;
    server->port_ = port;
    const std::string ping = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres connect_timeout=2";
    for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
      if (PQping(ping.c_str()) == PQPING_OK) return server;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        server->pid_ = -1;
        break;  // exited: most likely the port was taken meanwhile; try another
      }
      std::this_thread::sleep_for(50ms);
    }
    if (server->pid_ > 0) break;  // running but not answering: give up
  }
  return Status::Unavailable("PostgreSQL did not start: " + Tail(ReadWholeFile(log), 3000));
}

PostgresServer::~PostgresServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGINT);  // fast shutdown
    WaitOrKill(pid_, 15s, 20ms);
  }
  std::error_code ec;
  if (!root_.empty()) fs::remove_all(root_, ec);
}

std::string PostgresServer::Url(const std::string& database) const {
  return "postgres://clawback:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

Result<std::string> PostgresServer::QueryValue(const std::string& database, const std::string& sql) const {
  std::unique_ptr<PGconn, ConnDeleter> conn(PQconnectdb(Url(database).c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Unavailable(std::string("cannot connect: ") + PQerrorMessage(conn.get()));
  }
  PGresult* r = PQexec(conn.get(), sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  std::string err = PQresultErrorMessage(r);
  std::string value;
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) value = PQgetvalue(r, 0, 0);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Status::Internal(sql + ": " + err);
  return value;
}

Status PostgresServer::Exec(const std::string& database, const std::string& sql) const {
  auto r = QueryValue(database, sql);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::string> PostgresServer::CreateDatabase() {
  std::string name;
  {
    std::lock_guard<std::mutex> lock(g_create_mu);
    name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++next_db_);
  }
  CLAWBACK_RETURN_IF_ERROR(Exec("postgres", "CREATE DATABASE " + name + " TEMPLATE template0"));
  return Url(name);
}

PostgresServer* SharedPostgresServer() {
  if (!g_server) {
    auto started = PostgresServer::Start();
    if (!started.ok()) {
      ADD_FAILURE() << started.status().ToString();
      return nullptr;
    }
    g_server = std::move(*started);
  }
  return g_server.get();
}

std::string FreshDatabaseUrl() {
  PostgresServer* server = SharedPostgresServer();
  if (server == nullptr) return "";
  auto url = server->CreateDatabase();
  if (!url.ok()) {
    ADD_FAILURE() << url.status().ToString();
    return "";
  }
  return *url;
}

std::string DatabaseOf(const std::string& url) { return url.substr(url.rfind('/') + 1); }

}  // namespace clawback::testing
