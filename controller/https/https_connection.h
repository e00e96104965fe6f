// The controller's blocking HTTPS client core: one TCP connection and one
// OpenSSL session, driven entirely on the calling thread with plain
// SSL_read/SSL_write and poll(). It replaces per-record Asio completions on
// the transfer path: one wake-up reads (and decrypts) as many TLS records as
// are waiting, into large buffers, and one call writes a whole buffer.
//
// Time limits are stall limits, never total durations: an operation fails
// with DeadlineExceeded when no byte moved for `stall`. The caller's cancel
// flag (optional) is polled every 100 ms while an operation waits; a set flag
// fails it with Canceled. Other failures: Unavailable for a peer that cannot
// be reached or that closed/reset the connection (the message says which),
// Corruption for a malformed HTTP response, Internal for TLS protocol errors.
//
// HTTP: the caller writes a request (EncodeRequestHead + body bytes) and reads
// the response with ReadResponseHead, then ReadBody (streamed into caller
// buffers; chunked or sized, trailers kept) or ReadBodyToString (capped).
// Field() answers header and trailer fields once they are read.
//
// Used by controller/agents for transfers and probes; the CLI can use it the
// same way. Not thread-safe: one owner thread. Owns its socket and SSL*.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace clawback::controller::https {

struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
// A TLS session kept to resume a later connection to the same server.
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

struct ConnectOptions {
  std::string host;                          // name or address (IPv6 without brackets)
  std::string port;                          // decimal
  std::chrono::milliseconds timeout{10000};  // connect, then handshake (each)
  const std::atomic<bool>* cancel = nullptr;
  // Offered for resumption (not owned; may be null). A server that does not
  // accept it makes a full handshake; either way the peer is verified by
  // ctx's settings (a resumed session keeps its first handshake's verified
  // certificate and verify result, which SSL_get0_peer_certificate and
  // SSL_get_verify_result report).
  SSL_SESSION* session = nullptr;
};

// Lines of a request head, without the body.
struct RequestHead {
  std::string method;
  std::string target;
  std::string host;  // Host header
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<uint64_t> content_length;  // none: no body
};

// "METHOD target HTTP/1.1\r\nHost: ...\r\n...Connection: close\r\n\r\n".
std::string EncodeRequestHead(const RequestHead& head);

class Connection {
 public:
  // Connects, handshakes (peer verified by ctx's settings). Unavailable with
  // a short reason ("connection refused", "TLS handshake failed: ...").
  static Result<std::unique_ptr<Connection>> Open(SSL_CTX* ctx, const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  SSL* ssl() const { return ssl_; }
  // True when the handshake resumed ConnectOptions::session.
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }
  // The session to offer the same server next time, or null when it cannot
  // be resumed. Take it after a whole exchange: TLS 1.3 session tickets
  // arrive after the handshake, with the response.
  SessionPtr ResumableSession() const;
  void set_stall_timeout(std::chrono::milliseconds stall) { stall_ = stall; }
  void set_cancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }

  // Writes all bytes (many TLS records per call).
  Status WriteAll(const void* data, size_t size);
  Status WriteAll(std::string_view bytes) { return WriteAll(bytes.data(), bytes.size()); }
  // Reads at least one byte and as many more as are already waiting (up to
  // capacity). 0 means the peer closed the TLS session cleanly.
  Result<size_t> ReadSome(char* buf, size_t capacity);

  // Reads the status line and headers. Returns the HTTP status.
  Result<int> ReadResponseHead(size_t header_limit);
  // Reads the next body bytes into buf; 0 once the whole body (and trailers)
  // arrived. A connection closed before that is Unavailable "closed ...".
  Result<size_t> ReadBody(char* buf, size_t capacity);
  // Reads the rest of the body; ResourceExhausted above `limit` bytes.
  Result<std::string> ReadBodyToString(size_t limit);
  // A header or trailer field ("" when absent).
  std::string Field(std::string_view name) const;
  // Bytes of body delivered so far.
  uint64_t body_bytes() const;

 private:
  struct Parser;
  Connection(int fd, SSL* ssl);
  // Waits for `events` on the socket, honouring stall and cancel.
  Status Wait(short events);
  // Moves more plaintext into in_; false status on error, 0 on clean close.
  Result<size_t> Fill();
  Status SslFailure(int ret, const char* what);

  int fd_;
  SSL* ssl_;
  std::chrono::milliseconds stall_{60000};
  const std::atomic<bool>* cancel_ = nullptr;
  std::chrono::steady_clock::time_point last_progress_;
  std::vector<char> in_;  // plaintext read but not yet parsed: [in_begin_, in_end_)
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::unique_ptr<Parser> parser_;
};

}  // namespace clawback::controller::https
