// TransferService: records jobs, queues them on TransferQueue and tracks the
// active ones so they can be canceled, observed and counted.
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "controller/agents/agent_connector.h"
#include "controller/clock.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/transfer_jobs.h"
#include "controller/jobs/transfer_queue.h"
#include "controller/jobs/transfers.h"
#include "controller/storage/archive_storage.h"

#include <nlohmann/json.hpp>
#include "controller/store/store.h"
#include "shared/exclude_rules.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

constexpr std::chrono::milliseconds kLiveTargetCheck{2000};

// Instance names become directory and file names: allow only the
// tls::ValidateInstanceName alphabet so no name can escape backups_dir.
Status CheckFileSafeName(const std::string& name) {
  if (name.empty() || name.size() > 63) return Status::InvalidArgument("invalid instance name: " + name);
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return Status::InvalidArgument("invalid instance name: " + name);
    }
  }
  return Status::Ok();
}

class TransferServiceImpl final : public TransferService {
 public:
  TransferServiceImpl(Store& store, AgentConnector& agents, TransferSettings settings, TransferObserver observer)
      : store_(store), agents_(agents), settings_(std::move(settings)), observer_(std::move(observer)),
        clock_(settings_.replica.clock != nullptr ? *settings_.replica.clock : system_clock_),
        queue_(std::max(1, settings_.max_concurrent)) {
    if (Replicated()) heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  }

  ~TransferServiceImpl() override { Shutdown(); }

  Result<Backup> StartBackup(const BackupRequest& request, bool skip_if_busy) override {
    CLAWBACK_RETURN_IF_ERROR(CheckFileSafeName(request.instance.name));
    if (request.paths.empty()) return Status::InvalidArgument("no paths to back up");
    CLAWBACK_RETURN_IF_ERROR(ExpandExcludes(request.exclude_presets, request.excludes).status());

    std::lock_guard lock(mu_);
    if (shutting_down_) return Status::Unavailable("controller shutting down");
    if (skip_if_busy && (BusyLocked(request.instance.id) || BusyOnAnotherReplica(request.instance.id))) {
      return Status::Conflict("instance " + request.instance.name + " already has a backup or restore queued or running");
    }
    Backup backup;
    backup.instance_id = request.instance.id;
    backup.instance_name = request.instance.name;
    backup.status = BackupStatus::kQueued;
    backup.paths = request.paths;
    backup.excludes = request.excludes;
    backup.exclude_presets = request.exclude_presets;
    backup.strict = request.strict;
    backup.note = request.note;
    backup.created_by = request.created_by;
    backup.created_by_name = request.created_by_name;
    backup.schedule_id = request.schedule_id;
    backup.created_at = NowUnix();
    auto created = store_.CreateBackup(backup);
    if (!created.ok()) return created.status();
    backup = *created;
    Assign(TransferKind::kBackup, backup.id);
    QueueBackupLocked(request.instance, backup);
    return backup;
  }

  Result<Restore> StartRestore(const RestoreRequest& request) override {
    const Backup& backup = request.backup;
    if (backup.status != BackupStatus::kCompleted) {
      return Status::FailedPrecondition("backup " + std::to_string(backup.id) + " is " +
                                        std::string(BackupStatusName(backup.status)) +
                                        "; only completed backups can be restored");
    }
    auto archive = backup.file_path.empty() ? Result<std::unique_ptr<storage::ArchiveReader>>(
                                                  Status::NotFound("no archive recorded"))
                                            : settings_.archives->OpenArchive(backup.file_path);
    if (!archive.ok()) {
      log::Warn("archive file missing", {{"backup_id", backup.id}, {"file", backup.file_path},
                                         {"error", archive.status().message()}});
      if (archive.status().code() != Status::Code::kNotFound) {
        return Status(archive.status().code(), "cannot open the archive of backup " + std::to_string(backup.id) +
                                                   ": " + WithoutBackupsDir(archive.status().message(),
                                                                            settings_.backups_dir));
      }
      return Status::Corruption("archive file of backup " + std::to_string(backup.id) + " is missing");
    }
    // Live, not the prober's last answer (up to an interval old): a target
    // whose agent stopped a second ago gets its 409 now, not a failed job later.
    CLAWBACK_RETURN_IF_ERROR(CheckTargetLive(agents_, request.target, kLiveTargetCheck));

    std::lock_guard lock(mu_);
    if (shutting_down_) return Status::Unavailable("controller shutting down");
    Restore restore;
    restore.backup_id = backup.id;
    restore.target_instance_id = request.target.id;
    restore.target_instance_name = request.target.name;
    restore.status = RestoreStatus::kQueued;
    restore.created_by = request.created_by;
    restore.created_by_name = request.created_by_name;
    restore.quiesce = request.quiesce && !request.dry_run;
    restore.dry_run = request.dry_run;
    nlohmann::json shown = nlohmann::json::array();
    for (const std::string& p : request.paths) shown.push_back("/" + p);
    restore.paths_json = shown.dump();
    restore.created_at = NowUnix();
    auto created = store_.CreateRestore(restore);
    if (!created.ok()) return created.status();
    restore = *created;
    Assign(TransferKind::kRestore, restore.id);
    QueueRestoreLocked(backup, request.target, restore, request.paths);
    return restore;
  }

