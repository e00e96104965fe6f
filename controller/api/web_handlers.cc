// The public, non-JSON endpoints: the dashboard (per controller/web's serving
// contract), /healthz and /metrics.
#include "controller/api/handler_support.h"
#include "controller/jobs/transfers.h"
#include "controller/api/trust_json.h"
#include "controller/metrics/metrics.h"
#include "controller/replicas/replica_status.h"
#include "controller/web/web_assets.h"
#include "shared/version.h"

namespace clawback::controller::api {

HttpResponse ServeWeb(const HttpRequest& request) {
  const WebAsset* asset = FindWebAsset(request.path);
  const WebAsset& served = asset ? *asset : WebIndex();
  HttpResponse r;
  for (const auto& [name, value] : kWebSecurityHeaders) r.AddHeader(std::string(name), std::string(value));
  r.AddHeader("Cache-Control", "no-cache");
  const std::string etag = "\"" + std::string(served.etag) + "\"";
  r.AddHeader("ETag", etag);
  const std::string& inm = request.Header("if-none-match");
  if (!inm.empty() && (inm == etag || inm == "*" || inm.find(etag) != std::string::npos)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  r.content_type = std::string(served.content_type);
  r.body = std::string(served.body);
  return r;
}

namespace {

HttpResponse Health(ApiContext& ctx, Call&) {
  nlohmann::json body = {{"status", "ok"}, {"version", kVersion}};
  if (ctx.replica) {
    const ReplicaStatus me = ctx.replica();
    body["replica"] = {{"id", me.id}, {"hostname", me.hostname}, {"leader", me.leader}, {"leader_id", me.leader_id}};
  }
  HttpResponse r = JsonResponse(200, body);
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

HttpResponse MetricsText(ApiContext& ctx, Call&) {
  ctx.metrics.SetTransfers(ctx.transfers.RunningCount(), ctx.transfers.QueuedCount());
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.metrics.Render() + ProtectionMetricsText(ctx);
  if (ctx.replica) r.body += ReplicaMetricsText(ctx.replica());
  return r;
}

}  // namespace

std::vector<Route> SystemRoutes() {
  std::vector<Route> r;
  r.push_back({"GET", "/healthz", Access::kPublic, auth::Action::kSelf, nullptr, Health,
               "Liveness: {status, version, replica: {id, hostname, leader, leader_id}}", false});
  r.push_back({"GET", "/metrics", Access::kScrape, auth::Action::kViewMetrics, nullptr, MetricsText,
               "Prometheus metrics (text format 0.0.4): the scrape token (--metrics-token) or an admin", false});
  return r;
}

}  // namespace clawback::controller::api
