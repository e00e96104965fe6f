// State shared by the agent server and its connections. Private to agent/server.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "agent/server/agent_server.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace clawback::agent {

// One loaded set of TLS files. Immutable; connections hold it via shared_ptr,
// so a SIGHUP reload never disturbs a connection already running.
struct TlsState {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::string instance;  // <name> from the server certificate's spiffe://claworc/instance/<name>
};

// Outlives every connection and worker thread (they hold shared_ptrs).
// Counters are atomics; the worker count is guarded by workers_mu_.
class ServerState {
 public:
  explicit ServerState(AgentServerOptions options)
      : options(std::move(options)),
        started_at(std::chrono::steady_clock::now()),
        hooks(this->options.hooks, this->options.root) {}

  const AgentServerOptions options;
  const std::chrono::steady_clock::time_point started_at;
  std::atomic<int> connections{0};
  std::atomic<int> transfers{0};
  std::atomic<bool> stopping{false};
  const QuiesceHooks hooks;  // thread-safe

  // Claims a transfer slot (false when max_transfers are running).
  bool TryStartTransfer() {
    int n = transfers.load();
    while (n < options.max_transfers) {
      if (transfers.compare_exchange_weak(n, n + 1)) return true;
    }
    return false;
  }
  void EndTransfer() { transfers.fetch_sub(1); }

  // Worker threads are detached; Run() waits for all of them before the
  // io_context goes away, so their last post() always finds it alive.
  void WorkerStarted() {
    std::lock_guard lock(workers_mu_);
    ++workers_;
  }
  void WorkerEnded() {
    std::lock_guard lock(workers_mu_);
    if (--workers_ == 0) workers_cv_.notify_all();
  }
  int Workers() {
    std::lock_guard lock(workers_mu_);
    return workers_;
  }
  void WaitForWorkers() {
    std::unique_lock lock(workers_mu_);
    workers_cv_.wait(lock, [&] { return workers_ == 0; });
  }

 private:
  std::mutex workers_mu_;
  std::condition_variable workers_cv_;
  int workers_ = 0;  // guarded by workers_mu_
};

}  // namespace clawback::agent
