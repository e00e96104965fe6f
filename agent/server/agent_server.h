// The agent's HTTPS/mTLS server: the start-here header of clawback-agent.
//
// Serves the agent wire protocol (shared/protocol.h, docs/agent-protocol.md)
// over TLS on one listening socket. /healthz needs no client certificate;
// every other endpoint requires a client certificate that chains to the CA and
// carries spiffe://claworc/controller (401 when missing or invalid, 403 for
// any other identity). Backups stream from the archive engine on a worker
// thread through a bounded queue; restores stream the request body into it.
//
// Signals (handled inside Run): SIGHUP reloads the TLS files for new
// connections (a failed reload keeps the old context); SIGTERM/SIGINT stop
// accepting, let running requests finish for up to `shutdown_grace`, then
// Run returns OK.
//
// Thread safety: Create and Run are called from one thread; Run blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/archive/beneath.h"
#include "agent/hooks/quiesce_hooks.h"
#include "shared/status.h"

namespace clawback::agent {

struct AgentServerOptions {
  std::string listen = "0.0.0.0:8443";  // host:port; port 0 picks a free port
  std::string cert_file;                // server certificate (spiffe://claworc/instance/<name>)
  std::string key_file;
  std::string ca_file;                  // CA that client certificates must chain to
  std::string root = "/";               // realpath of the container root to back up / restore into
  int compression_level = 3;
  int threads = 0;                      // zstd workers; 0 = DefaultCompressionThreads()
  bool allow_devices = false;           // restore device nodes and FIFOs
  Resolution resolution = Resolution::kAuto;  // lookups below the root on restore (beneath.h)
  int max_transfers = 2;                // concurrent backups + restores
  int max_connections = 64;
  std::chrono::seconds stall_timeout{60};      // no progress on a transfer for this long aborts it
  // How long a database capture waits for a rollback-mode writer's lock
  // before archiving the file as plain bytes with a warning.
  std::chrono::milliseconds database_busy_timeout{5000};
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds header_timeout{30};     // also the keep-alive idle time
  std::chrono::seconds shutdown_grace{30};
  std::string port_file;                // if set, the bound port is written here (atomically)
  HookConfig hooks;                     // quiesce hooks from --hooks (agent/hooks/quiesce_hooks.h)
  // --drill-dir: where restore drills extract (a scratch directory per drill,
  // removed afterwards); empty: drills are refused. Never inside `root`.
  std::string drill_dir;
};

class AgentServer {
 public:
  // Loads the TLS files, binds and listens, logs {"msg":"listening","addr":...}
  // and writes the port file. Errors name the file or address at fault.
  static Result<std::unique_ptr<AgentServer>> Create(const AgentServerOptions& options);

  virtual ~AgentServer() = default;

  // The bound port (useful with port 0).
  virtual uint16_t port() const = 0;

  // Serves until SIGTERM/SIGINT and the grace period; OK on a clean stop.
  virtual Status Run() = 0;
};

}  // namespace clawback::agent
