#include "controller/jobs/transfer_queue.h"

#include <algorithm>

#include "controller/background_priority.h"

namespace clawback::controller {

TransferQueue::TransferQueue(int workers) {
  workers = std::max(1, workers);
  workers_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    workers_.emplace_back([this] {
      LowerThisThreadForBulkWork();  // and the archive writer threads its jobs start
      Work();
    });
  }
}

TransferQueue::~TransferQueue() { Stop(); }

TransferQueue::Ticket TransferQueue::Push(Id instance_id, std::function<void()> run) {
  std::lock_guard lock(mu_);
  if (stopping_) return 0;
  Ticket ticket = next_ticket_++;
  queued_.push_back(Job{ticket, instance_id, std::move(run)});
  changed_.notify_all();
  return ticket;
}

bool TransferQueue::RemoveQueued(Ticket ticket) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(queued_.begin(), queued_.end(), [&](const Job& j) { return j.ticket == ticket; });
  if (it == queued_.end()) return false;
  queued_.erase(it);
  return true;
}

std::vector<TransferQueue::Ticket> TransferQueue::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  std::vector<Ticket> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (const Job& job : queued_) dropped.push_back(job.ticket);
    queued_.clear();
  }
  changed_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  return dropped;
}

int TransferQueue::Running() const {
  std::lock_guard lock(mu_);
  return running_;
}

int TransferQueue::Queued() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(queued_.size());
}

void TransferQueue::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    auto runnable = queued_.end();
    changed_.wait(lock, [&] {
      if (stopping_) return true;
      runnable = std::find_if(queued_.begin(), queued_.end(),
                              [&](const Job& j) { return busy_instances_.count(j.instance_id) == 0; });
      return runnable != queued_.end();
    });
    if (stopping_) return;
    Job job = std::move(*runnable);
    queued_.erase(runnable);
    busy_instances_.insert(job.instance_id);
    ++running_;

    lock.unlock();
    job.run();
    job.run = nullptr;  // release captures outside the lock
    lock.lock();

    busy_instances_.erase(job.instance_id);
    --running_;
    changed_.notify_all();
  }
}

}  // namespace clawback::controller
