// The controller's services wired as `clawback serve` wires them, in process,
// for suites that call the API's RequestHandler directly (router, OpenAPI and
// auth suites): a real SQLite store at <dir>/clawback.db, a real PKI under
// <dir>/pki, archives in <dir>/backups, and the real audit log, user admin,
// transfer service, scheduler, sign-in limiter and session manager over the
// caller's clock and agent connector. No agent process and no network.
//
// The caller owns `dir`, `clock` and `agents`; they must outlive the
// ApiServices. Not thread-safe: one test thread drives it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/agents/agent_connector.h"
#include "controller/api/api.h"
#include "controller/auth/audit.h"
#include "controller/auth/rate_limiter.h"
#include "controller/auth/session_manager.h"
#include "controller/auth/user_admin.h"
#include "controller/clock.h"
#include "controller/jobs/transfers.h"
#include "controller/metrics/metrics.h"
#include "controller/pki/certificate_authority.h"
#include "controller/scheduler/scheduler.h"
#include "controller/store/store.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller::testing {

// Cheap scrypt for tests that hash many passwords (the format is the same).
inline constexpr auth::ScryptParams kCheapScrypt{1 << 10, 8, 1};

// An agent connector for suites in which no request may reach an agent:
// every instance reports "running"; backups and restores fail Unavailable.
class UnreachableAgents final : public AgentConnector {
 public:
  InstanceHealth Probe(const Instance&) override { return Running(); }
  InstanceHealth ProbeWithin(const Instance&, std::chrono::milliseconds) override { return Running(); }
  InstanceHealth Health(Id) const override { return Running(); }
  void StartProber(std::function<std::vector<Instance>()>, std::chrono::seconds) override {}
  void StopProber() override {}
  Result<StreamSummary> Backup(const Instance&, const AgentBackupRequest&, ArchiveReceiver&,
                               const std::atomic<bool>&, std::chrono::seconds) override {
    return Status::Unavailable("fake agent");
  }
  Result<AgentRestoreResult> Restore(const Instance&, ArchiveProvider&, const AgentRestoreOptions&, const std::atomic<bool>&,
                                     std::chrono::seconds, std::function<void(uint64_t)>) override {
    return Status::Unavailable("fake agent");
  }

 private:
  static InstanceHealth Running() {
    InstanceHealth h;
    h.status = "running";
    return h;
  }
};

struct ApiServicesOptions {
  auth::SessionOptions sessions;  // scrypt defaults to kCheapScrypt
  auth::RateLimitOptions rate_limit;
  ApiServicesOptions() { sessions.scrypt = kCheapScrypt; }
};

class ApiServices {
 public:
  // Sets everything up; nullptr, with a test failure naming the cause, when
  // the store or the PKI cannot be created.
  static std::unique_ptr<ApiServices> Open(const TempDir& dir, const Clock& clock, AgentConnector& agents,
                                           ApiServicesOptions options = {});
  ~ApiServices();  // stops the scheduler and shuts the transfer service down
  ApiServices(const ApiServices&) = delete;
  ApiServices& operator=(const ApiServices&) = delete;

  Store& store() { return *store_; }
  auth::UserAdmin& users() { return *users_; }
  auth::SessionManager& sessions() { return *sessions_; }
  const pki::PkiFiles& pki() const { return pki_; }
  const std::string& backups_dir() const { return backups_dir_; }
  api::HttpResponse Handle(const api::HttpRequest& request) const { return handler_(request); }

 private:
  ApiServices() = default;

  pki::PkiFiles pki_;
  std::string backups_dir_;
  std::unique_ptr<Store> store_;
  Metrics metrics_;
  std::unique_ptr<auth::SignInRateLimiter> limiter_;
  std::unique_ptr<auth::AuditLog> audit_;
  std::unique_ptr<auth::UserAdmin> users_;
  std::unique_ptr<TransferService> transfers_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<auth::SessionManager> sessions_;
  std::unique_ptr<api::ApiContext> context_;
  api::RequestHandler handler_;
};

}  // namespace clawback::controller::testing
