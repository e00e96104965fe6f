// Crash recovery: nothing may stay `queued`/`running` without a live job
// behind it (on this replica or another whose lease is live), and no
// half-written archive may stay on disk.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <cstring>
#include <set>
#include <string>
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
constexpr UnixTime kUnownedGrace = 60;  // seconds

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Removes *.partial regular files in `dir` (not recursive) but those in
// `live`. Missing dir is fine.
Status RemovePartials(const std::string& dir, const std::set<std::string>& live, int* removed) {
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
    if (live.count(path) != 0) continue;
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

// The previous life of this data dir is dead (its successor holds the
// lock): its queued transfers are handed over now rather than when their
// lease runs out, so the first heartbeat adopts and runs them.
Status ReleasePreviousLifeQueue(Store& store, const std::string& previous_life) {
  if (previous_life.empty()) return Status::Ok();
  auto released = store.ReleaseQueuedTransfers(previous_life);
  if (!released.ok()) return released.status().WithContext("releasing the previous life's queued transfers");
  if (*released > 0) {
    log::Info("queued transfers of the previous start handed over", {{"count", *released}, {"owner", previous_life}});
  }
  return Status::Ok();
}

}  // namespace

Status DiscardUnfinishedArchive(const std::string& backups_dir, const Backup& backup) {
  Status result;
  // A crash after the rename to the final name but before the record said
  // `completed` leaves a whole file that no completed record owns: remove
  // it too, or it stays behind as an orphan. The same for its sidecars
  // (block digests, index), written (as *.partial, then renamed) between
  // the end of the stream and the record: a replica killed then leaves them.
  const std::string final_path = ArchivePath(backups_dir, backup);
  for (const char* sidecar : {"", ".blocks", ".index"}) {
    const std::string file = final_path + sidecar;
    for (const std::string& path : {file + std::string(kPartialSuffix), file}) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT && result.ok()) {
        result = Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
      }
    }
  }
  return result;
}

AbandonedTransfers FailAbandonedTransfers(Store& store, const DiscardArchive& discard, UnixTime now,
                                          const std::string& previous_life, Status* first_error) {
  AbandonedTransfers out;
  auto keep = [&](const Status& st) {
    if (!st.ok() && first_error != nullptr && first_error->ok()) *first_error = st;
  };
  auto leases = store.ListTransferLeases();
  if (!leases.ok()) {
    keep(leases.status().WithContext("listing unfinished transfers"));
    return out;
  }
  for (const TransferLease& lease : *leases) {
    // A replica creates a record, then assigns it: a row without owner that
    // is younger than kUnownedGrace may be another replica's, a moment old.
    if (lease.owner.empty() && lease.created_at + kUnownedGrace >= now) continue;
    // A queued transfer never reached an agent: a live replica adopts it
    // (TransferService's heartbeat), whatever happened to its owner.
    if (!lease.owner.empty() && lease.status == BackupStatus::kQueued) continue;
    const bool restarted = lease.owner.empty() || lease.owner == previous_life;
    if (!restarted && lease.lease_until >= now) continue;  // live: its owner runs it
    const std::string error =
        restarted ? kInterrupted : "interrupted: controller replica " + lease.owner + " stopped";
    auto failed = store.FailAbandonedTransfer(lease.kind, lease.id, now, previous_life, error);
    if (!failed.ok()) {
      if (failed.status().code() != Status::Code::kNotFound) keep(failed.status());
      continue;
    }
    if (!*failed) continue;  // renewed or finished meanwhile
    if (lease.kind == TransferKind::kBackup) {
      auto backup = store.GetBackup(lease.id);
      if (!backup.ok()) {
        keep(backup.status());
        continue;
      }
      keep(discard(*backup));
      log::Warn("backup interrupted: its controller stopped",
                {{"backup_id", backup->id}, {"instance", backup->instance_name}, {"owner", lease.owner}});
      out.backups.push_back(std::move(backup).value());
    } else {
      auto restore = store.GetRestore(lease.id);
      if (!restore.ok()) {
        keep(restore.status());
        continue;
      }
      log::Warn("restore interrupted: its controller stopped", {{"restore_id", restore->id}, {"owner", lease.owner}});
      out.restores.push_back(std::move(restore).value());
    }
  }
  return out;
}

