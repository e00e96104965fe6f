// audit: the controller's audit log (GET /api/v1/audit, admin), newest first,
// filtered by actor, action, instance and time, one page at a time. With
// --json it prints the API's {events, total, limit, offset} unchanged.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"

namespace clawback::controller::cli {
namespace {

struct AuditOptions {
  std::string actor;
  std::string action;
  std::string instance;
  std::string since;
  std::string until;
  int limit = 50;
  int offset = 0;
};

bool IsDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "24h", "7d", "30m", "90s", "2w" -> the RFC 3339 time that long ago;
// anything else (an RFC 3339 time, a Unix time) goes to the server as is,
// which rejects what it cannot parse.
std::string TimeValue(const std::string& value) {
  if (value.size() < 2 || !IsDigits(value.substr(0, value.size() - 1))) return value;
  if (value.size() > 12) return value;  // not an age anyone means; let the server say so
  int64_t n = std::stoll(value.substr(0, value.size() - 1));
  int64_t unit = 0;
  switch (value.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return value;
  }
  return FormatUtc(static_cast<int64_t>(std::time(nullptr)) - n * unit);
}

Status Audit(CommandContext& ctx, const AuditOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  std::string query = QueryString({{"actor", opts.actor},
                                   {"action", opts.action},
                                   {"instance", opts.instance},
                                   {"since", TimeValue(opts.since)},
                                   {"until", TimeValue(opts.until)},
                                   {"limit", std::to_string(opts.limit)},
                                   {"offset", opts.offset > 0 ? std::to_string(opts.offset) : ""}});
  auto events = (*api)->Get("/audit" + query);
  if (!events.ok()) return events.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *events);
    return Status::Ok();
  }
  const Json& list = (*events)["events"];
  if (list.empty()) {
    ctx.out() << "No audit events match.\n";
    return Status::Ok();
  }
  Table table({"at", "actor", "source", "action", "target", "outcome"});
  for (const auto& e : list) {
    table.AddRow({ShortTime(e, "at"), Field(e, "actor"), Field(e, "source"), Field(e, "action"),
                  Field(e, "target"), Field(e, "outcome")});
  }
  ctx.out() << table.Render();
  const int64_t total = events->value("total", int64_t{0});
  const int64_t shown_to = opts.offset + static_cast<int64_t>(list.size());
  if (total > shown_to) {
    ctx.err() << "Showing " << opts.offset + 1 << "-" << shown_to << " of " << total << "; use --offset "
              << shown_to << " for more.\n";
  }
  return Status::Ok();
}

}  // namespace

void AddAuditCommands(CLI::App& app, Action* action) {
  auto opts = std::make_shared<AuditOptions>();
  auto* cmd = app.add_subcommand("audit", "The audit log, newest first (admin)");
  cmd->add_option("--actor", opts->actor, "Only events by this user (or \"system\", \"anonymous\")");
  cmd->add_option("--action", opts->action, "Only this action (e.g. auth.login, backup.create, user.change)");
  cmd->add_option("--instance", opts->instance, "Only events about this instance (name or id)");
  cmd->add_option("--since", opts->since, "From this time: RFC 3339, Unix seconds, or an age such as 24h, 7d");
  cmd->add_option("--until", opts->until, "Up to this time (same forms as --since)");
  cmd->add_option("--limit,-n", opts->limit, "At most this many (1-500)")->check(CLI::Range(1, 500));
  cmd->add_option("--offset", opts->offset, "Skip this many")->check(CLI::NonNegativeNumber);
  cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Audit(ctx, *opts); }; });
}

}  // namespace clawback::controller::cli
