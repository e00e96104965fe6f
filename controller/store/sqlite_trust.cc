// SqliteStore: backup checks (table backup_checks: the latest verification
// and drill of each backup), webhooks and their delivery log (tables
// webhooks, webhook_deliveries). Deleting a backup drops its checks (a
// trigger); deleting a webhook drops its deliveries (ON DELETE CASCADE).
#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kCheckColumns = "backup_id, kind, status, at, duration_s, error, detail_json";

BackupCheck ReadCheck(SQLite::Statement& q) {
  BackupCheck c;
  c.backup_id = q.getColumn(0).getInt64();
  c.kind = q.getColumn(1).getString() == "drill" ? CheckKind::kDrill : CheckKind::kVerify;
  auto status = ParseCheckStatus(q.getColumn(2).getString());
  if (!status) Fail(Status::Corruption("backup_checks.status: unknown value " + Quoted(q.getColumn(2).getString())));
  c.status = *status;
  c.at = q.getColumn(3).getInt64();
  c.duration_s = q.getColumn(4).getDouble();
  c.error = q.getColumn(5).getString();
  c.detail_json = q.getColumn(6).getString();
  return c;
}

constexpr const char* kWebhookColumns = "id, url, secret, events_json, enabled, created_by, created_at";

Webhook ReadWebhook(SQLite::Statement& q) {
  Webhook h;
  h.id = q.getColumn(0).getInt64();
  h.url = q.getColumn(1).getString();
  h.secret = q.getColumn(2).getString();
  h.events = JsonToStrings(q.getColumn(3).getString(), "webhooks.events_json");
  h.enabled = q.getColumn(4).getInt() != 0;
  h.created_by = q.getColumn(5).getInt64();
  h.created_at = q.getColumn(6).getInt64();
  return h;
}

constexpr const char* kDeliveryColumns =
    "id, webhook_id, event, body, created_at, last_attempt_at, attempts, status, http_status, error";

WebhookDelivery ReadDelivery(SQLite::Statement& q) {
  WebhookDelivery d;
  d.id = q.getColumn(0).getInt64();
  d.webhook_id = q.getColumn(1).getInt64();
  d.event = q.getColumn(2).getString();
  d.body = q.getColumn(3).getString();
  d.created_at = q.getColumn(4).getInt64();
  d.last_attempt_at = q.getColumn(5).getInt64();
  d.attempts = q.getColumn(6).getInt();
  d.status = q.getColumn(7).getString();
  d.http_status = q.getColumn(8).getInt();
  d.error = q.getColumn(9).getString();
  return d;
}

}  // namespace

Status SqliteStore::PutBackupCheck(const BackupCheck& c) {
  return Run("record backup check", [&] {
    SQLite::Statement q(*db_,
                        "INSERT OR REPLACE INTO backup_checks (backup_id, kind, status, at, duration_s, error, "
                        "detail_json) VALUES (?, ?, ?, ?, ?, ?, ?)");
    int next = BindFrom(q, 1, c.backup_id, std::string(CheckKindName(c.kind)), std::string(CheckStatusName(c.status)),
                        OrNow(c.at));
    q.bind(next, c.duration_s);  // REAL: BindValue has no double overload
    BindFrom(q, next + 1, c.error, c.detail_json);
    q.exec();
  });
}

Result<std::vector<BackupCheck>> SqliteStore::ListBackupChecks(const std::vector<Id>& backup_ids) {
  return Run("list backup checks", [&] {
    if (backup_ids.empty()) return std::vector<BackupCheck>();
    SQLite::Statement q(*db_, Select(kCheckColumns, "FROM backup_checks WHERE backup_id IN (" +
                                                        Placeholders(backup_ids.size()) + ")"));
    std::vector<Param> params(backup_ids.begin(), backup_ids.end());
    BindAll(q, params);
    return ReadAll(q, ReadCheck);
  });
}

