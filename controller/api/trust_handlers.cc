// Issue 19's endpoints: POST /api/v1/backups/{id}/verify (verification of a
// stored archive), /api/v1/webhooks (alerts) and /api/v1/fleet/protection
// (the admins' fleet summary). Permissions come from the route table like
// every other endpoint (auth/authorizer.h).
#include <algorithm>

#include "controller/alerts/events.h"
#include "controller/alerts/webhook_dispatcher.h"
#include "controller/api/handler_support.h"
#include "controller/api/trust_json.h"
#include "controller/auth/tokens.h"
#include "controller/clock.h"
#include "controller/cli/http_client.h"
#include "controller/store/store.h"
#include "controller/verify/drill.h"
#include "controller/verify/verification.h"

namespace clawback::controller::api {
namespace {

Status NotConfigured(const char* what) {
  return Status::Unavailable(std::string(what) + " is not available in this controller");
}

HttpResponse Verify(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  if (ctx.verifier == nullptr) return Fail(NotConfigured("verification"));
  auto check = ctx.verifier->Start(b);
  AuditCall(ctx, call, "backup.verify", target, check.status(), {{"instance", b.instance_name}});
  if (!check.ok()) return Fail(check.status());
  return JsonResponse(202, {{"backup_id", b.id}, {"verification", CheckJson(*check)}});
}

// Admin-only: the backup is loaded after Authorize, so a non-admin gets 403
// whether or not it exists.
HttpResponse Drill(ApiContext& ctx, Call& call) {
  if (ctx.drills == nullptr) return Fail(NotConfigured("restore drills"));
  auto id = PathId(call, "id", "backup");
  if (!id.ok()) return Fail(id.status());
  auto backup = ctx.store.GetBackup(*id);
  if (!backup.ok()) return Fail(Missing(backup.status(), "backup", *id));
  const std::string target_ref = "backup:" + std::to_string(*id);
  Id instance_id = backup->instance_id;
  if (call.body.is_object() && call.body.contains("instance_id")) {
    if (!call.body["instance_id"].is_number_integer()) {
      return Fail(Status::InvalidArgument("instance_id: must be an instance id"));
    }
    instance_id = call.body["instance_id"].get<Id>();
  }
  for (const auto& [key, value] : call.body.items()) {
    if (key != "instance_id") return Fail(Status::InvalidArgument(key + ": unknown field (instance_id)"));
  }
  auto target = ctx.store.GetInstance(instance_id);
  if (!target.ok()) {
    Status st = Missing(target.status(), "instance", instance_id);
    if (st.code() == Status::Code::kNotFound && !call.body.contains("instance_id")) {
      st = Status::NotFound("instance " + std::to_string(instance_id) +
                            " of the backup no longer exists; name another with instance_id");
    }
    AuditCall(ctx, call, "backup.drill", target_ref, st);
    return Fail(st);
  }
  auto check = ctx.drills->Start(*backup, *target);
  AuditCall(ctx, call, "backup.drill", target_ref, check.status(),
            {{"instance", backup->instance_name}, {"target_instance", target->name}});
  if (!check.ok()) return Fail(check.status());
  return JsonResponse(202, {{"backup_id", backup->id}, {"instance_id", target->id}, {"drill", CheckJson(*check)}});
}

// --- webhooks -----------------------------------------------------------------

// Never includes the secret.
Json WebhookJson(const Webhook& h) {
  return {{"id", h.id},
          {"url", h.url},
          {"events", h.events},
          {"enabled", h.enabled},
          {"created_at", TimeJson(h.created_at)}};
}

Json DeliveryJson(const WebhookDelivery& d) {
  Json body = Json::parse(d.body, nullptr, false);
  return {{"id", d.id},
          {"webhook_id", d.webhook_id},
          {"event", d.event},
          {"status", d.status},
          {"attempts", d.attempts},
          {"http_status", d.http_status == 0 ? Json(nullptr) : Json(d.http_status)},
          {"error", d.error.empty() ? Json(nullptr) : Json(d.error)},
          {"created_at", TimeJson(d.created_at)},
          {"last_attempt_at", TimeJson(d.last_attempt_at)},
          {"body", body.is_discarded() ? Json(d.body) : body}};
}

// Applies the fields present in `body` to `hook`; `creating` requires url
// and events. InvalidArgument naming the field.
Status ApplyWebhookFields(const Json& body, bool creating, Webhook* hook) {
  if (!body.is_object()) return Status::InvalidArgument("body: must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "url" && key != "secret" && key != "events" && key != "enabled") {
      return Status::InvalidArgument(key + ": unknown field (url, secret, events, enabled)");
    }
  }
  if (body.contains("url")) {
    if (!body["url"].is_string()) return Status::InvalidArgument("url: must be a string");
    std::string url = body["url"];
    auto parsed = cli::ParseServerUrl(url);
    if (!parsed.ok()) return Status::InvalidArgument("url: must be an http:// or https:// URL with a host: " + url);
    hook->url = url;
  } else if (creating) {
    return Status::InvalidArgument("url: required");
  }
  if (body.contains("events")) {
    if (!body["events"].is_array() || body["events"].empty()) {
      return Status::InvalidArgument("events: must be a non-empty array of event names");
    }
    std::vector<std::string> events;
    for (const Json& e : body["events"]) {
      if (!e.is_string() || !IsSubscribableEvent(e.get<std::string>())) {
        std::string known;
        for (const std::string& n : SubscribableEvents()) known += (known.empty() ? "" : ", ") + n;
        return Status::InvalidArgument("events: unknown event " + e.dump() + " (known: " + known + ")");
      }
      if (std::find(events.begin(), events.end(), e.get<std::string>()) == events.end()) events.push_back(e);
    }
    hook->events = std::move(events);
  } else if (creating) {
    return Status::InvalidArgument("events: required");
  }
  if (body.contains("enabled")) {
    if (!body["enabled"].is_boolean()) return Status::InvalidArgument("enabled: must be true or false");
    hook->enabled = body["enabled"];
  }
  if (body.contains("secret")) {
    if (!body["secret"].is_string() || body["secret"].get<std::string>().size() < 16 ||
        body["secret"].get<std::string>().size() > 256) {
      return Status::InvalidArgument("secret: must be a string of 16 to 256 characters");
    }
    hook->secret = body["secret"];
  }
  return Status::Ok();
}

HttpResponse CreateWebhook(ApiContext& ctx, Call& call) {
  Webhook hook;
  Status st = ApplyWebhookFields(call.body, true, &hook);
  if (!st.ok()) return Fail(st);
  const bool generated = hook.secret.empty();
  if (generated) {
    auto secret = auth::RandomSecret(32);
    if (!secret.ok()) return Fail(secret.status());
    hook.secret = *secret;
  }
  hook.created_by = call.principal->user.id;
  auto created = ctx.store.CreateWebhook(hook);
  AuditCall(ctx, call, "webhook.create", created.ok() ? "webhook:" + std::to_string(created->id) : "webhook",
            created.status(), {{"url", hook.url}, {"events", hook.events}});
  if (!created.ok()) return Fail(created.status());
  Json j = WebhookJson(*created);
  // The only time the secret leaves the controller: the answer to its creation.
  j["secret"] = created->secret;
  return JsonResponse(201, j);
}

HttpResponse ListWebhooks(ApiContext& ctx, Call& call) {
  auto hooks = ctx.store.ListWebhooks();
  if (!hooks.ok()) return Fail(hooks.status());
  Json list = Json::array();
  for (const Webhook& h : *hooks) list.push_back(WebhookJson(h));
  return JsonResponse(200, {{"webhooks", list}, {"events", SubscribableEvents()}});
}

Result<Webhook> LoadWebhook(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "webhook");
  if (!id.ok()) return id.status();
  return ctx.store.GetWebhook(*id);
}

