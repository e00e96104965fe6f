// What every subcommand file shares (private to controller/cli): the global
// options, the per-run context that owns the API connection, and the
// registration functions each commands_*.cc provides.
//
// A registration function adds its noun's subcommands to the CLI11 app; when
// one is selected, its parse callback stores the verb's work in `*action`,
// which RunClient runs after parsing and maps to an exit code.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "controller/cli/api_client.h"
#include "controller/cli/config.h"
#include "controller/cli/http_client.h"
#include "shared/status.h"

namespace clawback::controller::cli {

struct GlobalOptions {
  std::string server;
  std::string token;
  std::string ca_file;
  bool insecure = false;
  bool json = false;
  bool quiet = false;  // no progress bars
  int timeout_seconds = 60;
};

// Per-run state. Owns the HTTP connection settings; the API client is built
// on first use so offline commands never need a server or token.
class CommandContext {
 public:
  CommandContext(const GlobalOptions& options, Environment env, std::ostream& out, std::ostream& err);
  ~CommandContext();

  const GlobalOptions& options() const { return options_; }
  const Environment& env() const { return env_; }
  bool json() const { return options_.json; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  // Progress bars draw only on a terminal and not with --json/--quiet.
  bool progress_enabled() const;

  // The client for the resolved server and token. Unauthenticated "not
  // signed in" when there is no token and `need_token`; InvalidArgument
  // when no server is known.
  Result<ApiClient*> Api(bool need_token = true);

  // The config file path and its contents (empty when absent).
  Result<std::string> ConfigFile() const;
  Result<ClientConfig> LoadedConfig() const;
  // The server URL Api() would use (flag, env, config), "" when none.
  Result<std::string> ServerUrl() const;

 private:
  GlobalOptions options_;
  Environment env_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<ApiClient> api_;
};

using Action = std::function<Status(CommandContext&)>;

void AddAuthCommands(CLI::App& app, Action* action);      // login logout whoami token password
void AddInstanceCommands(CLI::App& app, Action* action);  // instance ...
void AddBackupCommands(CLI::App& app, Action* action);    // backup ...
void AddBrowseCommands(CLI::App& backup, Action* action);  // backup ls|cat|get|diff (under `backup`)
void AddUserCommands(CLI::App& app, Action* action);      // user ...
void AddAuditCommands(CLI::App& app, Action* action);     // audit
void AddScheduleCommands(CLI::App& app, Action* action);  // schedule ...
void AddBackupVerifyCommand(CLI::App& backup, Action* action);  // backup verify (commands_trust.cc)
void AddStoreCommands(CLI::App& app, Action* action);     // store migrate (databases, not the API)

// Passwords (passwords.cc). ReadSecret reads a secret: the first line of
// stdin when `from_stdin`, else the environment variable `env_name` when
// set, else a no-echo prompt on the terminal. InvalidArgument when none is
// available or it is empty.
Result<std::string> ReadSecret(CommandContext& ctx, bool from_stdin, const std::string& env_name,
                               const std::string& prompt);

// A password for a verb with --password/--password-stdin: `given` (the
// --password value) when non-empty, else ReadSecret with CLAWBACK_PASSWORD.
Result<std::string> PasswordFromOptions(CommandContext& ctx, const std::string& given, bool from_stdin,
                                        const std::string& prompt);

// Changes the signed-in user's own password (PUT /auth/password; the server
// signs out their other sessions): the current one (CLAWBACK_PASSWORD) and
// the new one (CLAWBACK_NEW_PASSWORD), from stdin's first two lines when
// `from_stdin`; at a terminal prompt the new one is asked twice and must
// match (InvalidArgument). Prints nothing: the caller reports success.
Status ChangeOwnPassword(CommandContext& ctx, bool from_stdin);

// Prints a {"tokens": [...]} answer (GET /auth/tokens, /users/{id}/tokens)
// as a table, or as JSON with --json.
void PrintTokens(CommandContext& ctx, const Json& list);

// Waits between polls of a running job.
void PollPause();

}  // namespace clawback::controller::cli
