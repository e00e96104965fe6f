// backup verify (issue 19): starts a verification of a stored archive and,
// with --wait, follows it to its result. A failed verification exits non-zero
// with the controller's message naming the problem.
#include <memory>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"

namespace clawback::controller::cli {
namespace {

struct VerifyOptions {
  int64_t id = 0;
  bool wait = false;
};

std::string VerifySummary(int64_t id, const Json& v) {
  std::string line = "Backup " + std::to_string(id) + " verification " + v.value("status", "?");
  if (v.value("status", "") == "passed") {
    line += ": " + std::to_string(v.value("entries", uint64_t{0})) + " entries, " +
            FormatBytes(v.value("archive_bytes", uint64_t{0})) + ", " + std::to_string(v.value("frames", 0)) +
            " zstd frame(s)" + (v.value("index", false) ? ", index checked" : "");
  }
  return line;
}

Status Verify(CommandContext& ctx, const VerifyOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  const std::string path = "/backups/" + std::to_string(opts.id);
  auto started = (*api)->Post(path + "/verify", Json::object());
  if (!started.ok()) return started.status();
  if (!opts.wait) {
    if (ctx.json()) {
      PrintJson(ctx.out(), *started);
    } else {
      ctx.out() << "Verification of backup " << opts.id << " started.\n";
    }
    return Status::Ok();
  }
  for (;;) {
    auto backup = (*api)->Get(path);
    if (!backup.ok()) return backup.status();
    const Json v = (*backup)["verification"];
    const std::string status = v.is_object() ? v.value("status", "") : "";
    if (status == "passed" || status == "failed") {
      if (ctx.json()) {
        PrintJson(ctx.out(), v);
      } else if (status == "passed") {
        ctx.out() << VerifySummary(opts.id, v) << "\n";
      }
      if (status == "failed") {
        return Status::Corruption("backup " + std::to_string(opts.id) + " failed verification: " +
                                  v.value("error", std::string("unknown error")));
      }
      return Status::Ok();
    }
    PollPause();
  }
}

}  // namespace

void AddBackupVerifyCommand(CLI::App& backup, Action* action) {
  auto opts = std::make_shared<VerifyOptions>();
  auto* cmd = backup.add_subcommand("verify", "Verify a stored archive (hashes, every zstd frame and tar entry)");
  cmd->add_option("id", opts->id, "Backup id")->required();
  cmd->add_flag("--wait,-w", opts->wait, "Wait for the result; exit non-zero unless it passed");
  cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Verify(ctx, *opts); }; });
}

}  // namespace clawback::controller::cli
