// schedule create|list|show|update|enable|disable|delete|run (admin API), and
// `schedule next EXPR`, which previews fire times offline with the same code
// the controller fires with (controller/scheduler).
#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"
#include "controller/scheduler/fire_times.h"
#include "controller/scheduler/scheduler.h"

namespace clawback::controller::cli {
namespace {

constexpr const char* kSchedules = "/backup-schedules";

// The user-editable fields; `given` names the flags that were on the
// command line, so update changes only those.
struct ScheduleFields {
  std::string schedule;  // update/show: name or id
  std::string name;
  std::vector<std::string> instances;
  bool all_instances = false;
  std::string cron;
  std::string timezone = "UTC";
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_presets;
  bool no_excludes = false;
  bool strict = false;
  bool verify_after_backup = false;
  std::string note;
  int keep_last = 0, keep_hourly = 0, keep_daily = 0, keep_weekly = 0, keep_monthly = 0;
  bool disabled = false;
  std::map<std::string, bool> given;

  bool Given(const std::string& flag) const {
    auto it = given.find(flag);
    return it != given.end() && it->second;
  }
};

struct NextOptions {
  std::string expr;
  std::string timezone = "UTC";
  int count = 5;
  std::string after;
};

const char* kFieldFlags[] = {"name", "instance", "all-instances", "cron", "tz", "path", "note",
                             "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
                             "disabled", "exclude", "exclude-preset", "no-excludes", "strict",
                             "verify-after-backup"};

void AddFieldFlags(CLI::App* cmd, ScheduleFields& f) {
  cmd->add_option("--name", f.name, "Schedule name");
  cmd->add_option("--instance,-i", f.instances, "Instance to back up (repeatable)");
  cmd->add_flag("--all-instances", f.all_instances, "Every instance, including ones registered later");
  cmd->add_option("--cron", f.cron, "Cron expression (5 fields or @daily ...)");
  cmd->add_option("--tz", f.timezone, "IANA time zone (default UTC)");
  cmd->add_option("--path,-p", f.paths, "Path or alias to include (repeatable; default HOME)");
  cmd->add_option("--note", f.note, "Note stored with each backup");
  cmd->add_option("--exclude,-x", f.excludes,
                  "Leave out paths matching this glob on absolute paths, ** allowed (repeatable; replaces the list)");
  cmd->add_option("--exclude-preset", f.exclude_presets,
                  "Leave out a preset: logs or caches (repeatable; replaces the list)");
  cmd->add_flag("--no-excludes", f.no_excludes, "Clear the schedule's excludes and presets");
  cmd->add_flag("--strict,!--no-strict", f.strict,
                "Fail a backup if a database cannot be captured consistently (--no-strict: warn)");
  cmd->add_flag("--verify-after-backup,!--no-verify-after-backup", f.verify_after_backup,
                "Verify each backup of this schedule once it completes");
  cmd->add_option("--keep-last", f.keep_last, "Keep the last N completed backups")->check(CLI::NonNegativeNumber);
  cmd->add_option("--keep-hourly", f.keep_hourly, "Keep N hourly")->check(CLI::NonNegativeNumber);
  cmd->add_option("--keep-daily", f.keep_daily, "Keep N daily")->check(CLI::NonNegativeNumber);
  cmd->add_option("--keep-weekly", f.keep_weekly, "Keep N weekly")->check(CLI::NonNegativeNumber);
  cmd->add_option("--keep-monthly", f.keep_monthly, "Keep N monthly")->check(CLI::NonNegativeNumber);
}

void RecordGiven(CLI::App* cmd, ScheduleFields& f) {
  for (const char* flag : kFieldFlags) {
    CLI::Option* opt = nullptr;
    try {
      opt = cmd->get_option(std::string("--") + flag);
    } catch (const CLI::OptionNotFound&) {
      continue;
    }
    f.given[flag] = opt->count() > 0;
  }
}

bool IsDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

Result<Json> FindSchedule(ApiClient& api, const std::string& name_or_id) {
  auto list = api.Get(kSchedules);
  if (!list.ok()) return list.status();
  for (const auto& s : (*list)["schedules"]) {
    if (s.value("name", "") == name_or_id) return s;
  }
  if (IsDigits(name_or_id)) {
    for (const auto& s : (*list)["schedules"]) {
      if (Field(s, "id") == name_or_id) return s;
    }
  }
  return Status::NotFound("no schedule named " + name_or_id);
}

// Applies the given flags to `body` (a Schedule's editable fields).
Status ApplyFields(ApiClient& api, const ScheduleFields& f, Json& body) {
  if (f.Given("name")) body["name"] = f.name;
  if (f.Given("all-instances") && f.Given("instance")) {
    return Status::InvalidArgument("give --instance or --all-instances, not both");
  }
  if (f.Given("all-instances")) {
    body["all_instances"] = true;
    body["instance_ids"] = Json::array();
  }
  if (f.Given("instance")) {
    std::vector<int64_t> ids;
    for (const auto& name : f.instances) {
      auto id = api.InstanceId(name);
      if (!id.ok()) return id.status();
      ids.push_back(*id);
    }
    body["all_instances"] = false;
    body["instance_ids"] = ids;
  }
  if (f.Given("cron")) body["cron"] = f.cron;
  if (f.Given("tz")) body["timezone"] = f.timezone;
  if (f.Given("path")) body["paths"] = f.paths;
  if (f.Given("note")) body["note"] = f.note;
  if (f.Given("no-excludes") && (f.Given("exclude") || f.Given("exclude-preset"))) {
    return Status::InvalidArgument("give --exclude/--exclude-preset or --no-excludes, not both");
  }
  if (f.Given("no-excludes")) {
    body["excludes"] = Json::array();
    body["exclude_presets"] = Json::array();
  }
  if (f.Given("exclude")) body["excludes"] = f.excludes;
  if (f.Given("exclude-preset")) body["exclude_presets"] = f.exclude_presets;
  if (f.Given("strict")) body["strict"] = f.strict;
  if (f.Given("verify-after-backup")) body["verify_after_backup"] = f.verify_after_backup;
  if (!body.contains("retention") || !body["retention"].is_object()) body["retention"] = Json::object();
  Json& r = body["retention"];
  if (f.Given("keep-last")) r["keep_last"] = f.keep_last;
  if (f.Given("keep-hourly")) r["keep_hourly"] = f.keep_hourly;
  if (f.Given("keep-daily")) r["keep_daily"] = f.keep_daily;
  if (f.Given("keep-weekly")) r["keep_weekly"] = f.keep_weekly;
  if (f.Given("keep-monthly")) r["keep_monthly"] = f.keep_monthly;
  return Status::Ok();
}

// Instance ids -> names for display ("all" for all-instances schedules).
std::string InstancesText(const Json& s, const std::map<int64_t, std::string>& names) {
  if (s.value("all_instances", false)) return "all";
  std::string out;
  for (const auto& id : s.value("instance_ids", Json::array())) {
    if (!out.empty()) out += ",";
    auto it = names.find(id.get<int64_t>());
    out += it != names.end() ? it->second : std::to_string(id.get<int64_t>());
  }
  return out.empty() ? "-" : out;
}

std::map<int64_t, std::string> InstanceNames(ApiClient& api) {
  std::map<int64_t, std::string> names;
  auto list = api.Get("/instances");
  if (!list.ok()) return names;  // display only: fall back to ids
  for (const auto& i : (*list)["instances"]) names[i.value("id", int64_t{0})] = i.value("name", "");
  return names;
}

// The next fire time in the schedule's zone ("2026-12-03T02:30:00+01:00").
std::string NextRun(const Json& s) {
  if (!s.value("enabled", true)) return "(disabled)";
  if (!s.contains("next_runs") || !s["next_runs"].is_array() || s["next_runs"].empty()) return "-";
  return Field(s["next_runs"][0], "local");
}

std::string Retention(const Json& s) {
  if (!s.contains("retention") || !s["retention"].is_object()) return "-";
  std::string out;
  for (const char* key : {"keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly"}) {
    int64_t n = s["retention"].value(key, int64_t{0});
    if (n > 0) out += (out.empty() ? "" : " ") + std::string(key + 5) + "=" + std::to_string(n);
  }
  return out.empty() ? "keep all" : out;
}

Status PrintSchedule(CommandContext& ctx, ApiClient& api, const Json& s, const std::string& done) {
  if (ctx.json()) {
    PrintJson(ctx.out(), s);
    return Status::Ok();
  }
  if (!done.empty()) {
    ctx.out() << "Schedule " << Field(s, "name") << " (id " << Field(s, "id") << ") " << done << ".\n";
    return Status::Ok();
  }
  auto names = InstanceNames(api);
  ctx.out() << RenderFields({{"id", Field(s, "id")},
                             {"name", Field(s, "name")},
                             {"instances", InstancesText(s, names)},
                             {"cron", Field(s, "cron") + "  (" + Field(s, "description") + ")"},
                             {"time zone", Field(s, "timezone")},
                             {"paths", Field(s, "paths")},
                             {"exclude presets", Field(s, "exclude_presets")},
                             {"excludes", Field(s, "excludes")},
                             {"strict", Field(s, "strict")},
                             {"note", Field(s, "note")},
                             {"enabled", Field(s, "enabled")},
                             {"retention", Retention(s)},
                             {"last run", ShortTime(s, "last_run_at")},
                             {"last result", Field(s, "last_result")},
                             {"created by", Field(s, "created_by")},
                             {"created", ShortTime(s, "created_at")}});
  if (s.contains("next_runs") && s["next_runs"].is_array() && !s["next_runs"].empty()) {
    ctx.out() << "next runs:\n";
    for (const auto& run : s["next_runs"]) {
      ctx.out() << "  " << Field(run, "utc") << "  " << Field(run, "local") << "\n";
    }
  }
  return Status::Ok();
}

Status Create(CommandContext& ctx, const ScheduleFields& f) {
  if (!f.Given("name")) return Status::InvalidArgument("schedule create: --name is required");
  if (!f.Given("cron")) return Status::InvalidArgument("schedule create: --cron is required");
  if (!f.Given("instance") && !f.Given("all-instances")) {
    return Status::InvalidArgument("schedule create: give --instance NAME (repeatable) or --all-instances");
  }
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  Json body = {{"timezone", "UTC"}, {"enabled", !f.disabled}, {"note", ""}, {"all_instances", false}};
  CLAWBACK_RETURN_IF_ERROR(ApplyFields(**api, f, body));
  auto created = (*api)->Post(kSchedules, body);
  if (!created.ok()) return created.status();
  return PrintSchedule(ctx, **api, *created, "created, next run " + NextRun(*created));
}

Status List(CommandContext& ctx) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto list = (*api)->Get(kSchedules);
  if (!list.ok()) return list.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *list);
    return Status::Ok();
  }
  auto names = InstanceNames(**api);
  Table table({"id", "name", "cron", "tz", "instances", "enabled", "next run (local)", "last result"});
  for (const auto& s : (*list)["schedules"]) {
    table.AddRow({Field(s, "id"), Field(s, "name"), Field(s, "cron"), Field(s, "timezone"),
                  InstancesText(s, names), Field(s, "enabled"), NextRun(s), Field(s, "last_result")});
  }
  ctx.out() << table.Render();
  return Status::Ok();
}

