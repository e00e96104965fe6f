#include "agent/archive/read_ahead.h"

#include <utility>

namespace clawback::agent {

ReadAhead::ReadAhead(Producer producer, size_t buffers, size_t buffer_size) : producer_(std::move(producer)) {
  for (size_t i = 0; i < (buffers < 2 ? 2 : buffers); ++i) free_.push_back(Buffer{std::vector<char>(buffer_size), 0});
  thread_ = std::thread([this] { Run(); });
}

ReadAhead::~ReadAhead() { Stop(); }

void ReadAhead::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadAhead::Run() {
  for (;;) {
    Buffer buffer;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) break;
      buffer = std::move(free_.front());
      free_.pop_front();
    }
    // Fill the whole buffer (fewer hand-overs), or up to the end or an error.
    buffer.size = 0;
    Status status;
    bool end = false;
    while (buffer.size < buffer.bytes.size()) {
      Result<size_t> n = producer_(buffer.bytes.data() + buffer.size, buffer.bytes.size() - buffer.size);
      if (!n.ok()) {
        status = n.status();
        break;
      }
      if (*n == 0) {
        end = true;
        break;
      }
      buffer.size += *n;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (buffer.size > 0) filled_.push_back(std::move(buffer));
    if (!status.ok() || end) {
      producer_status_ = status;
      producer_done_ = true;
      changed_.notify_all();
      return;
    }
    changed_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  producer_done_ = true;
  producer_status_ = Status::Canceled("read-ahead stopped");
  changed_.notify_all();
}

Result<ReadAhead::Block> ReadAhead::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (lent_valid_) {
    free_.push_back(std::move(lent_));
    lent_valid_ = false;
    changed_.notify_all();
  }
  changed_.wait(lock, [&] { return !filled_.empty() || producer_done_; });
  if (filled_.empty()) {
    if (!producer_status_.ok()) return producer_status_;
    return Block{};
  }
  lent_ = std::move(filled_.front());
  filled_.pop_front();
  lent_valid_ = true;
  return Block{lent_.bytes.data(), lent_.size};
}

}  // namespace clawback::agent
