#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace clawback::testing {
namespace {

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
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

size_t ContentLength(const std::string& head) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return static_cast<size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10));
}

}  // namespace

FaultProxy::FaultProxy(uint16_t upstream_port) : upstream_(upstream_port) {
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

void FaultProxy::Handle(int client) {
  std::string head;
  char buf[65536];
  size_t head_end = std::string::npos;
  while ((head_end = head.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(client);
      return;
    }
    head.append(buf, static_cast<size_t>(n));
  }
  std::string extra = head.substr(head_end + 4);  // body bytes already read
  head.resize(head_end + 4);
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
    size_t got = extra.size();
    while (got < body_size) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    const std::string xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request "
        "rate (injected)</Message></Error>";
    const std::string resp = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: " +
                             std::to_string(xml.size()) + "\r\nConnection: close\r\n\r\n" + xml;
    SendAll(client, resp.data(), resp.size());
    ::close(client);
    return;
  }
  if (fire && fire->fault == Fault::kDelay) std::this_thread::sleep_for(fire->delay);
  int upstream = ConnectLoopback(upstream_);
  if (upstream < 0) {
    ::close(client);
    return;
  }
  SendAll(upstream, head.data(), head.size());
  if (fire && fire->fault == Fault::kDrop) {
    // Half of the body, then the connection is gone.
    size_t half = body_size / 2, sent = 0;
    if (!extra.empty()) {
      size_t take = std::min(extra.size(), half);
      SendAll(upstream, extra.data(), take);
      sent = take;
    }
    while (sent < half) {
      ssize_t n = ::recv(client, buf, std::min(sizeof buf, half - sent), 0);
      if (n <= 0) break;
      SendAll(upstream, buf, static_cast<size_t>(n));
      sent += static_cast<size_t>(n);
    }
    ::shutdown(client, SHUT_RDWR);
    ::close(client);
    ::close(upstream);
    return;
  }
  if (!extra.empty()) SendAll(upstream, extra.data(), extra.size());
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (!stop_.load()) {
    int r = ::poll(fds, 2, 200);
    if (r < 0) break;
    if (r == 0) continue;
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0 || !SendAll(fds[1 - i].fd, buf, static_cast<size_t>(n))) done = true;
    }
    if (done) break;
  }
  ::close(client);
  ::close(upstream);
}

}  // namespace clawback::testing