// One pass over the checks of completed backups; portable SQL (SQLite >= 3.25
// and PostgreSQL): window functions rank each instance's checks of a kind,
// finished ones first, newest first.
Result<std::vector<LatestCheck>> SqliteStore::ListLatestChecks() {
  return RunRead("list latest backup checks", [&] {
    auto q = reader_statements_.Get(
        Select(kCheckColumns,
               ", instance_id, running FROM ("
               " SELECT c.backup_id, c.kind, c.status, c.at, c.duration_s, c.error, c.detail_json, b.instance_id,"
               "  ROW_NUMBER() OVER (PARTITION BY b.instance_id, c.kind ORDER BY"
               "   CASE WHEN c.status = 'running' THEN 1 ELSE 0 END, c.at DESC, c.backup_id DESC) AS rank_in_kind,"
               "  MAX(CASE WHEN c.status = 'running' THEN 1 ELSE 0 END)"
               "   OVER (PARTITION BY b.instance_id, c.kind) AS running"
               " FROM backup_checks c JOIN backups b ON b.id = c.backup_id WHERE b.status = 'completed') ranked"
               " WHERE rank_in_kind = 1"));
    return ReadAll(*q, [](SQLite::Statement& row) {
      LatestCheck l;
      BackupCheck c = ReadCheck(row);
      l.instance_id = row.getColumn(7).getInt64();
      l.kind = c.kind;
      l.running = row.getColumn(8).getInt() != 0;
      if (c.status != CheckStatus::kRunning) l.newest = std::move(c);
      return l;
    });
  });
}

Status SqliteStore::FailRunningChecks(UnixTime now, const std::string& error) {
  return Run("fail running backup checks", [&] {
    Exec(*db_, "UPDATE backup_checks SET status = 'failed', at = ?, error = ? WHERE status = 'running'", now, error);
  });
}

Result<Webhook> SqliteStore::CreateWebhook(const Webhook& hook) {
  return Run("create webhook", [&] {
    Webhook h = hook;
    h.created_at = OrNow(h.created_at);
    Exec(*db_, "INSERT INTO webhooks (url, secret, events_json, enabled, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
         h.url, h.secret, StringsToJson(h.events), h.enabled, h.created_by, h.created_at);
    h.id = db_->getLastInsertRowid();
    return h;
  });
}

Result<Webhook> SqliteStore::GetWebhook(Id id) {
  return Run("get webhook", [&] {
    return QueryOne(*db_, Select(kWebhookColumns, "FROM webhooks WHERE id = ?"), ReadWebhook,
                    NotFound("webhook", id), id);
  });
}

Result<std::vector<Webhook>> SqliteStore::ListWebhooks() {
  return Run("list webhooks",
             [&] { return QueryAll(*db_, Select(kWebhookColumns, "FROM webhooks ORDER BY id"), ReadWebhook); });
}

Status SqliteStore::UpdateWebhook(const Webhook& h) {
  return Run("update webhook", [&] {
    ExecOne(*db_, "UPDATE webhooks SET url = ?, secret = ?, events_json = ?, enabled = ? WHERE id = ?",
            NotFound("webhook", h.id), h.url, h.secret, StringsToJson(h.events), h.enabled, h.id);
  });
}

Status SqliteStore::DeleteWebhook(Id id) {
  return Run("delete webhook",
             [&] { ExecOne(*db_, "DELETE FROM webhooks WHERE id = ?", NotFound("webhook", id), id); });
}

Result<WebhookDelivery> SqliteStore::CreateWebhookDelivery(const WebhookDelivery& delivery) {
  return Run("create webhook delivery", [&] {
    WebhookDelivery d = delivery;
    d.created_at = OrNow(d.created_at);
    ExecChecked(*db_,
                "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, last_attempt_at, attempts, "
                "status, http_status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {.foreign_key = NotFound("webhook", d.webhook_id)}, d.webhook_id, d.event, d.body, d.created_at,
                d.last_attempt_at, d.attempts, d.status, d.http_status, d.error);
    d.id = db_->getLastInsertRowid();
    return d;
  });
}

Status SqliteStore::UpdateWebhookDelivery(const WebhookDelivery& d) {
  return Run("update webhook delivery", [&] {
    ExecOne(*db_,
            "UPDATE webhook_deliveries SET last_attempt_at = ?, attempts = ?, status = ?, http_status = ?, "
            "error = ? WHERE id = ?",
            NotFound("webhook delivery", d.id), d.last_attempt_at, d.attempts, d.status, d.http_status, d.error,
            d.id);
  });
}

Result<std::vector<WebhookDelivery>> SqliteStore::ListWebhookDeliveries(Id webhook_id, int limit) {
  return Run("list webhook deliveries", [&] {
    CheckPage(limit, 0);
    return QueryAll(*db_,
                    Select(kDeliveryColumns, "FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?"),
                    ReadDelivery, webhook_id, limit);
  });
}

}  // namespace clawback::controller::store::sqlite
