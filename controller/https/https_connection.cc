#include "controller/https/https_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <cstring>

namespace clawback::controller::https {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kCancelPoll{100};
// OpenSSL reads this much ciphertext per read(2) (read-ahead), so one wake-up
// takes in many records; the plaintext buffer holds what the parser has not
// consumed yet.
constexpr size_t kTlsReadAhead = 256 * 1024;
constexpr size_t kPlaintextBuffer = 128 * 1024;

std::string ErrnoText(int err) {
  return std::strerror(err);
}

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

// Waits on one fd until `events`, the deadline, or cancel.
Status PollUntil(int fd, short events, Clock::time_point deadline, const std::atomic<bool>* cancel,
                 const char* timeout_text) {
  for (;;) {
    if (cancel != nullptr && cancel->load()) return Status::Canceled("canceled");
    auto now = Clock::now();
    if (now >= deadline) return Status::DeadlineExceeded(timeout_text);
    auto slice = std::min<milliseconds>(
        kCancelPoll, std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1));
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(slice.count()));
    if (rc > 0) return Status::Ok();
    if (rc < 0 && errno != EINTR) return Status::Internal("poll failed: " + ErrnoText(errno));
  }
}

// Non-blocking TCP connect to the first address that answers.
Result<int> ConnectTcp(const ConnectOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &found);
  if (rc != 0) return Status::Unavailable("cannot resolve " + options.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);

  const auto deadline = Clock::now() + options.timeout;
  std::string last_error = "no address";
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    FdCloser sock{::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)};
    if (sock.fd < 0) {
      last_error = ErrnoText(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(sock.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(sock.fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = ErrnoText(errno);
        continue;
      }
      Status waited = PollUntil(sock.fd, POLLOUT, deadline, options.cancel, "connection timed out");
      if (!waited.ok()) {
        if (waited.code() == Status::Code::kDeadlineExceeded)
          return Status::Unavailable("connection timed out");
        return waited;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = ErrnoText(err);
        continue;
      }
    }
    return sock.release();
  }
  return Status::Unavailable(LowerFirst(last_error));
}

}  // namespace

std::string EncodeRequestHead(const RequestHead& head) {
  std::string out = head.method + " " + head.target + " HTTP/1.1\r\nHost: " + head.host + "\r\n";
  for (const auto& [name, value] : head.fields) out += name + ": " + value + "\r\n";
  if (head.content_length) out += "Content-Length: " + std::to_string(*head.content_length) + "\r\n";
  out += "Connection: close\r\n\r\n";
  return out;
}

struct Connection::Parser {
  http::response_parser<http::buffer_body> impl;
  uint64_t body_bytes = 0;
};

Connection::Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl), in_(kPlaintextBuffer), parser_(new Parser) {}

Connection::~Connection() {
  SSL_free(ssl_);
  ::close(fd_);
}

Result<std::unique_ptr<Connection>> Connection::Open(SSL_CTX* ctx, const ConnectOptions& options) {
  auto fd = ConnectTcp(options);
  if (!fd.ok()) return fd.status();
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) {
    ::close(*fd);
    return Status::Internal("SSL_new failed: " + OpenSslErrors());
  }
  std::unique_ptr<Connection> conn(new Connection(*fd, ssl));
  SSL_set_fd(ssl, *fd);
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kTlsReadAhead);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (options.session != nullptr) SSL_set_session(ssl, options.session);
  conn->cancel_ = options.cancel;
  conn->stall_ = options.timeout;
  conn->last_progress_ = Clock::now();
  for (;;) {
    ERR_clear_error();
    int ret = SSL_connect(ssl);
    if (ret == 1) break;
    int err = SSL_get_error(ssl, ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      Status waited = conn->Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
      if (waited.code() == Status::Code::kDeadlineExceeded) {
        return Status::Unavailable("TLS handshake failed: timed out");
      }
      CLAWBACK_RETURN_IF_ERROR(waited);
      continue;
    }
    std::string detail = OpenSslErrors();
    if (detail.empty())
      detail = err == SSL_ERROR_SYSCALL && errno != 0 ? ErrnoText(errno) : "connection closed";
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    return Status::Unavailable("TLS handshake failed: " + detail);
  }
  return conn;
}

SessionPtr Connection::ResumableSession() const {
  SSL_SESSION* current = SSL_get0_session(ssl_);
  if (current == nullptr || SSL_SESSION_is_resumable(current) != 1) return nullptr;
  // A copy: freeing an SSL that was not shut down marks its own session
  // object not resumable (OpenSSL's ssl_clear_bad_session), and connections
  // here end without a TLS close_notify exchange (Connection: close).
  return SessionPtr(SSL_SESSION_dup(current));
}

Status Connection::Wait(short events) {
  return PollUntil(fd_, events, last_progress_ + stall_, cancel_, "stalled");
}

