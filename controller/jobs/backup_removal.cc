#include "controller/jobs/backup_removal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <set>
#include <vector>

#include "controller/clock.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/block_digests.h"
#include "controller/storage/archive_storage.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

bool IsRegularOrMissing(const std::string& path, Status* why) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    *why = Status::IoError("cannot inspect " + path + ": " + std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = Status::Internal("refusing to delete " + path + ": not a regular file");
    return false;
  }
  return true;
}

// What the store says about archive files: the relative names records
// hold, and the ids whose file must stay whatever it is called.
struct RecordedArchives {
  std::set<std::string> names;      // relative names (legacy absolute rows: their last two components)
  std::set<std::string> completed;  // relative names of completed records
  std::set<Id> protected_ids;       // queued, running, completed
};

// The last two components of an absolute path ("<instance>/<file>").
std::string Tail(const std::string& path) {
  size_t last = path.find_last_of('/');
  if (last == std::string::npos || last == 0) return path;
  size_t before = path.find_last_of('/', last - 1);
  return before == std::string::npos ? path : path.substr(before + 1);
}

Result<RecordedArchives> LoadRecordedArchives(Store& store) {
  RecordedArchives out;
  BackupFilter filter;
  filter.limit = 500;
  for (filter.offset = 0;; filter.offset += filter.limit) {
    int64_t total = 0;
    auto page = store.ListBackups(filter, &total);
    if (!page.ok()) return page.status().WithContext("listing backups");
    for (const Backup& b : *page) {
      if (b.status == BackupStatus::kQueued || b.status == BackupStatus::kRunning ||
          b.status == BackupStatus::kCompleted) {
        out.protected_ids.insert(b.id);
      }
      if (b.file_path.empty()) continue;
      const std::string name = b.file_path.front() == '/' ? Tail(b.file_path) : b.file_path;
      out.names.insert(name);
      if (b.status == BackupStatus::kCompleted) out.completed.insert(name);
    }
    if (page->size() < static_cast<size_t>(filter.limit)) break;
  }
  return out;
}

// Regular files named like archives, or like an archive's sidecars ("<archive>.blocks",
// block_digests.h; "<archive>.index", archive_location.h), as "<instance>/<file>" with their ids
// and the archive name that owns them (the file itself for an archive).
struct FoundArchive {
  std::string name;
  Id id;
  std::string owner;
  bool digests() const { return name != owner; }
};

Result<std::vector<FoundArchive>> ListArchiveFiles(const std::string& backups_dir) {
  std::vector<FoundArchive> found;
  int top_fd = ::open(backups_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top_fd < 0) {
    if (errno == ENOENT) return found;
    return Status::IoError("cannot list " + backups_dir + ": " + std::strerror(errno));
  }
  DIR* top = ::fdopendir(top_fd);
  if (top == nullptr) {
    ::close(top_fd);
    return Status::IoError("cannot list " + backups_dir + ": " + std::strerror(errno));
  }
  while (dirent* instance_entry = ::readdir(top)) {
    const std::string instance = instance_entry->d_name;
    if (instance == "." || instance == "..") continue;
    // O_NOFOLLOW: a symlink in the backups dir is never followed.
    int fd = ::openat(top_fd, instance.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      continue;
    }
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      // Sidecars: block digests and the file index.
      static const std::string kSuffixes[] = {BlockDigestsPath(""), ArchiveIndexPath("")};
      std::string archive = name;
      for (const std::string& suffix : kSuffixes) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) archive = name.substr(0, name.size() - suffix.size());
      }
      auto id = ArchiveIdFromFileName(archive);
      if (!id) continue;
      struct stat st {};
      if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
      found.push_back({instance + "/" + name, *id, instance + "/" + archive});
    }
    ::closedir(d);
  }
  ::closedir(top);
  return found;
}

int64_t NowUnixSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

Status RemoveBackup(Store& store, const std::string& backups_dir, const Backup& backup) {
  auto path = ArchiveAbsolutePath(backups_dir, backup.file_path);
  if (!path.ok()) {
    return path.status().WithContext("refusing to delete backup " + std::to_string(backup.id));
  }
  if (!path->empty()) {
    Status why;
    if (!IsRegularOrMissing(*path, &why)) return why;
  }
  CLAWBACK_RETURN_IF_ERROR(store.DeleteBackup(backup.id));
  if (!path->empty() && ::unlink(path->c_str()) != 0 && errno != ENOENT) {
    log::Warn("backup record deleted but its file is still there; it is removed at the next start",
              {{"backup_id", backup.id}, {"file", *path}, {"error", std::strerror(errno)}});
  }
  for (const std::string& sidecar : {BlockDigestsPath(*path), ArchiveIndexPath(*path)}) {
    if (!path->empty() && ::unlink(sidecar.c_str()) != 0 && errno != ENOENT) {
      log::Warn("backup record deleted but its sidecar file is still there; it is removed at the next start",
                {{"backup_id", backup.id}, {"file", sidecar}, {"error", std::strerror(errno)}});
    }
  }
  return Status::Ok();
}

