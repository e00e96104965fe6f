// A running controller, as `clawback serve` starts it: the store, PKI, first
// admin, crash recovery, agent prober, transfer service, scheduler and the
// HTTP(S) API, assembled in that order and stopped in reverse.
//
// Start() fails with a message an operator can act on (data dir locked by
// another process, unreadable PKI files, port in use ...). Stop() is
// idempotent; the destructor stops. Not copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/verify/trust_settings.h"
#include "shared/status.h"

namespace clawback::controller {

struct ServeOptions {
  std::string data_dir = "/var/lib/claworc";  // CLAWORC_DATA_PATH
  std::string backups_dir;                    // CLAWORC_BACKUPS_PATH; empty = <data_dir>/backups
  std::string database;                       // CLAWORC_DATABASE (store/database_url.h); empty = SQLite in data_dir
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 8080;                // 0 = any free port
  std::string tls_cert_file, tls_key_file;    // both: HTTPS
  std::string port_file;                      // written with the bound port once listening
  std::optional<std::string> admin_password;  // CLAWORC_ADMIN_PASSWORD for the first admin
  int max_concurrent_transfers = 4;
  std::chrono::seconds stall_timeout{60};
  std::chrono::seconds probe_interval{15};
  std::chrono::seconds catch_up_grace{3600};
  std::vector<std::string> trusted_proxies;    // CIDRs whose forwarding headers are believed
  std::string forwarded_header = "X-Forwarded-For";  // or "Forwarded"
  bool secure_cookies = false;                 // session cookie always Secure (TLS-terminating proxy)
  std::string metrics_token;                   // bearer token for /metrics scrapes
  bool metrics_open = false;                   // /metrics for anyone
  TrustSettings trust;                         // verification, alerts, protection (issue 19)
  std::chrono::seconds trust_scan_interval{60};  // how often scheduled verification/alert scans run
};

class ControllerService {
 public:
  static Result<std::unique_ptr<ControllerService>> Start(const ServeOptions& options);
  virtual ~ControllerService() = default;
  virtual uint16_t port() const = 0;
  virtual void Stop() = 0;
};

// `clawback pki init`: creates what is missing of <data_dir>/pki (never
// overwriting an operator's files) and returns a one-line summary.
Result<std::string> InitDataDirPki(const std::string& data_dir);

}  // namespace clawback::controller
