#include "controller/api/router.h"

#include <algorithm>
#include <set>

#include "controller/api/handler_support.h"
#include "controller/api/http_errors.h"
#include "controller/auth/session_manager.h"
#include "controller/auth/tokens.h"
#include "shared/log.h"

namespace clawback::controller::api {

std::string Call::source() const { return client_address.empty() ? PeerAddress(request.remote) : client_address; }

bool MatchPattern(const std::string& pattern, const std::string& path, std::map<std::string, std::string>* params) {
  size_t pi = 0, si = 0;
  std::map<std::string, std::string> found;
  while (pi < pattern.size() && si <= path.size()) {
    if (pattern[pi] == '{') {
      size_t close = pattern.find('}', pi);
      std::string name = pattern.substr(pi + 1, close - pi - 1);
      size_t end = path.find('/', si);
      if (end == std::string::npos) end = path.size();
      if (end == si) return false;  // empty segment
      found[name] = path.substr(si, end - si);
      pi = close + 1;
      si = end;
      continue;
    }
    if (si >= path.size() || pattern[pi] != path[si]) return false;
    ++pi;
    ++si;
  }
  if (pi != pattern.size() || si != path.size()) return false;
  if (params) *params = std::move(found);
  return true;
}

Router::Router(ApiContext& context, std::vector<Route> routes) : context_(context), routes_(std::move(routes)) {}

namespace {

std::optional<std::string> CookieValue(const std::string& header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view part(header.data() + pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool IsJsonContentType(std::string_view ct) {
  size_t semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "application/json";
}

bool IsApiPath(const std::string& path) {
  return path == "/api" || path.rfind("/api/", 0) == 0 || path == "/healthz" || path == "/metrics";
}

}  // namespace

HttpResponse Router::Handle(const HttpRequest& request) {
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!MatchPattern(route.pattern, request.path, &params)) continue;
    if (route.method != method) {
      allowed.insert(route.method);
      continue;
    }
    Call call(request, std::move(params));
    call.client_address = context_.proxies.ClientAddress(request);
    call.client_https = request.tls || context_.secure_cookies || context_.proxies.ForwardedHttps(request);
    return Run(route, call);
  }
  if (!allowed.empty()) {
    std::string allow;
    for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
    HttpResponse r = ErrorResponse(Status::InvalidArgument("method " + request.method + " not allowed on " + request.path +
                                                          " (allowed: " + allow + ")"),
                                   {}, 405);
    r.AddHeader("Allow", allow);
    return r;
  }
  if (!IsApiPath(request.path)) {
    if (method == "GET") return ServeWeb(request);
    HttpResponse r = ErrorResponse(Status::InvalidArgument("method " + request.method + " not allowed on " + request.path), {}, 405);
    r.AddHeader("Allow", "GET, HEAD");
    return r;
  }
  return ErrorResponse(Status::NotFound("no such endpoint: " + request.method + " " + request.path));
}

bool Router::ScrapeAllowed(const HttpRequest& req) const {
  if (context_.metrics_open) return true;
  if (context_.metrics_token.empty()) return false;
  std::string_view h = req.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || h.substr(0, kBearer.size()) != kBearer) return false;
  return auth::ConstantTimeEquals(h.substr(kBearer.size()), context_.metrics_token);
}

HttpResponse Router::Run(const Route& route, Call& call) {
  const HttpRequest& req = call.request;
  const bool signed_in = route.access == Access::kSignedIn || (route.access == Access::kScrape && !ScrapeAllowed(req));
  if (signed_in) {
    std::optional<std::string> cookie = CookieValue(req.Header("cookie"), auth::kSessionCookieName);
    const std::string& authz = req.Header("authorization");
    std::optional<std::string_view> cookie_view, authz_view;
    if (cookie) cookie_view = *cookie;
    if (!authz.empty()) authz_view = authz;
    auto principal = context_.sessions.Authenticate(cookie_view, authz_view);
    if (!principal.ok()) return Fail(principal.status());
    call.principal = std::move(*principal);
    Status csrf = auth::CheckCsrf(*call.principal, req.method, req.Header("x-csrf-token"));
    if (!csrf.ok()) return Fail(csrf);
  }

  if (route.json_body && !req.body.empty()) {
    if (!IsJsonContentType(req.Header("content-type"))) {
      return ErrorResponse(Status::InvalidArgument("request body must be JSON (Content-Type: application/json)"), {}, 415);
    }
    auto body = ParseObject(req.body);
    if (!body.ok()) return Fail(body.status());
    call.body = std::move(*body);
  }

  if (signed_in) {
    auth::ResourceRef ref = auth::ResourceRef::None();
    if (route.resolve) {
      auto resolved = route.resolve(context_, call);
      if (!resolved.ok()) return Fail(resolved.status());
      ref = std::move(*resolved);
    }
    Status allowed = auth::Authorize(call.caller(), route.action, ref);
    if (!allowed.ok()) return Fail(allowed);
  }

  try {
    return route.handle(context_, call);
  } catch (const std::exception& e) {
    log::Error("handler threw", {{"method", req.method}, {"path", req.path}, {"error", e.what()}});
    return ErrorResponse(Status::Internal("internal error"));
  }
}

}  // namespace clawback::controller::api
