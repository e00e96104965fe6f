#include "controller/jobs/buffer_relay.h"

namespace clawback::controller {

BufferRelay::BufferRelay(size_t count, size_t size) : size_(size), storage_(new char[count * size]) {
  for (size_t i = 0; i < count; ++i) empty_.push_back(storage_.get() + i * size);
}

std::optional<std::span<char>> BufferRelay::TakeEmpty() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return aborted_ || !empty_.empty(); });
  if (aborted_) return std::nullopt;
  char* b = empty_.back();
  empty_.pop_back();
  return std::span<char>(b, size_);
}

void BufferRelay::PassFull(std::span<char> buffer, size_t used) {
  {
    std::lock_guard lock(mu_);
    full_.push_back(buffer.first(used));
  }
  changed_.notify_all();
}

void BufferRelay::Finish() {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  changed_.notify_all();
}

std::optional<std::span<char>> BufferRelay::TakeFull() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return aborted_ || finished_ || !full_.empty(); });
  if (aborted_ || full_.empty()) return std::nullopt;
  std::span<char> b = full_.front();
  full_.pop_front();
  return b;
}

void BufferRelay::GiveBack(std::span<char> buffer) {
  {
    std::lock_guard lock(mu_);
    empty_.push_back(buffer.data());
  }
  changed_.notify_all();
}

void BufferRelay::Abort() {
  {
    std::lock_guard lock(mu_);
    aborted_ = true;
  }
  changed_.notify_all();
}

bool BufferRelay::aborted() const {
  std::lock_guard lock(mu_);
  return aborted_;
}

}  // namespace clawback::controller
