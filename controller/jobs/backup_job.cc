// One backup: agent stream -> <name>.partial (written, hashed and counted on
// the archive writer thread) -> trailers checked -> fsync -> block digests
// stored -> rename -> record completed. Any failure removes the partial file
// and records why.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "controller/agents/agent_connector.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/background_archive_writer.h"
#include "controller/jobs/block_digests.h"
#include "controller/jobs/transfer_jobs.h"
#include "controller/storage/archive_storage.h"
#include "controller/store/store.h"
#include "shared/exclude_rules.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

// Publishes a running backup's progress: in memory on every buffer written,
// to the store at most every `interval`. Runs on the archive writer thread.
class ProgressRecorder {
 public:
  ProgressRecorder(Store& store, Id backup_id, JobControl& control, std::chrono::milliseconds interval)
      : store_(store), backup_id_(backup_id), control_(control), interval_(interval),
        last_flush_(std::chrono::steady_clock::now()) {}

  void operator()(uint64_t bytes) {
    control_.progress.store(bytes);
    auto now = std::chrono::steady_clock::now();
    if (now - last_flush_ < interval_) return;
    last_flush_ = now;
    Status st = store_.UpdateBackupProgress(backup_id_, bytes);
    if (!st.ok()) log::Warn("cannot record backup progress", {{"backup_id", backup_id_}, {"error", st.message()}});
  }

 private:
  Store& store_;
  Id backup_id_;
  JobControl& control_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_flush_;
};

// Streams the backup into its final file; returns what the trailers said.
Result<StreamSummary> Transfer(Store& store, AgentConnector& agents, const TransferSettings& settings,
                               const Instance& instance, Backup& backup, JobControl& control) {
  storage::ArchiveStorage& archives = *settings.archives;
  const std::string name = ArchiveRelativeName(backup);
  // On object storage this starts the upload: an unreachable bucket fails
  // here, before the agent is asked for anything.
  auto file = archives.CreateArchive(name, &control.cancel);
  if (!file.ok()) return file.status();
  // Whatever happens next, an unpublished archive leaves nothing behind
  // (the sink's destructor removes the .partial file / aborts the upload).

  AgentBackupRequest request;
  request.paths = backup.paths;
  auto excludes = ExpandExcludes(backup.exclude_presets, backup.excludes);
  if (!excludes.ok()) return excludes.status();
  request.excludes = std::move(excludes).value();
  request.strict = backup.strict;

  BackgroundArchiveWriter writer(**file, ProgressRecorder(store, backup.id, control, settings.progress_interval));
  auto summary = agents.Backup(instance, request, writer, control.cancel, settings.stall_timeout);
  Status written = writer.Finish();
  if (!summary.ok()) return summary.status();
  CLAWBACK_RETURN_IF_ERROR(written);

  const uint64_t received = (*file)->bytes();
  if (summary->bytes_sent != received) {
    return Status::Corruption("archive from agent is incomplete: received " + std::to_string(received) +
                              " bytes, agent reported sending " + std::to_string(summary->bytes_sent));
  }
  auto digests = (*file)->Seal();
  if (!digests.ok()) return digests.status();
  if (digests->sha256 != summary->sha256) {
    return Status::Corruption("archive from agent is corrupted: sha256 of the received bytes " + digests->sha256 +
                              " differs from the agent's " + summary->sha256);
  }
  // Local archives are indexed from the staged file before they are
  // published; on object storage browsing builds the index on first use.
  const std::string staged = (*file)->staged_path();
  const std::string final_path = archives.LocalDirectory().empty() ? "" : archives.LocalDirectory() + "/" + name;
  const std::string index_path = ArchiveIndexPath(final_path);
  if (summary->archive_format == 2) {
    // A format 2 archive must carry an index that checks out against the
    // trailers and its own seek table; it is stored before the archive is
    // published, so a completed record always has it.
    if (!summary->index_entries || *summary->index_entries != summary->entries) {
      return Status::Corruption("archive from agent is inconsistent: Clawback-Index-Entries " +
                                (summary->index_entries ? std::to_string(*summary->index_entries) : "missing") +
                                " differs from Clawback-Entries " + std::to_string(summary->entries));
    }
    if (settings.index_archive && !staged.empty()) {
      Status indexed = settings.index_archive(staged, final_path, summary->entries, digests->sha256);
      if (!indexed.ok()) {
        ::unlink(index_path.c_str());
        return Status::Corruption("archive from agent has an unusable index: " + indexed.message());
      }
    }
  }
  // The digests and the index go first, so a published archive always has
  // them; one directory fsync in Publish() makes all three names durable.
  Status digests_written = archives.PutSidecar(name, BlockDigestsPath(""), EncodeBlockDigests(*digests));
  if (!digests_written.ok()) {
    if (!final_path.empty()) ::unlink(index_path.c_str());
    return digests_written;
  }
  Status published = (*file)->Publish();
  if (published.ok() && summary->archive_format == 2 && staged.empty() && settings.index_stored_archive) {
    // Object storage: the index is read back from the bucket and stored
    // beside the archive before the record says completed.
    Status indexed = settings.index_stored_archive(name, summary->entries, *digests);
    if (!indexed.ok()) published = Status::Corruption("archive from agent has an unusable index: " + indexed.message());
  }
  if (!published.ok()) {
    Status removed = archives.RemoveArchive(name);
    if (!removed.ok()) log::Warn("cannot remove a backup's sidecars", {{"backup_id", backup.id}, {"error", removed.message()}});
    return published;
  }
  backup.file_path = ArchiveRelativeName(backup);
  backup.size_bytes = received;
  backup.sha256 = digests->sha256;
  return summary;
}

