// clawback: the control plane. `serve` runs the service, `pki init` prepares
// the data dir's PKI; every other subcommand is the API client
// (controller/cli/cli.h). This file only parses options and wires parts.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "controller/cli/cli.h"
#include "controller/service/controller_service.h"
#include "shared/log.h"
#include "shared/version.h"

namespace {

using clawback::controller::ServeOptions;

bool SplitListen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = listen.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  try {
    size_t used = 0;
    int p = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  *host = h;
  return true;
}

int Serve(ServeOptions options, const std::string& listen, const std::string& log_format) {
  clawback::log::Configure(log_format == "text" ? clawback::log::Format::kText : clawback::log::Format::kJson,
                           clawback::log::Level::kInfo);
  if (!SplitListen(listen, &options.listen_address, &options.listen_port)) {
    std::cerr << "clawback: --listen must be ADDR:PORT, e.g. 127.0.0.1:8080: " << listen << "\n";
    return 2;
  }
  if (const char* pw = std::getenv("CLAWORC_ADMIN_PASSWORD"); pw && *pw) options.admin_password = pw;

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto service = clawback::controller::ControllerService::Start(options);
  if (!service.ok()) {
    clawback::log::Error("clawback serve failed to start", {{"error", service.status().ToString()}});
    std::cerr << "clawback: " << service.status().message() << "\n";
    return 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  clawback::log::Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*service)->Stop();
  clawback::log::Info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // `serve`, `pki` and --version run here; everything else is the API
  // client, which also owns global options given before its command
  // (`clawback --json backup list`) and the error for an unknown command.
  std::string_view first = argc > 1 ? argv[1] : "";
  bool help = argc == 1 || first == "--help" || first == "-h";
  if (!help && first != "serve" && first != "pki" && first != "--version") {
    if (first[0] != '-' && !clawback::controller::cli::IsClientCommand(argv[1])) {
      std::cerr << "clawback: unknown command " << first << " (see `clawback --help`)\n";
      return 2;
    }
    return clawback::controller::cli::RunClient(argc, argv);
  }
  // The top-level help lists the client's commands and global options as
  // well as the service's own.
  if (help) {
    char name[] = "clawback";
    char help[] = "--help";
    char* client_argv[] = {name, help, nullptr};
    clawback::controller::cli::RunClient(2, client_argv);
    std::cout << "\nService commands (run on the controller host; see `clawback serve --help`):\n"
                 "  serve                       Run the control-plane service (REST API and dashboard)\n"
                 "  pki init                    Create the CA and controller certificate (never overwrites)\n"
                 "  --version                   Print the version and exit\n";
    return argc == 1 ? 2 : 0;
  }

  CLI::App app{"clawback: backups for fleets of OpenClaw agent containers", "clawback"};
  app.set_version_flag("--version", std::string("clawback ") + clawback::kVersion);
  app.require_subcommand(1);

  ServeOptions options;
  std::string listen = "127.0.0.1:8080";
  std::string log_format = "json";
  int stall_seconds = 60, probe_seconds = 15, grace_seconds = 3600;

  CLI::App* serve = app.add_subcommand("serve", "Run the control-plane service (REST API and dashboard)");
  serve->add_option("--listen", listen, "Address and port to listen on (port 0 picks a free one)")
      ->envname("CLAWBACK_LISTEN")
      ->capture_default_str();
  serve->add_option("--data-dir", options.data_dir, "Data directory: store, PKI, backups")
      ->envname("CLAWORC_DATA_PATH")
      ->capture_default_str();
  serve->add_option("--backups-dir", options.backups_dir, "Archive directory (default <data-dir>/backups)")
      ->envname("CLAWORC_BACKUPS_PATH");
  serve->add_option("--database", options.database,
                    "Metadata store: sqlite:///abs/path.db or postgres://user@host:port/db "
                    "(default: SQLite <data-dir>/clawback.db)")
      ->envname("CLAWORC_DATABASE");
  serve->add_option("--tls-cert", options.tls_cert_file, "Serve HTTPS with this certificate (PEM)")
      ->envname("CLAWBACK_TLS_CERT");
  serve->add_option("--tls-key", options.tls_key_file, "Private key for --tls-cert (PEM)")
      ->envname("CLAWBACK_TLS_KEY");
  serve->add_option("--port-file", options.port_file, "Write the bound port to this file once listening");
  serve->add_option("--max-concurrent-transfers", options.max_concurrent_transfers,
                    "Transfers running at once across all instances")
      ->envname("CLAWBACK_MAX_CONCURRENT_TRANSFERS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve->add_option("--stall-timeout", stall_seconds, "Fail a transfer after this many seconds without a byte")
      ->envname("CLAWBACK_STALL_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  serve->add_option("--probe-interval", probe_seconds, "Seconds between agent health probes")
      ->envname("CLAWBACK_PROBE_INTERVAL")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve->add_option("--catch-up-grace", grace_seconds,
                    "Missed schedule slots younger than this many seconds fire once at startup")
      ->envname("CLAWBACK_CATCH_UP_GRACE")
      ->check(CLI::Range(0, 31 * 86400))
      ->capture_default_str();
  serve->add_option("--trusted-proxy", options.trusted_proxies,
                    "Reverse proxy address or CIDR whose forwarding header names the client (repeatable)")
      ->envname("CLAWBACK_TRUSTED_PROXIES")
      ->delimiter(',');
  serve->add_option("--forwarded-header", options.forwarded_header,
                    "Header the trusted proxies write: X-Forwarded-For or Forwarded")
      ->envname("CLAWBACK_FORWARDED_HEADER")
      ->capture_default_str();
  serve->add_flag("--secure-cookies", options.secure_cookies,
                  "Always mark the session cookie Secure (behind a TLS-terminating proxy)")
      ->envname("CLAWBACK_SECURE_COOKIES");
  serve->add_option("--metrics-token", options.metrics_token,
                    "Bearer token that lets Prometheus scrape /metrics (prefer the environment variable)")
      ->envname("CLAWBACK_METRICS_TOKEN");
  serve->add_flag("--metrics-open", options.metrics_open, "Serve /metrics to anyone, without a token")
      ->envname("CLAWBACK_METRICS_OPEN");
  int64_t verify_rate = static_cast<int64_t>(options.trust.verify_bytes_per_second);
  int trust_scan_seconds = 60;
  serve->add_option("--verify-rate", verify_rate, "Bytes per second a verification reads at most (0: unlimited)")
      ->envname("CLAWBACK_VERIFY_RATE")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  serve->add_flag("--verify-after-backup", options.trust.verify_after_backup,
                  "Verify every backup as soon as it completes")
      ->envname("CLAWBACK_VERIFY_AFTER_BACKUP");
  serve->add_option("--reverify-days", options.trust.reverify_after_days,
                    "Re-verify backups whose last verification is older than this many days (0: off)")
      ->envname("CLAWBACK_REVERIFY_DAYS")
      ->check(CLI::Range(0, 3650))
      ->capture_default_str();
  serve->add_option("--verify-sample-percent", options.trust.daily_sample_percent,
                    "Verify this percentage of all completed backups once a day (0: off)")
      ->envname("CLAWBACK_VERIFY_SAMPLE_PERCENT")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  serve->add_option("--unprotected-after", options.trust.unprotected_after_s,
                    "Seconds without a good backup after which an instance is unprotected")
      ->envname("CLAWBACK_UNPROTECTED_AFTER")
      ->check(CLI::Range(int64_t{1}, int64_t{366} * 86400))
      ->capture_default_str();
  serve->add_option("--drill-every-days", options.trust.drill_every_days,
                    "Drill each instance's newest backup when it had no restore drill for this many days (0: off)")
      ->envname("CLAWBACK_DRILL_EVERY_DAYS")
      ->check(CLI::Range(0, 3650))
      ->capture_default_str();
  serve->add_option("--drill-concurrency", options.trust.drill_concurrency, "Restore drills running at once")
      ->envname("CLAWBACK_DRILL_CONCURRENCY")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve->add_option("--webhook-timeout", options.trust.webhook_timeout_s,
                    "Seconds a webhook delivery may wait on each connect, write or read")
      ->envname("CLAWBACK_WEBHOOK_TIMEOUT")
      ->check(CLI::Range(1, 300))
      ->capture_default_str();
  serve->add_option("--webhook-attempts", options.trust.webhook_max_attempts, "Attempts per webhook delivery")
      ->envname("CLAWBACK_WEBHOOK_ATTEMPTS")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  serve->add_option("--webhook-backoff-ms", options.trust.webhook_first_backoff_ms,
                    "Milliseconds before the first retry of a webhook delivery (doubled per attempt)")
      ->envname("CLAWBACK_WEBHOOK_BACKOFF_MS")
      ->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  serve->add_option("--trust-scan-interval", trust_scan_seconds,
                    "Seconds between scheduled-verification and protection-alert scans")
      ->envname("CLAWBACK_TRUST_SCAN_INTERVAL")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  serve->add_option("--log-format", log_format, "Log format")
      ->envname("CLAWBACK_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  CLI::App* pki = app.add_subcommand("pki", "Manage the controller's PKI");
  pki->require_subcommand(1);
  CLI::App* pki_init = pki->add_subcommand("init", "Create the CA and controller certificate (never overwrites)");
  std::string pki_data_dir = options.data_dir;
  pki_init->add_option("--data-dir", pki_data_dir, "Data directory")->envname("CLAWORC_DATA_PATH")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*serve) {
    options.stall_timeout = std::chrono::seconds(stall_seconds);
    options.probe_interval = std::chrono::seconds(probe_seconds);
    options.catch_up_grace = std::chrono::seconds(grace_seconds);
    options.trust.verify_bytes_per_second = static_cast<uint64_t>(verify_rate);
    options.trust_scan_interval = std::chrono::seconds(trust_scan_seconds);
    return Serve(options, listen, log_format);
  }
  if (*pki_init) {
    auto done = clawback::controller::InitDataDirPki(pki_data_dir);
    if (!done.ok()) {
      std::cerr << "clawback: " << done.status().message() << "\n";
      return 1;
    }
    std::cout << *done << "\n";
    return 0;
  }
  return 2;
}