HttpResponse ShowWebhook(ApiContext& ctx, Call& call) {
  auto hook = LoadWebhook(ctx, call);
  if (!hook.ok()) return Fail(hook.status());
  return JsonResponse(200, WebhookJson(*hook));
}

HttpResponse UpdateWebhook(ApiContext& ctx, Call& call) {
  auto hook = LoadWebhook(ctx, call);
  if (!hook.ok()) return Fail(hook.status());
  Status st = ApplyWebhookFields(call.body, false, &*hook);
  if (st.ok()) st = ctx.store.UpdateWebhook(*hook);
  Json detail = {{"url", hook->url}, {"events", hook->events}, {"enabled", hook->enabled},
                 {"secret_changed", call.body.is_object() && call.body.contains("secret")}};
  AuditCall(ctx, call, "webhook.update", "webhook:" + std::to_string(hook->id), st, detail);
  if (!st.ok()) return Fail(st);
  return JsonResponse(200, WebhookJson(*hook));
}

HttpResponse DeleteWebhook(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "webhook");
  if (!id.ok()) return Fail(id.status());
  Status st = ctx.store.DeleteWebhook(*id);
  AuditCall(ctx, call, "webhook.delete", "webhook:" + std::to_string(*id), st);
  return st.ok() ? NoContent() : Fail(st);
}

