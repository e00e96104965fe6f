// Leader election among controller replicas sharing one store: the holder
// of the store lease "leader" (Store::AcquireLease) is the leader. Only the
// leader fires schedule slots and runs the singleton background work
// (verification policy, drill scheduling, protection alerts, orphan sweeps);
// every replica serves the API and runs the transfers it queued.
//
// Tick() makes one attempt to take or renew the lease for `ttl`; Start()
// runs it every `renew_every` on a thread. A leader that cannot renew (store
// unreachable) stops calling itself leader when its own lease runs out
// (IsLeader compares with the clock), and another replica may take the
// lease only after that moment (expires_at < now): with clocks in step the
// two never overlap. Should they ever (a clock jump), the store's
// RecordScheduleFired, which only advances, still fires each slot once.
//
// The leader also tidies the leases table: every `sweep_every` it deletes
// the `replica:<id>` rows (lease_model.h ReplicaLeaseName) whose lease ran
// out more than kStaleReplicaLeaseAge ago (each start of a replica adds a
// row; a clean stop releases it, nothing removed it). A live replica renews
// its row every 2 s, so it is never near that age; a replica cut off longer
// than that simply takes a new row at its next renewal. The leader's own
// row and other named leases are never touched.
//
// Stop() releases the lease so a survivor takes over at its next tick
// instead of after the ttl. A replica killed with SIGKILL releases nothing:
// the others take over within ttl + renew_every.
//
// Thread-safe. The clock is injected so tests move time without sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "controller/store/model.h"

namespace clawback::controller {

class Clock;
class Store;

// How long a replica's lease row stays after its lease ran out.
inline constexpr std::chrono::hours kStaleReplicaLeaseAge{1};

struct LeaderLeaseSettings {
  std::string name = "leader";
  std::chrono::seconds ttl{10};
  std::chrono::milliseconds renew_every{2000};
  std::chrono::seconds sweep_every{60};  // stale replica lease rows, while leading
  // Called (on the ticking thread) when this replica becomes or stops being
  // the leader. May be null.
  std::function<void(bool leader)> on_change;
};

class LeaderLease {
 public:
  LeaderLease(Store& store, const Clock& clock, std::string replica_id, LeaderLeaseSettings settings = {});
  ~LeaderLease();  // Stop()
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  // One attempt to take or renew the lease; returns IsLeader() afterwards.
  // A store error is logged and counts as not renewed.
  bool Tick();
  // True while this replica holds a lease that has not run out by the clock.
  bool IsLeader() const;
  // The replica id of the current holder as last seen by Tick() ("" when
  // none or unknown), for /healthz.
  std::string LastSeenLeader() const;

  void Start();  // background thread calling Tick() every renew_every
  // Stops the thread and releases the lease if held. Idempotent.
  void Stop();

  const std::string& replica_id() const { return replica_id_; }

 private:
  void Loop();
  void Publish(bool leader);  // calls on_change when leadership changed
  void SweepStaleReplicaLeases(UnixTime now);  // on the ticking thread, while leading

  Store& store_;
  const Clock& clock_;
  const std::string replica_id_;
  const LeaderLeaseSettings settings_;

  mutable std::mutex mu_;
  UnixTime held_until_ = 0;   // guarded by mu_: 0 when not held
  std::string seen_leader_;   // guarded by mu_
  bool was_leader_ = false;   // guarded by mu_: what on_change last said
  bool stop_ = false;         // guarded by mu_
  bool started_ = false;      // guarded by mu_
  UnixTime next_sweep_ = 0;   // guarded by mu_: when the leader next sweeps stale replica leases
  std::condition_variable wake_;
  std::thread thread_;
  std::mutex stop_mu_;        // serializes Stop()
};

}  // namespace clawback::controller
