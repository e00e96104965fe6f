#include "controller/jobs/archive_location.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <regex>

#include "controller/jobs/archive_file.h"
#include "controller/jobs/transfer_jobs.h"

namespace clawback::controller {
namespace {

// "<anything>-<id>-<yyyymmdd>-<hhmmss>.tar.zst"; group 1 is the id.
const std::regex& ArchiveNamePattern() {
  static const std::regex pattern(R"(^.+-([0-9]{1,18})-[0-9]{8}-[0-9]{6}\.tar\.zst$)");
  return pattern;
}

}  // namespace

Result<std::string> ResolveBackupsDir(const std::string& configured, const std::string& data_dir) {
  std::string dir = configured;
  if (dir.empty()) {
    dir = data_dir + "/backups";
  } else if (dir.find("://") != std::string::npos) {
    return Status::InvalidArgument("backups path \"" + configured +
                                   "\" is a URL with an unsupported scheme; CLAWORC_BACKUPS_PATH (--backups-dir) "
                                   "must be an absolute local directory or s3://BUCKET/PREFIX");
  } else if (dir.front() != '/') {
    return Status::InvalidArgument("backups path must be absolute: \"" + configured +
                                   "\" (CLAWORC_BACKUPS_PATH / --backups-dir); a relative path would depend "
                                   "on the directory the service starts in");
  }
  CLAWBACK_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  char resolved[PATH_MAX];
  if (::realpath(dir.c_str(), resolved) == nullptr) {
    return Status::IoError("cannot resolve the backups path " + dir + ": " + std::strerror(errno));
  }
  std::string canonical = resolved;
  if (::chmod(canonical.c_str(), 0700) != 0 && errno != EPERM) {
    return Status::IoError("cannot set mode of " + canonical + ": " + std::strerror(errno));
  }
  return canonical;
}

std::string ArchiveFileName(const std::string& instance_name, Id backup_id, UnixTime created_at) {
  std::time_t t = static_cast<std::time_t>(created_at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return instance_name + "-" + std::to_string(backup_id) + "-" + stamp + ".tar.zst";
}

std::string ArchiveRelativeName(const Backup& backup) {
  return backup.instance_name + "/" + ArchiveFileName(backup.instance_name, backup.id, backup.created_at);
}

std::string ArchivePath(const std::string& backups_dir, const Backup& backup) {
  return backups_dir + "/" + ArchiveRelativeName(backup);
}

std::optional<Id> ArchiveIdFromFileName(std::string_view file_name) {
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(file_name.begin(), file_name.end(), m, ArchiveNamePattern())) return std::nullopt;
  return static_cast<Id>(std::stoll(m[1].str()));
}

Result<std::string> ArchiveAbsolutePath(const std::string& backups_dir, const std::string& file_path) {
  if (file_path.empty() || file_path.front() == '/') return file_path;
  size_t start = 0;
  while (true) {
    size_t slash = file_path.find('/', start);
    std::string_view part =
        std::string_view(file_path).substr(start, slash == std::string::npos ? slash : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return Status::Internal("stored archive location is not a plain relative name: " + file_path);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return backups_dir + "/" + file_path;
}

std::string WithoutBackupsDir(const std::string& message, const std::string& backups_dir) {
  if (backups_dir.empty()) return message;
  const std::string prefix = backups_dir + "/";
  std::string out;
  size_t start = 0;
  for (size_t at = message.find(prefix); at != std::string::npos; at = message.find(prefix, start)) {
    out.append(message, start, at - start);
    start = at + prefix.size();
  }
  out.append(message, start, std::string::npos);
  return out;
}

std::string ArchiveIndexPath(const std::string& archive_path) { return archive_path + ".index"; }

}  // namespace clawback::controller