Status RecoverInterruptedTransfers(Store& store, const std::string& backups_dir, UnixTime now,
                                   const std::string& previous_life) {
  Status first_error;
  auto keep = [&](const Status& st) {
    if (!st.ok() && first_error.ok()) first_error = st;
  };
  FailAbandonedTransfers(
      store, [&](const Backup& b) { return DiscardUnfinishedArchive(backups_dir, b); }, now, previous_life,
      &first_error);
  keep(ReleasePreviousLifeQueue(store, previous_life));

  // What is still unfinished belongs to live replicas: their partial files stay.
  std::set<std::string> live;
  auto unfinished = store.ListUnfinishedBackups();
  if (!unfinished.ok()) return unfinished.status().WithContext("listing unfinished backups");
  for (const Backup& b : *unfinished) live.insert(ArchivePath(backups_dir, b) + std::string(kPartialSuffix));

  int removed = 0;
  keep(RemovePartials(backups_dir, live, &removed));
  if (DIR* d = ::opendir(backups_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string sub = backups_dir + "/" + std::string(name);
      struct stat st {};
      if (::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) keep(RemovePartials(sub, live, &removed));
    }
    ::closedir(d);
  }
  if (removed > 0) log::Info("removed orphan partial archives", {{"count", removed}});
  // A delete cut short between its record and its file leaves such a file.
  keep(RemoveOrphanArchives(store, backups_dir));
  return first_error;
}

Status DiscardUnfinishedArchive(storage::ArchiveStorage& archives, const Backup& backup) {
  if (!archives.LocalDirectory().empty()) return DiscardUnfinishedArchive(archives.LocalDirectory(), backup);
  // Objects of an archive published but never recorded as completed; the
  // backup's multipart upload, if one is open, goes with
  // AbortUnownedArchiveWrites.
  return archives.RemoveArchive(ArchiveRelativeName(backup));
}

Status AbortUnownedArchiveWrites(Store& store, storage::ArchiveStorage& archives, int* removed) {
  *removed = 0;
  auto unfinished = store.ListUnfinishedBackups();
  if (!unfinished.ok()) return unfinished.status().WithContext("listing unfinished backups");
  std::set<std::string> live;
  for (const Backup& b : *unfinished) live.insert(ArchiveRelativeName(b));
  return archives.RemoveInterruptedWrites(live, removed);
}

Status RecoverInterruptedTransfers(Store& store, storage::ArchiveStorage& archives, UnixTime now,
                                   const std::string& previous_life) {
  if (!archives.LocalDirectory().empty()) {
    return RecoverInterruptedTransfers(store, archives.LocalDirectory(), now, previous_life);
  }
  Status first_error;
  // Storage errors (a bucket down right now) are logged, not fatal: the
  // service starts, and the next start cleans up.
  FailAbandonedTransfers(
      store,
      [&](const Backup& b) {
        Status st = DiscardUnfinishedArchive(archives, b);
        if (!st.ok()) log::Warn("cannot remove an interrupted backup's objects", {{"backup_id", b.id}, {"error", st.message()}});
        return Status::Ok();
      },
      now, previous_life, &first_error);
  Status released = ReleasePreviousLifeQueue(store, previous_life);
  if (!released.ok() && first_error.ok()) first_error = released;
  // Uploads of backups still unfinished belong to live replicas and stay.
  int aborted = 0;
  Status swept = AbortUnownedArchiveWrites(store, archives, &aborted);
  if (!swept.ok()) log::Warn("cannot abort unfinished multipart uploads; the next start retries", {{"error", swept.message()}});
  if (aborted > 0) log::Info("aborted unfinished multipart uploads", {{"count", aborted}, {"location", archives.Location()}});
  // A delete cut short between its record and its objects leaves objects no record owns.
  Status orphans = RemoveOrphanArchives(store, archives);
  if (!orphans.ok()) log::Warn("cannot sweep archives no record owns; the next start retries", {{"error", orphans.message()}});
  return first_error;
}

}  // namespace clawback::controller
