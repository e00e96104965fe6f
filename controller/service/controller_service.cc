#include "controller/storage/archive_storage.h"
#include "controller/storage/s3_config.h"
#include "controller/service/controller_service.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "controller/agents/agent_connector.h"
#include "controller/alerts/webhook_dispatcher.h"
#include "controller/api/api.h"
#include "controller/browse/browse.h"
#include "controller/browse/subtree_archive.h"
#include "controller/auth/audit.h"
#include "controller/auth/rate_limiter.h"
#include "controller/auth/session_manager.h"
#include "controller/auth/user_admin.h"
#include "controller/clock.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/transfers.h"
#include "controller/metrics/metrics.h"
#include "controller/pki/certificate_authority.h"
#include "controller/replicas/leader_lease.h"
#include "controller/replicas/replica_identity.h"
#include "controller/scheduler/scheduler.h"
#include "controller/store/database_url.h"
#include "controller/store/process_lock.h"
#include "controller/store/store.h"
#include "controller/verify/drill.h"
#include "controller/verify/verification.h"
#include "controller/verify/verification_policy.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

Status MakeDir(const std::string& path, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IoError("cannot create directory " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0 && errno != EPERM) {
    return Status::IoError("cannot set mode of " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

class ControllerServiceImpl final : public ControllerService {
 public:
  ~ControllerServiceImpl() override { Stop(); }

  Status Init(const ServeOptions& o) {
    // First: a backups path that cannot be used as given (relative, a URL)
    // stops the service before it touches anything. Resolved once: every
    // archive location is relative to this canonical path.
    // s3://BUCKET/PREFIX selects object storage; its settings (credentials
    // above all) are checked here too.
    std::string backups_dir;
    if (storage::IsS3Location(o.backups_dir)) {
      auto s3 = storage::S3ConfigFromEnvironment(o.backups_dir, storage::ProcessEnvironment());
      if (!s3.ok()) return s3.status();
      archives_ = storage::MakeS3ArchiveStorage(*s3);
      backups_dir = archives_->Location();
      // Browsing reads the bucket; catalogs are cached in the data dir.
      browse::ServeArchivesFrom(backups_dir, archives_, o.data_dir + "/archive-cache");
    } else {
      auto resolved_backups = ResolveBackupsDir(o.backups_dir, o.data_dir);
      if (!resolved_backups.ok()) return resolved_backups.status();
      backups_dir = *resolved_backups;
      archives_ = storage::MakeLocalArchiveStorage(backups_dir);
    }
    // Likewise a database URL that names no usable store.
    auto database = ParseDatabaseUrl(o.database, o.data_dir);
    if (!database.ok()) return database.status();
    auto forwarded_header = api::ProxyTrust::ParseHeaderName(o.forwarded_header);
    if (!forwarded_header.ok()) return forwarded_header.status();
    auto proxies = api::ProxyTrust::Parse(o.trusted_proxies, *forwarded_header);
    if (!proxies.ok()) return proxies.status();
    CLAWBACK_RETURN_IF_ERROR(MakeDir(o.data_dir, 0700));
    auto lock = store::ProcessLock::Acquire(o.data_dir + "/clawback.lock");
    if (!lock.ok()) return lock.status().WithContext("data dir " + o.data_dir);
    lock_ = std::move(*lock);

    auto store = OpenStore(*database);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    log::Info("store open", {{"engine", database->engine == DatabaseUrl::Engine::kPostgres ? "postgresql" : "sqlite"},
                             {"database", database->redacted}});

    auto pki = pki::InitPki(o.data_dir + "/pki");
    if (!pki.ok()) return pki.status().WithContext("PKI in " + o.data_dir + "/pki");
    const pki::PkiFiles files = *pki;

    auto generated = auth::EnsureFirstAdmin(*store_, clock_, o.admin_password);
    if (!generated.ok()) return generated.status().WithContext("first admin");
    if (generated->has_value()) {
      // Printed once, by design: the operator's only way to the first sign-in.
      log::Warn("created the first admin user; change this password after signing in",
                {{"username", "admin"}, {"password", **generated}});
    } else if (o.admin_password) {
      log::Info("first admin user ready", {{"username", "admin"}});
    }

    // Issue 18: this process is a new replica; what its previous life in
    // this data dir left unfinished fails now, other replicas' transfers
    // only once their leases expire.
    auto identity = ReplicaIdentity::StartInDataDir(o.data_dir);
    if (!identity.ok()) return identity.status().WithContext("replica id in " + o.data_dir);
    identity_ = *identity;
    log::Info("controller replica", {{"replica", identity_.id}, {"hostname", identity_.hostname},
                                     {"previous", identity_.previous_id}});
    CLAWBACK_RETURN_IF_ERROR(
        RecoverInterruptedTransfers(*store_, *archives_, clock_.Now(), identity_.previous_id));
    // The previous life of this data dir is dead (we hold its lock): a
    // leadership it still holds is released now, so a restarted controller
    // leads again at once instead of after the lease runs out.
    if (!identity_.previous_id.empty()) {
      Status released = store_->ReleaseLease(LeaderLeaseSettings{}.name, identity_.previous_id);
      if (!released.ok()) log::Warn("cannot release the previous life's leadership", {{"error", released.message()}});
    }
    leader_ = std::make_unique<LeaderLease>(*store_, clock_, identity_.id);

    auto agents = MakeAgentConnector({files.ca_cert, files.controller_cert, files.controller_key});
    if (!agents.ok()) return agents.status();
    agents_ = std::move(*agents);

    metrics_ = std::make_unique<Metrics>();
    SeedMetrics();
    audit_ = std::make_unique<auth::AuditLog>(*store_, clock_);

    trust_ = o.trust;
    trust_scan_interval_ = o.trust_scan_interval;
    WebhookSettings hooks;
    hooks.timeout = std::chrono::seconds(o.trust.webhook_timeout_s);
    hooks.max_attempts = o.trust.webhook_max_attempts;
    hooks.first_backoff = std::chrono::milliseconds(o.trust.webhook_first_backoff_ms);
    webhooks_ = std::make_unique<WebhookDispatcher>(*store_, hooks);
    // Checks of live replicas stay; this data dir's previous life's, and
    // those of replicas whose lease ran out, fail.
    (void)store_->FailRunningChecks(clock_.Now(), "interrupted: controller restarted", identity_.previous_id);
    VerificationSettings verify;
    verify.backups_dir = backups_dir;
    verify.archives = archives_;
    verify.bytes_per_second = o.trust.verify_bytes_per_second;
    verify.replica_id = identity_.id;
    VerificationHooks verify_hooks;
    const int slots = std::max(1, o.max_concurrent_transfers);
    // Wait while every transfer slot is busy: backups come first.
    verify_hooks.should_pause = [this, slots] { return transfers_ && transfers_->RunningCount() >= slots; };
    verify_hooks.on_finished = [this](const Backup& b, const BackupCheck& c) { OnVerified(b, c); };
    verifier_ = MakeVerificationService(*store_, verify, std::move(verify_hooks));

    DrillSettings drill;
    drill.backups_dir = backups_dir;
    drill.archives = archives_;
    drill.max_concurrent = o.trust.drill_concurrency;
    drill.stall_timeout = o.stall_timeout;
    drill.replica_id = identity_.id;
    drills_ = MakeDrillService(*store_, *agents_, drill,
                               [this](const Backup& b, const Instance& i, const BackupCheck& c) { OnDrilled(b, i, c); });
    policy_ = std::make_unique<VerificationPolicy>(*store_, *verifier_, drills_.get(), o.trust, o.trust_scan_interval);

    TransferSettings settings;
    settings.backups_dir = backups_dir;
    settings.archives = archives_;
    settings.max_concurrent = o.max_concurrent_transfers;
    settings.stall_timeout = o.stall_timeout;
    settings.index_archive = browse::MakeArchiveIndexer();
    settings.open_selection = browse::MakeSelectionOpener(backups_dir);
    settings.replica.id = identity_.id;
    if (archives_->LocalDirectory().empty()) {
      settings.index_stored_archive = [archives = archives_, cache = o.data_dir + "/archive-cache"](
                                          const std::string& name, uint64_t entries, const BlockDigests& digests) {
        return browse::IndexStoredArchive(*archives, cache, name, entries, digests);
      };
    }
    TransferObserver observer;
    observer.on_backup_finished = [this](const Backup& b) { OnBackupFinished(b); };
    observer.on_restore_finished = [this](const Restore& r) { OnRestoreFinished(r); };
    transfers_ = MakeTransferService(*store_, *agents_, settings, std::move(observer));

    SchedulerSettings sched;
    sched.catch_up_grace = o.catch_up_grace;
    sched.backups_dir = backups_dir;
    sched.archives = archives_;
    sched.on_tick = [this](UnixTime now) { OnSchedulerTick(now); };
    sched.on_missed = [this](const Schedule& schedule, const std::string& result) { OnScheduleMissed(schedule, result); };
    sched.is_leader = [this] { return leader_->IsLeader(); };
    scheduler_ = MakeScheduler(*store_, *transfers_, clock_, sched);
    {
      std::lock_guard lk(scheduler_mu_);
      scheduler_ready_ = true;
    }

    limiter_ = std::make_unique<auth::SignInRateLimiter>(clock_);
    sessions_ = std::make_unique<auth::SessionManager>(*store_, clock_, *limiter_, audit_.get());
    users_ = std::make_unique<auth::UserAdmin>(*store_, clock_);
    (void)sessions_->PruneExpiredSessions();

    context_ = std::make_unique<api::ApiContext>(api::ApiContext{*store_, clock_, *sessions_, *users_, *audit_,
                                                                 *transfers_, *scheduler_, *agents_, *metrics_,
                                                                 files.ca_cert, files.ca_key, backups_dir,
                                                                 *proxies, o.secure_cookies, o.metrics_token,
                                                                 o.metrics_open});
    context_->verifier = verifier_.get();
    context_->webhooks = webhooks_.get();
    context_->drills = drills_.get();
    context_->trust = &trust_;
    context_->replica = [this] {
      return ReplicaStatus{identity_.id, identity_.hostname, leader_->IsLeader(), leader_->LastSeenLeader()};
    };
    context_->archives = archives_.get();

    Store* store_ptr = store_.get();
    agents_->StartProber(
        [store_ptr] {
          auto list = store_ptr->ListInstances();
          return list.ok() ? *list : std::vector<Instance>{};
        },
        o.probe_interval);
    leader_->Tick();  // lead from the first scheduler tick when nobody else does
    leader_->Start();
    scheduler_->Start();

    api::ServerOptions server;
    server.address = o.listen_address;
    server.port = o.listen_port;
    server.tls_cert_file = o.tls_cert_file;
    server.tls_key_file = o.tls_key_file;
    auto started = api::HttpServer::Start(server, api::MakeApiHandler(*context_));
    if (!started.ok()) return started.status().WithContext("listen on " + o.listen_address);
    server_ = std::move(*started);

    if (!o.port_file.empty()) {
      CLAWBACK_RETURN_IF_ERROR(pki::WriteFileAtomic(o.port_file, std::to_string(server_->port()) + "\n", 0644));
    }
    log::Info("clawback serving", {{"address", o.listen_address},
                                   {"port", server_->port()},
                                   {"tls", server_->tls()},
                                   {"data_dir", o.data_dir},
                                   {"backups_dir", backups_dir}});
    return Status::Ok();
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }

  void Stop() override {
    std::lock_guard lk(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    if (server_) server_->Stop();
    if (scheduler_) scheduler_->Stop();
    if (leader_) leader_->Stop();  // releases the lease: another replica leads at once
    if (agents_) agents_->StopProber();
    if (transfers_) transfers_->Shutdown();
    if (verifier_) verifier_->Shutdown();
    if (drills_) drills_->Shutdown();
    if (webhooks_) webhooks_->Shutdown();
  }

 private:
  void SeedMetrics() {
    auto instances = store_->ListInstances();
    auto latest = store_->ListLatestBackups();
    if (!instances.ok() || !latest.ok()) return;
    std::map<Id, std::string> names;
    for (const Instance& i : *instances) names[i.id] = i.name;
    for (const LatestBackups& l : *latest) {
      auto it = names.find(l.instance_id);
      if (it != names.end() && l.last_good) metrics_->RecordLastSuccess(it->second, l.last_good->completed_at);
    }
  }

  // Runs on a transfer thread.
  void OnBackupFinished(const Backup& b) {
    metrics_->OnBackupFinished(b);
    std::string outcome = b.status == BackupStatus::kCompleted ? "ok"
                          : std::string(BackupStatusName(b.status)) + ": " + b.error_message;
    audit_->RecordSystem("system", "backup.finish", "backup:" + std::to_string(b.id), outcome,
                         {{"instance", b.instance_name}, {"size_bytes", b.size_bytes}});
    if (policy_) policy_->OnBackupFinished(b);
    if (b.status == BackupStatus::kCompleted || b.status == BackupStatus::kFailed) {
      AlertEvent event = BackupEvent(b.status == BackupStatus::kCompleted ? kEventBackupCompleted : kEventBackupFailed, b);
      if (b.status == BackupStatus::kFailed) event.detail = {{"error", b.error_message}};
      webhooks_->Publish(event);
    }
    std::lock_guard lk(scheduler_mu_);
    if (scheduler_ready_) scheduler_->OnBackupFinished(b);
  }

  // Runs on a verification worker.
  void OnVerified(const Backup& b, const BackupCheck& c) {
    std::string outcome = c.status == CheckStatus::kPassed ? "ok" : "failed: " + c.error;
    audit_->RecordSystem("system", "backup.verified", "backup:" + std::to_string(b.id), outcome,
                         {{"instance", b.instance_name}, {"duration_s", c.duration_s}});
    if (c.status == CheckStatus::kFailed) {
      AlertEvent event = BackupEvent(kEventVerifyFailed, b);
      event.detail = {{"error", c.error}};
      webhooks_->Publish(event);
    }
  }

  // Runs on a drill worker.
  void OnDrilled(const Backup& b, const Instance& target, const BackupCheck& c) {
    std::string outcome = c.status == CheckStatus::kPassed ? "ok" : "failed: " + c.error;
    audit_->RecordSystem("system", "backup.drilled", "backup:" + std::to_string(b.id), outcome,
                         {{"instance", b.instance_name}, {"target_instance", target.name}, {"duration_s", c.duration_s}});
    if (c.status == CheckStatus::kFailed) {
      AlertEvent event = BackupEvent(kEventDrillFailed, b);
      event.detail = {{"error", c.error}, {"target_instance", target.name}};
      webhooks_->Publish(event);
    }
  }

  // Runs on the scheduler's thread.
  void OnSchedulerTick(UnixTime now) {
    if (policy_) policy_->OnTick(now);
    CheckProtection(now);
  }

  void OnScheduleMissed(const Schedule& schedule, const std::string& result) {
    AlertEvent event;
    event.name = std::string(kEventScheduleMissed);
    event.time = clock_.Now();
    event.detail = {{"schedule_id", schedule.id}, {"schedule", schedule.name}, {"result", result}};
    webhooks_->Publish(event);
  }

  // instance.unprotected: once when an instance's last good backup becomes
  // older than --unprotected-after (or it never had one and was registered
  // longer ago than that); again only after it was protected in between.
  void CheckProtection(UnixTime now) {
    if (now - last_protection_scan_ < trust_scan_interval_.count()) return;
    last_protection_scan_ = now;
    auto instances = store_->ListInstances();
    auto latest = store_->ListLatestBackups();  // one query, not one per instance
    if (!instances.ok() || !latest.ok()) return;
    std::map<Id, std::optional<Backup>> good;
    for (LatestBackups& l : *latest) good[l.instance_id] = std::move(l.last_good);
    for (const Instance& i : *instances) {
      const std::optional<Backup>& newest_good = good[i.id];
      const UnixTime last_good = newest_good ? newest_good->completed_at : 0;
      const UnixTime since = last_good != 0 ? last_good : i.created_at;
      const bool unprotected = now - since > trust_.unprotected_after_s;
      if (!unprotected) {
        unprotected_.erase(i.id);
        continue;
      }
      if (!unprotected_.insert(i.id).second) continue;
      AlertEvent event;
      event.name = std::string(kEventInstanceUnprotected);
      event.time = now;
      event.instance_id = i.id;
      event.instance_name = i.name;
      if (newest_good) event.backup = *newest_good;
      event.detail = {{"last_good_backup_at", last_good}, {"unprotected_after_s", trust_.unprotected_after_s}};
      log::Warn("instance unprotected", {{"instance", i.name}, {"last_good_backup_at", last_good}});
      webhooks_->Publish(event);
    }
  }

  void OnRestoreFinished(const Restore& r) {
    metrics_->OnRestoreFinished(r);
    std::string outcome = r.status == RestoreStatus::kCompleted ? "ok"
                          : std::string(BackupStatusName(r.status)) + ": " + r.error_message;
    audit_->RecordSystem("system", "restore.finish", "restore:" + std::to_string(r.id), outcome,
                         {{"target_instance", r.target_instance_name}, {"backup_id", r.backup_id}});
    if (r.status == RestoreStatus::kFailed) {
      AlertEvent event;
      event.name = std::string(kEventRestoreFailed);
      event.time = clock_.Now();
      event.instance_id = r.target_instance_id;
      event.instance_name = r.target_instance_name;
      auto backup = store_->GetBackup(r.backup_id);
      if (backup.ok()) event.backup = *backup;
      event.detail = {{"restore_id", r.id}, {"error", r.error_message}};
      webhooks_->Publish(event);
    }
  }

  AlertEvent BackupEvent(std::string_view name, const Backup& b) {
    AlertEvent event;
    event.name = std::string(name);
    event.time = clock_.Now();
    event.instance_id = b.instance_id;
    event.instance_name = b.instance_name;
    event.backup = b;
    return event;
  }

  SystemClock clock_;
  store::ProcessLock lock_;
  std::unique_ptr<Store> store_;
  ReplicaIdentity identity_;
  std::unique_ptr<LeaderLease> leader_;  // after store_: released before the store closes
  std::unique_ptr<AgentConnector> agents_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<auth::AuditLog> audit_;
  TrustSettings trust_;
  std::chrono::seconds trust_scan_interval_{60};
  UnixTime last_protection_scan_ = 0;  // scheduler thread only
  std::set<Id> unprotected_;           // scheduler thread only: instances already alerted
  std::unique_ptr<WebhookDispatcher> webhooks_;  // before the services that publish: destroyed after them
  std::unique_ptr<VerificationService> verifier_;  // before transfers_: destroyed after it
  std::unique_ptr<DrillService> drills_;
  std::unique_ptr<VerificationPolicy> policy_;
  std::unique_ptr<TransferService> transfers_;
  std::mutex scheduler_mu_;
  bool scheduler_ready_ = false;  // guarded by scheduler_mu_: transfers may finish before the scheduler exists
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<auth::SignInRateLimiter> limiter_;
  std::unique_ptr<auth::SessionManager> sessions_;
  std::unique_ptr<auth::UserAdmin> users_;
  std::unique_ptr<api::ApiContext> context_;
  std::shared_ptr<storage::ArchiveStorage> archives_;
  std::unique_ptr<api::HttpServer> server_;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace

Result<std::unique_ptr<ControllerService>> ControllerService::Start(const ServeOptions& options) {
  auto service = std::make_unique<ControllerServiceImpl>();
  Status st = service->Init(options);
  if (!st.ok()) return st;
  return std::unique_ptr<ControllerService>(std::move(service));
}

Result<std::string> InitDataDirPki(const std::string& data_dir) {
  CLAWBACK_RETURN_IF_ERROR(MakeDir(data_dir, 0700));
  auto files = pki::InitPki(data_dir + "/pki");
  if (!files.ok()) return files.status();
  return "PKI ready in " + data_dir + "/pki: " + files->ca_cert + ", " + files->controller_cert;
}

}  // namespace clawback::controller