HttpResponse TestWebhook(ApiContext& ctx, Call& call) {
  if (ctx.webhooks == nullptr) return Fail(NotConfigured("webhook delivery"));
  auto id = PathId(call, "id", "webhook");
  if (!id.ok()) return Fail(id.status());
  auto delivery = ctx.webhooks->SendTest(*id);
  AuditCall(ctx, call, "webhook.test", "webhook:" + std::to_string(*id), delivery.status());
  if (!delivery.ok()) return Fail(delivery.status());
  return JsonResponse(202, DeliveryJson(*delivery));
}

HttpResponse ListDeliveries(ApiContext& ctx, Call& call) {
  auto hook = LoadWebhook(ctx, call);
  if (!hook.ok()) return Fail(hook.status());
  auto page = ReadPage(call.request, 50);
  if (!page.ok()) return Fail(page.status());
  auto list = ctx.store.ListWebhookDeliveries(hook->id, page->limit);
  if (!list.ok()) return Fail(list.status());
  Json out = Json::array();
  for (const WebhookDelivery& d : *list) out.push_back(DeliveryJson(d));
  return JsonResponse(200, {{"deliveries", out}});
}

// --- fleet protection (admins) ---------------------------------------------------

HttpResponse FleetProtection(ApiContext& ctx, Call& call) {
  auto instances = ctx.store.ListInstances();
  if (!instances.ok()) return Fail(instances.status());
  const UnixTime now = ctx.clock.Now();
  auto fleet = FleetProtectionOf(ctx, *instances, now);
  if (!fleet.ok()) return Fail(fleet.status());
  Json summary = {{"protected", 0}, {"stale", 0}, {"failing", 0}, {"unprotected", 0}, {"total", 0}};
  Json list = Json::array();
  for (const Instance& i : *instances) {
    Json p = ProtectionJson(ctx, fleet->at(i.id), now);
    summary[p["state"].get<std::string>()] = summary[p["state"].get<std::string>()].get<int>() + 1;
    summary["total"] = summary["total"].get<int>() + 1;
    list.push_back({{"instance_id", i.id}, {"instance_name", i.name}, {"protection", p}});
  }
  return JsonResponse(200, {{"summary", summary}, {"instances", list}});
}

}  // namespace

std::vector<Route> TrustRoutes() {
  using A = auth::Action;
  auto backup = ResolveBackupParam();
  std::vector<Route> r;
  r.push_back({"POST", "/api/v1/backups/{id}/verify", Access::kSignedIn, A::kVerifyBackup, backup, Verify,
               "Verify the stored archive (SHA-256, block digests, every zstd frame and tar entry, the index)",
               false});
  r.push_back({"POST", "/api/v1/backups/{id}/drill", Access::kSignedIn, A::kDrillBackup, nullptr, Drill,
               "Restore drill (admins): extract into an agent's scratch directory, check files and databases; "
               "optional {\"instance_id\"}",
               true});
  r.push_back({"GET", "/api/v1/webhooks", Access::kSignedIn, A::kManageWebhooks, nullptr, ListWebhooks,
               "Webhooks (admins)", false});
  r.push_back({"POST", "/api/v1/webhooks", Access::kSignedIn, A::kManageWebhooks, nullptr, CreateWebhook,
               "Create a webhook {url, secret?, events, enabled?}; the secret is returned only here", true});
  r.push_back({"GET", "/api/v1/webhooks/{id}", Access::kSignedIn, A::kManageWebhooks, nullptr, ShowWebhook,
               "One webhook (never its secret)", false});
  r.push_back({"PATCH", "/api/v1/webhooks/{id}", Access::kSignedIn, A::kManageWebhooks, nullptr, UpdateWebhook,
               "Change a webhook's url, events, enabled or secret", true});
  r.push_back({"DELETE", "/api/v1/webhooks/{id}", Access::kSignedIn, A::kManageWebhooks, nullptr, DeleteWebhook,
               "Delete a webhook and its delivery log", false});
  r.push_back({"POST", "/api/v1/webhooks/{id}/test", Access::kSignedIn, A::kManageWebhooks, nullptr, TestWebhook,
               "Queue a webhook.test delivery", false});
  r.push_back({"GET", "/api/v1/webhooks/{id}/deliveries", Access::kSignedIn, A::kManageWebhooks, nullptr,
               ListDeliveries, "A webhook's delivery log, newest first (?limit=)", false});
  r.push_back({"GET", "/api/v1/fleet/protection", Access::kSignedIn, A::kViewFleet, nullptr, FleetProtection,
               "Protection of every instance and how many are protected, stale, failing, unprotected (admins)",
               false});
  return r;
}

}  // namespace clawback::controller::api
