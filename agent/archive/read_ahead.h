// ReadAhead: runs a blocking byte producer (the restore's zstd decompressor)
// on its own thread, a few buffers ahead of the consumer (libarchive's tar
// reader and the disk writer), so decompression and extraction overlap on two
// cores instead of taking turns on one.
//
// Memory is bounded: `buffers` buffers of `buffer_size` bytes, allocated once.
// The producer function is called only on the read-ahead thread, and never
// again after it returned 0 (end) or an error, or after Stop().
//
// Next() and Stop() are for one consumer thread. The destructor stops and
// joins; if the producer is blocked inside a read (waiting for the network),
// the join waits until that read returns — the source's own end, error or
// stall timeout bounds it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "shared/status.h"

namespace clawback::agent {

class ReadAhead {
 public:
  // Returns bytes written into `buf` (at most `capacity`), 0 at the end, or an error.
  using Producer = std::function<Result<size_t>(void* buf, size_t capacity)>;

  ReadAhead(Producer producer, size_t buffers, size_t buffer_size);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  struct Block {
    const char* data = nullptr;
    size_t size = 0;  // 0: the producer reached its end
  };
  // The next block of produced bytes, in order. It stays valid until the next
  // call to Next() or Stop(). After the end or an error, every later call
  // returns the same result.
  Result<Block> Next();

  // Tells the producer to stop after its current read and joins it.
  void Stop();

 private:
  struct Buffer {
    std::vector<char> bytes;
    size_t size = 0;
  };
  void Run();

  Producer producer_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Buffer> free_;      // guarded by mu_
  std::deque<Buffer> filled_;    // guarded by mu_; in production order
  bool producer_done_ = false;   // guarded by mu_: no more buffers will be filled
  Status producer_status_;       // guarded by mu_: why it stopped (OK = clean end)
  bool stop_ = false;            // guarded by mu_
  Buffer lent_;                  // the block the consumer holds; consumer thread only
  bool lent_valid_ = false;
  std::thread thread_;
};

}  // namespace clawback::agent
