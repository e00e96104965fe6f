// TransferStream: a connection's TLS stream, handed over by the connection
// once it has accepted a backup or restore request, for synchronous blocking
// I/O on the transfer's own threads. Each read or write moves TLS records
// between the socket and the caller's buffer directly: no Asio completion,
// strand hop, queue wake-up or timer per record (the per-record stepping that
// held the old data path at a fraction of tar | zstd).
//
// Stalls: a watchdog thread shuts the socket down when no byte has moved for
// `stall_timeout`; the blocked call then fails and stalled() is true.
// Interrupt() does the same at once (agent shutdown, cancel). After either,
// every call fails.
//
// Thread safety: Interrupt(), stalled() and bytes_*() from any thread. The
// stream itself must not be used by two threads at once (OpenSSL's rule); a
// restore reads on its read-ahead thread and answers once that is joined.
// Private to agent/server.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "shared/status.h"

namespace clawback::agent {

class TransferStream {
 public:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // Takes the stream (no asynchronous operation may be pending on it) and
  // starts the watchdog.
  TransferStream(Stream stream, std::chrono::seconds stall_timeout);
  // Stops the watchdog and closes the connection.
  ~TransferStream();
  TransferStream(const TransferStream&) = delete;
  TransferStream& operator=(const TransferStream&) = delete;

  // Writes every byte, blocking. Unavailable once the peer is gone, the
  // stream stalled or was interrupted (the message says which).
  Status WriteAll(const void* data, size_t size);
  // Reads at least one byte (blocking); 0 when the peer closed the
  // connection. Errors as for WriteAll.
  Result<size_t> ReadSome(void* buf, size_t capacity);

  // For Beast's synchronous http::read/write on the same thread; progress made
  // through it must be reported with Moved().
  Stream& stream() { return stream_; }
  void Moved(size_t bytes) { moved_.fetch_add(bytes, std::memory_order_relaxed); }

  // Ends the connection now; any blocked call fails with `why`.
  void Interrupt(const std::string& why);
  bool stalled() const { return stalled_.load(); }
  // Half-closes for writing once a response is complete, so the peer sees
  // the end at once, then the destructor closes.
  void FinishWrites();

 private:
  void Watch();
  void ShutdownSocket();
  Status Broken(const boost::system::error_code& ec, const char* what);

  Stream stream_;
  const int fd_;
  const std::chrono::seconds stall_timeout_;
  std::atomic<uint64_t> moved_{0};
  std::atomic<bool> stalled_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;             // guarded by mu_
  std::string interrupted_;       // guarded by mu_: why Interrupt() was called
  std::thread watchdog_;
};

}  // namespace clawback::agent
