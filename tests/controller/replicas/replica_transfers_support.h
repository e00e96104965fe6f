// What the replica transfer suites share: a gate standing in for the
// agents (GatedAgents), a TransferService started as `clawback serve` starts
// it for one replica (StartReplica), and small record makers. Real SQLite
// (or PostgreSQL, CLAWBACK_TEST_STORE) store, real backups directory; time
// from a FakeClock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "controller/agents/agent_connector.h"
#include "controller/clock.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/transfers.h"
#include "controller/store/store.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller::testing {

using namespace std::chrono_literals;

inline constexpr UnixTime kT0 = 1767225600;  // 2026-01-01T00:00:00Z

// Polls `done` for up to 10 s (the services' own threads move things).
template <typename Pred>
inline bool Eventually(Pred done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

inline Backup QueuedBackup(Id instance_id) {
  Backup b;
  b.instance_id = instance_id;
  b.instance_name = "web-" + std::to_string(instance_id);
  b.status = BackupStatus::kQueued;
  b.paths = {"/home/claworc"};
  b.created_at = kT0;
  return b;
}

// Backups that stream `kBytes` real bytes (and their real SHA-256) once the
// gate opens; counts how many stream at once across every service using it.
class GatedAgents final : public AgentConnector {
 public:
  static constexpr size_t kBytes = 4096;

  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int in_flight() const { return in_flight_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }
  int started() const { return started_.load(); }

  InstanceHealth Probe(const Instance&) override { return Running(); }
  InstanceHealth ProbeWithin(const Instance&, std::chrono::milliseconds) override { return Running(); }
  InstanceHealth Health(Id) const override { return Running(); }
  void StartProber(std::function<std::vector<Instance>()>, std::chrono::seconds) override {}
  void StopProber() override {}

  Result<StreamSummary> Backup(const Instance&, const AgentBackupRequest&, ArchiveReceiver& receiver,
                               const std::atomic<bool>& cancel, std::chrono::seconds) override {
    ++started_;
    const int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{in_flight_};
    {
      std::unique_lock lock(mu_);
      while (!open_) {
        if (cancel.load()) return Status::Canceled("canceled");
        cv_.wait_for(lock, 10ms);
      }
    }
    std::string bytes(kBytes, 'x');
    auto buffer = receiver.Buffer();
    if (!buffer.ok()) return buffer.status();
    const size_t n = std::min(buffer->size(), bytes.size());
    std::copy_n(bytes.data(), n, buffer->data());
    CLAWBACK_RETURN_IF_ERROR(receiver.Commit(n));
    Sha256 sha;
    sha.Update(bytes.data(), n);
    StreamSummary s;
    s.entries = 1;
    s.bytes_read = n;
    s.bytes_sent = n;
    s.sha256 = sha.HexDigest();
    return s;
  }
  // Reads the whole (verified) archive stream, as an agent would, and
  // reports one entry of that many bytes.
  Result<AgentRestoreResult> Restore(const Instance&, ArchiveProvider& archive, const AgentRestoreOptions&,
                                     const std::atomic<bool>& cancel, std::chrono::seconds,
                                     std::function<void(uint64_t)> on_sent) override {
    ++restores_started_;
    AgentRestoreResult result;
    for (;;) {
      if (cancel.load()) return Status::Canceled("canceled");
      auto block = archive.Next();
      if (!block.ok()) return block.status();
      if (block->empty()) break;
      result.bytes_written += block->size();
      if (on_sent) on_sent(result.bytes_written);
    }
    result.entries_written = 1;
    return result;
  }
  int restores_started() const { return restores_started_.load(); }

 private:
  static InstanceHealth Running() {
    InstanceHealth h;
    h.status = "running";
    return h;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;  // guarded by mu_
  std::atomic<int> in_flight_{0}, max_in_flight_{0}, started_{0}, restores_started_{0};
};

struct Replica {
  std::unique_ptr<TransferService> transfers;
  std::atomic<int> finished{0};
  std::mutex mu;
  Backup last_finished;  // what on_backup_finished reported last; guarded by mu
};

// A TransferService as `clawback serve` makes it for replica `id`.
inline std::unique_ptr<Replica> StartReplica(Store& store, AgentConnector& agents, const std::string& backups_dir,
                                      const std::string& id, const Clock& clock, int cap,
                                      std::chrono::milliseconds heartbeat = 20ms) {
  auto r = std::make_unique<Replica>();
  TransferSettings settings;
  settings.backups_dir = backups_dir;
  settings.max_concurrent = cap;
  settings.replica.id = id;
  settings.replica.clock = &clock;
  settings.replica.heartbeat = heartbeat;
  settings.replica.claim_retry = 10ms;
  TransferObserver observer;
  Replica* raw = r.get();
  observer.on_backup_finished = [raw](const Backup& b) {
    {
      std::lock_guard lock(raw->mu);
      raw->last_finished = b;
    }
    ++raw->finished;
  };
  r->transfers = MakeTransferService(store, agents, settings, observer);
  return r;
}

// What each replica transfer test starts from, in construction order: a
// fresh store in a temporary directory (SQLite, or PostgreSQL with
// CLAWBACK_TEST_STORE; null when it cannot be opened), a FakeClock at kT0,
// closed GatedAgents and the backups directory. Tests bind the members:
//   ReplicaWorld world;
//   ASSERT_TRUE(world.store);
//   auto& [dir, store, clock, agents, backups] = world;
struct ReplicaWorld {
  TempDir dir;
  std::unique_ptr<Store> store = OpenTestStore(dir);
  FakeClock clock{kT0};
  GatedAgents agents;
  std::string backups = dir.file("backups");
};

// Starts a backup of /home/claworc on `instance` through `replica`; its id,
// or 0 (and a test failure) when the service refuses it.
inline Id StartBackupOn(Replica& replica, const Instance& instance) {
  BackupRequest req;
  req.instance = instance;
  req.paths = {"/home/claworc"};
  auto started = replica.transfers->StartBackup(req);
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  return started.ok() ? started->id : Id{0};
}

inline Instance MakeInstance(Store& store, int i) {
  Instance inst;
  inst.name = "web-" + std::to_string(i);
  inst.agent_url = "https://127.0.0.1:1";
  inst.created_at = kT0;
  return *store.CreateInstance(inst);
}

}  // namespace clawback::controller::testing
