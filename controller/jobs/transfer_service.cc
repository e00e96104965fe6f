// TransferService: records jobs, queues them on TransferQueue and tracks the
// active ones so they can be canceled, observed and counted.
#include <sys/stat.h>

#include <map>
#include <mutex>

#include "controller/agents/agent_connector.h"
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
        queue_(std::max(1, settings_.max_concurrent)) {}

  ~TransferServiceImpl() override { Shutdown(); }

  Result<Backup> StartBackup(const BackupRequest& request, bool skip_if_busy) override {
    CLAWBACK_RETURN_IF_ERROR(CheckFileSafeName(request.instance.name));
    if (request.paths.empty()) return Status::InvalidArgument("no paths to back up");
    CLAWBACK_RETURN_IF_ERROR(ExpandExcludes(request.exclude_presets, request.excludes).status());

    std::lock_guard lock(mu_);
    if (shutting_down_) return Status::Unavailable("controller shutting down");
    if (skip_if_busy && BusyLocked(request.instance.id)) {
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

    auto control = std::make_shared<JobControl>();
    ActiveBackup& active = backups_[backup.id];
    active.record = backup;
    active.control = control;
    active.ticket = queue_.Push(request.instance.id, [this, control, instance = request.instance, backup] {
      Backup final = RunBackupJob(store_, agents_, settings_, instance, backup, *control);
      {
        std::lock_guard done_lock(mu_);
        backups_.erase(final.id);
      }
      if (observer_.on_backup_finished) observer_.on_backup_finished(final);
    });
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

    auto control = std::make_shared<JobControl>();
    ActiveRestore& active = restores_[restore.id];
    active.record = restore;
    active.control = control;
    active.ticket = queue_.Push(request.target.id, [this, control, backup, target = request.target, restore,
                                                    paths = request.paths] {
      Restore final = RunRestoreJob(store_, agents_, settings_, backup, target, restore, paths, *control);
      {
        std::lock_guard done_lock(mu_);
        restores_.erase(final.id);
      }
      if (observer_.on_restore_finished) observer_.on_restore_finished(final);
    });
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
      for (auto& [id, active] : backups_) {
        active.control->shutting_down.store(true);
        active.control->cancel.store(true);
      }
      for (auto& [id, active] : restores_) {
        active.control->shutting_down.store(true);
        active.control->cancel.store(true);
      }
    }
    std::vector<TransferQueue::Ticket> dropped = queue_.Stop();  // joins running jobs
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

  mutable std::mutex mu_;  // guards backups_, restores_, shutting_down_, stopped_
  std::map<Id, ActiveBackup> backups_;    // queued or running, by backup id
  std::map<Id, ActiveRestore> restores_;  // queued or running, by restore id
  bool shutting_down_ = false;
  bool stopped_ = false;

  TransferQueue queue_;  // last: its workers stop before the maps go away
};

}  // namespace

std::unique_ptr<TransferService> MakeTransferService(Store& store, AgentConnector& agents,
                                                     TransferSettings settings, TransferObserver observer) {
  if (!settings.archives) settings.archives = storage::MakeLocalArchiveStorage(settings.backups_dir);
  return std::make_unique<TransferServiceImpl>(store, agents, std::move(settings), std::move(observer));
}

}  // namespace clawback::controller
