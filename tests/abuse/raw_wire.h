// Raw bytes on the wire for the abuse suites: what a hostile client can send
// that a well-behaved HTTP library would refuse to produce (broken request
// lines, bare CRLFs, lying Content-Length, bytes dribbled one at a time).
// Plain TCP for `clawback serve` on loopback, TLS (OpenSSL, optional client
// certificate) for the agent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace clawback::testing {

struct RawReply {
  bool connected = false;
  int status = 0;          // from the status line; 0 when none arrived
  std::string text;        // everything read (capped)
  bool closed = false;     // the server closed the connection
};

struct RawTls {
  std::string ca_file, cert_file, key_file;  // empty cert = no client certificate
};

// Connects to 127.0.0.1:port (TLS when `tls` is set), writes `bytes`, half
// closes unless `keep_open`, and reads until the server closes or `timeout`.
RawReply RawExchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout,
                     const RawTls* tls = nullptr);

// gtest expectations: a request whose Transfer-Encoding is anything but
// exactly "chunked" ("chunked, identity", "identity", "gzip, chunked", a
// repeated header ...) is answered 400, and the bytes after its header
// (`smuggled`, a complete second request) are never answered as one.
// `request_head` is the request line and headers up to, not including, the
// Transfer-Encoding header.
void ExpectOnlyChunkedTransferCodingAccepted(uint16_t port, const std::string& request_head,
                                             const std::string& smuggled, const RawTls* tls = nullptr);

// An open connection that sends a little at a time (slowloris).
class SlowClient {
 public:
  // Connects (and handshakes, with `tls`); nullptr when the server refuses.
  static std::unique_ptr<SlowClient> Open(uint16_t port, const RawTls* tls = nullptr);
  ~SlowClient();
  SlowClient(const SlowClient&) = delete;
  SlowClient& operator=(const SlowClient&) = delete;
  // Sends bytes; false once the server has closed the connection.
  bool Send(const std::string& bytes);
  // True when the server has closed (or reset) the connection.
  bool ClosedByServer();

 private:
  SlowClient() = default;
  int fd_ = -1;
  void* ssl_ = nullptr;  // SSL*
  void* ctx_ = nullptr;  // SSL_CTX*
};

}  // namespace clawback::testing