  Status CancelBackup(Id backup_id) override {
    std::unique_lock lock(mu_);
    auto it = backups_.find(backup_id);
    if (it != backups_.end()) {
      if (!queue_.RemoveQueued(it->second.ticket)) {
        it->second.control->cancel.store(true);  // the running job ends `canceled`
        return Status::Ok();
      }
      Backup backup = it->second.record;
      backups_.erase(it);
      lock.unlock();
      return FinishUnstarted(std::move(backup), BackupStatus::kCanceled, "canceled by request");
    }
    lock.unlock();

    auto stored = store_.GetBackup(backup_id);
    if (!stored.ok()) return stored.status();
    if (IsFinal(stored->status)) {
      return Status::FailedPrecondition("backup " + std::to_string(backup_id) + " is already " +
                                        std::string(BackupStatusName(stored->status)));
    }
    // Unfinished in the store but not ours (left over from before a restart).
    return FinishUnstarted(std::move(stored).value(), BackupStatus::kCanceled, "canceled by request");
  }

  std::optional<uint64_t> LiveProgress(Id backup_id) const override {
    std::lock_guard lock(mu_);
    auto it = backups_.find(backup_id);
    if (it == backups_.end() || !it->second.control->running.load()) return std::nullopt;
    return it->second.control->progress.load();
  }

  bool IsBusy(Id instance_id) const override {
    std::lock_guard lock(mu_);
    return BusyLocked(instance_id);
  }

  int RunningCount() const override { return queue_.Running(); }
  int QueuedCount() const override { return queue_.Queued(); }

