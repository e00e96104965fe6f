#include "controller/replicas/leader_lease.h"

#include "controller/clock.h"
#include "controller/store/lease_model.h"
#include "controller/store/store.h"
#include "shared/log.h"

namespace clawback::controller {

LeaderLease::LeaderLease(Store& store, const Clock& clock, std::string replica_id, LeaderLeaseSettings settings)
    : store_(store), clock_(clock), replica_id_(std::move(replica_id)), settings_(std::move(settings)) {}

LeaderLease::~LeaderLease() { Stop(); }

bool LeaderLease::Tick() {
  const UnixTime now = clock_.Now();
  const UnixTime until = now + settings_.ttl.count();
  auto acquired = store_.AcquireLease(settings_.name, replica_id_, now, until);
  std::string holder;
  if (!acquired.ok()) {
    log::Warn("leader lease: cannot take or renew", {{"error", acquired.status().message()}});
  } else if (*acquired) {
    holder = replica_id_;
  } else {
    auto lease = store_.GetLease(settings_.name);
    if (lease.ok() && lease->expires_at >= now) holder = lease->holder;
  }
  {
    std::lock_guard lock(mu_);
    if (acquired.ok()) {
      held_until_ = *acquired ? until : 0;
      seen_leader_ = holder;
    }
    // On a store error the lease we may hold stays ours until held_until_.
  }
  const bool leader = IsLeader();
  Publish(leader);
  if (leader) SweepStaleReplicaLeases(now);
  return leader;
}

void LeaderLease::SweepStaleReplicaLeases(UnixTime now) {
  {
    std::lock_guard lock(mu_);
    if (now < next_sweep_) return;
    next_sweep_ = now + settings_.sweep_every.count();
  }
  const UnixTime before = now - std::chrono::duration_cast<std::chrono::seconds>(kStaleReplicaLeaseAge).count();
  auto removed = store_.DeleteExpiredLeases(std::string(kReplicaLeasePrefix), before);
  if (!removed.ok()) {
    log::Warn("cannot remove stale replica leases", {{"error", removed.status().message()}});
  } else if (*removed > 0) {
    log::Info("removed stale replica leases", {{"count", *removed}});
  }
}

bool LeaderLease::IsLeader() const {
  std::lock_guard lock(mu_);
  return held_until_ != 0 && clock_.Now() < held_until_;
}

std::string LeaderLease::LastSeenLeader() const {
  std::lock_guard lock(mu_);
  if (held_until_ != 0 && clock_.Now() >= held_until_) return "";
  return seen_leader_;
}

void LeaderLease::Publish(bool leader) {
  {
    std::lock_guard lock(mu_);
    if (leader == was_leader_) return;
    was_leader_ = leader;
  }
  if (leader) {
    log::Info("this replica is now the leader", {{"replica", replica_id_}});
  } else {
    log::Warn("this replica is no longer the leader", {{"replica", replica_id_}});
  }
  if (settings_.on_change) settings_.on_change(leader);
}

void LeaderLease::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void LeaderLease::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Tick();
    lock.lock();
    wake_.wait_for(lock, settings_.renew_every, [this] { return stop_; });
  }
}

void LeaderLease::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  bool held = false;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    held = held_until_ != 0;
    held_until_ = 0;
    started_ = false;
  }
  if (held) {
    Status st = store_.ReleaseLease(settings_.name, replica_id_);
    if (!st.ok()) log::Warn("leader lease: cannot release", {{"error", st.message()}});
  }
  Publish(false);
}

}  // namespace clawback::controller
