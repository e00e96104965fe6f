// The controller's HTTP(S) server: accepts connections, parses requests with
// limits, hands each request to a RequestHandler on a worker pool (never on an
// I/O thread, so a slow handler cannot stall other clients' I/O), and writes
// the response back, streaming file bodies in chunks.
//
// Wire rules enforced here, before any handler runs: request header block at
// most `header_limit` bytes (431), body at most `body_limit` bytes (413), a
// timeout on every read and write step (the connection is closed when one
// fires; a download has no total time limit, only a per-chunk one), HTTP/1.1
// keep-alive. Responses to HEAD carry headers only.
//
// Threads: `io_threads` run the io_context; `handler_threads` run handlers.
// The RequestHandler is called concurrently and must be thread-safe; it must
// outlive the server. Stop() is idempotent and joins every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "controller/api/http_message.h"
#include "shared/status.h"

namespace clawback::controller::api {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;            // 0 = pick a free port (see HttpServer::port())
  std::string tls_cert_file;       // both set: HTTPS; both empty: plain HTTP
  std::string tls_key_file;
  int io_threads = 2;
  int handler_threads = 4;
  size_t header_limit = 16 * 1024;
  size_t body_limit = 1024 * 1024;
  std::chrono::seconds idle_timeout{60};   // waiting for the next request's headers
  std::chrono::seconds read_timeout{30};   // reading a request's body / TLS handshake
  std::chrono::seconds write_timeout{60};  // each response write step (per chunk)
};

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Binds, starts the threads and begins accepting. Errors: InvalidArgument
  // (bad address, only one of cert/key), IoError (bind failed, TLS files
  // unreadable) with the reason.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, RequestHandler handler);

  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;   // the bound port
  virtual bool tls() const = 0;
  // Stops accepting, cuts open connections and joins all threads.
  virtual void Stop() = 0;
};

}  // namespace clawback::controller::api
