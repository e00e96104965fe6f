// A small synchronous HTTPS client for tests, speaking to agents (and the
// controller) the way the controller does: optional client certificate,
// server verified against a CA, one request per connection. Returns the
// status, headers, body, trailers and whether the message ended properly
// (for a chunked body: whether the final chunk arrived).
//
// Beast stays in mtls_client.cc; this header is cheap to include.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace clawback::testing {

struct ClientIdentity {
  std::string ca_file;    // CA the server must chain to; empty = do not verify (like curl -k)
  std::string cert_file;  // empty = send no client certificate
  std::string key_file;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/healthz";
  std::string body;                      // sent with Content-Length (unless upload_file is set)
  std::string content_type = "application/json";
  std::string upload_file;               // stream this file as the body
  bool chunked_upload = false;           // upload_file with Transfer-Encoding: chunked
  uint64_t cut_upload_after = std::numeric_limits<uint64_t>::max();  // drop the TCP connection after this many body bytes
  std::vector<std::pair<std::string, std::string>> headers;
  // Streams the response body here instead of HttpResponse::body. A non-OK
  // return stops reading and closes the connection.
  std::function<Status(const char* data, size_t size)> on_body;
  std::chrono::seconds timeout{120};     // per socket read/write
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;   // names lowercased
  std::map<std::string, std::string> trailers;  // names lowercased
  std::string body;
  uint64_t body_bytes = 0;
  bool chunked = false;
  bool complete = false;   // message ended properly (final chunk seen for chunked)
  std::string error;       // what broke the body, if anything
  std::string server_serial_hex;
  std::vector<std::string> server_uri_sans;
};

// Connects to 127.0.0.1:port, handshakes and sends the request. Errors before
// a response header (connect, handshake, nothing answered) are returned as a
// Status (Unavailable); later breakage is reported in HttpResponse::error.
Result<HttpResponse> SendRequest(uint16_t port, const ClientIdentity& identity, const HttpRequest& request);

}  // namespace clawback::testing
