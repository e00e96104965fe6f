#include "controller/jobs/backup_removal.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "controller/jobs/block_digests.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

// "<anything>-<id>-<yyyymmdd>-<hhmmss>.tar.zst", or its block digests
// "<...>.tar.zst.blocks"; group 1 is the id, group 2 the ".blocks" suffix.
const std::regex& ArchiveNamePattern() {
  static const std::regex pattern(R"(^.+-([0-9]{1,18})-[0-9]{8}-[0-9]{6}\.tar\.zst(\.blocks)?$)");
  return pattern;
}

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

// True when a completed record owns exactly this file.
Result<bool> Owned(Store& store, Id id, const std::string& path) {
  auto backup = store.GetBackup(id);
  if (!backup.ok()) {
    if (backup.status().code() == Status::Code::kNotFound) return false;
    return backup.status();
  }
  return backup->status == BackupStatus::kCompleted && backup->file_path == path;
}

}  // namespace

Status RemoveBackup(Store& store, const Backup& backup) {
  const std::string& path = backup.file_path;
  if (!path.empty()) {
    if (path.front() != '/') {
      return Status::Internal("refusing to delete backup " + std::to_string(backup.id) +
                              ": file path is not absolute: " + path);
    }
    Status why;
    if (!IsRegularOrMissing(path, &why)) return why;
  }
  CLAWBACK_RETURN_IF_ERROR(store.DeleteBackup(backup.id));
  if (!path.empty() && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
    log::Warn("backup record deleted but its file is still there; it is removed at the next start",
              {{"backup_id", backup.id}, {"file", path}, {"error", std::strerror(errno)}});
  }
  if (!path.empty() && ::unlink(BlockDigestsPath(path).c_str()) != 0 && errno != ENOENT) {
    log::Warn("backup record deleted but its block digests are still there; they are removed at the next start",
              {{"backup_id", backup.id}, {"file", BlockDigestsPath(path)}, {"error", std::strerror(errno)}});
  }
  return Status::Ok();
}

Status RemoveOrphanArchives(Store& store, const std::string& backups_dir, int* removed) {
  int count = 0;
  if (removed != nullptr) *removed = 0;
  Status first_error;
  DIR* top = ::opendir(backups_dir.c_str());
  if (top == nullptr) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError("cannot list " + backups_dir + ": " + std::strerror(errno));
  }
  while (dirent* instance_entry = ::readdir(top)) {
    const std::string instance = instance_entry->d_name;
    if (instance == "." || instance == "..") continue;
    const std::string dir = backups_dir + "/" + instance;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      std::smatch m;
      if (!std::regex_match(name, m, ArchiveNamePattern())) continue;
      const std::string path = dir + "/" + name;
      if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const std::string archive = m[2].matched ? path.substr(0, path.size() - m[2].length()) : path;
      Result<bool> owned = Owned(store, std::stoll(m[1].str()), archive);
      if (!owned.ok()) {
        if (first_error.ok()) first_error = owned.status();
        continue;
      }
      if (*owned) continue;
      if (::unlink(path.c_str()) == 0) {
        ++count;
        log::Warn("removed an archive no completed backup owns", {{"file", path}});
      } else if (errno != ENOENT && first_error.ok()) {
        first_error = Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
      }
    }
    ::closedir(d);
  }
  ::closedir(top);
  if (removed != nullptr) *removed = count;
  return first_error;
}

}  // namespace clawback::controller