  void Shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (shutting_down_ && stopped_) return;
      shutting_down_ = true;
      heartbeat_stop_ = true;
      for (auto& [id, active] : backups_) {
        active.control->shutting_down.store(true);
        active.control->cancel.store(true);
      }
      for (auto& [id, active] : restores_) {
        active.control->shutting_down.store(true);
        active.control->cancel.store(true);
      }
    }
    slot_freed_.notify_all();
    heartbeat_wake_.notify_all();
    if (heartbeat_.joinable() && heartbeat_.get_id() != std::this_thread::get_id()) heartbeat_.join();
    if (Replicated()) (void)store_.ReleaseLease(ReplicaLeaseName(settings_.replica.id), settings_.replica.id);
    // Joins running jobs; those still waiting for a slot return unrun
    // (WaitForSlot), their records still queued.
    std::vector<TransferQueue::Ticket> dropped = queue_.Stop();
    std::vector<Backup> dropped_backups;
    std::vector<Restore> dropped_restores;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      for (TransferQueue::Ticket ticket : dropped) {
        for (auto it = backups_.begin(); it != backups_.end(); ++it) {
          if (it->second.ticket == ticket) {
            dropped_backups.push_back(it->second.record);
            backups_.erase(it);
            break;
          }
        }
        for (auto it = restores_.begin(); it != restores_.end(); ++it) {
          if (it->second.ticket == ticket) {
            dropped_restores.push_back(it->second.record);
            restores_.erase(it);
            break;
          }
        }
      }
    }
    if (Replicated()) {
      // Queued transfers never reached an agent: hand them over instead of
      // failing them. No worker of ours claims any more (all joined above),
      // so each is claimed, and run, by exactly one adopter: another live
      // replica, or this data dir's next start.
      auto released = store_.ReleaseQueuedTransfers(settings_.replica.id);
      if (!released.ok()) {
        // Their leases run out within lease_ttl; survivors adopt them then.
        log::Warn("cannot hand over queued transfers; they are adopted once their lease runs out",
                  {{"error", released.status().message()}});
      } else if (*released > 0) {
        log::Info("queued transfers handed over to the next replica", {{"count", *released}});
      }
      return;
    }
    for (Backup& backup : dropped_backups) {
      Status st = FinishUnstarted(std::move(backup), BackupStatus::kFailed, "controller shutting down");
      if (!st.ok()) log::Error("cannot record queued backup as failed", {{"error", st.message()}});
    }
    for (Restore& restore : dropped_restores) {
      restore.status = RestoreStatus::kFailed;
      restore.error_message = "controller shutting down";
      restore.completed_at = NowUnix();
      Status st = store_.UpdateRestore(restore);
      if (!st.ok()) log::Error("cannot record queued restore as failed", {{"error", st.message()}});
      if (observer_.on_restore_finished) observer_.on_restore_finished(restore);
    }
  }

 private:
  struct ActiveBackup {
    Backup record;  // as queued
    std::shared_ptr<JobControl> control;
    TransferQueue::Ticket ticket = 0;
  };
  struct ActiveRestore {
    Restore record;
    std::shared_ptr<JobControl> control;
    TransferQueue::Ticket ticket = 0;
  };

  bool Replicated() const { return !settings_.replica.id.empty(); }
  UnixTime LeaseUntil() const { return clock_.Now() + settings_.replica.lease_ttl.count(); }

  // Requires mu_. Queues a recorded backup on this replica.
  void QueueBackupLocked(const Instance& instance, const Backup& backup) {
    auto control = std::make_shared<JobControl>();
    ActiveBackup& active = backups_[backup.id];
    active.record = backup;
    active.control = control;
    active.ticket = queue_.Push(instance.id, [this, control, instance, backup] {
      if (!WaitForSlot(TransferKind::kBackup, backup.id, *control)) {
        std::lock_guard done_lock(mu_);
        backups_.erase(backup.id);
        return;
      }
      Backup final = RunBackupJob(store_, agents_, settings_, instance, backup, *control);
      {
        std::lock_guard done_lock(mu_);
        backups_.erase(final.id);
      }
      slot_freed_.notify_all();
      if (observer_.on_backup_finished) observer_.on_backup_finished(final);
    });
  }

  // Requires mu_. Queues a recorded restore on this replica.
  void QueueRestoreLocked(const Backup& backup, const Instance& target, const Restore& restore,
                          const std::vector<std::string>& paths) {
    auto control = std::make_shared<JobControl>();
    ActiveRestore& active = restores_[restore.id];
    active.record = restore;
    active.control = control;
    active.ticket = queue_.Push(target.id, [this, control, backup, target, restore, paths] {
      if (!WaitForSlot(TransferKind::kRestore, restore.id, *control)) {
        std::lock_guard done_lock(mu_);
        restores_.erase(restore.id);
        return;
      }
      Restore final = RunRestoreJob(store_, agents_, settings_, backup, target, restore, paths, *control);
      {
        std::lock_guard done_lock(mu_);
        restores_.erase(final.id);
      }
      slot_freed_.notify_all();
      if (observer_.on_restore_finished) observer_.on_restore_finished(final);
    });
  }

  // Makes a just-created record this replica's, with a fresh lease. A
  // failure leaves it without owner: a sweep will declare it interrupted,
  // so it is logged, not returned.
  void Assign(TransferKind kind, Id id) {
    if (!Replicated()) return;
    Status st = store_.AssignTransfer(kind, id, settings_.replica.id, LeaseUntil());
    if (!st.ok()) {
      log::Error("cannot record the transfer's owner", {{"kind", TransferKindName(kind)}, {"id", id},
                                                        {"error", st.message()}});
    }
  }

  // Requires mu_. True when another replica runs or queued a transfer of
  // the instance under a live lease.
  bool BusyOnAnotherReplica(Id instance_id) const {
    if (!Replicated()) return false;
    auto leases = store_.ListTransferLeases();
    if (!leases.ok()) return false;  // the claim still keeps one transfer per instance
    const UnixTime now = clock_.Now();
    return std::any_of(leases->begin(), leases->end(), [&](const TransferLease& l) {
      return l.instance_id == instance_id && l.owner != settings_.replica.id && l.lease_until >= now;
    });
  }

  // On a worker, before a job runs: waits until the store grants this
  // transfer a slot under the global cap (every replica's transfers count).
  // True: run the job (also when canceled meanwhile: the job then records
  // that). False: do not run it: the record was finished elsewhere, or this
  // replica is shutting down and leaves it queued for Shutdown to hand over.
  bool WaitForSlot(TransferKind kind, Id id, JobControl& control) {
    if (!Replicated()) return true;
    bool logged = false;
    std::unique_lock lock(mu_);
    for (;;) {
      if (control.shutting_down.load()) return false;
      if (control.cancel.load()) return !control.finished_elsewhere.load();
      lock.unlock();
      auto claim = store_.ClaimTransfer(kind, id, settings_.replica.id, clock_.Now(), LeaseUntil(),
                                        std::max(1, settings_.max_concurrent));
      lock.lock();
      if (claim.ok()) {
        if (*claim == ClaimOutcome::kClaimed) return true;
        if (*claim == ClaimOutcome::kNotQueued) {
          control.finished_elsewhere.store(true);
          log::Info("transfer finished elsewhere before it started", {{"kind", TransferKindName(kind)}, {"id", id}});
          return false;
        }
        if (!logged) {
          logged = true;
          log::Info("transfer waits for a slot", {{"kind", TransferKindName(kind)}, {"id", id},
                                                  {"reason", *claim == ClaimOutcome::kCapReached
                                                                 ? "global concurrency cap reached"
                                                                 : "instance busy on another replica"}});
        }
      } else {
        log::Warn("cannot claim a transfer slot", {{"kind", TransferKindName(kind)}, {"id", id},
                                                   {"error", claim.status().message()}});
      }
      slot_freed_.wait_for(lock, settings_.replica.claim_retry);
    }
  }

  // Every `heartbeat`: renew this replica's leases, stop jobs whose record
  // was finished elsewhere, adopt queued transfers of stopped replicas and
  // fail their running ones.
  void HeartbeatLoop() {
    std::unique_lock lock(mu_);
    while (!heartbeat_stop_) {
      lock.unlock();
      Heartbeat();
      lock.lock();
      heartbeat_wake_.wait_for(lock, settings_.replica.heartbeat, [this] { return heartbeat_stop_; });
    }
  }

  void Heartbeat() {
    RenewLeases();
    AdoptQueuedTransfers();
    Status first_error;
    auto discard = [this](const Backup& b) {
      return settings_.archives ? DiscardUnfinishedArchive(*settings_.archives, b)
                                : DiscardUnfinishedArchive(settings_.backups_dir, b);
    };
    AbandonedTransfers failed = FailAbandonedTransfers(store_, discard, clock_.Now(), /*previous_life=*/"", &first_error);
    if (!first_error.ok()) log::Warn("sweep for interrupted transfers", {{"error", first_error.message()}});
    if (!failed.backups.empty() && settings_.archives && settings_.archives->LocalDirectory().empty()) {
      // The stopped replica's multipart uploads: abort them now, not at
      // some later start (what live transfers write stays).
      int aborted = 0;
      Status st = AbortUnownedArchiveWrites(store_, *settings_.archives, &aborted);
      if (!st.ok()) log::Warn("cannot abort a stopped replica's uploads", {{"error", st.message()}});
    }
    for (const Backup& b : failed.backups) {
      if (observer_.on_backup_finished) observer_.on_backup_finished(b);
    }
    for (const Restore& r : failed.restores) {
      if (observer_.on_restore_finished) observer_.on_restore_finished(r);
    }
  }

  void RenewLeases() {
    // This replica's own lease says it lives (Store::FailRunningChecks of a
    // starting replica leaves the checks of live replicas alone).
    auto alive = store_.AcquireLease(ReplicaLeaseName(settings_.replica.id), settings_.replica.id, clock_.Now(),
                                     LeaseUntil());
    if (!alive.ok()) log::Warn("cannot renew the replica lease", {{"error", alive.status().message()}});
    std::lock_guard lock(mu_);  // so a record created meanwhile is in the maps and the store alike
    auto renewed = store_.RenewTransferLeases(settings_.replica.id, LeaseUntil());
    if (!renewed.ok()) {
      log::Warn("cannot renew transfer leases", {{"error", renewed.status().message()}});
      return;
    }
    auto gone = [](const std::vector<Id>& ids, Id id) { return !std::binary_search(ids.begin(), ids.end(), id); };
    for (auto& [id, active] : backups_) {
      if (gone(renewed->backups, id) && !active.control->finished_elsewhere.exchange(true)) {
        log::Warn("backup was finished by another replica; stopping it here", {{"backup_id", id}});
        active.control->cancel.store(true);
      }
    }
    for (auto& [id, active] : restores_) {
      if (gone(renewed->restores, id) && !active.control->finished_elsewhere.exchange(true)) {
        log::Warn("restore was finished by another replica; stopping it here", {{"restore_id", id}});
        active.control->cancel.store(true);
      }
    }
  }

  // Queued transfers whose owner's lease expired (it died, or stopped
  // cleanly and released them) never reached an agent: run them here
  // instead of failing them (a scheduled slot is not lost, a requested
  // restore still happens). AdoptQueuedTransfer takes each one for one
  // replica only; it runs once, after its claim (WaitForSlot).
  void AdoptQueuedTransfers() {
    auto leases = store_.ListTransferLeases();
    if (!leases.ok()) return;
    const UnixTime now = clock_.Now();
    std::vector<Backup> failed_backups;
    std::vector<Restore> failed_restores;
    for (const TransferLease& l : *leases) {
      if (l.status != BackupStatus::kQueued || l.lease_until >= now || l.owner == settings_.replica.id ||
          l.owner.empty()) {
        continue;
      }
      std::lock_guard lock(mu_);
      if (shutting_down_) break;
      auto adopted = store_.AdoptQueuedTransfer(l.kind, l.id, settings_.replica.id, now, LeaseUntil());
      if (!adopted.ok() || !*adopted) continue;
      Status queued = l.kind == TransferKind::kBackup ? QueueAdoptedBackupLocked(l) : QueueAdoptedRestoreLocked(l);
      if (queued.ok()) continue;
      // Nothing left to run it against (its instance or backup is gone):
      // it fails, saying why. Ours now, so owner_gone is this replica.
      log::Warn("cannot run an adopted transfer", {{"kind", TransferKindName(l.kind)}, {"id", l.id},
                                                   {"from", l.owner}, {"error", queued.message()}});
      auto failed = store_.FailAbandonedTransfer(l.kind, l.id, now, settings_.replica.id,
                                                 "interrupted: controller replica " + l.owner + " stopped; " +
                                                     queued.message());
      if (!failed.ok() || !*failed) continue;
      if (l.kind == TransferKind::kBackup) {
        if (auto b = store_.GetBackup(l.id); b.ok()) failed_backups.push_back(*b);
      } else if (auto r = store_.GetRestore(l.id); r.ok()) {
        failed_restores.push_back(*r);
      }
    }
    for (const Backup& b : failed_backups) {
      if (observer_.on_backup_finished) observer_.on_backup_finished(b);
    }
    for (const Restore& r : failed_restores) {
      if (observer_.on_restore_finished) observer_.on_restore_finished(r);
    }
  }

  // Requires mu_. Queues an adopted backup as if requested here.
  Status QueueAdoptedBackupLocked(const TransferLease& l) {
    auto backup = store_.GetBackup(l.id);
    if (!backup.ok()) return backup.status();
    auto instance = store_.GetInstance(backup->instance_id);
    if (!instance.ok()) return Status::NotFound("instance " + backup->instance_name + " no longer exists");
    log::Info("adopted a queued backup of a stopped replica",
              {{"backup_id", l.id}, {"instance", backup->instance_name}, {"from", l.owner}});
    QueueBackupLocked(*instance, *backup);
    return Status::Ok();
  }

  // Requires mu_. Queues an adopted restore with the options it was asked
  // with (the record keeps quiesce, dry_run and the selected paths). The
  // target was checked live when it was requested; the job checks again.
  Status QueueAdoptedRestoreLocked(const TransferLease& l) {
    auto restore = store_.GetRestore(l.id);
    if (!restore.ok()) return restore.status();
    auto backup = store_.GetBackup(restore->backup_id);
    if (!backup.ok()) return Status::NotFound("backup " + std::to_string(restore->backup_id) + " no longer exists");
    auto target = store_.GetInstance(restore->target_instance_id);
    if (!target.ok()) {
      return Status::NotFound("instance " + restore->target_instance_name + " no longer exists");
    }
    auto paths = SelectedPaths(*restore);
    if (!paths.ok()) return paths.status();
    log::Info("adopted a queued restore of a stopped replica",
              {{"restore_id", l.id}, {"target", restore->target_instance_name}, {"from", l.owner}});
    QueueRestoreLocked(*backup, *target, *restore, *paths);
    return Status::Ok();
  }

  // The archive names a restore record selected: paths_json holds them as
  // shown ("/home/claworc/x"); [] (or nothing) is the whole backup.
  static Result<std::vector<std::string>> SelectedPaths(const Restore& restore) {
    std::vector<std::string> out;
    if (restore.paths_json.empty()) return out;
    auto shown = nlohmann::json::parse(restore.paths_json, nullptr, /*allow_exceptions=*/false);
    if (!shown.is_array()) return Status::Corruption("the restore's selected paths are unreadable");
    for (const auto& p : shown) {
      if (!p.is_string() || p.get_ref<const std::string&>().size() < 2 || p.get_ref<const std::string&>()[0] != '/') {
        return Status::Corruption("the restore's selected paths are unreadable");
      }
      out.push_back(p.get<std::string>().substr(1));
    }
    return out;
  }

  bool BusyLocked(Id instance_id) const {
    for (const auto& [id, active] : backups_) {
      if (active.record.instance_id == instance_id) return true;
    }
    for (const auto& [id, active] : restores_) {
      if (active.record.target_instance_id == instance_id) return true;
    }
    return false;
  }

  // Records a final state for a backup that never ran, then notifies.
  Status FinishUnstarted(Backup backup, BackupStatus status, const std::string& message) {
    backup.status = status;
    backup.error_message = message;
    backup.completed_at = NowUnix();
    CLAWBACK_RETURN_IF_ERROR(store_.UpdateBackup(backup));
    if (observer_.on_backup_finished) observer_.on_backup_finished(backup);
    return Status::Ok();
  }

  Store& store_;
  AgentConnector& agents_;
  const TransferSettings settings_;
  const TransferObserver observer_;
  SystemClock system_clock_;
  const Clock& clock_;  // settings_.replica.clock or system_clock_

  mutable std::mutex mu_;  // guards backups_, restores_, shutting_down_, stopped_
  std::map<Id, ActiveBackup> backups_;    // queued or running, by backup id
  std::map<Id, ActiveRestore> restores_;  // queued or running, by restore id
  bool shutting_down_ = false;
  bool stopped_ = false;
  bool heartbeat_stop_ = false;            // guarded by mu_
  std::condition_variable slot_freed_;     // with mu_: a job ended, or shutdown (WaitForSlot)
  std::condition_variable heartbeat_wake_; // with mu_

  TransferQueue queue_;  // its workers stop before the maps go away
  std::thread heartbeat_;  // replicated only; joined by Shutdown
};

}  // namespace

std::unique_ptr<TransferService> MakeTransferService(Store& store, AgentConnector& agents,
                                                     TransferSettings settings, TransferObserver observer) {
  if (!settings.archives) settings.archives = storage::MakeLocalArchiveStorage(settings.backups_dir);
  return std::make_unique<TransferServiceImpl>(store, agents, std::move(settings), std::move(observer));
}

}  // namespace clawback::controller
