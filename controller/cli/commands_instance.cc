// instance add|list|show|update|rm|bundle.
//
// `instance bundle NAME --out DIR` asks the server for the agent's bundle
// (admin API); with --data-dir it issues the bundle offline from
// <DATA>/pki/ca.{crt,key}, needing neither a server nor a token.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"
#include "controller/pki/certificate_authority.h"

namespace clawback::controller::cli {
namespace {

struct AddOptions {
  std::string name;
  std::string agent_url;
};

struct UpdateOptions {
  std::string instance;
  std::string agent_url;
  std::string name;
};

struct BundleOptions {
  std::string instance;
  std::string out_dir;
  std::string data_dir;
};

std::string StatusText(const Json& instance) {
  std::string status = Field(instance, "status");
  std::string reason = Field(instance, "status_reason");
  return reason == "-" || status == "running" ? status : status + " (" + reason + ")";
}

std::string LatestBackup(const Json& instance) {
  if (!instance.contains("latest_backup") || !instance["latest_backup"].is_object()) return "-";
  const Json& b = instance["latest_backup"];
  return ShortTime(b, "created_at") + " " + Field(b, "status");
}

clawback::Status Add(CommandContext& ctx, const AddOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto created = (*api)->Post("/instances", {{"name", opts.name}, {"agent_url", opts.agent_url}});
  if (!created.ok()) return created.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *created);
  } else {
    ctx.out() << "Instance " << Field(*created, "name") << " registered (id " << Field(*created, "id") << ").\n";
  }
  return clawback::Status::Ok();
}

clawback::Status List(CommandContext& ctx) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto list = (*api)->Get("/instances");
  if (!list.ok()) return list.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *list);
    return clawback::Status::Ok();
  }
  Table table({"id", "name", "status", "agent url", "latest backup"});
  for (const auto& i : (*list)["instances"]) {
    table.AddRow({Field(i, "id"), Field(i, "name"), StatusText(i), Field(i, "agent_url"), LatestBackup(i)});
  }
  ctx.out() << table.Render();
  return clawback::Status::Ok();
}

clawback::Status Show(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = (*api)->FindInstance(name_or_id);
  if (!found.ok()) return found.status();
  auto instance = (*api)->Get("/instances/" + Field(*found, "id"));
  if (!instance.ok()) return instance.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *instance);
    return clawback::Status::Ok();
  }
  const Json& i = *instance;
  ctx.out() << RenderFields({{"id", Field(i, "id")},
                             {"name", Field(i, "name")},
                             {"agent url", Field(i, "agent_url")},
                             {"status", Field(i, "status")},
                             {"status reason", Field(i, "status_reason")},
                             {"agent version", Field(i, "agent_version")},
                             {"checked", ShortTime(i, "checked_at")},
                             {"created", ShortTime(i, "created_at")},
                             {"latest backup", LatestBackup(i)}});
  return clawback::Status::Ok();
}

clawback::Status Update(CommandContext& ctx, const UpdateOptions& opts) {
  if (opts.agent_url.empty() && opts.name.empty()) {
    return clawback::Status::InvalidArgument("instance update: nothing to change (give --agent-url or --name)");
  }
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto id = (*api)->InstanceId(opts.instance);
  if (!id.ok()) return id.status();
  Json patch = Json::object();
  if (!opts.agent_url.empty()) patch["agent_url"] = opts.agent_url;
  if (!opts.name.empty()) patch["name"] = opts.name;
  auto updated = (*api)->Patch("/instances/" + std::to_string(*id), patch);
  if (!updated.ok()) return updated.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *updated);
  } else {
    ctx.out() << "Instance " << Field(*updated, "name") << " updated.\n";
  }
  return clawback::Status::Ok();
}

clawback::Status Remove(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto id = (*api)->InstanceId(name_or_id);
  if (!id.ok()) return id.status();
  CLAWBACK_RETURN_IF_ERROR((*api)->Delete("/instances/" + std::to_string(*id)).status());
  if (!ctx.json()) ctx.out() << "Instance " << name_or_id << " removed.\n";
  return clawback::Status::Ok();
}

// Creates `dir` (and parents) with mode 0700 when missing.
clawback::Status EnsureDirectory(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return clawback::Status::Ok();
  std::filesystem::create_directories(dir, ec);
  if (ec) return clawback::Status::IoError("cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return clawback::Status::IoError("cannot chmod " + dir + ": " + std::strerror(errno));
  }
  return clawback::Status::Ok();
}

// Writes the three files, each atomically (temp + fsync + rename). The key
// goes first and the CA last, so a reader that sees ca.crt from this run
// also sees the matching agent.crt and agent.key.
clawback::Status WriteBundle(const std::string& dir, const pki::InstanceBundle& bundle) {
  CLAWBACK_RETURN_IF_ERROR(EnsureDirectory(dir));
  CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(dir + "/agent.key", bundle.key_pem, 0600));
  CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(dir + "/agent.crt", bundle.cert_pem, 0644));
  CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(dir + "/ca.crt", bundle.ca_pem, 0644));
  return clawback::Status::Ok();
}

