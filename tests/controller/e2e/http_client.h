// A small synchronous plain-HTTP/1.1 client for the end-to-end suite: one
// request per connection to 127.0.0.1:<port>, the way a script would talk to
// `clawback serve` on loopback. Response bodies are kept in memory or, for
// downloads, streamed to a callback. Beast stays in http_client.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace clawback::testing {

struct PlainRequest {
  std::string method = "GET";
  std::string target = "/healthz";
  std::string body;  // sent with Content-Length when non-empty (or for POST/PUT/PATCH)
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Streams the response body here instead of PlainResponse::body; a non-OK
  // return stops reading.
  std::function<Status(const char* data, size_t size)> on_body;
  std::chrono::seconds timeout{60};  // per socket read/write
};

struct PlainResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; repeated fields joined with ", "
  std::string body;
  uint64_t body_bytes = 0;
  bool complete = false;  // the message ended properly
  std::string error;      // what broke the body, if anything

  // The body parsed as JSON; a discarded value when it is not JSON.
  nlohmann::json Json() const;
  // "METHOD target -> status: body" for failure messages.
  std::string Describe() const;
  std::string request_line;  // filled by SendPlain for Describe()
};

// Connects, sends, reads the response. Errors before a response header are
// returned as a Status (Unavailable); later breakage lands in error.
Result<PlainResponse> SendPlain(uint16_t port, const PlainRequest& request);

}  // namespace clawback::testing