Status Show(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindSchedule(**api, name_or_id);
  if (!found.ok()) return found.status();
  auto s = (*api)->Get(std::string(kSchedules) + "/" + Field(*found, "id"));
  if (!s.ok()) return s.status();
  return PrintSchedule(ctx, **api, *s, "");
}

// GET, change, PUT: the API replaces a schedule's editable fields as a whole.
Status Change(CommandContext& ctx, const ScheduleFields& f, std::optional<bool> enabled, const std::string& done) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindSchedule(**api, f.schedule);
  if (!found.ok()) return found.status();
  std::string path = std::string(kSchedules) + "/" + Field(*found, "id");
  auto current = (*api)->Get(path);
  if (!current.ok()) return current.status();
  Json body = Json::object();
  for (const char* key : {"name", "all_instances", "instance_ids", "cron", "timezone", "paths", "excludes",
                          "exclude_presets", "strict", "note", "enabled", "retention"}) {
    if (current->contains(key)) body[key] = (*current)[key];
  }
  CLAWBACK_RETURN_IF_ERROR(ApplyFields(**api, f, body));
  if (enabled) body["enabled"] = *enabled;
  auto updated = (*api)->Put(path, body);
  if (!updated.ok()) return updated.status();
  return PrintSchedule(ctx, **api, *updated, done);
}

