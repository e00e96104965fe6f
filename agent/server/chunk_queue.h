// A bounded byte queue between a blocking worker thread (the archive engine)
// and a connection's asynchronous I/O side. Private to agent/server.
//
// Backup: the worker Push()es compressed bytes (blocking while the queue holds
// `capacity` bytes or more); the connection TryPop()s chunks to write. Restore:
// the connection TryPush()es body chunks as they arrive; the worker Pop()s.
//
// The asynchronous side never blocks. When it finds nothing to do (TryPop on
// an empty queue, TryPush into a full one) the queue remembers that it waits
// and calls the wake function, outside the lock and from the blocking side's
// thread, once progress is possible. The wake function must only post work to
// the connection's executor.
//
// Memory is bounded by capacity plus one chunk: small pushes are coalesced into
// the tail chunk up to `chunk_size`, so the writer sends large chunks when the
// network is slower than the producer, and sends at once when it is idle.
//
// Thread safety: all members are safe to call from any thread; `mu_` guards
// the state.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "shared/status.h"

namespace clawback::agent {

class ChunkQueue {
 public:
  ChunkQueue(size_t capacity, size_t chunk_size);
  ChunkQueue(const ChunkQueue&) = delete;
  ChunkQueue& operator=(const ChunkQueue&) = delete;

  // Set once, before either side starts.
  void SetWake(std::function<void()> wake) { wake_ = std::move(wake); }

  // --- Producer side ---
  // Blocking: waits for room; fails with the Close() status when the consumer
  // went away.
  Status Push(const void* data, size_t size);
  // Non-blocking: always takes the chunk (dropped after Close()). Returns false
  // when the queue is now full: the producer should pause until wake().
  bool TryPush(std::vector<char> chunk);
  // No more data: OK for a whole stream, or why it broke. Later pushes are
  // ignored. Wakes a waiting consumer.
  void Finish(Status end);

  // --- Consumer side ---
  // Blocking: copies up to `capacity` bytes; 0 at a clean end; the Finish()
  // status when the stream broke.
  Result<size_t> Pop(void* buf, size_t capacity);
  enum class PopState { kChunk, kWait, kEnd };
  // Non-blocking: kChunk moves the front chunk into *out; kWait means wake()
  // follows when data or the end arrives; kEnd means finished and drained.
  PopState TryPop(std::vector<char>* out);
  // The consumer is gone (connection lost, extraction over): unblocks and
  // fails the producer's Push with `why`, and wakes a paused TryPush producer.
  void Close(Status why);

  uint64_t bytes_in() const;  // total bytes accepted from the producer

 private:
  void CallWake(bool should) {
    if (should && wake_) wake_();
  }

  const size_t capacity_;
  const size_t chunk_size_;
  std::function<void()> wake_;

  mutable std::mutex mu_;
  std::condition_variable cv_;           // blocking side waits here
  std::deque<std::vector<char>> chunks_;  // guarded by mu_
  size_t front_offset_ = 0;              // bytes of chunks_.front() already popped
  size_t queued_ = 0;                    // bytes in chunks_ not yet popped
  uint64_t bytes_in_ = 0;
  bool async_waiting_ = false;           // the async side waits for wake()
  bool finished_ = false;
  Status end_status_;
  bool closed_ = false;
  Status close_status_;
};

}  // namespace clawback::agent
