#include "controller/api/api.h"

#include <memory>

#include "controller/api/router.h"

namespace clawback::controller::api {

RequestHandler MakeApiHandler(ApiContext& context) {
  std::vector<Route> routes;
  for (auto table : {AuthRoutes, InstanceRoutes, BackupRoutes, BrowseRoutes, RestoreRoutes, ScheduleRoutes, UserRoutes,
                     AuditRoutes, SystemRoutes, TrustRoutes}) {
    for (Route& r : table()) routes.push_back(std::move(r));
  }
  // The OpenAPI document is generated from the table it is part of.
  auto document = std::make_shared<std::string>();
  Route openapi;
  openapi.method = "GET";
  openapi.pattern = "/api/v1/openapi.json";
  openapi.access = Access::kPublic;
  openapi.summary = "This OpenAPI document";
  openapi.handle = [document](ApiContext&, Call&) {
    HttpResponse r;
    r.body = *document;
    return r;
  };
  routes.push_back(std::move(openapi));
  *document = OpenApiDocument(routes).dump(2);
  auto router = std::make_shared<Router>(context, std::move(routes));
  return [router](const HttpRequest& request) { return router->Handle(request); };
}

}  // namespace clawback::controller::api
