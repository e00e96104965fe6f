// /api/v1/instances: registering, listing, changing and removing instances,
// and issuing an agent's certificate bundle.
#include "controller/agents/agent_connector.h"
#include "controller/agents/agent_url.h"
#include "controller/api/handler_support.h"
#include "controller/api/json_text.h"
#include "controller/api/trust_json.h"
#include "controller/clock.h"
#include "controller/jobs/transfers.h"
#include "controller/metrics/metrics.h"
#include "controller/pki/certificate_authority.h"
#include "controller/store/store.h"
#include "shared/tls.h"

namespace clawback::controller::api {
namespace {

Json FullInstanceJson(ApiContext& ctx, const Instance& instance) {
  BackupFilter filter;
  filter.instance_id = instance.id;
  filter.limit = 1;
  std::optional<Backup> latest;
  if (auto list = ctx.store.ListBackups(filter, nullptr); list.ok() && !list->empty()) latest = list->front();
  Json j = InstanceJson(instance, ctx.agents.Health(instance.id), latest);
  j["protection"] = ProtectionJson(ctx, instance);
  return j;
}

Status ValidateName(const std::string& name) {
  Status st = tls::ValidateInstanceName(name);
  if (!st.ok() && st.message().rfind("name: ", 0) != 0) return Status::InvalidArgument("name: " + st.message());
  return st;
}

Status ValidateUrl(const std::string& url) {
  auto parsed = ParseAgentUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("agent_url: " + parsed.status().message());
  return Status::Ok();
}

// A fixed number of store queries whatever the number of instances: the
// instances, then their newest backups and checks (FleetProtectionOf).
HttpResponse List(ApiContext& ctx, Call& call) {
  auto all = ctx.store.ListInstances();
  if (!all.ok()) return Fail(all.status());
  std::vector<Instance> visible;
  for (const Instance& i : *all) {
    if (auth::CanSeeInstance(*call.principal, i.id)) visible.push_back(i);
  }
  const UnixTime now = ctx.clock.Now();
  auto fleet = FleetProtectionOf(ctx, visible, now);
  if (!fleet.ok()) return Fail(fleet.status());
  // Written straight into the body, one instance after the other: no tree of
  // 1,000 objects is built (json_text.h).
  std::string body;
  body.reserve(visible.size() * 1536 + 32);
  JsonText w(body);
  w.BeginObject().Key("instances").BeginArray();
  const int64_t unprotected_after_s = UnprotectedAfter(ctx);
  for (const Instance& i : visible) {
    const InstanceProtection& p = fleet->at(i.id);
    WriteInstance(w, i, ctx.agents.Health(i.id), p.latest,
                  [&](JsonText& out) { WriteProtection(out, p, now, unprotected_after_s); });
  }
  w.EndArray().EndObject();
  return JsonTextResponse(200, std::move(body));
}

HttpResponse Register(ApiContext& ctx, Call& call) {
  auto name = ReqString(call.body, "name");
  if (!name.ok()) return Fail(name.status());
  auto url = ReqString(call.body, "agent_url");
  if (!url.ok()) return Fail(url.status());
  if (Status st = ValidateName(*name); !st.ok()) return Fail(st, "name");
  if (Status st = ValidateUrl(*url); !st.ok()) return Fail(st, "agent_url");

  Instance instance;
  instance.name = *name;
  instance.agent_url = *url;
  instance.created_by = call.principal->user.id;
  instance.created_at = ctx.clock.Now();
  auto created = ctx.store.CreateInstance(instance);
  const std::string target = "instance:" + *name;
  AuditCall(ctx, call, "instance.register", target, created.status(), {{"agent_url", *url}});
  if (!created.ok()) return Fail(created.status(), created.status().code() == Status::Code::kAlreadyExists ? "name" : "");
  ctx.agents.Probe(*created);  // status at once; the background prober keeps it fresh
  return JsonResponse(201, FullInstanceJson(ctx, *created));
}

HttpResponse Show(ApiContext& ctx, Call& call) { return JsonResponse(200, FullInstanceJson(ctx, *call.instance)); }

// Admin-only routes load their instance after Authorize, so a non-admin gets
// 403 whether or not the instance exists.
Status LoadInstance(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "instance");
  if (!id.ok()) return id.status();
  auto instance = ctx.store.GetInstance(*id);
  if (!instance.ok()) return Missing(instance.status(), "instance", *id);
  call.instance = *instance;
  return Status::Ok();
}

HttpResponse Change(ApiContext& ctx, Call& call) {
  if (Status st = LoadInstance(ctx, call); !st.ok()) return Fail(st);
  auto name = OptString(call.body, "name");
  if (!name.ok()) return Fail(name.status());
  auto url = OptString(call.body, "agent_url");
  if (!url.ok()) return Fail(url.status());
  Instance updated = *call.instance;
  Json detail = Json::object();
  if (*name) {
    if (Status st = ValidateName(**name); !st.ok()) return Fail(st, "name");
    detail["name"] = {{"from", updated.name}, {"to", **name}};
    updated.name = **name;
  }
  if (*url) {
    if (Status st = ValidateUrl(**url); !st.ok()) return Fail(st, "agent_url");
    detail["agent_url"] = {{"from", updated.agent_url}, {"to", **url}};
    updated.agent_url = **url;
  }
  if (updated.name != call.instance->name && ctx.transfers.IsBusy(updated.id)) {
    return Fail(Status::Conflict("instance " + call.instance->name +
                                 " has a transfer queued or running; rename it when it is idle"));
  }
  Status st = ctx.store.UpdateInstance(updated);
  AuditCall(ctx, call, "instance.change", "instance:" + call.instance->name, st, detail);
  if (!st.ok()) return Fail(st, st.code() == Status::Code::kAlreadyExists ? "name" : "");
  if (updated.name != call.instance->name) ctx.metrics.ForgetInstance(call.instance->name);
  ctx.agents.Probe(updated);
  return JsonResponse(200, FullInstanceJson(ctx, updated));
}

HttpResponse Remove(ApiContext& ctx, Call& call) {
  if (Status st = LoadInstance(ctx, call); !st.ok()) return Fail(st);
  if (ctx.transfers.IsBusy(call.instance->id)) {
    return Fail(Status::Conflict("instance " + call.instance->name +
                                 " has a transfer queued or running; cancel it or wait before removing the instance"));
  }
  Status st = ctx.store.DeleteInstance(call.instance->id);
  AuditCall(ctx, call, "instance.remove", "instance:" + call.instance->name, st);
  if (!st.ok()) return Fail(st);
  ctx.metrics.ForgetInstance(call.instance->name);
  return NoContent();
}

HttpResponse Bundle(ApiContext& ctx, Call& call) {
  if (Status st = LoadInstance(ctx, call); !st.ok()) return Fail(st);
  auto bundle = pki::IssueInstanceBundle(ctx.ca_cert_file, ctx.ca_key_file, call.instance->name);
  AuditCall(ctx, call, "instance.bundle", "instance:" + call.instance->name, bundle.status());
  if (!bundle.ok()) return Fail(bundle.status());
  HttpResponse r = JsonResponse(200, {{"instance", call.instance->name},
                                      {"ca_crt", bundle->ca_pem},
                                      {"agent_crt", bundle->cert_pem},
                                      {"agent_key", bundle->key_pem}});
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

}  // namespace

std::vector<Route> InstanceRoutes() {
  using A = auth::Action;
  auto one = ResolveInstanceParam();
  std::vector<Route> r;
  r.push_back({"GET", "/api/v1/instances", Access::kSignedIn, A::kListInstances, nullptr, List,
               "Instances visible to you, with status and latest backup", false});
  r.push_back({"POST", "/api/v1/instances", Access::kSignedIn, A::kRegisterInstance, nullptr, Register,
               "Register an instance (admin)", true});
  r.push_back({"GET", "/api/v1/instances/{id}", Access::kSignedIn, A::kViewInstance, one, Show, "One instance", false});
  r.push_back({"PATCH", "/api/v1/instances/{id}", Access::kSignedIn, A::kChangeInstance, nullptr, Change,
               "Change an instance's name or agent URL (admin)", true});
  r.push_back({"DELETE", "/api/v1/instances/{id}", Access::kSignedIn, A::kRemoveInstance, nullptr, Remove,
               "Remove an instance; its backups stay (admin)", false});
  r.push_back({"POST", "/api/v1/instances/{id}/bundle", Access::kSignedIn, A::kIssueBundle, nullptr, Bundle,
               "Issue the instance agent's certificate bundle (admin)", false});
  return r;
}

}  // namespace clawback::controller::api
