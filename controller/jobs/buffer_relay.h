// Fixed buffers handed between two threads of one transfer (private to
// controller/jobs): a producer takes an empty buffer, fills it and passes it
// on; the consumer takes full buffers in order, drains them and gives them
// back. `count` buffers of `size` bytes are allocated once, so a transfer's
// memory is count * size however fast either side runs; a side that gets
// ahead waits.
//
// Finish() (producer: nothing more) lets the consumer drain what is queued
// and then see the end; Abort() (either side, on an error) wakes everyone and
// makes every later call return "nothing". Thread-safe for one producer and
// one consumer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace clawback::controller {

class BufferRelay {
 public:
  BufferRelay(size_t count, size_t size);
  BufferRelay(const BufferRelay&) = delete;
  BufferRelay& operator=(const BufferRelay&) = delete;

  size_t buffer_size() const { return size_; }

  // Producer: an empty buffer (waits for one); nullopt after Abort().
  std::optional<std::span<char>> TakeEmpty();
  // Producer: the first `used` bytes of `buffer` (from TakeEmpty) are ready.
  void PassFull(std::span<char> buffer, size_t used);
  // Producer: no more buffers will be passed.
  void Finish();

  // Consumer: the next full buffer in order (waits for one); nullopt at the
  // end (after Finish() once all are taken) or after Abort().
  std::optional<std::span<char>> TakeFull();
  // Consumer: `buffer` (from TakeFull) may be refilled.
  void GiveBack(std::span<char> buffer);

  void Abort();
  bool aborted() const;

 private:
  const size_t size_;
  std::unique_ptr<char[]> storage_;  // not zero-filled: pages are touched as used
  mutable std::mutex mu_;            // guards everything below
  std::condition_variable changed_;
  std::vector<char*> empty_;
  std::deque<std::span<char>> full_;
  bool finished_ = false;
  bool aborted_ = false;
};

}  // namespace clawback::controller