Status Update(CommandContext& ctx, const ScheduleFields& f) {
  bool any = std::any_of(f.given.begin(), f.given.end(), [](const auto& g) { return g.second; });
  if (!any) return Status::InvalidArgument("schedule update: nothing to change");
  return Change(ctx, f, std::nullopt, "updated");
}

Status Delete(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindSchedule(**api, name_or_id);
  if (!found.ok()) return found.status();
  CLAWBACK_RETURN_IF_ERROR((*api)->Delete(std::string(kSchedules) + "/" + Field(*found, "id")).status());
  if (!ctx.json()) ctx.out() << "Schedule " << Field(*found, "name") << " deleted; its backups are kept.\n";
  return Status::Ok();
}

Status Run(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindSchedule(**api, name_or_id);
  if (!found.ok()) return found.status();
  auto run = (*api)->Post(std::string(kSchedules) + "/" + Field(*found, "id") + "/run", Json::object());
  if (!run.ok()) return run.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *run);
    return Status::Ok();
  }
  ctx.out() << "Schedule " << Field(*found, "name") << " started backups: " << Field(*run, "backups") << "\n";
  for (const auto& s : run->value("skipped", Json::array())) {
    ctx.out() << "  skipped: " << (s.is_string() ? s.get<std::string>() : s.dump()) << "\n";
  }
  return Status::Ok();
}

