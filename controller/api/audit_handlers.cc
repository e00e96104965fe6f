// GET /api/v1/audit (admin): the append-only audit log, filtered and paged.
#include "controller/api/handler_support.h"
#include "controller/store/store.h"

namespace clawback::controller::api {
namespace {

HttpResponse List(ApiContext& ctx, Call& call) {
  auto page = ReadPage(call.request, 100);
  if (!page.ok()) return Fail(page.status());
  AuditFilter filter;
  filter.limit = page->limit;
  filter.offset = page->offset;
  if (auto v = call.request.Query("actor"); v && !v->empty()) filter.actor = *v;
  if (auto v = call.request.Query("action"); v && !v->empty()) filter.action = *v;
  for (auto [name, slot] : {std::pair{"since", &filter.since}, std::pair{"until", &filter.until}}) {
    if (auto v = call.request.Query(name); v && !v->empty()) {
      auto t = ParseTime(*v);
      if (!t.ok()) return Fail(Status::InvalidArgument(std::string(name) + ": " + t.status().message()), name);
      *slot = *t;
    }
  }
  int64_t total = 0;
  auto events = ctx.store.ListAudit(filter, &total);
  if (!events.ok()) return Fail(events.status());
  Json list = Json::array();
  for (const AuditEvent& e : *events) list.push_back(AuditJson(e));
  return JsonResponse(200, {{"events", list}, {"total", total}, {"limit", page->limit}, {"offset", page->offset}});
}

}  // namespace

std::vector<Route> AuditRoutes() {
  return {{"GET", "/api/v1/audit", Access::kSignedIn, auth::Action::kViewAudit, nullptr, List,
           "The audit log, newest first (filters: actor, action, since, until) (admin)", false}};
}

}  // namespace clawback::controller::api
