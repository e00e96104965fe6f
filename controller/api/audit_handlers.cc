// GET /api/v1/audit (admin): the append-only audit log, filtered and paged.
// There is deliberately no route that changes or deletes audit events, and
// the schema refuses UPDATE and DELETE on audit_events (triggers).
#include <unordered_set>

#include "controller/api/handler_support.h"
#include "controller/store/store.h"

namespace clawback::controller::api {
namespace {

// Rows scanned per store call when the instance filter is applied here.
constexpr int kScanBatch = 500;

// What an event says about instances: the names in its target
// ("instance:web-1") and detail ("instance", "target_instance"), and the ids
// it grants ("instance_ids" of user.create / user.instances).
bool MentionsInstance(const AuditEvent& e, const std::string& name, std::optional<Id> id) {
  if (e.target == "instance:" + name) return true;
  Json detail = Json::parse(e.detail_json, nullptr, false);
  if (!detail.is_object()) return false;
  for (const char* key : {"instance", "target_instance", "source_instance"}) {
    auto it = detail.find(key);
    if (it != detail.end() && it->is_string() && it->get<std::string>() == name) return true;
  }
  if (id) {
    auto ids = detail.find("instance_ids");
    if (ids != detail.end() && ids->is_array()) {
      for (const Json& v : *ids) {
        if (v.is_number_integer() && v.get<Id>() == *id) return true;
      }
    }
  }
  return false;
}

// The store has no instance column, so this filter scans the rows matching
// the other filters, newest first, and pages the matches itself. Rows
// appended during the scan shift later batches; `seen` drops the repeats.
Result<std::vector<AuditEvent>> ListForInstance(ApiContext& ctx, AuditFilter filter, const std::string& name,
                                                std::optional<Id> id, int64_t* total) {
  const int want_offset = filter.offset, want_limit = filter.limit;
  std::vector<AuditEvent> page;
  std::unordered_set<Id> seen;
  int64_t matched = 0;
  filter.limit = kScanBatch;
  for (filter.offset = 0;; filter.offset += kScanBatch) {
    auto batch = ctx.store.ListAudit(filter, nullptr);
    if (!batch.ok()) return batch.status();
    for (AuditEvent& e : *batch) {
      if (!seen.insert(e.id).second || !MentionsInstance(e, name, id)) continue;
      if (matched >= want_offset && matched < int64_t{want_offset} + want_limit) page.push_back(std::move(e));
      ++matched;
    }
    if (static_cast<int>(batch->size()) < kScanBatch) break;
  }
  *total = matched;
  return page;
}

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
  if (filter.since && filter.until && *filter.since > *filter.until) {
    return Fail(Status::InvalidArgument("until: must not be before since"), "until");
  }
  // instance: a name, or the id of an existing instance.
  std::optional<std::string> instance_name;
  std::optional<Id> instance_id;
  if (auto v = call.request.Query("instance"); v && !v->empty()) {
    instance_name = *v;
    if (auto id = ParseId(*v, "instance"); id.ok()) {
      if (auto found = ctx.store.GetInstance(*id); found.ok()) {
        instance_name = found->name;
        instance_id = found->id;
      }
    } else if (auto found = ctx.store.GetInstanceByName(*v); found.ok()) {
      instance_id = found->id;
    }
  }
  int64_t total = 0;
  auto events = instance_name ? ListForInstance(ctx, filter, *instance_name, instance_id, &total)
                              : ctx.store.ListAudit(filter, &total);
  if (!events.ok()) return Fail(events.status());
  Json list = Json::array();
  for (const AuditEvent& e : *events) list.push_back(AuditJson(e));
  return JsonResponse(200, {{"events", list}, {"total", total}, {"limit", page->limit}, {"offset", page->offset}});
}

}  // namespace

std::vector<Route> AuditRoutes() {
  return {{"GET", "/api/v1/audit", Access::kSignedIn, auth::Action::kViewAudit, nullptr, List,
           "The audit log, newest first (filters: actor, action, instance, since, until) (admin)", false}};
}

}  // namespace clawback::controller::api