Status RemoveBackup(Store& store, storage::ArchiveStorage& archives, const Backup& backup) {
  if (!archives.LocalDirectory().empty()) return RemoveBackup(store, archives.LocalDirectory(), backup);
  if (!backup.file_path.empty()) {
    if (backup.file_path.front() == '/') {
      return Status::Internal("refusing to delete backup " + std::to_string(backup.id) +
                              ": its archive location is a local path, not an object name");
    }
    auto until = archives.LockedUntil(backup.file_path);
    if (!until.ok()) return until.status().WithContext("deleting backup " + std::to_string(backup.id));
    if (*until && **until > NowUnixSeconds()) {
      return Status::FailedPrecondition("backup " + std::to_string(backup.id) +
                                        " is protected by S3 Object Lock until " + FormatUtcRfc3339(**until) +
                                        "; it cannot be deleted before then");
    }
  }
  CLAWBACK_RETURN_IF_ERROR(store.DeleteBackup(backup.id));
  if (!backup.file_path.empty()) {
    Status st = archives.RemoveArchive(backup.file_path);
    if (!st.ok()) {
      log::Warn("backup record deleted but its archive objects are still there",
                {{"backup_id", backup.id}, {"file", backup.file_path}, {"error", st.message()}});
    }
  }
  return Status::Ok();
}

namespace {

// The sweep's rules over the archive files found (see the header); `remove`
// deletes one orphan by its relative name.
Status SweepOrphans(Store& store, const std::vector<FoundArchive>& files, const std::string& where,
                    const std::function<Status(const FoundArchive&)>& remove, int* removed, bool* refused) {
  if (removed != nullptr) *removed = 0;
  if (refused != nullptr) *refused = false;
  auto recorded = LoadRecordedArchives(store);
  if (!recorded.ok()) return recorded.status();

  std::vector<FoundArchive> orphans;
  std::set<std::string> present;
  int owned = 0;
  int orphan_archives = 0;
  for (const FoundArchive& f : files) {
    if (!f.digests()) present.insert(f.name);
    // Digests live and die with their archive's record.
    if (recorded->names.count(f.owner) != 0 || recorded->protected_ids.count(f.id) != 0) {
      if (!f.digests()) ++owned;
    } else {
      orphans.push_back(f);
      if (!f.digests()) ++orphan_archives;
    }
  }

  int missing = 0;
  for (const std::string& name : recorded->completed) missing += present.count(name) == 0 ? 1 : 0;
  if (missing > 0) {
    log::Warn(
        "completed backups whose archive is not in the backups directory; is CLAWORC_BACKUPS_PATH right?",
        {{"count", missing}, {"backups_dir", where}});
  }

  const int count = static_cast<int>(orphans.size());
  if (count == 0) return Status::Ok();
  if (orphan_archives > kMaxOrphansPerSweep || orphan_archives > owned) {
    log::Warn(
        "not removing archive files that no backup record owns: the backups directory does not look like "
        "this store's (wrong path, or a data dir from elsewhere); nothing was deleted",
        {{"unowned", count}, {"owned", owned}, {"backups_dir", where}, {"first", orphans.front().name}});
    if (refused != nullptr) *refused = true;
    return Status::Ok();
  }

  Status first_error;
  int done = 0;
  for (const FoundArchive& f : orphans) {
    Status st = remove(f);
    if (st.ok()) {
      ++done;
      log::Warn("removed an archive no backup record owns", {{"file", where + "/" + f.name}});
    } else if (first_error.ok()) {
      first_error = st;
    }
  }
  if (removed != nullptr) *removed = done;
  return first_error;
}

}  // namespace

Status RemoveOrphanArchives(Store& store, const std::string& backups_dir, int* removed, bool* refused) {
  auto files = ListArchiveFiles(backups_dir);
  if (!files.ok()) {
    if (removed != nullptr) *removed = 0;
    if (refused != nullptr) *refused = false;
    return files.status();
  }
  return SweepOrphans(
      store, *files, backups_dir,
      [&](const FoundArchive& f) {
        const std::string path = backups_dir + "/" + f.name;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
          return Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
        }
        return Status::Ok();
      },
      removed, refused);
}

Status RemoveOrphanArchives(Store& store, storage::ArchiveStorage& archives, int* removed, bool* refused) {
  if (!archives.LocalDirectory().empty()) return RemoveOrphanArchives(store, archives.LocalDirectory(), removed, refused);
  auto listed = archives.List();
  if (!listed.ok()) return listed.status();
  std::vector<FoundArchive> files;
  for (const storage::StoredName& stored : *listed) {
    // "<instance>/<file>" only; anything else under the prefix is not ours.
    const size_t slash = stored.name.find('/');
    if (slash == std::string::npos || slash == 0 || stored.name.find('/', slash + 1) != std::string::npos) continue;
    const std::string instance = stored.name.substr(0, slash);
    const std::string name = stored.name.substr(slash + 1);
    std::string archive = name;
    for (const std::string& suffix : {BlockDigestsPath(""), ArchiveIndexPath("")}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) archive = name.substr(0, name.size() - suffix.size());
    }
    auto id = ArchiveIdFromFileName(archive);
    if (!id) continue;
    files.push_back({stored.name, *id, instance + "/" + archive});
  }
  std::set<std::string> done_owners;
  return SweepOrphans(
      store, files, archives.Location(),
      [&](const FoundArchive& f) {
        // One removal per archive takes its sidecars too (they are orphans together).
        if (!done_owners.insert(f.owner).second) return Status::Ok();
        return archives.RemoveArchive(f.owner);
      },
      removed, refused);
}

}  // namespace clawback::controller
