// The store on PostgreSQL, two measurements (a benchmark, not a test; figures
// in bench/README.md). Both start a private PostgreSQL 15 server as the tests
// do (tests/support/postgres_server.h: fsync off, on loopback).
//
//   bench_store statements [RUNS]
//     A representative store workload over 1,000 instances on two stores
//     open at once: one with server-side prepared statements
//     (PostgresStoreOptions::prepared_statements = 128, the default), one
//     without (0: every statement parsed and planned per call). Each
//     workload runs on both back to back, in alternating order, RUNS times
//     (default 7). Prints per call the wall time and the CPU time of the
//     server backend serving the store (/proc/PID/schedstat), median and
//     min-max over runs, and the ratios without / with (> 1: the cache is
//     cheaper), paired per run.
//
//   bench_store migrate ROWS CLAWBACK [CLAWBACK_BASELINE]
//     `clawback store migrate` of a SQLite store holding ROWS audit events to
//     PostgreSQL and back to a new SQLite file, each binary given, and each
//     child's peak RSS (wait4's ru_maxrss) and wall time.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "controller/store/postgres_store.h"
#include "controller/store/sqlite_store.h"
#include "tests/support/postgres_server.h"

namespace clawback::controller {
namespace {

using Clock = std::chrono::steady_clock;
using testing::PostgresServer;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_store: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

void Must(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --- statements ---------------------------------------------------------------

constexpr int kInstances = 1000;

struct Fleet {
  std::vector<Id> instances;
  std::vector<std::string> sessions;
};

Fleet Populate(Store& s) {
  Fleet f;
  User admin;
  admin.username = "admin";
  admin.role = Role::kAdmin;
  admin.password_hash = "$scrypt$x";
  const Id admin_id = Must(s.CreateUser(admin), "create user").id;
  for (int i = 0; i < 20; ++i) {
    Session sess;
    sess.token_hash = "session-" + std::to_string(i);
    sess.user_id = admin_id;
    sess.expires_at = 4'000'000'000;
    Must(s.CreateSession(sess), "create session");
    f.sessions.push_back(sess.token_hash);
  }
  for (int i = 0; i < kInstances; ++i) {
    Instance in;
    in.name = "bench-" + std::to_string(i);
    in.agent_url = "https://10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":8443";
    const Id id = Must(s.CreateInstance(in), "create instance").id;
    f.instances.push_back(id);
    for (int k = 0; k < 3; ++k) {  // two completed, the newest failed
      Backup b;
      b.instance_id = id;
      b.instance_name = in.name;
      b.status = k < 2 ? BackupStatus::kCompleted : BackupStatus::kFailed;
      b.paths = {"/home/claworc"};
      b.size_bytes = 1 << 20;
      b.created_at = 1'700'000'000 + k * 3600;
      Must(s.CreateBackup(b), "create backup");
    }
  }
  return f;
}

struct Workload {
  const char* name;
  int calls;
  std::function<void(Store&, const Fleet&)> run;
};

std::vector<Workload> Workloads() {
  return {
      {"GetInstance", kInstances,
       [](Store& s, const Fleet& f) {
         for (Id id : f.instances) Must(s.GetInstance(id), "get instance");
       }},
      {"GetSession", 1000,
       [](Store& s, const Fleet& f) {
         for (int i = 0; i < 1000; ++i) Must(s.GetSession(f.sessions[i % f.sessions.size()]), "get session");
       }},
      {"ListLatestBackups (1,000 instances)", 10,
       [](Store& s, const Fleet&) {
         for (int i = 0; i < 10; ++i) {
           if (Must(s.ListLatestBackups(), "list latest").size() != kInstances)
             Die("list latest: wrong size");
         }
       }},
      {"backup cycle (create, progress, complete)", 200,
       [](Store& s, const Fleet& f) {
         for (int i = 0; i < 200; ++i) {
           Backup b;
           b.instance_id = f.instances[(i * 7) % f.instances.size()];
           b.instance_name = "bench";
           b.status = BackupStatus::kRunning;
           b.paths = {"/home/claworc"};
           b = Must(s.CreateBackup(b), "create backup");
           Must(s.UpdateBackupProgress(b.id, 4096), "progress");
           b.status = BackupStatus::kCompleted;
           b.size_bytes = 8192;
           b.sha256 = std::string(64, 'b');
           Must(s.UpdateBackup(b), "complete backup");
         }
       }},
  };
}

// On-CPU time of a process so far, in nanoseconds (/proc/PID/schedstat):
// the server backend serving one store's connection.
double CpuNs(int pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/schedstat").c_str(), "r");
  if (!f) Die("cannot read /proc/" + std::to_string(pid) + "/schedstat");
  unsigned long long ns = 0;
  if (std::fscanf(f, "%llu", &ns) != 1) Die("bad schedstat");
  std::fclose(f);
  return static_cast<double>(ns);
}

std::string Range(const std::vector<double>& v, const char* format = "%.3f (%.3f-%.3f)") {
  char buf[96];
  std::snprintf(buf, sizeof buf, format, Median(v), *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end()));
  return buf;
}

int Statements(int runs) {
  auto server = Must(PostgresServer::Start(), "start PostgreSQL");
  const std::string url = Must(server->CreateDatabase(), "create database");
  const std::string database = testing::DatabaseOf(url);
  Fleet fleet;
  {
    auto store = Must(OpenPostgresStore(url, {.connections = 1}), "open store");
    fleet = Populate(*store);
  }
  // Both stores open at once, one connection each, told apart on the server
  // by application_name so that each backend's CPU time can be read.
  struct Mode {
    const char* name;
    size_t prepared_statements;
    std::unique_ptr<Store> store;
    int backend_pid = 0;
  } modes[] = {{"cache_on", 128, nullptr}, {"cache_off", 0, nullptr}};
  for (Mode& m : modes) {
    m.store = Must(OpenPostgresStore(url + "?application_name=" + m.name,
                                     {.connections = 1, .prepared_statements = m.prepared_statements}),
                   "open store");
    m.backend_pid =
        std::atoi(Must(server->QueryValue(database, std::string("SELECT pid FROM pg_stat_activity "
                                                                "WHERE application_name = '") +
                                                        m.name + "'"),
                       "backend pid")
                      .c_str());
    if (m.backend_pid <= 0) Die("no backend for " + std::string(m.name));
  }
  const std::vector<Workload> workloads = Workloads();
  // [mode][workload][run]: wall ms per call, server CPU us per call
  std::vector<std::vector<double>> wall[2], cpu[2];
  for (int i = 0; i < 2; ++i) {
    wall[i].resize(workloads.size());
    cpu[i].resize(workloads.size());
    for (size_t w = 0; w < workloads.size(); ++w) workloads[w].run(*modes[i].store, fleet);  // prepares
  }
  for (int run = 0; run < runs; ++run) {
    for (size_t w = 0; w < workloads.size(); ++w) {
      for (int half = 0; half < 2; ++half) {
        const int i = (run + static_cast<int>(w) + half) % 2;  // alternate which goes first
        const double cpu_before = CpuNs(modes[i].backend_pid);
        const auto start = Clock::now();
        workloads[w].run(*modes[i].store, fleet);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        wall[i][w].push_back(ms / workloads[w].calls);
        cpu[i][w].push_back((CpuNs(modes[i].backend_pid) - cpu_before) / 1000.0 / workloads[w].calls);
      }
    }
  }
  std::printf(
      "PostgreSQL store, %d instances, %d runs, each workload on both stores back to back (order "
      "alternating); median (min-max) over runs\n",
      kInstances, runs);
  for (size_t w = 0; w < workloads.size(); ++w) {
    std::vector<double> wall_ratio, cpu_ratio;
    for (int r = 0; r < runs; ++r) {
      wall_ratio.push_back(wall[1][w][r] / wall[0][w][r]);
      cpu_ratio.push_back(cpu[1][w][r] / cpu[0][w][r]);
    }
    std::printf("%s, %d calls\n", workloads[w].name, workloads[w].calls);
    std::printf("  wall ms/call:        cache on %-26s off %-26s ratio off/on %s\n",
                Range(wall[0][w]).c_str(), Range(wall[1][w]).c_str(),
                Range(wall_ratio, "%.2f (%.2f-%.2f)").c_str());
    std::printf("  server CPU us/call:  cache on %-26s off %-26s ratio off/on %s\n",
                Range(cpu[0][w], "%.1f (%.1f-%.1f)").c_str(), Range(cpu[1][w], "%.1f (%.1f-%.1f)").c_str(),
                Range(cpu_ratio, "%.2f (%.2f-%.2f)").c_str());
  }
  return 0;
}

// --- migrate ------------------------------------------------------------------

struct ChildRun {
  int exit_code = -1;
  double seconds = 0;
  long max_rss_kib = 0;
};

ChildRun RunChild(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(stdout);  // or the child's freopen writes our buffered lines again
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out) dup2(fileno(stdout), 2);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) Die("wait4 failed");
  ChildRun r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.max_rss_kib = usage.ru_maxrss;
  return r;
}

