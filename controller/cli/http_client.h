// A small synchronous HTTP/1.1 client for the CLI: plain HTTP or HTTPS
// (server verified against the system trust store, or against --ca), one
// request per connection, a deadline on every network step (connect, TLS
// handshake, each write and each read: a stalled server fails, a slow but
// moving download does not).
//
// Bodies either come back in memory (JSON, capped) or are streamed to a
// caller's sink in chunks, so an archive is never held in memory.
//
// Beast and Asio stay in http_client.cc; this header is cheap to include.
// Not thread-safe: one HttpClient per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace clawback::controller::cli {

// "http://host:port/prefix" split into its parts.
struct ServerUrl {
  bool tls = false;
  std::string host;        // without brackets for IPv6
  std::string port;        // "80"/"443" when the URL names none
  std::string base_path;   // "" or "/prefix" (no trailing slash)
};

// InvalidArgument "server URL must start with http:// or https://: ..." etc.
Result<ServerUrl> ParseServerUrl(std::string_view url);

struct HttpClientOptions {
  std::string ca_file;                       // empty: the system trust store
  bool insecure = false;                     // skip certificate verification (like curl -k)
  std::chrono::seconds step_timeout{60};     // per connect/handshake/read/write
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;                        // path + query, e.g. "/api/v1/backups?limit=5"
  std::string body;                          // sent when non-empty (or method is POST/PUT/PATCH)
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;                            // empty when streamed to a sink
};

// Receives the streamed body. `status`/`headers` are known before the first
// call: `on_headers` runs once and may refuse the body (non-OK stops the
// transfer). `on_data` gets each chunk; a non-OK return stops reading.
struct BodySink {
  std::function<Status(const HttpResponse& head)> on_headers;
  std::function<Status(const char* data, size_t size)> on_data;
};

class HttpClient {
 public:
  HttpClient(ServerUrl server, HttpClientOptions options);
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const ServerUrl& server() const { return server_; }

  // Sends `request` and reads the whole response (body capped at 64 MiB).
  // Errors only for transport failures (Unavailable "cannot connect to ...",
  // DeadlineExceeded, TLS verification failures as Unavailable with
  // OpenSSL's reason); any HTTP status comes back as a response.
  Result<HttpResponse> Send(const HttpRequest& request);

  // Like Send, but a 2xx body goes to `sink` in chunks instead of memory; a
  // non-2xx body is read into HttpResponse::body (capped) and the sink's
  // on_data is never called. A connection that ends before Content-Length
  // (or the final chunk) is a Corruption error, never a short success.
  Result<HttpResponse> Stream(const HttpRequest& request, const BodySink& sink);

 private:
  ServerUrl server_;
  HttpClientOptions options_;
};

}  // namespace clawback::controller::cli
