// One restore: target must be running; the archive streams to the target's
// agent through a VerifiedArchiveReader (every block checked against its
// recorded digest before it is sent, the whole-file SHA-256 before the last
// block), and the agent's summary (or error) is recorded. Archives without
// usable block digests, and small ones, are checked whole first.
#include <chrono>
#include <optional>

#include "controller/agents/agent_connector.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/block_digests.h"
#include "controller/jobs/verified_archive_reader.h"
#include "controller/jobs/transfer_jobs.h"
#include "controller/storage/archive_storage.h"
#include "controller/store/store.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

constexpr uint64_t kWholeCheckBelow = 16 * 1024 * 1024;

// Errors users see name the backup, never the host path (that goes to the log).
Status CheckArchive(const Backup& backup, storage::ArchiveStorage& archives, const std::string& path) {
  auto reader = archives.OpenArchive(backup.file_path);
  Result<std::string> sha = reader.ok() ? storage::Sha256OfArchive(**reader) : Result<std::string>(reader.status());
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

// Block digests that describe exactly this backup's archive, or nullopt
// (none recorded, unreadable, or not matching the record: the caller then
// verifies the whole file first).
std::optional<BlockDigests> UsableBlockDigests(const Backup& backup, storage::ArchiveStorage& archives) {
  auto text = archives.GetSidecar(backup.file_path, BlockDigestsPath(""));
  Result<BlockDigests> digests = text.ok() ? ParseBlockDigests(*text) : Result<BlockDigests>(text.status());
  if (!digests.ok()) {
    if (digests.status().code() != Status::Code::kNotFound) {
      log::Warn("block digests unusable; verifying the whole archive first",
                {{"backup_id", backup.id}, {"error", digests.status().message()}});
    }
    return std::nullopt;
  }
  if (digests->size != backup.size_bytes || digests->sha256 != backup.sha256 ||
      digests->block_size > VerifiedArchiveReader::kMaxBlockSize) {
    log::Warn("block digests do not match the backup record; verifying the whole archive first",
              {{"backup_id", backup.id}});
    return std::nullopt;
  }
  return std::move(digests).value();
}

// Only the selected subtrees, re-encoded from verified blocks as they are sent.
Result<AgentRestoreResult> TransferSelection(AgentConnector& agents, const TransferSettings& settings,
                                             const Backup& backup, const Instance& target, const Restore& restore,
                                             const std::vector<std::string>& paths, JobControl& control) {
  if (!settings.open_selection) return Status::Unavailable("partial restores are not available in this controller");
  auto provider = settings.open_selection(backup, paths);
  if (!provider.ok()) return provider.status();
  AgentRestoreOptions options{restore.quiesce, restore.dry_run};
  return agents.Restore(target, **provider, options, control.cancel, settings.stall_timeout,
                        [&control](uint64_t sent) { control.progress.store(sent); });
}

Result<AgentRestoreResult> Transfer(Store& store, AgentConnector& agents, const TransferSettings& settings,
                                    const Backup& backup, const Instance& target, const Restore& restore,
                                    const std::vector<std::string>& paths, JobControl& control) {
  CLAWBACK_RETURN_IF_ERROR(CheckTargetRunning(agents, target));
  if (!paths.empty()) return TransferSelection(agents, settings, backup, target, restore, paths, control);
  auto path = ArchiveAbsolutePath(settings.backups_dir, backup.file_path);
  if (!path.ok()) {
    log::Error("cannot locate a backup's archive", {{"backup_id", backup.id}, {"error", path.status().message()}});
    return Status::Internal("the archive location of backup " + std::to_string(backup.id) + " is invalid");
  }
  storage::ArchiveStorage& archives = *settings.archives;
  std::optional<BlockDigests> digests = UsableBlockDigests(backup, archives);
  // Small archives are checked whole before the agent is contacted (a few
  // milliseconds), so a corrupt one never reaches the target at all; large
  // ones are checked block by block as they are sent.
  if (!digests || backup.size_bytes <= kWholeCheckBelow) CLAWBACK_RETURN_IF_ERROR(CheckArchive(backup, archives, *path));

  // Progress reaches the store from the reader thread, at most every
  // progress_interval; the transfer thread only stores the byte count.
  Restore progress_record = restore;
  auto last_flush = std::chrono::steady_clock::now();
  auto on_block = [&, progress_record]() mutable {
    auto now = std::chrono::steady_clock::now();
    if (now - last_flush < settings.progress_interval) return;
    last_flush = now;
    progress_record.progress_bytes = control.progress.load();
    Status st = store.UpdateRestore(progress_record);
    if (!st.ok()) log::Warn("cannot record restore progress", {{"restore_id", restore.id}, {"error", st.message()}});
  };
  auto stored = archives.OpenArchive(backup.file_path);
  auto reader = stored.ok() ? VerifiedArchiveReader::Open(std::move(stored).value(), *path, backup.size_bytes,
                                                          backup.sha256, std::move(digests), on_block)
                            : Result<std::unique_ptr<VerifiedArchiveReader>>(stored.status());
  if (!reader.ok()) {
    log::Warn("cannot open a backup's archive", {{"backup_id", backup.id}, {"error", reader.status().message()}});
    if (reader.status().code() == Status::Code::kNotFound) {
      return Status::Corruption("archive file of backup " + std::to_string(backup.id) + " is missing");
    }
    return Status(reader.status().code(), "cannot open the archive of backup " + std::to_string(backup.id) +
                                              " (the controller's log has the details)");
  }
  // A corrupt first block fails here, before the agent is contacted.
  CLAWBACK_RETURN_IF_ERROR((*reader)->WaitForFirst());
  AgentRestoreOptions options{restore.quiesce, restore.dry_run};
  return agents.Restore(target, **reader, options, control.cancel, settings.stall_timeout,
                        [&control](uint64_t sent) { control.progress.store(sent); });
}

}  // namespace

