// Small helpers for the auth suites that drive a real `clawback serve`
// process over plain HTTP on loopback: sign in, call with a session or a
// token. Header-only; builds on tests/controller/e2e/http_client.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/controller/e2e/http_client.h"

namespace clawback::testing {

struct WebSession {
  std::string cookie;  // value of clawback_session
  std::string csrf;
};

// One request; a transport error becomes status 0 with the error as body.
inline PlainResponse Send(uint16_t port, const std::string& method, const std::string& target,
                          const nlohmann::json& body = nullptr,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
  PlainRequest r;
  r.method = method;
  r.target = target;
  if (!body.is_null()) r.body = body.dump();
  r.headers = std::move(headers);
  auto res = SendPlain(port, r);
  if (!res.ok()) {
    PlainResponse failed;
    failed.body = res.status().ToString();
    return failed;
  }
  return *res;
}

inline std::vector<std::pair<std::string, std::string>> SessionHeaders(const WebSession& s) {
  return {{"Cookie", "clawback_session=" + s.cookie}, {"X-CSRF-Token", s.csrf}};
}

inline std::vector<std::pair<std::string, std::string>> BearerHeaders(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// The session from a 200 login response ({} otherwise).
inline WebSession SessionFrom(const PlainResponse& login) {
  WebSession s;
  if (login.status != 200) return s;
  std::string cookie = login.headers.count("set-cookie") ? login.headers.at("set-cookie") : "";
  const std::string prefix = "clawback_session=";
  if (cookie.rfind(prefix, 0) == 0) s.cookie = cookie.substr(prefix.size(), cookie.find(';') - prefix.size());
  nlohmann::json j = login.Json();
  if (j.is_object()) s.csrf = j.value("csrf_token", "");
  return s;
}

// Signs in, creates an API token named `name`, signs out; "" on failure.
inline std::string MintToken(uint16_t port, const std::string& user, const std::string& password,
                             const std::string& name = "test") {
  WebSession s = SessionFrom(Send(port, "POST", "/api/v1/auth/login", {{"username", user}, {"password", password}}));
  if (s.cookie.empty()) return "";
  PlainResponse made = Send(port, "POST", "/api/v1/auth/tokens", {{"name", name}}, SessionHeaders(s));
  Send(port, "POST", "/api/v1/auth/logout", nullptr, SessionHeaders(s));
  nlohmann::json j = made.Json();
  return made.status == 201 && j.is_object() ? j.value("secret", "") : "";
}

}  // namespace clawback::testing
