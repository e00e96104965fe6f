// Startup crash recovery: nothing may stay `queued`/`running` without a job
// behind it, and no half-written archive may stay on disk.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <cstring>
#include <string_view>

#include "controller/jobs/backup_removal.h"
#include "controller/jobs/transfer_jobs.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/transfers.h"
#include "controller/storage/archive_storage.h"
#include "controller/store/store.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

constexpr std::string_view kPartialSuffix = ".partial";
constexpr const char* kInterrupted = "interrupted: controller restarted";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Removes *.partial regular files in `dir` (not recursive). Missing dir is fine.
Status RemovePartials(const std::string& dir, int* removed) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Status::IoError("cannot list " + dir + ": " + std::strerror(errno));
  }
  Status result;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!EndsWith(name, kPartialSuffix)) continue;
    std::string path = dir + "/" + std::string(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::unlink(path.c_str()) == 0) {
      ++*removed;
    } else if (errno != ENOENT && result.ok()) {
      result = Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
    }
  }
  ::closedir(d);
  return result;
}

// Marks every queued/running backup and restore failed; `remove_files`
// removes what an unfinished backup may have left under its final name.
Status MarkInterrupted(Store& store, const std::function<Status(const Backup&)>& remove_files) {
  Status first_error;
  auto keep = [&](const Status& st) {
    if (!st.ok() && first_error.ok()) first_error = st;
  };
  auto backups = store.ListUnfinishedBackups();
  if (!backups.ok()) return backups.status().WithContext("listing unfinished backups");
  for (Backup& backup : *backups) {
    keep(remove_files(backup));
    backup.status = BackupStatus::kFailed;
    backup.error_message = kInterrupted;
    backup.file_path.clear();
    backup.completed_at = NowUnix();
    keep(store.UpdateBackup(backup));
    log::Warn("backup interrupted by a controller restart", {{"backup_id", backup.id}, {"instance", backup.instance_name}});
  }

  auto restores = store.ListUnfinishedRestores();
  if (!restores.ok()) return restores.status().WithContext("listing unfinished restores");
  for (Restore& restore : *restores) {
    restore.status = RestoreStatus::kFailed;
    restore.error_message = kInterrupted;
    restore.completed_at = NowUnix();
    keep(store.UpdateRestore(restore));
    log::Warn("restore interrupted by a controller restart", {{"restore_id", restore.id}});
  }
  return first_error;
}

}  // namespace

Status RecoverInterruptedTransfers(Store& store, const std::string& backups_dir) {
  Status first_error;
  auto keep = [&](const Status& st) {
    if (!st.ok() && first_error.ok()) first_error = st;
  };
  keep(MarkInterrupted(store, [&](const Backup& backup) {
    // A crash after the rename to the final name but before the record said
    // `completed` leaves a whole file that no completed record owns: remove
    // it too, or it stays behind as an orphan.
    Status result;
    const std::string final_path = ArchivePath(backups_dir, backup);
    for (const std::string& path : {final_path + std::string(kPartialSuffix), final_path}) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT && result.ok()) {
        result = Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
      }
    }
    return result;
  }));

  // With every record final, no *.partial file belongs to a live transfer.
  int removed = 0;
  keep(RemovePartials(backups_dir, &removed));
  if (DIR* d = ::opendir(backups_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string sub = backups_dir + "/" + std::string(name);
      struct stat st {};
      if (::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) keep(RemovePartials(sub, &removed));
    }
    ::closedir(d);
  }
  if (removed > 0) log::Info("removed orphan partial archives", {{"count", removed}});
  // A delete cut short between its record and its file leaves such a file.
  keep(RemoveOrphanArchives(store, backups_dir));
  return first_error;
}

Status RecoverInterruptedTransfers(Store& store, storage::ArchiveStorage& archives) {
  if (!archives.LocalDirectory().empty()) return RecoverInterruptedTransfers(store, archives.LocalDirectory());
  Status first_error;
  auto keep = [&](const Status& st) {
    if (!st.ok() && first_error.ok()) first_error = st;
  };
  // A crash after CompleteMultipartUpload but before the record said
  // `completed` leaves an object no completed record owns.
  // Storage errors (a bucket down right now) are logged, not fatal: the
  // service starts, and the next start cleans up.
  keep(MarkInterrupted(store, [&](const Backup& backup) {
    Status st = archives.RemoveArchive(ArchiveRelativeName(backup));
    if (!st.ok()) log::Warn("cannot remove an interrupted backup's objects", {{"backup_id", backup.id}, {"error", st.message()}});
    return Status::Ok();
  }));
  // No transfer runs yet, so no multipart upload under the prefix is owned.
  int aborted = 0;
  Status swept = archives.RemoveInterruptedWrites(&aborted);
  if (!swept.ok()) log::Warn("cannot abort unfinished multipart uploads; the next start retries", {{"error", swept.message()}});
  // A delete cut short between its record and its objects leaves objects no record owns.
  Status orphans = RemoveOrphanArchives(store, archives);
  if (!orphans.ok()) log::Warn("cannot sweep archives no record owns; the next start retries", {{"error", orphans.message()}});
  if (aborted > 0) log::Info("aborted unfinished multipart uploads", {{"count", aborted}, {"location", archives.Location()}});
  return first_error;
}

}  // namespace clawback::controller
