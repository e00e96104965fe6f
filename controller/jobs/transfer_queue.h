// The transfer queue (private to controller/jobs): FIFO jobs keyed by the
// instance they touch, run on `workers` threads. At most `workers` jobs run
// at once and at most one per instance; a job whose instance is busy waits
// without blocking later jobs of other instances.
//
// Thread safety: all methods are thread-safe; `mu_` guards everything below
// it. Jobs run without the lock held, so they may call back into the queue.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "controller/store/model.h"

namespace clawback::controller {

class TransferQueue {
 public:
  using Ticket = uint64_t;

  explicit TransferQueue(int workers);
  ~TransferQueue();  // Stop()
  TransferQueue(const TransferQueue&) = delete;
  TransferQueue& operator=(const TransferQueue&) = delete;

  // Queues `run` for `instance_id`. Returns 0 once stopped.
  Ticket Push(Id instance_id, std::function<void()> run);
  // Removes a job that has not started. False when running, done or unknown.
  bool RemoveQueued(Ticket ticket);
  // Stops accepting and starting jobs, returns the tickets of jobs that never
  // started, and joins the workers (waiting for running jobs to return).
  std::vector<Ticket> Stop();

  int Running() const;
  int Queued() const;

 private:
  struct Job {
    Ticket ticket;
    Id instance_id;
    std::function<void()> run;
  };
  void Work();

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> queued_;        // FIFO
  std::set<Id> busy_instances_;   // instances with a running job
  int running_ = 0;
  Ticket next_ticket_ = 1;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::mutex stop_mu_;            // serializes Stop()
};

}  // namespace clawback::controller
