// ApiClient: the REST API of docs/api.md as seen from the CLI. Adds the
// bearer token, the /api/v1 prefix, JSON encoding, and turns every non-2xx
// answer into a Status whose code follows the HTTP status and whose message
// is the server's `error` field - the line the user will read.
//
// Not thread-safe (it drives one HttpClient).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/cli/http_client.h"
#include "shared/status.h"

namespace clawback::controller::cli {

using Json = nlohmann::json;

// The Status for a non-2xx response: its code is the body's `code` when the
// server sent one, else the one code for the HTTP status (both through
// shared/http_status.h), so a server-side Corruption stays a Corruption. The
// message is the body's `error` (with `field` when named), or "server
// answered HTTP <n>" when the body carries none.
Status StatusForHttpError(int http_status, const std::string& body);

// Percent-encodes a query parameter value.
std::string QueryEscape(std::string_view value);

// "?a=1&b=x" from the pairs whose value is non-empty ("" when none).
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

class ApiClient {
 public:
  // `token` may be empty for unauthenticated calls (login).
  ApiClient(HttpClient& http, std::string token);

  // `path` is relative to /api/v1 ("/backups?limit=5"). A 204 or empty body
  // yields a null Json. Extra headers (cookies, CSRF) may be given.
  Result<Json> Call(const std::string& method, const std::string& path, const Json* body = nullptr,
                    const std::vector<std::pair<std::string, std::string>>& headers = {});
  Result<Json> Get(const std::string& path) { return Call("GET", path); }
  Result<Json> Post(const std::string& path, const Json& body) { return Call("POST", path, &body); }
  Result<Json> Put(const std::string& path, const Json& body) { return Call("PUT", path, &body); }
  Result<Json> Patch(const std::string& path, const Json& body) { return Call("PATCH", path, &body); }
  Result<Json> Delete(const std::string& path) { return Call("DELETE", path); }

  // Like Call but returns the raw response (login needs its Set-Cookie).
  Result<HttpResponse> CallRaw(const std::string& method, const std::string& path, const Json* body,
                               const std::vector<std::pair<std::string, std::string>>& headers);

  // Streams GET `path` into `sink` (downloads). Non-2xx -> StatusForHttpError.
  Result<HttpResponse> Download(const std::string& path,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const BodySink& sink);

  // The instance whose name is `name_or_id`, else whose id is, from GET
  // /instances. NotFound "no instance named web-9" otherwise.
  Result<Json> FindInstance(const std::string& name_or_id);
  Result<int64_t> InstanceId(const std::string& name_or_id);

  HttpClient& http() { return http_; }

 private:
  std::vector<std::pair<std::string, std::string>> Headers(
      const std::vector<std::pair<std::string, std::string>>& extra) const;

  HttpClient& http_;
  std::string token_;
};

}  // namespace clawback::controller::cli
