// user create|list|show|update|delete|assign|unassign|tokens|revoke-token|passwd:
// the admin /users API, plus `user passwd` without a name for your own password.
// Passwords come from stdin, CLAWBACK_PASSWORD or a no-echo prompt, never
// from the command line unless the user insists on --password (which warns).
#include <algorithm>
#include <cctype>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"

namespace clawback::controller::cli {
namespace {

struct AddOptions {
  std::string username;
  std::string role = "user";
  bool can_create_instances = false;
  std::vector<std::string> instances;
  bool password_stdin = false;
  std::string password;  // discouraged: visible in ps
};

struct UpdateOptions {
  std::string user;
  std::string role;
  std::string can_create_instances;  // "true"/"false"/"" (unchanged)
  bool reset_password = false;
  bool password_stdin = false;
  std::string password;
};

struct AssignOptions {
  std::string user;
  std::vector<std::string> instances;
  bool only = false;  // replace the whole list
  bool remove = false;
};

struct PasswdOptions {
  std::string user;  // empty: your own password (needs the current one)
  bool password_stdin = false;
};

bool IsDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The user whose username (else id) is `name_or_id`, from GET /users.
Result<Json> FindUser(ApiClient& api, const std::string& name_or_id) {
  auto list = api.Get("/users");
  if (!list.ok()) return list.status();
  for (const auto& u : (*list)["users"]) {
    if (u.value("username", "") == name_or_id) return u;
  }
  if (IsDigits(name_or_id)) {
    for (const auto& u : (*list)["users"]) {
      if (Field(u, "id") == name_or_id) return u;
    }
  }
  return Status::NotFound("no user named " + name_or_id);
}

Result<std::vector<int64_t>> InstanceIds(ApiClient& api, const std::vector<std::string>& names) {
  std::vector<int64_t> ids;
  for (const auto& name : names) {
    auto id = api.InstanceId(name);
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  return ids;
}

std::string UserSummary(const Json& u) {
  return RenderFields({{"id", Field(u, "id")},
                       {"username", Field(u, "username")},
                       {"role", Field(u, "role")},
                       {"can create instances", Field(u, "can_create_instances")},
                       {"instances", Field(u, "instance_ids")},
                       {"created", ShortTime(u, "created_at")}});
}

Status PrintUser(CommandContext& ctx, const Json& user, const std::string& done) {
  if (ctx.json()) {
    PrintJson(ctx.out(), user);
  } else if (!done.empty()) {
    ctx.out() << "User " << Field(user, "username") << " " << done << ".\n";
  } else {
    ctx.out() << UserSummary(user);
  }
  return Status::Ok();
}

Status List(CommandContext& ctx) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto list = (*api)->Get("/users");
  if (!list.ok()) return list.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *list);
    return Status::Ok();
  }
  Table table({"id", "username", "role", "can create instances", "instances", "created"});
  for (const auto& u : (*list)["users"]) {
    table.AddRow({Field(u, "id"), Field(u, "username"), Field(u, "role"), Field(u, "can_create_instances"),
                  Field(u, "instance_ids"), ShortTime(u, "created_at")});
  }
  ctx.out() << table.Render();
  return Status::Ok();
}

Status Add(CommandContext& ctx, const AddOptions& opts) {
  auto password = PasswordFromOptions(ctx, opts.password, opts.password_stdin, "password for " + opts.username);
  if (!password.ok()) return password.status();
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  Json body = {{"username", opts.username},
               {"password", *password},
               {"role", opts.role},
               {"can_create_instances", opts.can_create_instances}};
  if (!opts.instances.empty()) {
    auto ids = InstanceIds(**api, opts.instances);
    if (!ids.ok()) return ids.status();
    body["instance_ids"] = *ids;
  }
  auto user = (*api)->Post("/users", body);
  if (!user.ok()) return user.status();
  return PrintUser(ctx, *user, "created (id " + Field(*user, "id") + ")");
}

Status Show(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindUser(**api, name_or_id);
  if (!found.ok()) return found.status();
  auto user = (*api)->Get("/users/" + Field(*found, "id"));
  if (!user.ok()) return user.status();
  return PrintUser(ctx, *user, "");
}

