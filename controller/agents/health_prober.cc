#include "controller/agents/health_prober.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "controller/background_priority.h"
#include "shared/log.h"

namespace clawback::controller {

HealthProber::HealthProber(ProbeFn probe, int parallelism)
    : probe_(std::move(probe)), parallelism_(std::max(1, parallelism)) {}

HealthProber::~HealthProber() { Stop(); }

void HealthProber::Start(std::function<std::vector<Instance>()> list_instances, std::chrono::seconds interval) {
  std::lock_guard start_stop(start_stop_mu_);
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(control_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, list = std::move(list_instances), interval] {
    LowerThisThreadForBulkWork();  // and the probe threads it starts
    Loop(list, interval);
  });
}

void HealthProber::Stop() {
  std::lock_guard start_stop(start_stop_mu_);
  {
    std::lock_guard lock(control_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

InstanceHealth HealthProber::Get(Id instance_id) const {
  std::lock_guard lock(mu_);
  auto it = health_.find(instance_id);
  if (it == health_.end()) return InstanceHealth{};
  return it->second;
}

void HealthProber::Record(Id instance_id, InstanceHealth health) {
  std::lock_guard lock(mu_);
  health_[instance_id] = std::move(health);
}

void HealthProber::ProbeAll(const std::vector<Instance>& instances) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < instances.size(); i = next++) {
      Record(instances[i].id, probe_(instances[i]));
    }
  };
  size_t workers = std::min<size_t>(static_cast<size_t>(parallelism_), instances.size());
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t i = 1; i < workers; ++i) pool.emplace_back(work);
  if (workers > 0) work();  // this thread is one of the workers
  for (std::thread& t : pool) t.join();

  std::set<Id> listed;
  for (const Instance& instance : instances) listed.insert(instance.id);
  std::lock_guard lock(mu_);
  for (auto it = health_.begin(); it != health_.end();) {
    it = listed.count(it->first) ? std::next(it) : health_.erase(it);
  }
}

void HealthProber::Loop(std::function<std::vector<Instance>()> list_instances, std::chrono::seconds interval) {
  for (;;) {
    ProbeAll(list_instances());
    std::unique_lock lock(control_mu_);
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) return;
  }
}

}  // namespace clawback::controller
