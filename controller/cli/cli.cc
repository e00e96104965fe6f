// RunClient: builds the CLI11 command tree from the commands_*.cc files,
// parses, runs the selected verb, and maps its Status to the exit code in
// one place (ExitCodeFor). Errors print as one line "clawback: <message>".
#include "controller/cli/cli.h"

#include <unistd.h>

#include <exception>
#include <iostream>
#include <string_view>
#include <thread>

#include "controller/cli/commands.h"
#include "controller/cli/exit_codes.h"

namespace clawback::controller::cli {
namespace {

constexpr std::string_view kClientCommands[] = {"login", "logout", "whoami", "token",  "password",
                                                "instance", "backup", "user", "audit", "schedule", "store"};

int Fail(int code, const std::string& message) {
  std::cerr << "clawback: " << message << "\n";
  return code;
}

// Turns "--password=x" into a warning: the value is visible in `ps`.
bool HasPasswordFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--password" || arg.substr(0, 11) == "--password=") return true;
  }
  return false;
}

// " (see `clawback backup show --help`)" for the deepest command parsed.
std::string HelpHint(CLI::App& app) {
  std::string path = "clawback";
  for (CLI::App* at = &app;;) {
    auto selected = at->get_subcommands();
    if (selected.empty()) break;
    at = selected.front();
    path += " " + at->get_name();
  }
  return " (see `" + path + " --help`)";
}

}  // namespace

bool IsClientCommand(const char* subcommand) {
  if (!subcommand) return false;
  for (auto name : kClientCommands) {
    if (name == subcommand) return true;
  }
  return false;
}

CommandContext::CommandContext(const GlobalOptions& options, Environment env, std::ostream& out,
                               std::ostream& err)
    : options_(options), env_(std::move(env)), out_(out), err_(err) {}

CommandContext::~CommandContext() = default;

bool CommandContext::progress_enabled() const {
  return !options_.json && !options_.quiet && ::isatty(STDERR_FILENO) == 1;
}

Result<std::string> CommandContext::ConfigFile() const { return ConfigPath(env_); }

Result<ClientConfig> CommandContext::LoadedConfig() const {
  auto path = ConfigFile();
  if (!path.ok()) return ClientConfig{};  // no HOME: behave as if there were no file
  return LoadConfig(*path);
}

Result<std::string> CommandContext::ServerUrl() const {
  auto config = LoadedConfig();
  if (!config.ok()) return config.status();
  ConnectionFlags flags{options_.server, options_.token, options_.ca_file};
  return ResolveConnection(flags, env_, *config).server;
}

Result<ApiClient*> CommandContext::Api(bool need_token) {
  if (api_) return api_.get();
  auto config = LoadedConfig();
  if (!config.ok()) return config.status();
  ConnectionFlags flags{options_.server, options_.token, options_.ca_file};
  Connection connection = ResolveConnection(flags, env_, *config);
  if (connection.server.empty()) {
    return Status::InvalidArgument("no server: pass --server URL, set CLAWBACK_SERVER or run `clawback login`");
  }
  auto url = ParseServerUrl(connection.server);
  if (!url.ok()) return url.status();
  if (need_token && connection.token.empty()) {
    return Status::Unauthenticated("not signed in: run `clawback login` or set CLAWBACK_TOKEN");
  }
  HttpClientOptions http_options;
  http_options.ca_file = connection.ca_file;
  http_options.insecure = options_.insecure;
  http_options.step_timeout = std::chrono::seconds(options_.timeout_seconds);
  http_ = std::make_unique<HttpClient>(std::move(*url), std::move(http_options));
  api_ = std::make_unique<ApiClient>(*http_, connection.token);
  return api_.get();
}

void PollPause() { std::this_thread::sleep_for(std::chrono::milliseconds(500)); }

int RunClient(int argc, char** argv) {
  try {
    GlobalOptions options;
    CLI::App app{"clawback: backups for fleets of OpenClaw agent containers", "clawback"};
    app.fallthrough();
    app.require_subcommand(1);
    app.add_option("--server", options.server, "Controller URL (env CLAWBACK_SERVER; default: from login)");
    app.add_option("--token", options.token, "API token (env CLAWBACK_TOKEN; default: from login)");
    app.add_option("--ca", options.ca_file, "CA bundle to verify an https server (env CLAWBACK_CA)");
    app.add_flag("--insecure", options.insecure, "Do not verify the server's TLS certificate");
    app.add_flag("--json", options.json, "Print the API's JSON instead of tables");
    app.add_flag("-q,--quiet", options.quiet, "No progress bars");
    app.add_option("--timeout", options.timeout_seconds, "Seconds without progress before a request fails")
        ->check(CLI::Range(1, 86400));

    Action action;
    AddAuthCommands(app, &action);
    AddInstanceCommands(app, &action);
    AddBackupCommands(app, &action);
    AddUserCommands(app, &action);
    AddAuditCommands(app, &action);
    AddScheduleCommands(app, &action);
    AddStoreCommands(app, &action);

    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::cout << app.help();
      return kExitOk;
    } catch (const CLI::CallForAllHelp&) {
      std::cout << app.help("", CLI::AppFormatMode::All);
      return kExitOk;
    } catch (const CLI::ParseError& e) {
      std::string message = e.what();
      // `clawback backup frobnicate`: name the word, not "A subcommand is required".
      auto extra = app.remaining(/*recurse=*/true);
      if (message.rfind("A subcommand", 0) == 0 && !extra.empty() && !extra.front().empty() &&
          extra.front()[0] != '-') {
        message = "unknown command " + extra.front();
      }
      return Fail(kExitUsage, message + HelpHint(app));
    }
    if (!action) return Fail(kExitUsage, "no command given (see `clawback --help`)");
    if (HasPasswordFlag(argc, argv)) {
      std::cerr << "clawback: warning: --password is visible to other users in `ps`; "
                   "prefer --password-stdin or CLAWBACK_PASSWORD\n";
    }

    CommandContext ctx(options, Environment::Process(), std::cout, std::cerr);
    Status status = action(ctx);
    std::cout.flush();
    if (!status.ok()) return Fail(ExitCodeFor(status), status.message());
    return kExitOk;
  } catch (const std::exception& e) {
    return Fail(kExitRuntime, std::string("internal error: ") + e.what());
  }
}

}  // namespace clawback::controller::cli
