// SqliteStore: the audit log (table audit_events). Append-only: nothing here
// updates or deletes an event.
#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kAuditColumns = "id, at, actor_id, actor, source, action, target, outcome, detail_json";

AuditEvent ReadAudit(SQLite::Statement& q) {
  AuditEvent e;
  e.id = q.getColumn(0).getInt64();
  e.at = q.getColumn(1).getInt64();
  e.actor_id = q.getColumn(2).getInt64();
  e.actor = q.getColumn(3).getString();
  e.source = q.getColumn(4).getString();
  e.action = q.getColumn(5).getString();
  e.target = q.getColumn(6).getString();
  e.outcome = q.getColumn(7).getString();
  e.detail_json = q.getColumn(8).getString();
  return e;
}

}  // namespace

Status SqliteStore::AppendAudit(const AuditEvent& event) {
  return Run("append audit event", [&] {
    nlohmann::json detail = nlohmann::json::parse(event.detail_json, nullptr, /*allow_exceptions=*/false);
    if (!detail.is_object()) Fail(Status::InvalidArgument("audit detail must be a JSON object"));
    Exec(*db_,
         "INSERT INTO audit_events (at, actor_id, actor, source, action, target, outcome, detail_json) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
         OrNow(event.at), event.actor_id, event.actor, event.source, event.action, event.target, event.outcome,
         event.detail_json);
  });
}

Result<std::vector<AuditEvent>> SqliteStore::ListAudit(const AuditFilter& filter, int64_t* total) {
  return Run("list audit events", [&] {
    CheckPage(filter.limit, filter.offset);
    Conditions c;
    if (filter.actor) c.Add("actor = ?", *filter.actor);
    if (filter.action) c.Add("action = ?", *filter.action);
    if (filter.since) c.Add("at >= ?", *filter.since);
    if (filter.until) c.Add("at <= ?", *filter.until);
    if (total) *total = Count(*db_, "audit_events", c);
    return QueryPage(*db_, kAuditColumns, "audit_events", std::move(c), "at DESC, id DESC", filter.limit,
                     filter.offset, ReadAudit);
  });
}

}  // namespace clawback::controller::store::sqlite
