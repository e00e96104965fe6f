// The route table and the request pipeline every API call goes through
// (private to controller/api; see api.h for the steps).
//
// A Route names its method, a path pattern with "{name}" parameters, whether
// it needs a signed-in caller, the auth::Action it performs and an optional
// Resolver that loads the records the action touches from the path and body
// and returns the auth::ResourceRef for them. The router calls
// auth::Authorize(principal, action, ref) once, then the Handler; the records
// loaded by the resolver are in the Call, already authorized.
//
// Only instance-scoped actions have a resolver. Admin-only routes have none:
// the router authorizes them with no resource and their handlers load records
// afterwards, so a non-admin gets 403 whether or not the record exists.
//
// A resolver must do no work beyond reading: a missing record is NotFound with
// the same message the authorizer gives for one the caller may not see
// ("backup 12 not found"), so the two are indistinguishable.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/api/api.h"
#include "controller/api/http_message.h"
#include "controller/auth/authorizer.h"
#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller::api {

// One request as a handler sees it.
struct Call {
  Call(const HttpRequest& r, std::map<std::string, std::string> p) : request(r), params(std::move(p)) {}

  const HttpRequest& request;
  std::map<std::string, std::string> params;  // from the path pattern
  std::optional<auth::Principal> principal;   // set on every signed-in route
  nlohmann::json body = nlohmann::json::object();  // parsed JSON body ({} when empty)

  // Loaded by the route's resolver and authorized.
  std::optional<Instance> instance;
  std::optional<Backup> backup;
  std::optional<Backup> other_backup;  // /backups/{id}/diff?against=
  std::optional<Restore> restore;
  std::optional<Instance> target;  // restore target
  std::optional<User> user;        // /users/{id}

  // Set by the router from ApiContext::proxies (see api.h).
  std::string client_address;  // empty: the peer's address is used
  bool client_https = false;   // the client's side of the connection used TLS (Secure cookie)

  const auth::Principal* caller() const { return principal ? &*principal : nullptr; }
  // The client address without the port, for the audit log and rate limits.
  std::string source() const;
};

using Handler = std::function<HttpResponse(ApiContext&, Call&)>;
using Resolver = std::function<Result<auth::ResourceRef>(ApiContext&, Call&)>;

// kScrape: /metrics. Open when ApiContext::metrics_open, or with the
// metrics token as bearer; otherwise like kSignedIn.
enum class Access { kPublic, kSignedIn, kScrape };

struct Route {
  std::string method;   // GET routes also answer HEAD
  std::string pattern;  // "/api/v1/backups/{id}/download"
  Access access = Access::kSignedIn;
  auth::Action action = auth::Action::kSelf;  // ignored for kPublic routes
  Resolver resolve;     // null: the action needs no resource
  Handler handle;
  std::string summary;  // for the OpenAPI document
  bool json_body = false;  // the route reads a JSON request body
};

// Route tables, one per noun (the *_handlers.cc files).
std::vector<Route> AuthRoutes();
std::vector<Route> InstanceRoutes();
std::vector<Route> BackupRoutes();
std::vector<Route> RestoreRoutes();
std::vector<Route> BrowseRoutes();
std::vector<Route> ScheduleRoutes();
std::vector<Route> UserRoutes();
std::vector<Route> AuditRoutes();
std::vector<Route> SystemRoutes();  // /healthz, /metrics, /api/v1/openapi.json
std::vector<Route> TrustRoutes();   // verify, drill, webhooks, fleet protection (trust_handlers.cc)

// The OpenAPI 3 document describing `routes`.
nlohmann::json OpenApiDocument(const std::vector<Route>& routes);

// GET/HEAD of a non-API path: a dashboard asset or index.html (web_assets.h).
HttpResponse ServeWeb(const HttpRequest& request);

class Router {
 public:
  Router(ApiContext& context, std::vector<Route> routes);
  HttpResponse Handle(const HttpRequest& request);
  const std::vector<Route>& routes() const { return routes_; }

 private:
  HttpResponse Run(const Route& route, Call& call);
  // /metrics without a user: open, or the metrics token as bearer.
  bool ScrapeAllowed(const HttpRequest& request) const;

  ApiContext& context_;
  std::vector<Route> routes_;
};

// Matches "/api/v1/backups/{id}" against a path; fills `params` on a match.
bool MatchPattern(const std::string& pattern, const std::string& path, std::map<std::string, std::string>* params);

}  // namespace clawback::controller::api