Status Update(CommandContext& ctx, const UpdateOptions& opts) {
  Json patch = Json::object();
  if (!opts.role.empty()) patch["role"] = opts.role;
  if (!opts.can_create_instances.empty()) patch["can_create_instances"] = opts.can_create_instances == "true";
  if (opts.reset_password || opts.password_stdin || !opts.password.empty()) {
    auto password = PasswordFromOptions(ctx, opts.password, opts.password_stdin, "new password for " + opts.user);
    if (!password.ok()) return password.status();
    patch["password"] = *password;
  }
  if (patch.empty()) {
    return Status::InvalidArgument(
        "user update: nothing to change (give --role, --can-create-instances or --reset-password)");
  }
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindUser(**api, opts.user);
  if (!found.ok()) return found.status();
  auto user = (*api)->Patch("/users/" + Field(*found, "id"), patch);
  if (!user.ok()) return user.status();
  return PrintUser(ctx, *user, "updated");
}

Status Remove(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindUser(**api, name_or_id);
  if (!found.ok()) return found.status();
  CLAWBACK_RETURN_IF_ERROR((*api)->Delete("/users/" + Field(*found, "id")).status());
  if (!ctx.json()) ctx.out() << "User " << Field(*found, "username") << " deleted.\n";
  return Status::Ok();
}

Status Assign(CommandContext& ctx, const AssignOptions& opts) {
  if (opts.instances.empty() && !opts.only) {
    return Status::InvalidArgument("name at least one instance (or use --only with none to clear all)");
  }
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindUser(**api, opts.user);
  if (!found.ok()) return found.status();
  auto named = InstanceIds(**api, opts.instances);
  if (!named.ok()) return named.status();
  std::vector<int64_t> ids;
  if (!opts.only) {
    for (const auto& id : (*found).value("instance_ids", Json::array())) ids.push_back(id.get<int64_t>());
  }
  for (int64_t id : *named) {
    auto it = std::find(ids.begin(), ids.end(), id);
    if (opts.remove && it != ids.end()) ids.erase(it);
    if (!opts.remove && it == ids.end()) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  auto user = (*api)->Put("/users/" + Field(*found, "id") + "/instances", {{"instance_ids", ids}});
  if (!user.ok()) return user.status();
  return PrintUser(ctx, *user, "now has instances " + Field(*user, "instance_ids"));
}

// `user passwd NAME` (admin): sets NAME's password (stdin's first line,
// CLAWBACK_NEW_PASSWORD or a prompt), ending their sessions.
// `user passwd`: changes your own; the current password is required
// (stdin: two lines, current then new; else CLAWBACK_PASSWORD and
// CLAWBACK_NEW_PASSWORD; else prompts).
Status Passwd(CommandContext& ctx, const PasswdOptions& opts) {
  if (!opts.user.empty()) {
    auto secret = ReadSecret(ctx, opts.password_stdin, "CLAWBACK_NEW_PASSWORD", "new password for " + opts.user);
    if (!secret.ok()) return secret.status();
    auto api = ctx.Api();
    if (!api.ok()) return api.status();
    auto found = FindUser(**api, opts.user);
    if (!found.ok()) return found.status();
    auto user = (*api)->Patch("/users/" + Field(*found, "id"), {{"password", *secret}});
    if (!user.ok()) return user.status();
    if (ctx.json()) return PrintUser(ctx, *user, "");
    ctx.out() << "Password of " << Field(*user, "username")
              << " set; their sessions were signed out and their API tokens revoked.\n";
    return Status::Ok();
  }
  CLAWBACK_RETURN_IF_ERROR(ChangeOwnPassword(ctx, opts.password_stdin));
  if (!ctx.json()) ctx.out() << "Password changed; your other sessions were signed out.\n";
  return Status::Ok();
}

Status Tokens(CommandContext& ctx, const std::string& name_or_id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindUser(**api, name_or_id);
  if (!found.ok()) return found.status();
  auto list = (*api)->Get("/users/" + Field(*found, "id") + "/tokens");
  if (!list.ok()) return list.status();
  PrintTokens(ctx, *list);
  return Status::Ok();
}

struct RevokeTokenOptions {
  std::string user;
  int64_t token_id = 0;
};

Status RevokeToken(CommandContext& ctx, const RevokeTokenOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto found = FindUser(**api, opts.user);
  if (!found.ok()) return found.status();
  CLAWBACK_RETURN_IF_ERROR(
      (*api)->Delete("/users/" + Field(*found, "id") + "/tokens/" + std::to_string(opts.token_id)).status());
  if (!ctx.json()) ctx.out() << "Token " << opts.token_id << " of " << Field(*found, "username") << " revoked.\n";
  return Status::Ok();
}

template <typename Opts>
void Bind(CLI::App* cmd, std::shared_ptr<Opts> opts, Action* action, Status (*run)(CommandContext&, const Opts&)) {
  cmd->callback([opts, action, run] { *action = [opts, run](CommandContext& ctx) { return run(ctx, *opts); }; });
}

CLI::App* AddNameCommand(CLI::App& parent, const char* name, const char* help, Action* action,
                         Status (*run)(CommandContext&, const std::string&)) {
  auto user = std::make_shared<std::string>();
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("user", *user, "User name or id")->required();
  cmd->callback([user, action, run] { *action = [user, run](CommandContext& ctx) { return run(ctx, *user); }; });
  return cmd;
}

}  // namespace

