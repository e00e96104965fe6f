#include "tests/abuse/raw_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include <gtest/gtest.h>

namespace clawback::testing {
namespace {

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

SSL_CTX* MakeClientContext(const RawTls& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return nullptr;
  if (!tls.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!tls.cert_file.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM);
  }
  return ctx;
}

// Blocking TLS on a socket with SO_RCVTIMEO/SO_SNDTIMEO set.
void SetTimeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int ParseStatus(const std::string& text) {
  if (text.rfind("HTTP/1.", 0) != 0 || text.size() < 12) return 0;
  return std::atoi(text.c_str() + 9);
}

}  // namespace

RawReply RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout,
                     const RawTls* tls) {
  RawReply reply;
  int fd = ConnectLoopback(port);
  if (fd < 0) return reply;
  reply.connected = true;
  SetTimeouts(fd, timeout);
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  constexpr size_t kCap = 1 << 20;
  if (tls) {
    ctx = MakeClientContext(*tls);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      reply.closed = true;
      SSL_free(ssl);
      SSL_CTX_free(ctx);
      ::close(fd);
      return reply;
    }
  }
  size_t off = 0;
  while (off < bytes.size()) {
    int n = ssl ? SSL_write(ssl, bytes.data() + off, static_cast<int>(std::min<size_t>(bytes.size() - off, 1 << 16)))
                : static_cast<int>(::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL));
    if (n <= 0) break;  // the server stopped reading: see what it said
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);  // end of request: a server waiting for more sees EOF
  char buf[16384];
  for (;;) {
    int n = ssl ? SSL_read(ssl, buf, sizeof buf) : static_cast<int>(::recv(fd, buf, sizeof buf, 0));
    if (n > 0) {
      if (reply.text.size() < kCap) reply.text.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || !(errno == EAGAIN || errno == EWOULDBLOCK)) reply.closed = true;
    if (ssl) {
      int err = SSL_get_error(ssl, n);
      reply.closed = err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SSL ||
                     (err == SSL_ERROR_SYSCALL && !(errno == EAGAIN || errno == EWOULDBLOCK));
    }
    break;
  }
  reply.status = ParseStatus(reply.text);
  if (ssl) SSL_free(ssl);
  if (ctx) SSL_CTX_free(ctx);
  ::close(fd);
  return reply;
}

std::unique_ptr<SlowClient> SlowClient::Open(uint16_t port, const RawTls* tls) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return nullptr;
  std::unique_ptr<SlowClient> c(new SlowClient());
  c->fd_ = fd;
  if (tls) {
    SetTimeouts(fd, std::chrono::seconds(5));
    SSL_CTX* ctx = MakeClientContext(*tls);
    SSL* ssl = SSL_new(ctx);
    c->ctx_ = ctx;
    c->ssl_ = ssl;
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) return nullptr;
  }
  return c;
}

SlowClient::~SlowClient() {
  if (ssl_) SSL_free(static_cast<SSL*>(ssl_));
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
}

bool SlowClient::Send(const std::string& bytes) {
  if (ssl_) return SSL_write(static_cast<SSL*>(ssl_), bytes.data(), static_cast<int>(bytes.size())) > 0;
  return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

bool SlowClient::ClosedByServer() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR)) return true;
  char c;
  ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

void ExpectOnlyChunkedTransferCodingAccepted(uint16_t port, const std::string& request_head,
                                             const std::string& smuggled, const RawTls* tls) {
  // Each with whether the parser reaches our check (Beast may refuse some itself, also with 400).
  const std::pair<std::string, bool> codings[] = {{"chunked, identity", true},
                                                  {"identity", true},
                                                  {"gzip, chunked", true},
                                                  {"chunked\r\nTransfer-Encoding: chunked", false},
                                                  {"chunked, chunked", false}};
  for (const auto& [te, ours] : codings) {
    SCOPED_TRACE(te);
    RawReply reply = RawExchange(port, request_head + "Transfer-Encoding: " + te + "\r\n\r\n" + smuggled,
                                 std::chrono::seconds(15), tls);
    EXPECT_EQ(reply.status, 400) << reply.text.substr(0, 300);
    if (ours) {
      EXPECT_NE(reply.text.find("Transfer-Encoding"), std::string::npos) << reply.text.substr(0, 300);
    }
    EXPECT_EQ(reply.text.find("HTTP/1.1 200"), std::string::npos) << "a smuggled request was answered";
  }
}

}  // namespace clawback::testing
