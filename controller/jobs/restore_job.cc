// One restore: target must be running, archive SHA-256 must match the record
// (checked before a byte is sent), then the archive streams to the target's
// agent and its summary (or error) is recorded.
#include <chrono>

#include "controller/agents/agent_connector.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/transfer_jobs.h"
#include "controller/store/store.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

// Errors users see name the backup, never the host path (that goes to the log).
Status CheckArchive(const Backup& backup, const std::string& path) {
  auto sha = Sha256OfFile(path);
  if (!sha.ok()) {
    log::Warn("cannot read a backup's archive", {{"backup_id", backup.id}, {"error", sha.status().message()}});
    if (sha.status().code() == Status::Code::kNotFound) {
      return Status::Corruption("archive file of backup " + std::to_string(backup.id) + " is missing");
    }
    return Status(sha.status().code(), "cannot read the archive of backup " + std::to_string(backup.id) +
                                           " (the controller's log has the details)");
  }
  if (*sha != backup.sha256) {
    log::Warn("archive corrupted on disk", {{"backup_id", backup.id}, {"file", path}, {"sha256", *sha}});
    return Status::Corruption("archive of backup " + std::to_string(backup.id) +
                              " corrupted on disk: sha256 mismatch (file has " + *sha + ", recorded " +
                              backup.sha256 + ")");
  }
  return Status::Ok();
}

Result<AgentRestoreResult> Transfer(Store& store, AgentConnector& agents, const TransferSettings& settings,
                                    const Backup& backup, const Instance& target, Restore& restore,
                                    JobControl& control) {
  CLAWBACK_RETURN_IF_ERROR(CheckTargetRunning(agents, target));
  auto path = ArchiveAbsolutePath(settings.backups_dir, backup.file_path);
  if (!path.ok()) {
    log::Error("cannot locate a backup's archive", {{"backup_id", backup.id}, {"error", path.status().message()}});
    return Status::Internal("the archive location of backup " + std::to_string(backup.id) + " is invalid");
  }
  CLAWBACK_RETURN_IF_ERROR(CheckArchive(backup, *path));
  auto reader = ArchiveFileReader::Open(*path);
  if (!reader.ok()) {
    log::Warn("cannot open a backup's archive", {{"backup_id", backup.id}, {"error", reader.status().message()}});
    return Status(reader.status().code(), "cannot open the archive of backup " + std::to_string(backup.id) +
                                              " (the controller's log has the details)");
  }
  if ((*reader)->TotalSize() != backup.size_bytes) {
    return Status::Corruption("archive of backup " + std::to_string(backup.id) + " changed on disk: it is " +
                              std::to_string((*reader)->TotalSize()) + " bytes, recorded " +
                              std::to_string(backup.size_bytes));
  }

  auto last_flush = std::chrono::steady_clock::now();
  auto on_progress = [&](uint64_t sent) {
    control.progress.store(sent);
    auto now = std::chrono::steady_clock::now();
    if (now - last_flush < settings.progress_interval) return;
    last_flush = now;
    restore.progress_bytes = sent;
    Status st = store.UpdateRestore(restore);
    if (!st.ok()) log::Warn("cannot record restore progress", {{"restore_id", restore.id}, {"error", st.message()}});
  };
  return agents.Restore(target, **reader, restore.quiesce, control.cancel, settings.stall_timeout, on_progress);
}

}  // namespace

Status CheckTargetRunning(AgentConnector& agents, const Instance& target) {
  InstanceHealth health = agents.Health(target.id);
  if (health.status == "unknown") health = agents.Probe(target);
  if (health.status == "running") return Status::Ok();
  return Status::Conflict("instance " + target.name + " is not running (" + health.status +
                          (health.reason.empty() ? "" : ": " + health.reason) + ")");
}

Restore RunRestoreJob(Store& store, AgentConnector& agents, const TransferSettings& settings,
                      const Backup& backup, const Instance& target, Restore restore, JobControl& control) {
  Status outcome;
  if (control.cancel.load()) {
    outcome = Status::Canceled("canceled before it started");
  } else {
    restore.status = RestoreStatus::kRunning;
    restore.started_at = NowUnix();
    control.running.store(true);
    outcome = store.UpdateRestore(restore);
    if (outcome.ok()) {
      log::Info("restore started", {{"restore_id", restore.id}, {"backup_id", backup.id}, {"target", target.name}});
      auto result = Transfer(store, agents, settings, backup, target, restore, control);
      if (result.ok()) {
        restore.entries_written = result->entries_written;
        restore.bytes_written = result->bytes_written;
        restore.skipped_json = result->skipped_json;
        restore.quiesced = result->quiesced;
      }
      outcome = result.status();
    }
  }

  restore.completed_at = NowUnix();
  restore.progress_bytes = control.progress.load();
  if (outcome.ok()) {
    restore.status = RestoreStatus::kCompleted;
    restore.error_message.clear();
  } else {
    restore.status = RestoreStatus::kFailed;
    restore.error_message = control.shutting_down.load() ? "controller shutting down"
                                                         : WithoutBackupsDir(outcome.message(), settings.backups_dir);
  }
  Status st = store.UpdateRestore(restore);
  if (!st.ok()) log::Error("cannot record restore result", {{"restore_id", restore.id}, {"error", st.message()}});
  log::Info("restore ended", {{"restore_id", restore.id}, {"target", target.name},
                              {"status", BackupStatusName(restore.status)}, {"error", restore.error_message}});
  return restore;
}

}  // namespace clawback::controller
