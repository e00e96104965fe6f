// login, logout, whoami, token list|create|revoke, password.
//
// `login` signs in with a password once (cookie session), uses that session
// to create a personal API token, ends the session, and saves server + token
// to the config file. The password never appears on the command line unless
// the user insists on --password (which warns).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"

namespace clawback::controller::cli {
namespace {

struct LoginOptions {
  std::string username;
  std::string password;  // discouraged: visible in ps
  bool password_stdin = false;
  std::string token_name;
};

// The value of cookie `name` among Set-Cookie headers, or "".
std::string CookieValue(const std::string& set_cookie, const std::string& name) {
  size_t at = set_cookie.find(name + "=");
  if (at == std::string::npos) return "";
  size_t start = at + name.size() + 1;
  size_t end = set_cookie.find(';', start);
  return set_cookie.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown-host";
  return buf;
}

Status Login(CommandContext& ctx, const LoginOptions& opts) {
  auto server = ctx.ServerUrl();
  if (!server.ok()) return server.status();
  if (server->empty()) return Status::InvalidArgument("login: pass --server URL (or set CLAWBACK_SERVER)");
  std::string username = opts.username;
  if (username.empty()) {
    if (auto env = ctx.env().get("CLAWBACK_USERNAME"); env && !env->empty()) username = *env;
  }
  if (username.empty()) return Status::InvalidArgument("login: pass --username NAME (or set CLAWBACK_USERNAME)");
  auto password = PasswordFromOptions(ctx, opts.password, opts.password_stdin, "password for " + username);
  if (!password.ok()) return password.status();

  auto api = ctx.Api(/*need_token=*/false);
  if (!api.ok()) return api.status();
  // Sign in without a bearer token even if one is configured.
  ApiClient anonymous((*api)->http(), "");
  Json credentials = {{"username", username}, {"password", *password}};
  auto login = anonymous.CallRaw("POST", "/auth/login", &credentials, {});
  if (!login.ok()) return login.status();
  std::string session = CookieValue(login->headers["set-cookie"], "clawback_session");
  auto login_json = Json::parse(login->body, nullptr, false);
  if (session.empty() || !login_json.is_object() || !login_json.contains("csrf_token")) {
    return Status::Internal("login: the server sent no session cookie or CSRF token");
  }
  std::vector<std::pair<std::string, std::string>> cookie = {
      {"Cookie", "clawback_session=" + session},
      {"X-CSRF-Token", login_json["csrf_token"].get<std::string>()}};

  std::string token_name = opts.token_name.empty() ? "clawback-cli@" + HostName() : opts.token_name;
  // The saved token stands for the user on this machine, so it may create
  // further tokens (`clawback token create`); only a session can grant that.
  Json token_request = {{"name", token_name}, {"can_create_tokens", true}};
  auto token = anonymous.Call("POST", "/auth/tokens", &token_request, cookie);
  if (!token.ok()) return token.status().WithContext("login: creating an API token");
  // The session was only needed to mint the token.
  (void)anonymous.Call("POST", "/auth/logout", nullptr, cookie);

  ClientConfig config;
  auto old = ctx.LoadedConfig();
  if (old.ok()) config = *old;
  config.server = *server;
  config.token = token->value("secret", "");
  config.token_id = (*token)["token"].value("id", int64_t{0});
  config.username = username;
  if (!ctx.options().ca_file.empty()) config.ca_file = ctx.options().ca_file;
  if (config.token.empty()) return Status::Internal("login: the server returned no token secret");
  auto path = ctx.ConfigFile();
  if (!path.ok()) return path.status();
  CLAWBACK_RETURN_IF_ERROR(SaveConfig(*path, config));
  if (ctx.json()) {
    PrintJson(ctx.out(), {{"server", config.server}, {"username", username}, {"token", (*token)["token"]},
                          {"config", *path}});
  } else {
    ctx.out() << "Signed in to " << config.server << " as " << username << "; token saved to " << *path << "\n";
  }
  return Status::Ok();
}

Status Logout(CommandContext& ctx) {
  auto path = ctx.ConfigFile();
  if (!path.ok()) return path.status();
  auto config = LoadConfig(*path);
  if (!config.ok()) return config.status();
  if (config->token.empty()) {
    ctx.out() << "Not signed in.\n";
    return Status::Ok();
  }
  if (config->token_id != 0) {
    auto api = ctx.Api();
    if (api.ok()) {
      Status revoked = (*api)->Delete("/auth/tokens/" + std::to_string(config->token_id)).status();
      if (!revoked.ok() && revoked.code() != Status::Code::kUnauthenticated &&
          revoked.code() != Status::Code::kNotFound) {
        ctx.err() << "clawback: warning: could not revoke the token on the server: " << revoked.message()
                  << "\n";
      }
    }
  }
  config->token.clear();
  config->token_id = 0;
  CLAWBACK_RETURN_IF_ERROR(SaveConfig(*path, *config));
  ctx.out() << "Signed out of " << config->server << ".\n";
  return Status::Ok();
}

Status WhoAmI(CommandContext& ctx) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto me = (*api)->Get("/auth/me");
  if (!me.ok()) return me.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *me);
    return Status::Ok();
  }
  const Json& user = (*me)["user"];
  auto server = ctx.ServerUrl();
  ctx.out() << RenderFields({{"user", Field(user, "username")},
                             {"id", Field(user, "id")},
                             {"role", Field(user, "role")},
                             {"can create instances", Field(user, "can_create_instances")},
                             {"instances", Field(user, "instance_ids")},
                             {"server", server.ok() ? *server : "-"}});
  return Status::Ok();
}