Status Connection::SslFailure(int ret, const char* what) {
  int err = SSL_get_error(ssl_, ret);
  std::string detail = OpenSslErrors();
  if (err == SSL_ERROR_SYSCALL ||
      (err == SSL_ERROR_SSL && detail.find("unexpected eof") != std::string::npos)) {
    int e = errno;
    std::string why = e == ECONNRESET ? "connection reset by peer"
                      : e == EPIPE    ? "broken pipe"
                                      : "connection closed";
    return Status::Unavailable(why + " while " + what);
  }
  return Status::Internal(std::string("TLS error while ") + what + ": " +
                          (detail.empty() ? "unknown" : detail));
}

Status Connection::WriteAll(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ERR_clear_error();
    errno = 0;
    size_t wrote = 0;
    int ret = SSL_write_ex(ssl_, p, size, &wrote);
    if (ret == 1) {
      p += wrote;
      size -= wrote;
      last_progress_ = Clock::now();
      continue;
    }
    int err = SSL_get_error(ssl_, ret);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      CLAWBACK_RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN));
      continue;
    }
    return SslFailure(ret, "writing");
  }
  return Status::Ok();
}

Result<size_t> Connection::ReadSome(char* buf, size_t capacity) {
  size_t total = 0;
  while (total < capacity) {
    ERR_clear_error();
    errno = 0;
    size_t got = 0;
    int ret = SSL_read_ex(ssl_, buf + total, capacity - total, &got);
    if (ret == 1) {
      total += got;
      last_progress_ = Clock::now();
      // Keep decrypting only what is already buffered: no extra syscall.
      if (!SSL_has_pending(ssl_)) break;
      continue;
    }
    int err = SSL_get_error(ssl_, ret);
    if (total > 0) break;  // report what arrived; the error shows on the next call
    if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      CLAWBACK_RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT));
      continue;
    }
    return SslFailure(ret, "reading");
  }
  return total;
}

Result<size_t> Connection::Fill() {
  if (in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_end_ == in_.size()) return Status::Corruption("HTTP response head too large");
  auto got = ReadSome(in_.data() + in_end_, in_.size() - in_end_);
  if (!got.ok()) return got.status();
  in_end_ += *got;
  return *got;
}

Result<int> Connection::ReadResponseHead(size_t header_limit) {
  auto& p = parser_->impl;
  p.header_limit(static_cast<std::uint32_t>(header_limit));
  p.body_limit(boost::none);
  while (!p.is_header_done()) {
    if (in_begin_ == in_end_) {
      auto got = Fill();
      if (!got.ok()) return got.status();
      if (*got == 0) return Status::Unavailable("connection closed before the response");
    }
    boost::system::error_code ec;
    size_t used = p.put(boost::asio::buffer(in_.data() + in_begin_, in_end_ - in_begin_), ec);
    in_begin_ += used;
    if (ec == http::error::need_more) {
      auto got = Fill();
      if (!got.ok()) return got.status();
      if (*got == 0) return Status::Unavailable("connection closed before the response");
      continue;
    }
    if (ec) return Status::Corruption("malformed HTTP response: " + ec.message());
  }
  p.eager(true);
  return static_cast<int>(p.get().result_int());
}

Result<size_t> Connection::ReadBody(char* buf, size_t capacity) {
  auto& p = parser_->impl;
  if (!p.is_header_done()) return Status::Internal("ReadBody before ReadResponseHead");
  if (p.is_done() || capacity == 0) return size_t{0};
  auto& body = p.get().body();
  body.data = buf;
  body.size = capacity;
  body.more = true;
  while (!p.is_done() && body.size > 0) {
    if (in_begin_ == in_end_) {
      // Deliver what we have before blocking for more.
      if (body.size < capacity) break;
      auto got = Fill();
      if (!got.ok()) return got.status();
      if (*got == 0) {
        boost::system::error_code ec;
        p.put_eof(ec);
        if (ec || !p.is_done()) return Status::Unavailable("connection closed before the end of the body");
        break;
      }
    }
    boost::system::error_code ec;
    size_t used = p.put(boost::asio::buffer(in_.data() + in_begin_, in_end_ - in_begin_), ec);
    in_begin_ += used;
    if (ec == http::error::need_buffer) break;
    if (ec == http::error::need_more) {
      if (body.size < capacity) break;
      auto got = Fill();
      if (!got.ok()) return got.status();
      if (*got == 0) return Status::Unavailable("connection closed before the end of the body");
      continue;
    }
    if (ec) return Status::Corruption("malformed HTTP response body: " + ec.message());
  }
  size_t n = capacity - body.size;
  body.data = nullptr;
  body.size = 0;
  parser_->body_bytes += n;
  return n;
}

Result<std::string> Connection::ReadBodyToString(size_t limit) {
  std::string out;
  char chunk[16 * 1024];
  for (;;) {
    auto got = ReadBody(chunk, sizeof chunk);
    if (!got.ok()) return got.status();
    if (*got == 0) return out;
    if (out.size() + *got > limit)
      return Status::ResourceExhausted("response body larger than " + std::to_string(limit) + " bytes");
    out.append(chunk, *got);
  }
}

std::string Connection::Field(std::string_view name) const {
  const auto& fields = parser_->impl.get().base();
  return std::string(fields[boost::beast::string_view(name.data(), name.size())]);
}

uint64_t Connection::body_bytes() const {
  return parser_->body_bytes;
}

}  // namespace clawback::controller::https
