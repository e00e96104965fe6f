// /api/v1/backup-schedules (admin) and /api/v1/cron/preview (any signed-in
// user, for the schedule dialog).
#include <charconv>

#include "controller/api/handler_support.h"
#include "controller/api/requests.h"
#include "controller/clock.h"
#include "controller/scheduler/fire_times.h"
#include "controller/scheduler/scheduler.h"
#include "controller/store/store.h"

namespace clawback::controller::api {
namespace {

constexpr int kNextRuns = 5;

// {"utc", "local"} pairs for the next `n` fire times after now.
Result<Json> NextRunsJson(const std::string& cron, const std::string& tz, UnixTime now, int n) {
  auto times = NextRunTimes(cron, tz, now, n);
  if (!times.ok()) return times.status();
  Json runs = Json::array();
  for (UnixTime t : *times) {
    auto local = FormatLocalRfc3339(tz, t);
    runs.push_back({{"utc", FormatRfc3339(t)}, {"local", local.ok() ? Json(*local) : Json(nullptr)}});
  }
  return runs;
}

Json FullScheduleJson(ApiContext& ctx, const Schedule& s) {
  auto description = DescribeCron(s.cron);
  auto runs = s.enabled ? NextRunsJson(s.cron, s.timezone, ctx.clock.Now(), kNextRuns) : Result<Json>(Json::array());
  return ScheduleJson(s, description.ok() ? *description : std::string(), runs.ok() ? *runs : Json::array());
}

// Applies the body's fields onto `s` (PUT replaces what it names; what it
// leaves out keeps its value), then validates the whole schedule.
Status ApplyFields(ApiContext& ctx, const Json& body, Schedule* s) {
  auto fields = DecodeScheduleFields(body);
  if (!fields.ok()) {
    // Fail() reads the answer's "field" from a "field: ..." message.
    const BodyError& e = fields.error();
    if (!e.field.empty() && e.status.message().rfind(e.field + ": ", 0) != 0) return e.status.WithContext(e.field);
    return e.status;
  }
  ApplyScheduleFields(*fields, s);
  for (Id id : s->instance_ids) {
    if (!ctx.store.GetInstance(id).ok()) {
      return Status::InvalidArgument("instance_ids: instance " + std::to_string(id) + " not found");
    }
  }
  return ValidateSchedule(*s);
}

Status LoadSchedule(ApiContext& ctx, const Call& call, Schedule* out) {
  auto id = PathId(call, "id", "schedule");
  if (!id.ok()) return id.status();
  auto s = ctx.store.GetSchedule(*id);
  if (!s.ok()) return Missing(s.status(), "schedule", *id);
  *out = *s;
  return Status::Ok();
}

HttpResponse List(ApiContext& ctx, Call& call) {
  auto all = ctx.store.ListSchedules();
  if (!all.ok()) return Fail(all.status());
  Json list = Json::array();
  for (const Schedule& s : *all) list.push_back(FullScheduleJson(ctx, s));
  return JsonResponse(200, {{"schedules", list}});
}

HttpResponse Create(ApiContext& ctx, Call& call) {
  Schedule s;
  if (Status st = ApplyFields(ctx, call.body, &s); !st.ok()) return Fail(st);
  s.created_by = call.principal->user.id;
  s.created_at = ctx.clock.Now();
  auto created = ctx.store.CreateSchedule(s);
  AuditCall(ctx, call, "schedule.create", "schedule:" + s.name, created.status(), {{"cron", s.cron}});
  if (!created.ok()) return Fail(created.status(), created.status().code() == Status::Code::kAlreadyExists ? "name" : "");
  return JsonResponse(201, FullScheduleJson(ctx, *created));
}

HttpResponse Show(ApiContext& ctx, Call& call) {
  Schedule s;
  if (Status st = LoadSchedule(ctx, call, &s); !st.ok()) return Fail(st);
  return JsonResponse(200, FullScheduleJson(ctx, s));
}

HttpResponse Update(ApiContext& ctx, Call& call) {
  Schedule s;
  if (Status st = LoadSchedule(ctx, call, &s); !st.ok()) return Fail(st);
  if (Status st = ApplyFields(ctx, call.body, &s); !st.ok()) return Fail(st);
  Status st = ctx.store.UpdateSchedule(s);
  AuditCall(ctx, call, "schedule.change", "schedule:" + s.name, st, call.body);
  if (!st.ok()) return Fail(st, st.code() == Status::Code::kAlreadyExists ? "name" : "");
  auto stored = ctx.store.GetSchedule(s.id);
  return JsonResponse(200, FullScheduleJson(ctx, stored.ok() ? *stored : s));
}

HttpResponse Delete(ApiContext& ctx, Call& call) {
  Schedule s;
  if (Status st = LoadSchedule(ctx, call, &s); !st.ok()) return Fail(st);
  Status st = ctx.store.DeleteSchedule(s.id);
  AuditCall(ctx, call, "schedule.delete", "schedule:" + s.name, st);
  if (!st.ok()) return Fail(st);
  return NoContent();
}

HttpResponse Run(ApiContext& ctx, Call& call) {
  Schedule s;
  if (Status st = LoadSchedule(ctx, call, &s); !st.ok()) return Fail(st);
  auto run = ctx.scheduler.RunNow(s.id);
  AuditCall(ctx, call, "schedule.run", "schedule:" + s.name, run.status(),
            run.ok() ? Json{{"backups", run->started_backups}, {"skipped", run->skipped}} : Json::object());
  if (!run.ok()) return Fail(run.status());
  return JsonResponse(202, {{"backups", run->started_backups}, {"skipped", run->skipped}});
}

HttpResponse Preview(ApiContext& ctx, Call& call) {
  auto expr = call.request.Query("expr");
  if (!expr || expr->empty()) return Fail(Status::InvalidArgument("expr: is required (a cron expression)"), "expr");
  std::string tz = call.request.Query("tz").value_or("UTC");
  if (tz.empty()) tz = "UTC";
  int n = kNextRuns;
  if (auto text = call.request.Query("n")) {
    // The whole value must be the number: "1.5" or "5;x" is not 1 or 5.
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || end != text->data() + text->size()) n = 0;
    if (n < 1 || n > 50) return Fail(Status::InvalidArgument("n: must be an integer from 1 to 50"), "n");
  }
  auto description = DescribeCron(*expr);
  if (!description.ok()) return Fail(description.status(), "expr");
  auto runs = NextRunsJson(*expr, tz, ctx.clock.Now(), n);
  if (!runs.ok()) {
    std::string field = runs.status().message().rfind("timezone", 0) == 0 ? "tz" : "expr";
    return Fail(runs.status(), field);
  }
  return JsonResponse(200, {{"description", *description}, {"next_runs", *runs}});
}

}  // namespace

