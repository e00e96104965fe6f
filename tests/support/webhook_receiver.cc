#include "tests/support/webhook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace clawback::testing {

WebhookReceiver::WebhookReceiver(std::vector<int> statuses) : statuses_(std::move(statuses)) {
  if (statuses_.empty()) statuses_ = {200};
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 16);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

WebhookReceiver::~WebhookReceiver() { Stop(); }

std::string WebhookReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WebhookReceiver::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

std::vector<ReceivedRequest> WebhookReceiver::Requests() {
  std::lock_guard lock(mu_);
  return requests_;
}

bool WebhookReceiver::WaitForRequests(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void WebhookReceiver::Serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleConnection(fd);
    ::close(fd);
  }
}

void WebhookReceiver::HandleConnection(int fd) {
  std::string in;
  char buf[4096];
  auto read_more = [&] {
    pollfd p{fd, POLLIN, 0};
    while (!stop_.load()) {
      if (::poll(&p, 1, 100) > 0) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        in.append(buf, static_cast<size_t>(n));
        return true;
      }
    }
    return false;
  };
  size_t head_end;
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) return;
  }
  ReceivedRequest r;
  std::string head = in.substr(0, head_end);
  size_t line_end = head.find("\r\n");
  std::string first = head.substr(0, line_end);
  r.method = first.substr(0, first.find(' '));
  r.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = end + 2;
  }
  size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  while (in.size() - head_end - 4 < length) {
    if (!read_more()) return;
  }
  r.body = in.substr(head_end + 4, length);
  {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
  }
  arrived_.notify_all();
  if (hang_.load()) {
    while (hang_.load() && !stop_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return;  // closes without an answer
  }
  int status = statuses_[std::min(answered_, statuses_.size() - 1)];
  ++answered_;
  std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

std::string ExpectedSignature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string out = "sha256=";
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

}  // namespace clawback::testing