clawback::Status Bundle(CommandContext& ctx, const BundleOptions& opts) {
  pki::InstanceBundle bundle;
  std::string instance_name = opts.instance;
  if (!opts.data_dir.empty()) {
    std::string pki_dir = opts.data_dir + "/pki";
    auto files = pki::PkiFilesIn(pki_dir);
    std::error_code ec;
    if (!std::filesystem::exists(files.ca_cert, ec) || !std::filesystem::exists(files.ca_key, ec)) {
      return clawback::Status::NotFound("no CA in " + pki_dir + " (run `clawback pki init --data-dir " +
                                        opts.data_dir + "` or start `clawback serve` once)");
    }
    auto issued = pki::IssueInstanceBundle(files.ca_cert, files.ca_key, instance_name);
    if (!issued.ok()) return issued.status();
    bundle = std::move(*issued);
  } else {
    auto api = ctx.Api();
    if (!api.ok()) return api.status();
    auto found = (*api)->FindInstance(opts.instance);
    if (!found.ok()) return found.status();
    instance_name = Field(*found, "name");
    auto issued = (*api)->Post("/instances/" + Field(*found, "id") + "/bundle", Json::object());
    if (!issued.ok()) return issued.status();
    bundle.ca_pem = issued->value("ca_crt", "");
    bundle.cert_pem = issued->value("agent_crt", "");
    bundle.key_pem = issued->value("agent_key", "");
    if (bundle.ca_pem.empty() || bundle.cert_pem.empty() || bundle.key_pem.empty()) {
      return clawback::Status::Internal("the server's bundle lacks ca_crt, agent_crt or agent_key");
    }
  }
  CLAWBACK_RETURN_IF_ERROR(WriteBundle(opts.out_dir, bundle));
  if (ctx.json()) {
    PrintJson(ctx.out(), {{"instance", instance_name},
                          {"ca_crt", opts.out_dir + "/ca.crt"},
                          {"agent_crt", opts.out_dir + "/agent.crt"},
                          {"agent_key", opts.out_dir + "/agent.key"}});
  } else {
    ctx.out() << "Bundle for " << instance_name << " written to " << opts.out_dir
              << " (ca.crt, agent.crt, agent.key).\n";
  }
  return clawback::Status::Ok();
}

}  // namespace

void AddInstanceCommands(CLI::App& app, Action* action) {
  auto* instance = app.add_subcommand("instance", "Registered OpenClaw instances");
  instance->require_subcommand(1);
  {
    auto opts = std::make_shared<AddOptions>();
    auto* cmd = instance->add_subcommand("add", "Register an instance (admin)");
    cmd->add_option("name", opts->name, "Instance name ([a-z0-9-], as the container)")->required();
    cmd->add_option("--agent-url", opts->agent_url, "The agent's https://HOST:PORT")->required();
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Add(ctx, *opts); }; });
  }
  instance->add_subcommand("list", "List instances and their status")->callback([action] { *action = List; });
  {
    auto name = std::make_shared<std::string>();
    auto* cmd = instance->add_subcommand("show", "Show one instance");
    cmd->add_option("instance", *name, "Name or id")->required();
    cmd->callback([name, action] { *action = [name](CommandContext& ctx) { return Show(ctx, *name); }; });
  }
  {
    auto opts = std::make_shared<UpdateOptions>();
    auto* cmd = instance->add_subcommand("update", "Change an instance's agent URL or name (admin)");
    cmd->add_option("instance", opts->instance, "Name or id")->required();
    cmd->add_option("--agent-url", opts->agent_url, "New agent URL");
    cmd->add_option("--name", opts->name, "New name");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Update(ctx, *opts); }; });
  }
  {
    auto name = std::make_shared<std::string>();
    auto* cmd = instance->add_subcommand("rm", "Remove an instance (admin)");
    cmd->alias("remove");
    cmd->add_option("instance", *name, "Name or id")->required();
    cmd->callback([name, action] { *action = [name](CommandContext& ctx) { return Remove(ctx, *name); }; });
  }
  {
    auto opts = std::make_shared<BundleOptions>();
    auto* cmd = instance->add_subcommand("bundle", "Write the agent's ca.crt, agent.crt and agent.key");
    cmd->add_option("instance", opts->instance, "Name (or id, when asking the server)")->required();
    cmd->add_option("--out,-o", opts->out_dir, "Directory to write into (created 0700)")->required();
    cmd->add_option("--data-dir", opts->data_dir,
                    "Issue offline from DATA/pki/ca.{crt,key} instead of asking the server");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Bundle(ctx, *opts); }; });
  }
}

}  // namespace clawback::controller::cli