std::vector<Route> ScheduleRoutes() {
  using A = auth::Action;
  std::vector<Route> r;
  r.push_back({"GET", "/api/v1/backup-schedules", Access::kSignedIn, A::kManageSchedules, nullptr, List,
               "Backup schedules (admin)", false});
  r.push_back({"POST", "/api/v1/backup-schedules", Access::kSignedIn, A::kManageSchedules, nullptr, Create,
               "Create a backup schedule (admin)", true});
  r.push_back({"GET", "/api/v1/backup-schedules/{id}", Access::kSignedIn, A::kManageSchedules, nullptr, Show,
               "One backup schedule (admin)", false});
  r.push_back({"PUT", "/api/v1/backup-schedules/{id}", Access::kSignedIn, A::kManageSchedules, nullptr, Update,
               "Change a backup schedule (admin)", true});
  r.push_back({"DELETE", "/api/v1/backup-schedules/{id}", Access::kSignedIn, A::kManageSchedules, nullptr, Delete,
               "Delete a backup schedule; its backups stay (admin)", false});
  r.push_back({"POST", "/api/v1/backup-schedules/{id}/run", Access::kSignedIn, A::kManageSchedules, nullptr, Run,
               "Run a schedule now (admin)", false});
  r.push_back({"GET", "/api/v1/cron/preview", Access::kSignedIn, A::kCronPreview, nullptr, Preview,
               "Describe a cron expression and list its next fire times", false});
  return r;
}

}  // namespace clawback::controller::api
