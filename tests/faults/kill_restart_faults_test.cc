// Faults under load: a real controller and several real agents run backups
// and restores while the test SIGKILLs the controller and agents at random
// points (seeded RNG; the seed is printed, CLAWBACK_FAULT_SEED replays a run),
// SIGSTOPs an agent mid-stream, flips a byte of a stored archive and lets the
// backups volume (a small tmpfs) run full. After every fault and restart the
// store and the backups dir must agree:
//   - every backup and restore record reaches a final state;
//   - every `completed` backup's file exists, has the recorded size and
//     SHA-256 (computed here) and extracts (libarchive) to exactly the entries
//     of the source tree;
//   - no *.partial and no file without a completed record in the backups dir;
//   - nothing stays queued/running once the jobs settle.
// Transfers that go wrong one at a time are covered in
// tests/controller/e2e/transfer_faults_test.cc; this suite repeats them many
// times, concurrently, at random moments.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/faults/archive_inspect.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;

bool IsFinalStatus(const std::string& s) { return s == "completed" || s == "failed" || s == "canceled"; }

bool Contains(const std::string& haystack, const std::string& needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

// One source instance: its root, what a HOME backup must contain.
struct Source {
  std::string name;
  int64_t id = 0;
  std::string root;
  std::vector<std::string> expected;  // sorted entry names of a HOME backup
  bool fat = false;                   // incompressible: fills the backups volume
};

struct Figures {
  int controller_kills = 0;
  int agent_kills = 0;
  int stalls = 0;
  int corruptions = 0;
  int cycles = 0;
  int backups_started = 0;
  int restores_started = 0;
  int deletes = 0;
  std::map<std::string, int> backup_outcomes;   // completed / failed: <reason class> / canceled
  std::map<std::string, int> restore_outcomes;
  int archives_verified = 0;
  std::map<std::string, std::string> examples;  // outcome -> first error message seen
  int start_refusals = 0;  // POST answered 4xx/5xx (e.g. 409 target not running) or no answer (controller killed)
  int faults() const { return controller_kills + agent_kills + stalls + corruptions; }
};

std::string ReasonClass(const std::string& error) {
  if (Contains(error, "interrupted")) return "interrupted";
  if (Contains(error, "disk full") || Contains(error, "space")) return "disk full";
  if (Contains(error, "stall") || Contains(error, "timed out")) return "stalled/timed out";
  if (Contains(error, "sha256") || Contains(error, "corrupt")) return "corruption detected";
  if (Contains(error, "not running") || Contains(error, "unreachable") || Contains(error, "connect"))
    return "agent unreachable";
  if (Contains(error, "too many")) return "agent busy";
  return "cut stream/other";
}

class KillRestartFaultsTest : public E2eTest {
 protected:
  static constexpr int kTargetFaults = 210;

  void SetUp() override {
    const char* env = std::getenv("CLAWBACK_FAULT_SEED");
    seed_ = env && *env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
    rng_.seed(seed_);
    std::cout << "[faults] seed " << seed_ << " (replay with CLAWBACK_FAULT_SEED=" << seed_ << ")" << std::endl;

    StackOptions options;
    options.backups_on_tmpfs = true;
    options.tmpfs_size = "12m";
    options.controller_args = {"--stall-timeout", "2", "--max-concurrent-transfers", "4"};
    stack_ = std::make_unique<E2eStack>(options);
    if (!stack_->tmpfs_mounted()) {
      std::cout << "[faults] cannot mount a tmpfs here: the backups volume is not size-limited" << std::endl;
    }
    Status started = stack_->StartController();
    ASSERT_TRUE(started.ok()) << started.ToString();

    TreeSpec tiny;
    tiny.dirs = 2;
    tiny.small_files = 16;
    tiny.big_file_bytes = 64 << 10;
    TreeSpec medium = tiny;
    medium.big_file_bytes = 512 << 10;  // level 19, one thread: streams for a while
    TreeSpec fat = tiny;
    fat.special = false;
    fat.small_files = 4;
    fat.big_file_bytes = 0;
    fat.random_file_bytes = 5 << 20;  // two of these do not fit in 12m at once
    TreeSpec stall = tiny;
    stall.special = false;
    stall.big_file_bytes = 24 << 20;  // level 12, one thread: streams for a second or two
    struct Plan {
      std::string name;
      TreeSpec spec;
      std::vector<std::string> args;
      bool fat;
    } plans[] = {{"tiny-a", tiny, {}, false},
                 {"tiny-b", tiny, {}, false},
                 {"slow", medium, SlowAgentArgs(), false},
                 {"fat", fat, {}, true},
                 {"stall", stall, {"--compression-level", "12", "--threads", "1"}, false}};
    for (const Plan& p : plans) {
      Source s;
      s.name = p.name;
      s.root = stack_->tmp().Sub("root-" + p.name);
      GenerateTree(s.root + "/home/claworc", p.spec);
      s.expected = ExpectedEntries(s.root, {"/home/claworc"}, false);
      s.fat = p.fat;
      json inst = AddInstance(p.name, s.root, p.args);
      ASSERT_FALSE(HasFailure());
      s.id = inst["id"].get<int64_t>();
      sources_.push_back(s);
    }
    for (const char* name : {"target-a", "target-b"}) {
      std::string root = stack_->tmp().Sub(std::string("root-") + name);
      fs::create_directories(root);
      json inst = AddInstance(name, root);
      ASSERT_FALSE(HasFailure());
      targets_.push_back({name, inst["id"].get<int64_t>()});
      target_roots_[name] = root;
    }
  }

  template <class T>
  T Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Every backup record, through the API (paged).
  std::vector<json> AllBackups() {
    std::vector<json> out;
    for (int offset = 0;; offset += 500) {
      PlainResponse res = stack_->Call("GET", "/api/v1/backups?limit=500&offset=" + std::to_string(offset));
      json page = res.Json();
      if (res.status != 200 || !page.is_object()) {
        ADD_FAILURE() << "listing backups: " << res.Describe();
        return out;
      }
      for (const json& b : page["backups"]) out.push_back(b);
      if (static_cast<int64_t>(out.size()) >= page.value("total", int64_t{0}) || page["backups"].empty()) break;
    }
    return out;
  }
  std::vector<json> AllRestores() {
    PlainResponse res = stack_->Call("GET", "/api/v1/restores?limit=500");
    json page = res.Json();
    if (res.status != 200 || !page.is_object()) {
      ADD_FAILURE() << "listing restores: " << res.Describe();
      return {};
    }
    return page["restores"].get<std::vector<json>>();
  }

  // Ids of the backups the controller lists as running.
  std::set<int64_t> RunningBackupIds() {
    std::set<int64_t> ids;
    PlainResponse res = stack_->Call("GET", "/api/v1/backups?limit=100&status=running");
    json page = res.Json();
    if (res.status != 200 || !page.is_object() || !page["backups"].is_array()) {
      ADD_FAILURE() << "listing running backups: " << res.Describe();
      return ids;
    }
    for (const json& b : page["backups"]) ids.insert(b["id"].get<int64_t>());
    return ids;
  }

  // Waits until no backup or restore is queued or running.
  bool Settle(std::chrono::seconds limit) {
    std::string last;
    bool ok = WaitFor(
        [&] {
          for (const char* what : {"queued", "running"}) {
            PlainResponse res = stack_->Call("GET", std::string("/api/v1/backups?limit=1&status=") + what);
            if (res.status != 200 || res.Json().value("total", -1) != 0) {
              last = res.Describe();
              return false;
            }
          }
          for (const json& r : AllRestores()) {
            if (!IsFinalStatus(r.value("status", ""))) {
              last = r.dump();
              return false;
            }
          }
          return true;
        },
        limit, 50ms);
    EXPECT_TRUE(ok) << "jobs never settled (seed " << seed_ << "): " << last;
    return ok;
  }

  const Source* SourceById(int64_t id) const {
    for (const Source& s : sources_)
      if (s.id == id) return &s;
    return nullptr;
  }

  // The invariants, after the jobs settled.
  void CheckInvariants(const std::string& when) {
    SCOPED_TRACE(when + " (seed " + std::to_string(seed_) + ")");
    std::set<std::string> expected_files;
    for (const json& b : AllBackups()) {
      const int64_t id = b["id"].get<int64_t>();
      const std::string status = b.value("status", "");
      ASSERT_TRUE(IsFinalStatus(status)) << "backup stuck after settling: " << b.dump();
      if (!seen_final_.count(id)) {
        seen_final_.insert(id);
        const std::string key =
            status == "failed" ? "failed: " + ReasonClass(b.value("error_message", "")) : status;
        if (!figures_.examples.count(key)) figures_.examples[key] = b.value("error_message", "");
        ++figures_.backup_outcomes[key];
      }
      if (status == "failed") {
        EXPECT_FALSE(b.value("error_message", "").empty()) << "a failure says why: " << b.dump();
      }
      if (status != "completed") continue;
      const std::string rel = b.value("instance_name", "") + "/" + b.value("file_name", "");
      expected_files.insert(rel);
      expected_files.insert(rel + ".blocks");  // its block digests (docs/archive-format.md)
      expected_files.insert(rel + ".index");   // its file index (format 2 archives)
      const std::string file = stack_->backups_dir() + "/" + rel;
      struct stat st {};
      ASSERT_EQ(::stat(file.c_str(), &st), 0) << "completed backup without its file: " << b.dump();
      ASSERT_EQ(static_cast<int64_t>(st.st_size), b.value("size_bytes", int64_t{-1})) << b.dump();
      if (!verified_.count(id)) VerifyArchive(b, file);
    }
    for (const std::string& f : E2eStack::FilesUnder(stack_->backups_dir())) {
      EXPECT_FALSE(f.size() > 8 && f.compare(f.size() - 8, 8, ".partial") == 0) << "partial file left: " << f;
      EXPECT_TRUE(expected_files.count(f)) << "orphan file in the backups dir (no completed record): " << f;
    }
    for (const json& r : AllRestores()) {
      const int64_t id = r["id"].get<int64_t>();
      const std::string status = r.value("status", "");
      ASSERT_TRUE(IsFinalStatus(status)) << "restore stuck after settling: " << r.dump();
      if (!seen_restore_final_.count(id)) {
        seen_restore_final_.insert(id);
        const std::string key =
            status == "failed" ? "failed: " + ReasonClass(r.value("error_message", "")) : status;
        if (!figures_.examples.count("restore " + key)) figures_.examples["restore " + key] = r.value("error_message", "");
        ++figures_.restore_outcomes[key];
      }
    }
  }

  void VerifyArchive(const json& b, const std::string& file) {
    const int64_t id = b["id"].get<int64_t>();
    EXPECT_EQ(Sha256OfFile(file), b.value("sha256", "")) << "completed backup's file does not match its SHA-256: "
                                                         << b.dump();
    auto listing = ListTarZstd(file);
    ASSERT_TRUE(listing.ok()) << "completed backup does not extract: " << listing.status().ToString() << " "
                              << b.dump();
    const Source* source = SourceById(b.value("instance_id", int64_t{0}));
    ASSERT_NE(source, nullptr) << b.dump();
    std::vector<std::string> names = listing->names;
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, source->expected) << "entries of " << file;
    EXPECT_EQ(b.value("entries", int64_t{-1}), static_cast<int64_t>(listing->names.size())) << b.dump();
    verified_.insert(id);
    ++figures_.archives_verified;
  }

  std::vector<json> Completed(bool include_fat) {
    std::vector<json> out;
    for (const json& b : AllBackups()) {
      if (b.value("status", "") != "completed") continue;
      const Source* s = SourceById(b.value("instance_id", int64_t{0}));
      if (s && (include_fat || !s->fat)) out.push_back(b);
    }
    return out;
  }

  // Keeps the tmpfs from filling for good: the newest completed backups of
  // each instance stay (1 for fat, 2 otherwise), older ones are deleted.
  void Prune() {
    std::map<int64_t, int> kept;
    for (const json& b : AllBackups()) {  // newest first
      if (b.value("status", "") != "completed") continue;
      const int64_t inst = b.value("instance_id", int64_t{0});
      const Source* s = SourceById(inst);
      if (++kept[inst] <= (s && s->fat ? 1 : 2)) continue;
      PlainResponse del = stack_->Call("DELETE", "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()));
      EXPECT_EQ(del.status, 204) << del.Describe();
      ++figures_.deletes;
    }
  }

  void StartSomeTransfers() {
    const int n = Uniform(1, 4);
    std::vector<json> restorable;
    if (Chance(0.5)) restorable = Completed(false);
    for (int i = 0; i < n; ++i) {
      if (!restorable.empty() && Chance(0.35)) {
        const json b = Pick(restorable);
        const auto target = Pick(targets_);
        PlainResponse res = stack_->CreateRestore(b["id"].get<int64_t>(), target.second);
        if (res.status == 202) {
          ++figures_.restores_started;
        } else {
          ++figures_.start_refusals;
          EXPECT_TRUE(res.status == 409 || res.status == 0) << res.Describe();
        }
        continue;
      }
      // The first four sources take the load; "stall" is for StallOneBackup.
      const Source& s = sources_[static_cast<size_t>(Uniform(0, 3))];
      PlainResponse res = stack_->CreateBackup(s.id, json{{"paths", json::array({"HOME"})}});
      if (res.status == 202) {
        ++figures_.backups_started;
      } else {
        ++figures_.start_refusals;
        EXPECT_TRUE(res.status == 409 || res.status == 0) << res.Describe();
      }
    }
  }

  // Kills at a random moment: right away, after a random delay, or once a
  // backup is streaming.
  void WaitForRandomPoint() {
    const int how = Uniform(0, 9);
    if (how == 0) return;
    if (how <= 3) {
      WaitFor(
          [&] {
            PlainResponse res = stack_->Call("GET", "/api/v1/backups?limit=1&status=running");
            json j = res.Json();
            return j.is_object() && j.value("total", 0) > 0 && !j["backups"].empty() &&
                   j["backups"][0].value("progress_bytes", 0) > 0;
          },
          1500ms, 10ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(Uniform(0, 150)));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(Uniform(0, 400)));
  }

  std::string RandomAgent() {
    std::vector<std::string> names;
    for (const Source& s : sources_) names.push_back(s.name);
    for (const auto& t : targets_) names.push_back(t.first);
    return Pick(names);
  }

  void KillAndRestart() {
    const int kind = Uniform(0, 99);
    std::vector<std::string> agents;
    bool controller = false;
    if (kind < 35) {
      controller = true;
    } else if (kind < 70) {
      agents.push_back(RandomAgent());
    } else if (kind < 85) {
      controller = true;
      agents.push_back(RandomAgent());
    } else {
      agents.push_back(RandomAgent());
      std::string second = RandomAgent();
      if (second != agents[0]) agents.push_back(second);
    }
    for (const std::string& a : agents) {
      stack_->KillAgent(a);
      ++figures_.agent_kills;
    }
    if (controller) {
      const std::set<int64_t> running_before = RunningBackupIds();
      stack_->KillController();
      ++figures_.controller_kills;
      Status st = stack_->StartController();
      ASSERT_TRUE(st.ok()) << "controller did not come back after kill -9 (seed " << seed_ << "): " << st.ToString();
      // Recovery ran before the API answered: nothing the killed process
      // ran may still be running. (Backups it had only queued are handed
      // to the new process, which may be running them already.)
      for (int64_t id : RunningBackupIds()) {
        EXPECT_EQ(running_before.count(id), 0u)
            << "backup " << id << " of the killed controller still running after restart (seed " << seed_ << ")";
      }
    }
    for (const std::string& a : agents) {
      Status st = stack_->RestartAgent(a);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }

  // An agent frozen mid-stream (SIGSTOP) while other transfers run: its
  // backup fails after the stall timeout with a reason that says so.
  void StallOneBackup() {
    const Source& s = sources_[4];  // "stall": still streaming when we act
    PlainResponse res = stack_->CreateBackup(s.id, json{{"paths", json::array({"HOME"})}});
    if (res.status != 202) return;  // busy with a queued one from the load; next time
    ++figures_.backups_started;
    const int64_t id = res.Json()["id"].get<int64_t>();
    StartSomeTransfers();  // load on the other agents meanwhile
    bool ok = false;
    json b = stack_->WaitBackup(
        id,
        [](const json& j) {
          const std::string st = j.value("status", "");
          return IsFinalStatus(st) || (st == "running" && j.value("progress_bytes", 0) > 0);
        },
        30s, &ok);
    if (!ok || b.value("status", "") != "running") {  // finished first: no stall this time
      std::cout << "[faults] no stall this time: " << b.dump().substr(0, 300) << std::endl;
      return;
    }
    stack_->agent(s.name)->Signal(SIGSTOP);
    ++figures_.stalls;
    b = stack_->WaitBackupFinal(id, 40s, &ok);
    stack_->agent(s.name)->Signal(SIGCONT);
    ASSERT_TRUE(ok) << "a stalled backup must end: " << b.dump();
    EXPECT_EQ(b.value("status", ""), "failed") << b.dump();
    const std::string why = b.value("error_message", "");
    EXPECT_TRUE(Contains(why, "stall") || Contains(why, "no data") || Contains(why, "timed out") ||
                Contains(why, "timeout"))
        << "stall reason: " << why;
  }

  // A byte flipped in a stored archive: the restore fails on the SHA-256
  // check and the target's agent never receives a byte.
  void CorruptAndRestore() {
    std::vector<json> done = Completed(false);
    if (done.empty()) return;
    const json b = Pick(done);
    const std::string file = stack_->backups_dir() + "/" + b.value("instance_name", "") + "/" +
                             b.value("file_name", "");
    const auto size = static_cast<int64_t>(fs::file_size(file));
    const int64_t offset = Uniform(0, static_cast<int>(size - 1));
    auto flip = [&] {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(offset);
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x5a);
      f.seekp(offset);
      f.write(&c, 1);
    };
    flip();
    ++figures_.corruptions;
    const auto target = Pick(targets_);
    const std::string root = target_roots_[target.first];
    const std::string before = TreeFingerprint(root);
    const size_t log_before = stack_->agent(target.first)->Log().size();
    PlainResponse res = stack_->CreateRestore(b["id"].get<int64_t>(), target.second);
    if (res.status == 202) {
      ++figures_.restores_started;
      bool ok = false;
      json r = stack_->WaitRestoreFinal(res.Json()["id"].get<int64_t>(), 60s, &ok);
      ASSERT_TRUE(ok) << r.dump();
      EXPECT_EQ(r.value("status", ""), "failed") << "restore of a corrupted archive: " << r.dump();
      const std::string why = r.value("error_message", "");
      EXPECT_TRUE(Contains(why, "sha256") || Contains(why, "corrupt")) << why;
      EXPECT_EQ(TreeFingerprint(root), before) << "the target tree changed";
      const std::string log = stack_->agent(target.first)->Log().substr(log_before);
      EXPECT_EQ(log.find("/v1/restore"), std::string::npos) << "the agent was sent a restore: " << log;
    } else {
      EXPECT_EQ(res.status, 409) << res.Describe();  // target momentarily not running
    }
    flip();  // whole again, for the invariants
  }

  static std::string TreeFingerprint(const std::string& root) {
    std::string out;
    std::vector<std::string> files = E2eStack::FilesUnder(root);
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      std::error_code ec;
      out += f + ":" + std::to_string(fs::is_regular_file(root + "/" + f, ec) ? fs::file_size(root + "/" + f, ec) : 0);
      out += ":" + Sha256OfFile(root + "/" + f) + "\n";
    }
    return out;
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::vector<Source> sources_;
  std::vector<std::pair<std::string, int64_t>> targets_;
  std::map<std::string, std::string> target_roots_;
  std::set<int64_t> verified_, seen_final_, seen_restore_final_;
  Figures figures_;
};

TEST_F(KillRestartFaultsTest, RandomKillsNeverLeaveAWrongCompletedBackup) {
  ASSERT_FALSE(HasFailure());
  const auto began = std::chrono::steady_clock::now();
  const auto budget = 240s;  // bounded: stop early rather than run long on a slow machine
  const char* target_env = std::getenv("CLAWBACK_FAULT_TARGET");  // a shorter run while debugging
  const int target = target_env && *target_env ? std::atoi(target_env) : kTargetFaults;
  const char* verbose_env = std::getenv("CLAWBACK_FAULT_VERBOSE");
  const bool verbose = verbose_env && *verbose_env && std::string(verbose_env) != "0";
  while (figures_.faults() < target && std::chrono::steady_clock::now() - began < budget) {
    ++figures_.cycles;
    const auto cycle_start = std::chrono::steady_clock::now();
    if (figures_.cycles % 25 == 5) {
      StallOneBackup();
    } else if (figures_.cycles % 12 == 11) {
      CorruptAndRestore();
    } else {
      StartSomeTransfers();
      WaitForRandomPoint();
      KillAndRestart();
    }
    if (HasFatalFailure()) break;
    const auto faulted = std::chrono::steady_clock::now();
    if (!Settle(90s)) break;
    const auto settled = std::chrono::steady_clock::now();
    CheckInvariants("after cycle " + std::to_string(figures_.cycles));
    if (verbose) {
      auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
      std::cout << "[faults] cycle " << figures_.cycles << " faults " << figures_.faults() << " act "
                << ms(faulted - cycle_start) << "ms settle " << ms(settled - faulted) << "ms check "
                << ms(std::chrono::steady_clock::now() - settled) << "ms" << std::endl;
    }
    if (HasFatalFailure()) break;
    if (figures_.cycles % 4 == 0) Prune();
  }
  // A last round with no faults: every instance still backs up and restores.
  ASSERT_FALSE(HasFatalFailure());
  for (const Source& s : sources_) {
    if (s.fat || s.name == "stall") continue;
    json b = CompletedBackup(s.id, json{{"paths", json::array({"HOME"})}});
    ++figures_.backups_started;
    if (b.value("status", "") == "completed") {
      PlainResponse res = stack_->CreateRestore(b["id"].get<int64_t>(), targets_[0].second);
      ASSERT_EQ(res.status, 202) << res.Describe();
      ++figures_.restores_started;
      bool ok = false;
      json r = stack_->WaitRestoreFinal(res.Json()["id"].get<int64_t>(), 60s, &ok);
      EXPECT_EQ(r.value("status", ""), "completed") << r.dump();
    }
  }
  Settle(60s);
  verified_.clear();  // re-hash and re-extract every archive still stored
  CheckInvariants("final");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  std::cout << "[faults] seed " << seed_ << ": " << figures_.faults() << " faults injected in " << figures_.cycles
            << " cycles, " << seconds << " s\n"
            << "[faults]   kill -9 controller: " << figures_.controller_kills
            << ", kill -9 agent: " << figures_.agent_kills << ", SIGSTOP stalls: " << figures_.stalls
            << ", archive corruptions: " << figures_.corruptions << "\n"
            << "[faults]   backups started: " << figures_.backups_started
            << ", restores started: " << figures_.restores_started << ", refused at start: " << figures_.start_refusals
            << ", deleted: " << figures_.deletes << ", archives verified (sha256 + extract): "
            << figures_.archives_verified << "\n";
  for (const auto& [k, v] : figures_.backup_outcomes) std::cout << "[faults]   backup " << k << ": " << v << "\n";
  for (const auto& [k, v] : figures_.restore_outcomes) std::cout << "[faults]   restore " << k << ": " << v << "\n";
  for (const auto& [k, v] : figures_.examples)
    if (!v.empty()) std::cout << "[faults]   e.g. " << k << ": " << v.substr(0, 200) << "\n";
  std::cout << std::flush;
  EXPECT_GE(figures_.faults(), std::min(200, target)) << "the run ended before 200 faults (time budget)";
  EXPECT_GT(figures_.backup_outcomes["completed"], 0);
}

}  // namespace
}  // namespace clawback::testing
