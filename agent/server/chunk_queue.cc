#include "agent/server/chunk_queue.h"

#include <algorithm>
#include <cstring>

namespace clawback::agent {

ChunkQueue::ChunkQueue(size_t capacity, size_t chunk_size) : capacity_(capacity), chunk_size_(chunk_size) {}

Status ChunkQueue::Push(const void* data, size_t size) {
  if (size == 0) return Status::Ok();
  bool wake = false;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || queued_ < capacity_; });
    if (closed_) return close_status_;
    if (finished_) return Status::Internal("push after finish");
    const char* p = static_cast<const char*>(data);
    // Coalesce into the tail unless the consumer already holds part of it.
    bool can_append = !chunks_.empty() && !(chunks_.size() == 1 && front_offset_ > 0) &&
                      chunks_.back().size() + size <= chunk_size_;
    if (can_append) {
      chunks_.back().insert(chunks_.back().end(), p, p + size);
    } else {
      std::vector<char> chunk;
      chunk.reserve(std::max(size, std::min(chunk_size_, size * 4)));
      chunk.assign(p, p + size);
      chunks_.push_back(std::move(chunk));
    }
    queued_ += size;
    bytes_in_ += size;
    wake = std::exchange(async_waiting_, false);
  }
  CallWake(wake);
  return Status::Ok();
}

bool ChunkQueue::TryPush(std::vector<char> chunk) {
  std::lock_guard lock(mu_);
  if (closed_ || finished_) return true;  // consumer gone: drop
  if (!chunk.empty()) {
    queued_ += chunk.size();
    bytes_in_ += chunk.size();
    chunks_.push_back(std::move(chunk));
    cv_.notify_all();
  }
  bool room = queued_ < capacity_;
  if (!room) async_waiting_ = true;
  return room;
}

void ChunkQueue::Finish(Status end) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    end_status_ = std::move(end);
    wake = std::exchange(async_waiting_, false);
    cv_.notify_all();
  }
  CallWake(wake);
}

Result<size_t> ChunkQueue::Pop(void* buf, size_t capacity) {
  bool wake = false;
  size_t n = 0;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !chunks_.empty() || finished_; });
    if (closed_) return close_status_;
    if (chunks_.empty()) {
      if (!end_status_.ok()) return end_status_;
      return size_t{0};
    }
    char* out = static_cast<char*>(buf);
    while (n < capacity && !chunks_.empty()) {
      std::vector<char>& front = chunks_.front();
      size_t take = std::min(capacity - n, front.size() - front_offset_);
      std::memcpy(out + n, front.data() + front_offset_, take);
      n += take;
      front_offset_ += take;
      if (front_offset_ == front.size()) {
        chunks_.pop_front();
        front_offset_ = 0;
      }
    }
    queued_ -= n;
    if (queued_ < capacity_) wake = std::exchange(async_waiting_, false);
  }
  CallWake(wake);
  return n;
}

ChunkQueue::PopState ChunkQueue::TryPop(std::vector<char>* out) {
  std::lock_guard lock(mu_);
  if (!chunks_.empty()) {
    *out = std::move(chunks_.front());
    chunks_.pop_front();
    if (front_offset_ > 0) {  // never happens on the async consumer side; kept exact anyway
      out->erase(out->begin(), out->begin() + static_cast<std::ptrdiff_t>(front_offset_));
      front_offset_ = 0;
    }
    queued_ -= out->size();
    cv_.notify_all();
    return PopState::kChunk;
  }
  if (finished_ || closed_) return PopState::kEnd;
  async_waiting_ = true;
  return PopState::kWait;
}

void ChunkQueue::Close(Status why) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    close_status_ = why.ok() ? Status::Canceled("consumer closed the stream") : std::move(why);
    chunks_.clear();
    queued_ = 0;
    front_offset_ = 0;
    wake = std::exchange(async_waiting_, false);
    cv_.notify_all();
  }
  CallWake(wake);
}

uint64_t ChunkQueue::bytes_in() const {
  std::lock_guard lock(mu_);
  return bytes_in_;
}

}  // namespace clawback::agent
