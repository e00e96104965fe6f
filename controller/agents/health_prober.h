// Background health prober (private to controller/agents): every `interval`
// it lists the instances and probes them on a small pool of threads, keeping
// the latest InstanceHealth per instance id in a map that Health() reads
// without touching the network.
//
// Thread safety: all methods are thread-safe. `mu_` guards `health_`;
// `control_mu_` guards the thread/stop state. Stop() joins the thread and is
// idempotent; the destructor stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "controller/agents/agent_connector.h"

namespace clawback::controller {

class HealthProber {
 public:
  using ProbeFn = std::function<InstanceHealth(const Instance&)>;

  // `parallelism` probes run at once (each is bounded by its own timeouts).
  HealthProber(ProbeFn probe, int parallelism);
  ~HealthProber();
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  void Start(std::function<std::vector<Instance>()> list_instances, std::chrono::seconds interval);
  void Stop();

  // Last known health, or status "unknown" when never probed.
  InstanceHealth Get(Id instance_id) const;
  void Record(Id instance_id, InstanceHealth health);

  // Probes every instance once, now, and forgets instances no longer listed.
  void ProbeAll(const std::vector<Instance>& instances);

 private:
  void Loop(std::function<std::vector<Instance>()> list_instances, std::chrono::seconds interval);

  const ProbeFn probe_;
  const int parallelism_;

  mutable std::mutex mu_;
  std::map<Id, InstanceHealth> health_;  // guarded by mu_

  std::mutex control_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by control_mu_
  std::thread thread_;     // started/joined under Start/Stop (serialized by start_stop_mu_)
  std::mutex start_stop_mu_;
};

}  // namespace clawback::controller