Status TokenList(CommandContext& ctx) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto list = (*api)->Get("/auth/tokens");
  if (!list.ok()) return list.status();
  PrintTokens(ctx, *list);
  return Status::Ok();
}

Status TokenCreate(CommandContext& ctx, const std::string& name) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto created = (*api)->Post("/auth/tokens", {{"name", name}});
  if (!created.ok()) return created.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *created);
    return Status::Ok();
  }
  ctx.err() << "Token " << Field((*created)["token"], "id") << " created; it is shown only once:\n";
  ctx.out() << created->value("secret", "") << "\n";
  return Status::Ok();
}

Status TokenRevoke(CommandContext& ctx, int64_t id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  CLAWBACK_RETURN_IF_ERROR((*api)->Delete("/auth/tokens/" + std::to_string(id)).status());
  if (!ctx.json()) ctx.out() << "Token " << id << " revoked.\n";
  return Status::Ok();
}

struct PasswordOptions {
  bool password_stdin = false;  // two lines: current, then new
};

Status ChangePassword(CommandContext& ctx, const PasswordOptions& opts) {
  CLAWBACK_RETURN_IF_ERROR(ChangeOwnPassword(ctx, opts.password_stdin));
  if (!ctx.json()) ctx.out() << "Password changed; other sessions were signed out.\n";
  return Status::Ok();
}

}  // namespace

void PrintTokens(CommandContext& ctx, const Json& list) {
  if (ctx.json()) {
    PrintJson(ctx.out(), list);
    return;
  }
  const Json& tokens = list.is_array() ? list : list["tokens"];
  Table table({"id", "name", "created", "last used", "can create tokens", "revoked"});
  for (const auto& t : tokens) {
    table.AddRow({Field(t, "id"), Field(t, "name"), ShortTime(t, "created_at"), ShortTime(t, "last_used_at"),
                  Field(t, "can_create_tokens"), Field(t, "revoked")});
  }
  ctx.out() << table.Render();
}

void AddAuthCommands(CLI::App& app, Action* action) {
  {
    auto opts = std::make_shared<LoginOptions>();
    auto* cmd = app.add_subcommand("login", "Sign in and save an API token for later commands");
    cmd->add_option("--username,-u", opts->username, "User name (env CLAWBACK_USERNAME)");
    cmd->add_flag("--password-stdin", opts->password_stdin, "Read the password from stdin's first line");
    cmd->add_option("--password", opts->password, "Password (visible in ps: prefer --password-stdin)");
    cmd->add_option("--token-name", opts->token_name, "Name of the API token to create");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Login(ctx, *opts); }; });
  }
  app.add_subcommand("logout", "Revoke the saved API token and forget it")->callback([action] {
    *action = Logout;
  });
  app.add_subcommand("whoami", "Show the signed-in user")->callback([action] { *action = WhoAmI; });
  {
    auto* token = app.add_subcommand("token", "Personal API tokens");
    token->require_subcommand(1);
    token->add_subcommand("list", "List your tokens")->callback([action] { *action = TokenList; });
    auto name = std::make_shared<std::string>();
    auto* create = token->add_subcommand("create", "Create a token (the secret is printed once)");
    create->add_option("name", *name, "Token name")->required();
    create->callback([name, action] {
      *action = [name](CommandContext& ctx) { return TokenCreate(ctx, *name); };
    });
    auto id = std::make_shared<int64_t>(0);
    auto* revoke = token->add_subcommand("revoke", "Revoke a token");
    revoke->add_option("id", *id, "Token id")->required();
    revoke->callback([id, action] { *action = [id](CommandContext& ctx) { return TokenRevoke(ctx, *id); }; });
  }
  {
    auto opts = std::make_shared<PasswordOptions>();
    auto* cmd = app.add_subcommand("password", "Change your own password");
    cmd->add_flag("--password-stdin", opts->password_stdin, "Read current and new password from two stdin lines");
    cmd->callback([opts, action] {
      *action = [opts](CommandContext& ctx) { return ChangePassword(ctx, *opts); };
    });
  }
}

}  // namespace clawback::controller::cli