// Writes the completed record. With replicas sharing the store the write is
// conditional on this replica still owning the unfinished record (false
// when it does not); a lone controller writes it as it is.
Result<bool> RecordCompleted(Store& store, const TransferSettings& settings, const Backup& backup) {
  if (settings.replica.id.empty()) {
    Status st = store.UpdateBackup(backup);
    if (!st.ok()) return st;
    return true;
  }
  return store.FinishOwnedBackup(backup, settings.replica.id);
}

}  // namespace

UnixTime NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Backup RunBackupJob(Store& store, AgentConnector& agents, const TransferSettings& settings,
                    const Instance& instance, Backup backup, JobControl& control) {
  Status outcome;
  if (control.cancel.load()) {
    outcome = Status::Canceled("canceled before it started");
  } else {
    backup.status = BackupStatus::kRunning;
    backup.started_at = NowUnix();
    control.running.store(true);
    outcome = store.UpdateBackup(backup);
    if (outcome.ok()) {
      log::Info("backup started", {{"backup_id", backup.id}, {"instance", backup.instance_name}});
      auto summary = Transfer(store, agents, settings, instance, backup, control);
      if (summary.ok()) {
        backup.entries = summary->entries;
        backup.databases_captured = summary->databases_captured;
        backup.databases_raw = summary->databases_raw;
        backup.warnings = summary->warnings;
      }
      outcome = summary.status();
    }
  }

  backup.completed_at = NowUnix();
  backup.progress_bytes = control.progress.load();
  auto remove_unrecorded = [&] {
    Status removed = settings.archives->RemoveArchive(ArchiveRelativeName(backup));
    if (!removed.ok()) log::Warn("cannot remove an unrecorded archive", {{"backup_id", backup.id}, {"error", removed.message()}});
  };
  if (outcome.ok() && control.finished_elsewhere.load()) {
    // A survivor declared this replica gone and failed the record (or it was
    // canceled on another replica): the archive is not recorded, so remove it
    // (from whichever archive storage holds it).
    remove_unrecorded();
    outcome = Status::Canceled("finished elsewhere");
  }
  if (outcome.ok()) {
    backup.status = BackupStatus::kCompleted;
    backup.progress_bytes = backup.size_bytes;
    backup.error_message.clear();
    auto written = RecordCompleted(store, settings, backup);
    if (written.ok() && *written) {
      log::Info("backup completed", {{"backup_id", backup.id}, {"instance", backup.instance_name},
                                     {"bytes", backup.size_bytes}, {"entries", backup.entries}});
      return backup;
    }
    // The record cannot say "completed": do not leave an unrecorded file.
    remove_unrecorded();
    if (written.ok()) {
      // Not ours any more: a survivor failed it (and discarded its archive)
      // between our last lease renewal and this write. Its record stands.
      control.finished_elsewhere.store(true);
      outcome = Status::Canceled("finished elsewhere");
    } else {
      outcome = written.status().WithContext("recording the completed backup");
    }
  }

  backup.file_path.clear();
  backup.size_bytes = 0;
  backup.sha256.clear();
  if (control.finished_elsewhere.load()) {
    log::Warn("backup stopped; its record was finished elsewhere", {{"backup_id", backup.id}});
    auto stored = store.GetBackup(backup.id);
    return stored.ok() ? std::move(stored).value() : backup;
  }
  if (control.shutting_down.load()) {
    backup.status = BackupStatus::kFailed;
    backup.error_message = "controller shutting down";
  } else if (outcome.code() == Status::Code::kCanceled && control.cancel.load()) {
    backup.status = BackupStatus::kCanceled;
    backup.error_message = "canceled by request";
  } else {
    backup.status = BackupStatus::kFailed;
    backup.error_message = WithoutBackupsDir(outcome.message(), settings.backups_dir);
    if (backup.error_message != outcome.message()) {
      log::Warn("backup failed", {{"backup_id", backup.id}, {"error", outcome.message()}});
    }
  }
  Status st = store.UpdateBackup(backup);
  if (!st.ok()) log::Error("cannot record backup failure", {{"backup_id", backup.id}, {"error", st.message()}});
  log::Warn("backup ended", {{"backup_id", backup.id}, {"instance", backup.instance_name},
                             {"status", BackupStatusName(backup.status)}, {"error", backup.error_message}});
  return backup;
}

}  // namespace clawback::controller
