// clawback-agent: serves backups and restores of this container over mTLS.
// Parses options, then hands over to AgentServer (agent/server/agent_server.h).
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <iostream>
#include <string>

#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "agent/archive/archive_stream.h"
#include "agent/hooks/quiesce_hooks.h"
#include "agent/server/agent_server.h"
#include "shared/log.h"
#include "shared/version.h"

namespace {

// Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage or configuration.
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::cerr << "clawback-agent: " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace clawback;
  agent::AgentServerOptions options;
  std::string log_format = "json";
  std::string hooks_file;
  int stall_timeout_s = static_cast<int>(options.stall_timeout.count());
  int grace_s = static_cast<int>(options.shutdown_grace.count());
  int db_lock_timeout_ms = static_cast<int>(options.database_busy_timeout.count());

  CLI::App app{"clawback-agent: serves backups and restores of this container to the Claworc controller over mTLS",
               "clawback-agent"};
  app.set_version_flag("--version", std::string("clawback-agent ") + kVersion, "Print the version and exit");
  app.add_option("--listen", options.listen, "Address to listen on, HOST:PORT (port 0: any free port)")
      ->envname("CLAWBACK_AGENT_LISTEN")
      ->capture_default_str();
  app.add_option("--cert", options.cert_file, "Server certificate (PEM) carrying spiffe://claworc/instance/<name>")
      ->envname("CLAWBACK_AGENT_CERT")
      ->required();
  app.add_option("--key", options.key_file, "Private key (PEM) of --cert")->envname("CLAWBACK_AGENT_KEY")->required();
  app.add_option("--ca", options.ca_file, "CA bundle (PEM) the controller's certificate must chain to")
      ->envname("CLAWBACK_AGENT_CA")
      ->required();
  app.add_option("--root", options.root, "The container's filesystem root")
      ->envname("CLAWBACK_AGENT_ROOT")
      ->capture_default_str();
  app.add_option("--compression-level", options.compression_level, "zstd level for backups")
      ->envname("CLAWBACK_AGENT_COMPRESSION_LEVEL")
      ->check(CLI::Range(1, 19))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "zstd worker threads (default: CPUs this process may use)")
      ->envname("CLAWBACK_AGENT_THREADS")
      ->check(CLI::Range(1, 256));
  app.add_flag("--allow-devices", options.allow_devices, "Restore device nodes and FIFOs (skipped by default)")
      ->envname("CLAWBACK_AGENT_ALLOW_DEVICES");
  std::string resolution = "auto";
  app.add_option("--path-resolution", resolution,
                 "How restores resolve paths below --root: openat2 (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), "
                 "walk (one O_NOFOLLOW openat per component), or auto (openat2, walk where the kernel or "
                 "seccomp refuses it)")
      ->envname("CLAWBACK_AGENT_PATH_RESOLUTION")
      ->check(CLI::IsMember({"auto", "openat2", "walk"}))
      ->capture_default_str();
  app.add_option("--max-transfers", options.max_transfers, "Concurrent backups and restores")
      ->envname("CLAWBACK_AGENT_MAX_TRANSFERS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-connections", options.max_connections, "Concurrent connections")
      ->envname("CLAWBACK_AGENT_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--stall-timeout", stall_timeout_s, "Seconds without progress before a transfer is aborted")
      ->envname("CLAWBACK_AGENT_STALL_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--db-lock-timeout-ms", db_lock_timeout_ms,
                 "How long a SQLite database capture waits for a writer's lock (rollback-journal mode) "
                 "before the file is archived as plain bytes with a warning")
      ->envname("CLAWBACK_AGENT_DB_LOCK_TIMEOUT_MS")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  app.add_option("--shutdown-grace", grace_s, "Seconds running transfers may finish after SIGTERM")
      ->envname("CLAWBACK_AGENT_SHUTDOWN_GRACE")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "Log line format")
      ->envname("CLAWBACK_AGENT_LOG_FORMAT")
      ->check(CLI::IsMember({"json", "text"}))
      ->capture_default_str();
  app.add_option("--hooks", hooks_file,
                 "Quiesce hooks (JSON: pre-backup, post-backup, pre-restore, post-restore argv arrays; "
                 "docs/operations.md)")
      ->envname("CLAWBACK_AGENT_HOOKS");
  app.add_option("--drill-dir", options.drill_dir,
                 "Directory for restore drills' scratch trees (outside --root; drills are refused without it)")
      ->envname("CLAWBACK_AGENT_DRILL_DIR");
  app.add_option("--port-file", options.port_file, "Write the bound port to this file once listening")
      ->envname("CLAWBACK_AGENT_PORT_FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(kExitUsage, e.what());
  }

  log::Configure(log_format == "text" ? log::Format::kText : log::Format::kJson, log::Level::kInfo);
  options.stall_timeout = std::chrono::seconds(stall_timeout_s);
  options.shutdown_grace = std::chrono::seconds(grace_s);
  options.database_busy_timeout = std::chrono::milliseconds(db_lock_timeout_ms);
  if (options.threads == 0) options.threads = agent::DefaultCompressionThreads();
  agent::ParseResolution(resolution, &options.resolution);  // checked by IsMember above

  char resolved[PATH_MAX];
  if (::realpath(options.root.c_str(), resolved) == nullptr) {
    return Fail(kExitUsage, "--root " + options.root + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(kExitUsage, "--root " + options.root + " is not a directory");
  }
  options.root = resolved;

  if (!options.drill_dir.empty()) {
    char drill[PATH_MAX];
    if (::realpath(options.drill_dir.c_str(), drill) == nullptr || ::stat(drill, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Fail(kExitUsage, "--drill-dir " + options.drill_dir + " is not an existing directory");
    }
    const std::string d = drill, r = options.root;
    // Never a live path: not the container root, nothing below it (unless the
    // root is the host's "/"), and not a parent of it.
    const auto within = [](const std::string& inner, const std::string& outer) {
      return inner == outer || (outer != "/" && inner.rfind(outer + "/", 0) == 0) || outer == "/";
    };
    if (d == r || (r != "/" && within(d, r)) || within(r, d)) {
      return Fail(kExitUsage, "--drill-dir " + options.drill_dir + " must lie outside --root " + r);
    }
    options.drill_dir = d;
  }

  if (!hooks_file.empty()) {
    auto hooks = agent::LoadHookConfig(hooks_file);
    if (!hooks.ok()) return Fail(kExitUsage, hooks.status().message());
    options.hooks = std::move(*hooks);
    nlohmann::json configured = nlohmann::json::array();
    const agent::HookConfig& h = options.hooks;
    if (h.pre_backup) configured.push_back("pre-backup");
    if (h.post_backup) configured.push_back("post-backup");
    if (h.pre_restore) configured.push_back("pre-restore");
    if (h.post_restore) configured.push_back("post-restore");
    log::Info("quiesce hooks loaded", {{"file", hooks_file}, {"hooks", configured}});
  }

  auto server = agent::AgentServer::Create(options);
  if (!server.ok()) return Fail(kExitUsage, server.status().message());
  Status run = (*server)->Run();
  if (!run.ok()) return Fail(kExitRuntime, run.ToString());
  return 0;
}
