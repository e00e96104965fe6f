#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace clawback::testing {

// A connection: plain, or TLS when `ssl` is set (client side only).
struct FaultProxy::Stream {
  int fd = -1;
  SSL* ssl = nullptr;
};

namespace {

using Stream = FaultProxy::Stream;

bool SendAll(Stream& s, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = s.ssl != nullptr ? SSL_write(s.ssl, data, static_cast<int>(size)) : ::send(s.fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The value of header `name` (lower case) in `head`, if present.
std::optional<std::string> Header(const std::string& head, const std::string& name) {
  const std::string lower = Lower(head);
  size_t at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return std::nullopt;
  at += name.size() + 3;
  size_t end = lower.find("\r\n", at);
  std::string value = lower.substr(at, end - at);
  value.erase(0, value.find_first_not_of(" \t"));
  return value;
}

size_t ContentLength(const std::string& head) {
  auto v = Header(head, "content-length");
  return v ? static_cast<size_t>(std::strtoull(v->c_str(), nullptr, 10)) : 0;
}

// `head` without its header lines named `name` (lower case).
std::string WithoutHeader(const std::string& head, const std::string& name) {
  std::string out;
  size_t at = 0;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    end = end == std::string::npos ? head.size() : end + 2;
    std::string line = head.substr(at, end - at);
    if (!Lower(line).starts_with(name + ":")) out += line;
    at = end;
  }
  return out;
}

// Appends what `fd` has to `buf`; false at EOF, on an error, or when `stop`.
bool ReadMore(Stream& s, std::string& buf, const std::atomic<bool>& stop) {
  char chunk[65536];
  while (!stop.load()) {
    if (s.ssl == nullptr || SSL_pending(s.ssl) == 0) {
      pollfd p{s.fd, POLLIN, 0};
      int r = ::poll(&p, 1, 200);
      if (r < 0) return false;
      if (r == 0) continue;
    }
    ssize_t n = s.ssl != nullptr ? SSL_read(s.ssl, chunk, sizeof chunk) : ::recv(s.fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  }
  return false;
}

// Sends `n` bytes read from `from` (`buf` holding what was read ahead) to
// `to` (null: discard them).
bool Pass(Stream& from, std::string& buf, Stream* to, size_t n, const std::atomic<bool>& stop) {
  while (n > 0) {
    if (buf.empty() && !ReadMore(from, buf, stop)) return false;
    size_t take = std::min(n, buf.size());
    if (to != nullptr && !SendAll(*to, buf.data(), take)) return false;
    buf.erase(0, take);
    n -= take;
  }
  return true;
}

// One "\r\n"-terminated line from `from` into `line` (with the CRLF).
bool ReadLine(Stream& from, std::string& buf, std::string& line, const std::atomic<bool>& stop) {
  size_t end;
  while ((end = buf.find("\r\n")) == std::string::npos) {
    if (!ReadMore(from, buf, stop)) return false;
  }
  line = buf.substr(0, end + 2);
  buf.erase(0, end + 2);
  return true;
}

}  // namespace

FaultProxy::FaultProxy(uint16_t upstream_port, const std::string& tls_cert_file, const std::string& tls_key_file)
    : upstream_(upstream_port) {
  if (!tls_cert_file.empty()) {
    tls_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(tls_, tls_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      std::abort();  // a broken test setup, not a fault to inject
    }
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FaultProxy::~FaultProxy() { Stop(); }

void FaultProxy::Stop() {
  if (stop_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  if (tls_ != nullptr) SSL_CTX_free(tls_);
  tls_ = nullptr;
}

void FaultProxy::AddRule(Rule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back({std::move(rule)});
}

std::vector<std::string> FaultProxy::RequestLines() {
  std::lock_guard lock(mu_);
  return lines_;
}

void FaultProxy::Serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, client] { Handle(client); });
  }
}

void FaultProxy::Handle(int fd) {
  ++connections_;
  Stream client{fd, nullptr};
  if (tls_ != nullptr) {
    timeval limit{5, 0};  // a client that never completes its handshake
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    client.ssl = SSL_new(tls_);
    SSL_set_fd(client.ssl, fd);
    if (SSL_accept(client.ssl) == 1) {
      ++tls_handshakes_;
      if (SSL_session_reused(client.ssl) == 1) ++tls_resumed_;
    } else {
      SSL_free(client.ssl);
      ::close(fd);
      return;
    }
  }
  std::string pending;  // bytes read from the client beyond the last request
  while (!stop_.load() && Relay(client, pending)) {
  }
  if (client.ssl != nullptr) SSL_free(client.ssl);
  ::close(fd);
}

bool FaultProxy::Relay(Stream& client, std::string& pending) {
  size_t head_end;
  while ((head_end = pending.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore(client, pending, stop_)) return false;
  }
  const std::string head = pending.substr(0, head_end + 4);
  pending.erase(0, head_end + 4);
  const std::string line = head.substr(0, head.find("\r\n"));
  std::optional<Rule> fire;
  {
    std::lock_guard lock(mu_);
    lines_.push_back(line);
    for (Armed& a : rules_) {
      if (line.find(a.rule.match) == std::string::npos) continue;
      ++a.seen;
      if (a.seen >= a.rule.nth && a.fired < a.rule.times) {
        ++a.fired;
        fire = a.rule;
        break;
      }
    }
  }
  const size_t body_size = ContentLength(head);
  if (fire) ++injected_;
  if (fire && fire->fault == Fault::kStatus503) {
    if (!Pass(client, pending, nullptr, body_size, stop_)) return false;
    const std::string xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request "
        "rate (injected)</Message></Error>";
    const std::string resp = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: " +
                             std::to_string(xml.size()) + "\r\n\r\n" + xml;
    return SendAll(client, resp.data(), resp.size()) && !close_after_answer_.load();
  }
  if (fire && fire->fault == Fault::kCloseSilently) {
    (void)Pass(client, pending, nullptr, body_size, stop_);
    return false;
  }
  if (fire && fire->fault == Fault::kDelay) std::this_thread::sleep_for(fire->delay);
  Stream upstream{ConnectLoopback(upstream_), nullptr};
  if (upstream.fd < 0) return false;
  // No "Expect: 100-continue" upstream: the client sends its body after a
  // short wait anyway, and interim answers are not relayed.
  const std::string upstream_head = WithoutHeader(head, "expect");
  SendAll(upstream, upstream_head.data(), upstream_head.size());
  if (fire && fire->fault == Fault::kDrop) {
    // Half of the body, then the connection is gone.
    (void)Pass(client, pending, &upstream, body_size / 2, stop_);
    ::shutdown(client.fd, SHUT_RDWR);
    ::close(upstream.fd);
    return false;
  }
  if (!Pass(client, pending, &upstream, body_size, stop_)) {
    ::close(upstream.fd);
    return false;
  }

  // The answer: interim ones skipped, then the final head and its body.
  std::string up;
  std::string answer;
  int status = 0;
  do {
    size_t end;
    while ((end = up.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(upstream, up, stop_)) {
        ::close(upstream.fd);
        return false;
      }
    }
    answer = up.substr(0, end + 4);
    up.erase(0, end + 4);
    status = answer.size() > 12 ? std::atoi(answer.c_str() + 9) : 0;
  } while (status >= 100 && status < 200);
  const bool no_body = line.starts_with("HEAD ") || status == 204 || status == 304;
  const bool chunked = Header(answer, "transfer-encoding").value_or("").find("chunked") != std::string::npos;
  const bool sized = Header(answer, "content-length").has_value();
  const bool until_close = !no_body && !chunked && !sized;
  // Keep-alive towards the client unless the body ends with the connection.
  const std::string client_head = until_close ? answer : WithoutHeader(answer, "connection");
  bool ok = SendAll(client, client_head.data(), client_head.size());
  if (ok && !no_body && sized) {
    ok = Pass(upstream, up, &client, ContentLength(answer), stop_);
  } else if (ok && chunked) {
    for (;;) {
      std::string size_line;
      if (!(ok = ReadLine(upstream, up, size_line, stop_) && SendAll(client, size_line.data(), size_line.size()))) break;
      const size_t size = std::strtoull(size_line.c_str(), nullptr, 16);
      if (size == 0) {  // trailers up to an empty line
        std::string trailer;
        do {
          ok = ReadLine(upstream, up, trailer, stop_) && SendAll(client, trailer.data(), trailer.size());
        } while (ok && trailer != "\r\n");
        break;
      }
      if (!(ok = Pass(upstream, up, &client, size + 2, stop_))) break;
    }
  } else if (ok && until_close) {
    ok = SendAll(client, up.data(), up.size());
    up.clear();
    while (ok && ReadMore(upstream, up, stop_)) {
      ok = SendAll(client, up.data(), up.size());
      up.clear();
    }
    ok = false;  // the end of the body was the end of the connection
  }
  ::close(upstream.fd);
  return ok && !close_after_answer_.load();
}

}  // namespace clawback::testing