Status CheckTargetLive(AgentConnector& agents, const Instance& target, std::chrono::milliseconds timeout) {
  InstanceHealth health = agents.ProbeWithin(target, timeout);
  if (health.status == "running") return Status::Ok();
  return Status::Conflict("instance " + target.name + " is not running (" + health.status +
                          (health.reason.empty() ? "" : ": " + health.reason) + ")");
}

Status CheckTargetRunning(AgentConnector& agents, const Instance& target) {
  InstanceHealth health = agents.Health(target.id);
  if (health.status == "unknown") health = agents.Probe(target);
  if (health.status == "running") return Status::Ok();
  return Status::Conflict("instance " + target.name + " is not running (" + health.status +
                          (health.reason.empty() ? "" : ": " + health.reason) + ")");
}

Restore RunRestoreJob(Store& store, AgentConnector& agents, const TransferSettings& settings,
                      const Backup& backup, const Instance& target, Restore restore,
                      const std::vector<std::string>& paths, JobControl& control) {
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
      auto result = Transfer(store, agents, settings, backup, target, restore, paths, control);
      if (result.ok()) {
        restore.changes_json = result->changes_json;
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
    if (!control.shutting_down.load()) {
      restore.error_message = WithoutBackupsDir(outcome.message(), settings.backups_dir);
    } else if (control.running.load() && !restore.dry_run) {
      // Cut off mid-stream: the agent writes entries in place as they
      // arrive, so part of the backup may already be on the target.
      restore.error_message = "controller shutting down mid-restore: " + target.name +
                              " may be partly restored; restore it again";
    } else {
      restore.error_message = "controller shutting down";
    }
  }
  if (control.finished_elsewhere.load()) {
    // Canceled on another replica or failed by a survivor: that record stands.
    log::Warn("restore stopped; its record was finished elsewhere", {{"restore_id", restore.id}});
    auto stored = store.GetRestore(restore.id);
    return stored.ok() ? std::move(stored).value() : restore;
  }
  Status st = store.UpdateRestore(restore);
  if (!st.ok()) log::Error("cannot record restore result", {{"restore_id", restore.id}, {"error", st.message()}});
  log::Info("restore ended", {{"restore_id", restore.id}, {"target", target.name},
                              {"status", BackupStatusName(restore.status)}, {"error", restore.error_message}});
  return restore;
}

}  // namespace clawback::controller
