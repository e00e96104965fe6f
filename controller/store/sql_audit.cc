// SqlStore: the audit log (table audit_events). Append-only: nothing here
// updates or deletes an event.
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kAuditColumns = "id, at, actor_id, actor, source, action, target, outcome, detail_json";

AuditEvent ReadAudit(const Statement& q) {
  AuditEvent e;
  e.id = q.Int64(0);
  e.at = q.Int64(1);
  e.actor_id = q.Int64(2);
  e.actor = q.Text(3);
  e.source = q.Text(4);
  e.action = q.Text(5);
  e.target = q.Text(6);
  e.outcome = q.Text(7);
  e.detail_json = q.Text(8);
  return e;
}

}  // namespace

Status SqlStore::AppendAudit(const AuditEvent& event) {
  return Run("append audit event", [&](Connection& db) {
    nlohmann::json detail = nlohmann::json::parse(event.detail_json, nullptr, /*allow_exceptions=*/false);
    if (!detail.is_object()) Fail(Status::InvalidArgument("audit detail must be a JSON object"));
    Exec(db,
         "INSERT INTO audit_events (at, actor_id, actor, source, action, target, outcome, detail_json) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
         OrNow(event.at), event.actor_id, event.actor, event.source, event.action, event.target, event.outcome,
         event.detail_json);
  });
}

Result<std::vector<AuditEvent>> SqlStore::ListAudit(const AuditFilter& filter, int64_t* total) {
  return Run("list audit events", [&](Connection& db) {
    CheckPage(filter.limit, filter.offset);
    Conditions c;
    if (filter.actor) c.Add("actor = ?", *filter.actor);
    if (filter.action) c.Add("action = ?", *filter.action);
    if (filter.since) c.Add("at >= ?", *filter.since);
    if (filter.until) c.Add("at <= ?", *filter.until);
    if (total) *total = Count(db, "audit_events", c);
    return QueryPage(db, kAuditColumns, "audit_events", std::move(c), "at DESC, id DESC", filter.limit,
                     filter.offset, ReadAudit);
  });
}

}  // namespace clawback::controller::store::sql
