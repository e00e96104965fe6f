// SqlStore: backup checks (table backup_checks: the latest verification
// and drill of each backup), webhooks and their delivery log (tables
// webhooks, webhook_deliveries). Deleting a backup drops its checks (a
// trigger); deleting a webhook drops its deliveries (ON DELETE CASCADE).
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kCheckColumns = "backup_id, kind, status, at, duration_s, error, detail_json, owner";

BackupCheck ReadCheck(const Statement& q) {
  BackupCheck c;
  c.backup_id = q.Int64(0);
  c.kind = q.Text(1) == "drill" ? CheckKind::kDrill : CheckKind::kVerify;
  auto status = ParseCheckStatus(q.Text(2));
  if (!status) Fail(Status::Corruption("backup_checks.status: unknown value " + Quoted(q.Text(2))));
  c.status = *status;
  c.at = q.Int64(3);
  c.duration_s = q.Double(4);
  c.error = q.Text(5);
  c.detail_json = q.Text(6);
  c.owner = q.Text(7);
  return c;
}

constexpr const char* kWebhookColumns = "id, url, secret, events_json, enabled, created_by, created_at";

Webhook ReadWebhook(const Statement& q) {
  Webhook h;
  h.id = q.Int64(0);
  h.url = q.Text(1);
  h.secret = q.Text(2);
  h.events = JsonToStrings(q.Text(3), "webhooks.events_json");
  h.enabled = q.Int(4) != 0;
  h.created_by = q.Int64(5);
  h.created_at = q.Int64(6);
  return h;
}

constexpr const char* kDeliveryColumns =
    "id, webhook_id, event, body, created_at, last_attempt_at, attempts, status, http_status, error";

WebhookDelivery ReadDelivery(const Statement& q) {
  WebhookDelivery d;
  d.id = q.Int64(0);
  d.webhook_id = q.Int64(1);
  d.event = q.Text(2);
  d.body = q.Text(3);
  d.created_at = q.Int64(4);
  d.last_attempt_at = q.Int64(5);
  d.attempts = q.Int(6);
  d.status = q.Text(7);
  d.http_status = q.Int(8);
  d.error = q.Text(9);
  return d;
}

}  // namespace

Status SqlStore::PutBackupCheck(const BackupCheck& c) {
  return Run("record backup check", [&](Connection& db) {
    Exec(db,
         "INSERT INTO backup_checks (backup_id, kind, status, at, duration_s, error, detail_json, owner) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (backup_id, kind) DO UPDATE SET status = excluded.status, "
         "at = excluded.at, duration_s = excluded.duration_s, error = excluded.error, "
         "detail_json = excluded.detail_json, owner = excluded.owner",
         c.backup_id, std::string(CheckKindName(c.kind)), std::string(CheckStatusName(c.status)), OrNow(c.at),
         c.duration_s, c.error, c.detail_json, c.owner);
  });
}

Result<std::vector<BackupCheck>> SqlStore::ListBackupChecks(const std::vector<Id>& backup_ids) {
  return Run("list backup checks", [&](Connection& db) {
    if (backup_ids.empty()) return std::vector<BackupCheck>();
    auto q = db.Prepare(
        Select(kCheckColumns, "FROM backup_checks WHERE backup_id IN (" + Placeholders(backup_ids.size()) + ")"));
    std::vector<Param> params(backup_ids.begin(), backup_ids.end());
    BindAll(*q, params);
    return ReadAll(*q, ReadCheck);
  });
}

// One pass over the checks of completed backups: window functions rank each
// instance's checks of a kind, finished ones first, newest first.
Result<std::vector<LatestCheck>> SqlStore::ListLatestChecks() {
  return RunRead("list latest backup checks", [&](Connection& db) {
    auto q = db.Prepare(
        Select(kCheckColumns,
               ", instance_id, running FROM ("
               " SELECT c.backup_id, c.kind, c.status, c.at, c.duration_s, c.error, c.detail_json, c.owner, b.instance_id,"
               "  ROW_NUMBER() OVER (PARTITION BY b.instance_id, c.kind ORDER BY"
               "   CASE WHEN c.status = 'running' THEN 1 ELSE 0 END, c.at DESC, c.backup_id DESC) AS rank_in_kind,"
               "  MAX(CASE WHEN c.status = 'running' THEN 1 ELSE 0 END)"
               "   OVER (PARTITION BY b.instance_id, c.kind) AS running"
               " FROM backup_checks c JOIN backups b ON b.id = c.backup_id WHERE b.status = 'completed') ranked"
               " WHERE rank_in_kind = 1"));
    return ReadAll(*q, [](const Statement& row) {
      LatestCheck l;
      BackupCheck c = ReadCheck(row);
      l.instance_id = row.Int64(8);
      l.kind = c.kind;
      l.running = row.Int(9) != 0;
      if (c.status != CheckStatus::kRunning) l.newest = std::move(c);
      return l;
    });
  });
}