// "2026-11-25T02:00:00Z" or seconds since the epoch.
Result<int64_t> ParseAfter(const std::string& value) {
  if (IsDigits(value)) return std::stoll(value);
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') {
    return Status::InvalidArgument("--after: expected YYYY-MM-DDTHH:MM:SSZ or epoch seconds, got " + value);
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Status ScheduleNext(CommandContext& ctx, const std::string& expr, const std::string& zone, int count,
                    const std::string& after) {
  int64_t start = static_cast<int64_t>(std::time(nullptr));
  if (!after.empty()) {
    auto parsed = ParseAfter(after);
    if (!parsed.ok()) return parsed.status();
    start = *parsed;
  }
  auto description = DescribeCron(expr);
  if (!description.ok()) return description.status();
  auto times = NextRunTimes(expr, zone, start, count);
  if (!times.ok()) return times.status();
  Json runs = Json::array();
  for (UnixTime t : *times) {
    auto local = FormatLocalRfc3339(zone, t);
    if (!local.ok()) return local.status();
    runs.push_back({{"utc", FormatUtc(t)}, {"local", *local}});
  }
  if (ctx.json()) {
    PrintJson(ctx.out(), {{"description", *description}, {"timezone", zone}, {"next_runs", runs}});
    return Status::Ok();
  }
  ctx.out() << *description << " (" << zone << ")\n";
  Table table({"utc", "local"});
  for (const auto& run : runs) table.AddRow({run["utc"].get<std::string>(), run["local"].get<std::string>()});
  ctx.out() << table.Render();
  return Status::Ok();
}

void AddScheduleCommands(CLI::App& app, Action* action) {
  auto* schedule = app.add_subcommand("schedule", "Scheduled backups and retention (admin)");
  schedule->require_subcommand(1);
  {
    auto f = std::make_shared<ScheduleFields>();
    auto* cmd = schedule->add_subcommand("create", "Create a schedule");
    AddFieldFlags(cmd, *f);
    cmd->add_flag("--disabled", f->disabled, "Create it disabled");
    cmd->callback([cmd, f, action] {
      RecordGiven(cmd, *f);
      *action = [f](CommandContext& ctx) { return Create(ctx, *f); };
    });
  }
  schedule->add_subcommand("list", "List schedules")->callback([action] { *action = List; });
  auto add_named = [&](const char* name, const char* help, Status (*run)(CommandContext&, const std::string&)) {
    auto target = std::make_shared<std::string>();
    auto* cmd = schedule->add_subcommand(name, help);
    cmd->add_option("schedule", *target, "Schedule name or id")->required();
    cmd->callback([target, action, run] {
      *action = [target, run](CommandContext& ctx) { return run(ctx, *target); };
    });
    return cmd;
  };
  add_named("show", "Show a schedule and its next runs", Show);
  {
    auto f = std::make_shared<ScheduleFields>();
    auto* cmd = schedule->add_subcommand("update", "Change a schedule (only the flags given)");
    cmd->add_option("schedule", f->schedule, "Schedule name or id")->required();
    AddFieldFlags(cmd, *f);
    cmd->callback([cmd, f, action] {
      RecordGiven(cmd, *f);
      *action = [f](CommandContext& ctx) { return Update(ctx, *f); };
    });
  }
  for (bool enable : {true, false}) {
    auto f = std::make_shared<ScheduleFields>();
    auto* cmd = schedule->add_subcommand(enable ? "enable" : "disable", enable ? "Enable a schedule"
                                                                                : "Disable a schedule");
    cmd->add_option("schedule", f->schedule, "Schedule name or id")->required();
    cmd->callback([f, action, enable] {
      *action = [f, enable](CommandContext& ctx) {
        return Change(ctx, *f, enable, enable ? "enabled" : "disabled");
      };
    });
  }
  add_named("delete", "Delete a schedule (its backups are kept)", Delete)->alias("rm");
  add_named("run", "Run a schedule now", Run);
  {
    auto opts = std::make_shared<NextOptions>();
    auto* cmd = schedule->add_subcommand("next", "Preview when a cron expression fires (offline)");
    cmd->add_option("expr", opts->expr, "Cron expression, e.g. \"0 2 * * *\" or @daily")->required();
    cmd->add_option("--tz", opts->timezone, "IANA time zone (default UTC)");
    cmd->add_option("-n,--count", opts->count, "How many times (1-1000)")->check(CLI::Range(1, 1000));
    cmd->add_option("--after", opts->after, "Start after this time (RFC 3339 UTC or epoch seconds; default now)");
    cmd->callback([opts, action] {
      *action = [opts](CommandContext& ctx) {
        return ScheduleNext(ctx, opts->expr, opts->timezone, opts->count, opts->after);
      };
    });
  }
}

}  // namespace clawback::controller::cli