void AddUserCommands(CLI::App& app, Action* action) {
  auto* user = app.add_subcommand("user", "Users, roles and instance assignments (admin)");
  user->require_subcommand(1);
  user->add_subcommand("list", "List users")->callback([action] { *action = List; });
  {
    auto opts = std::make_shared<AddOptions>();
    auto* cmd =
        user->add_subcommand("create", "Create a user (password from stdin, CLAWBACK_PASSWORD or a prompt)");
    cmd->alias("add");
    cmd->add_option("username", opts->username, "User name")->required();
    cmd->add_option("--role", opts->role, "admin or user")->check(CLI::IsMember({"admin", "user"}));
    cmd->add_flag("--can-create-instances", opts->can_create_instances, "Allow restores (and instance creation)");
    cmd->add_option("--instance,-i", opts->instances, "Assign this instance (repeatable)");
    cmd->add_flag("--password-stdin", opts->password_stdin, "Read the password from stdin's first line");
    cmd->add_option("--password", opts->password, "Password (visible in ps: prefer --password-stdin)");
    Bind(cmd, opts, action, Add);
  }
  AddNameCommand(*user, "show", "Show a user", action, Show);
  {
    auto opts = std::make_shared<UpdateOptions>();
    auto* cmd = user->add_subcommand("update", "Change a user's role, permission or password");
    cmd->add_option("user", opts->user, "User name or id")->required();
    cmd->add_option("--role", opts->role, "admin or user")->check(CLI::IsMember({"admin", "user"}));
    cmd->add_option("--can-create-instances", opts->can_create_instances, "true or false")
        ->check(CLI::IsMember({"true", "false"}));
    cmd->add_flag("--reset-password", opts->reset_password, "Set a new password (stdin, env or prompt)");
    cmd->add_flag("--password-stdin", opts->password_stdin, "Read the new password from stdin");
    cmd->add_option("--password", opts->password, "New password (visible in ps: prefer --password-stdin)");
    Bind(cmd, opts, action, Update);
  }
  AddNameCommand(*user, "delete", "Delete a user (never the last admin)", action, Remove)->alias("rm");
  {
    auto opts = std::make_shared<AssignOptions>();
    auto* cmd = user->add_subcommand("assign", "Give a user access to instances");
    cmd->add_option("user", opts->user, "User name or id")->required();
    cmd->add_option("instances", opts->instances, "Instance names or ids");
    cmd->add_flag("--only", opts->only, "Replace the user's instances with exactly these");
    Bind(cmd, opts, action, Assign);
  }
  {
    auto opts = std::make_shared<AssignOptions>();
    opts->remove = true;
    auto* cmd = user->add_subcommand("unassign", "Take instances away from a user");
    cmd->add_option("user", opts->user, "User name or id")->required();
    cmd->add_option("instances", opts->instances, "Instance names or ids")->required();
    Bind(cmd, opts, action, Assign);
  }
  AddNameCommand(*user, "tokens", "List a user's API tokens", action, Tokens);
  {
    auto opts = std::make_shared<RevokeTokenOptions>();
    auto* cmd = user->add_subcommand("revoke-token", "Revoke one of a user's API tokens");
    cmd->add_option("user", opts->user, "User name or id")->required();
    cmd->add_option("token_id", opts->token_id, "Token id (from `user tokens`)")->required();
    Bind(cmd, opts, action, RevokeToken);
  }
  {
    auto opts = std::make_shared<PasswdOptions>();
    auto* cmd = user->add_subcommand(
        "passwd", "Set USER's password (admin), or with no USER change your own (current password required)");
    cmd->add_option("user", opts->user, "User name or id (default: yourself)");
    cmd->add_flag("--password-stdin", opts->password_stdin,
                  "Read from stdin: the new password; for your own, two lines (current, then new)");
    Bind(cmd, opts, action, Passwd);
  }
}

}  // namespace clawback::controller::cli