// A SQLite store holding `rows` audit events (written in one transaction,
// not through the store's one-commit-per-event path).
void MakeSource(const std::string& path, int64_t rows) {
  std::filesystem::remove(path);
  { Must(OpenSqliteStore(path), "create the SQLite store").reset(); }
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  SQLite::Transaction tx(db);
  SQLite::Statement insert(
      db,
      "INSERT INTO audit_events (at, actor_id, actor, source, action, target, outcome, "
      "detail_json) VALUES (?, 1, 'admin', '10.0.0.1:51234', 'backup.create', ?, 'ok', ?)");
  for (int64_t i = 0; i < rows; ++i) {
    insert.bind(1, static_cast<int64_t>(1'700'000'000 + i));
    insert.bind(2, "instance:bench-" + std::to_string(i % 1000));
    insert.bind(
        3, R"({"backup":)" + std::to_string(i) + R"(,"paths":["/home/claworc"],"by":"schedule:nightly"})");
    insert.exec();
    insert.reset();
  }
  tx.commit();
}

int Migrate(int64_t rows, const std::vector<std::string>& binaries) {
  auto server = Must(PostgresServer::Start(), "start PostgreSQL");
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("bench-store-" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string source = dir + "/source.db";
  MakeSource(source, rows);
  std::printf("store migrate of %lld audit events (source %.1f MiB), peak RSS of the clawback process\n",
              static_cast<long long>(rows), std::filesystem::file_size(source) / 1048576.0);
  std::printf("%-60s %-22s %-12s %s\n", "binary", "direction", "wall s", "peak RSS MiB");
  for (const std::string& bin : binaries) {
    const std::string pg = Must(server->CreateDatabase(), "create database");
    const std::string back = dir + "/back.db";
    std::filesystem::remove(back);
    struct Leg {
      const char* name;
      std::string from, to;
    } legs[] = {{"sqlite -> postgres", "sqlite://" + source, pg},
                {"postgres -> sqlite", pg, "sqlite://" + back}};
    for (const Leg& leg : legs) {
      ChildRun r =
          RunChild({bin, "store", "migrate", "--from", leg.from, "--to", leg.to}, dir + "/migrate.log");
      if (r.exit_code != 0)
        Die(bin + " store migrate failed (" + std::to_string(r.exit_code) + "), see " + dir);
      std::printf("%-60s %-22s %-12.2f %.1f\n", bin.c_str(), leg.name, r.seconds, r.max_rss_kib / 1024.0);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace clawback::controller

int main(int argc, char** argv) {
  using namespace clawback::controller;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "statements") return Statements(argc > 2 ? std::atoi(argv[2]) : 7);
  if (mode == "migrate" && argc >= 4) {
    return Migrate(std::atoll(argv[2]), std::vector<std::string>(argv + 3, argv + argc));
  }
  std::fprintf(stderr,
               "usage: bench_store statements [RUNS]\n"
               "       bench_store migrate ROWS CLAWBACK [CLAWBACK_BASELINE]\n");
  return 2;
}
