// store migrate: copies the controller's metadata from one database to
// another (SQLite <-> PostgreSQL), talking to both databases directly, not
// to the API (controller/store/store_copy.h). Prints a per-table summary of
// the rows copied, or {"from","to","tables":[{"table","rows"}]} with --json.
#include "controller/cli/commands.h"
#include "controller/cli/output.h"
#include "controller/store/store_copy.h"

namespace clawback::controller::cli {
namespace {

struct MigrateOptions {
  std::string from;
  std::string to;
};

Result<DatabaseUrl> ParseEnd(const std::string& flag, const std::string& value) {
  if (value.empty()) return Status::InvalidArgument(flag + " is required");
  // The controller's default (no URL: <data dir>/clawback.db) has no data
  // dir here: a URL must be given in full.
  return ParseDatabaseUrl(value, "", flag);
}

Status Migrate(CommandContext& ctx, const MigrateOptions& opts) {
  auto from = ParseEnd("--from", opts.from);
  if (!from.ok()) return from.status();
  auto to = ParseEnd("--to", opts.to);
  if (!to.ok()) return to.status();
  auto copied = CopyStore(*from, *to);
  if (!copied.ok()) return copied.status();
  int64_t total = 0;
  for (const TableCopy& t : *copied) total += t.rows;
  if (ctx.json()) {
    Json tables = Json::array();
    for (const TableCopy& t : *copied) tables.push_back({{"table", t.table}, {"rows", t.rows}});
    PrintJson(ctx.out(), {{"from", from->redacted}, {"to", to->redacted}, {"tables", tables}, {"rows", total}});
    return Status::Ok();
  }
  Table table({"table", "rows"});
  for (const TableCopy& t : *copied) table.AddRow({t.table, std::to_string(t.rows)});
  ctx.out() << table.Render();
  ctx.out() << "Copied " << total << " rows in " << copied->size() << " tables from " << from->redacted << " to "
            << to->redacted << "; row counts verified.\n";
  return Status::Ok();
}

}  // namespace

void AddStoreCommands(CLI::App& app, Action* action) {
  auto* store = app.add_subcommand("store", "The controller's metadata database (run where it is reachable)");
  store->require_subcommand(1);
  auto opts = std::make_shared<MigrateOptions>();
  auto* migrate = store->add_subcommand(
      "migrate", "Copy every table (ids kept) into an empty database and verify the counts; stop the controller first");
  migrate->add_option("--from", opts->from, "Source: sqlite:///abs/path.db or postgres://user@host:port/db")
      ->required();
  migrate->add_option("--to", opts->to, "Target (must hold no rows): sqlite:///abs/path.db or postgres://...")
      ->required();
  migrate->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Migrate(ctx, *opts); }; });
}

}  // namespace clawback::controller::cli
