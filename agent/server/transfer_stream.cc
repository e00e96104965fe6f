#include "agent/server/transfer_stream.h"

#include <sys/socket.h>

#include <algorithm>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace clawback::agent {
namespace {

namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;

}  // namespace

TransferStream::TransferStream(Stream stream, std::chrono::seconds stall_timeout)
    : stream_(std::move(stream)),
      fd_(boost::beast::get_lowest_layer(stream_).socket().native_handle()),
      stall_timeout_(stall_timeout) {
  boost::beast::get_lowest_layer(stream_).expires_never();
  watchdog_ = std::thread([this] { Watch(); });
}

TransferStream::~TransferStream() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  watchdog_.join();
  boost::system::error_code ec;
  boost::beast::get_lowest_layer(stream_).socket().close(ec);
}

void TransferStream::Watch() {
  // Checks a few times per timeout; never sleeps past a stop.
  const auto tick = std::clamp<SteadyClock::duration>(stall_timeout_ / 10, std::chrono::milliseconds(100),
                                                      std::chrono::seconds(1));
  uint64_t last = moved_.load(std::memory_order_relaxed);
  auto last_change = SteadyClock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, tick);
    if (stop_) return;
    const uint64_t now_moved = moved_.load(std::memory_order_relaxed);
    const auto now = SteadyClock::now();
    if (now_moved != last) {
      last = now_moved;
      last_change = now;
    } else if (now - last_change >= stall_timeout_) {
      stalled_.store(true);
      ShutdownSocket();
      return;
    }
  }
}

void TransferStream::ShutdownSocket() {
  // ::shutdown on the descriptor (not the Asio object, which the transfer
  // thread may be inside): a blocked poll/recv/send returns at once.
  ::shutdown(fd_, SHUT_RDWR);
}

void TransferStream::Interrupt(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (interrupted_.empty()) interrupted_ = why;
  }
  ShutdownSocket();
}

void TransferStream::FinishWrites() { ::shutdown(fd_, SHUT_WR); }

Status TransferStream::Broken(const boost::system::error_code& ec, const char* what) {
  if (stalled_.load())
    return Status::Unavailable("no progress for " + std::to_string(stall_timeout_.count()) + " s (stall timeout)");
  {
    std::lock_guard lock(mu_);
    if (!interrupted_.empty()) return Status::Unavailable(interrupted_);
  }
  return Status::Unavailable(std::string(what) + ": " + ec.message());
}

Status TransferStream::WriteAll(const void* data, size_t size) {
  boost::system::error_code ec;
  // One TLS record per step inside Asio's engine, straight to the socket.
  const size_t n = net::write(stream_, net::buffer(data, size), ec);
  moved_.fetch_add(n, std::memory_order_relaxed);
  if (ec) return Broken(ec, "writing to the controller");
  return Status::Ok();
}

Result<size_t> TransferStream::ReadSome(void* buf, size_t capacity) {
  boost::system::error_code ec;
  const size_t n = stream_.read_some(net::buffer(buf, capacity), ec);
  moved_.fetch_add(n, std::memory_order_relaxed);
  if (n > 0) return n;
  if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
    if (stalled_.load()) return Broken(ec, "reading");
    {
      std::lock_guard lock(mu_);
      if (!interrupted_.empty()) return Status::Unavailable(interrupted_);
    }
    return size_t{0};
  }
  return Broken(ec, "reading from the controller");
}

}  // namespace clawback::agent