Status SqlStore::FailRunningChecks(UnixTime now, const std::string& error, const std::string& previous_life) {
  return Run("fail running backup checks", [&](Connection& db) {
    // '||' concatenates on both engines; the lease's name is ReplicaLeaseName.
    Exec(db,
         "UPDATE backup_checks SET status = 'failed', at = ?, error = ? WHERE status = 'running' AND "
         "(owner = '' OR owner = ? OR NOT EXISTS (SELECT 1 FROM leases WHERE leases.name = 'replica:' || "
         "backup_checks.owner AND leases.holder = backup_checks.owner AND leases.expires_at >= ?))",
         now, error, previous_life, now);
  });
}

Result<Webhook> SqlStore::CreateWebhook(const Webhook& hook) {
  return Run("create webhook", [&](Connection& db) {
    Webhook h = hook;
    h.created_at = OrNow(h.created_at);
    h.id = InsertReturningId(db,
                             "INSERT INTO webhooks (url, secret, events_json, enabled, created_by, created_at) "
                             "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                             {}, h.url, h.secret, StringsToJson(h.events), h.enabled, h.created_by, h.created_at);
    return h;
  });
}

Result<Webhook> SqlStore::GetWebhook(Id id) {
  return Run("get webhook", [&](Connection& db) {
    return QueryOne(db, Select(kWebhookColumns, "FROM webhooks WHERE id = ?"), ReadWebhook,
                    NotFound("webhook", id), id);
  });
}

Result<std::vector<Webhook>> SqlStore::ListWebhooks() {
  return Run("list webhooks",
             [&](Connection& db) { return QueryAll(db, Select(kWebhookColumns, "FROM webhooks ORDER BY id"), ReadWebhook); });
}

Status SqlStore::UpdateWebhook(const Webhook& h) {
  return Run("update webhook", [&](Connection& db) {
    ExecOne(db, "UPDATE webhooks SET url = ?, secret = ?, events_json = ?, enabled = ? WHERE id = ?",
            NotFound("webhook", h.id), h.url, h.secret, StringsToJson(h.events), h.enabled, h.id);
  });
}

Status SqlStore::DeleteWebhook(Id id) {
  return Run("delete webhook",
             [&](Connection& db) { ExecOne(db, "DELETE FROM webhooks WHERE id = ?", NotFound("webhook", id), id); });
}

Result<WebhookDelivery> SqlStore::CreateWebhookDelivery(const WebhookDelivery& delivery) {
  return Run("create webhook delivery", [&](Connection& db) {
    WebhookDelivery d = delivery;
    d.created_at = OrNow(d.created_at);
    d.id = InsertReturningId(db,
                "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, last_attempt_at, attempts, "
                "status, http_status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                {.foreign_key = NotFound("webhook", d.webhook_id)}, d.webhook_id, d.event, d.body, d.created_at,
                d.last_attempt_at, d.attempts, d.status, d.http_status, d.error);
    return d;
  });
}

Status SqlStore::UpdateWebhookDelivery(const WebhookDelivery& d) {
  return Run("update webhook delivery", [&](Connection& db) {
    ExecOne(db,
            "UPDATE webhook_deliveries SET last_attempt_at = ?, attempts = ?, status = ?, http_status = ?, "
            "error = ? WHERE id = ?",
            NotFound("webhook delivery", d.id), d.last_attempt_at, d.attempts, d.status, d.http_status, d.error,
            d.id);
  });
}

Result<std::vector<WebhookDelivery>> SqlStore::ListWebhookDeliveries(Id webhook_id, int limit) {
  return Run("list webhook deliveries", [&](Connection& db) {
    CheckPage(limit, 0);
    return QueryAll(db,
                    Select(kDeliveryColumns, "FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?"),
                    ReadDelivery, webhook_id, limit);
  });
}

}  // namespace clawback::controller::store::sql
