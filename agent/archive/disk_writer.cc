#include "agent/archive/disk_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace clawback::agent {
namespace {

constexpr char kSqliteHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
constexpr const char* kSqliteSidecars[] = {"-wal", "-shm", "-journal"};
constexpr const char* kTempPrefix = ".clawback-";
constexpr size_t kNameMax = 255;

// The process umask, read once (umask(2) can only be read by setting it; the
// agent never changes it otherwise).
mode_t ProcessUmask() {
  static const mode_t mask = [] {
    mode_t m = umask(022);
    umask(m);
    return m;
  }();
  return mask;
}

size_t PathHash(const std::string& path) { return std::hash<std::string>{}(path); }

std::string Join(const std::string& dir, const std::string& name) { return dir == "/" ? "/" + name : dir + "/" + name; }

bool IsSymlinkOrNotDir(int err) { return err == ELOOP || err == ENOTDIR; }

}  // namespace

Result<std::unique_ptr<DiskWriter>> DiskWriter::Open(const std::string& root, Resolution resolution) {
  UniqueFd fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return Status::InvalidArgument("restore root " + root + " is not a directory that can be opened: " +
                                   std::strerror(errno));
  }
  ProcessUmask();
  return std::unique_ptr<DiskWriter>(new DiskWriter(std::move(fd), resolution));
}

DiskWriter::DiskWriter(UniqueFd root, Resolution resolution) : resolution_(resolution), is_root_(geteuid() == 0) {
  Level level;
  level.fd = std::move(root);
  stack_.push_back(std::move(level));
}

DiskWriter::~DiskWriter() {
  if (file_open_) Abort();
  while (stack_.size() > 1) PopLevel();
  if (stack_[0].has_fixup) ApplyFixup(stack_[0].fd.get(), stack_[0].fixup, "/");
}

// ---- The directory stack ----

std::string DiskWriter::CurrentPath() const {
  if (stack_.size() == 1) return "/";
  std::string path;
  for (size_t i = 1; i < stack_.size(); ++i) path += "/" + stack_[i].name;
  return path;
}

Result<int> DiskWriter::EnterParent(const std::string& path, std::string* name) {
  // path is normalized: "/a/b/c". Parents are "a", "b"; the name is "c".
  std::vector<std::string> parents;
  size_t pos = 1;
  for (;;) {
    const size_t slash = path.find('/', pos);
    if (slash == std::string::npos) {
      *name = path.substr(pos);
      break;
    }
    parents.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  size_t common = 0;
  while (common < parents.size() && common + 1 < stack_.size() && stack_[common + 1].name == parents[common])
    ++common;
  while (stack_.size() > common + 1) PopLevel();
  std::string so_far = CurrentPath();
  for (size_t i = common; i < parents.size(); ++i) {
    so_far = Join(so_far, parents[i]);
    CLAWBACK_RETURN_IF_ERROR(PushChild(parents[i], so_far));
  }
  return stack_.back().fd.get();
}

Status DiskWriter::PushChild(const std::string& name, const std::string& path) {
  const int parent = stack_.back().fd.get();
  int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // A parent the archive has no entry for: created like tar does (0777 less
    // the umask, owned by the agent).
    if (mkdirat(parent, name.c_str(), 0777) != 0 && errno != EEXIST) return Fail(errno, "creating directory", path);
    fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (IsSymlinkOrNotDir(errno))
      return Status::FailedPrecondition("refusing to write through a symlink or non-directory: " + path);
    return Fail(errno, "opening directory", path);
  }
  Level level;
  level.name = name;
  level.fd = UniqueFd(fd);
  if (!finalized_.empty() && finalized_.erase(PathHash(path)) > 0) {
    // Entered again after its fixup: keep the mtime it was given.
    struct stat st;
    if (fstat(fd, &st) == 0) revisited_.push_back({path, st.st_mtim});
  }
  stack_.push_back(std::move(level));
  return Status::Ok();
}

void DiskWriter::PopLevel() {
  Level& top = stack_.back();
  if (top.has_fixup) {
    const std::string path = CurrentPath();
    ApplyFixup(top.fd.get(), top.fixup, path);
    finalized_.insert(PathHash(path));
  }
  stack_.pop_back();
}

// ---- Entries ----

Status DiskWriter::Create(const DiskEntry& entry) {
  if (file_open_) return Status::Internal("DiskWriter::Create while a file is open");
  replaced_existing_ = true;  // cleared below where the entry is created afresh
  DirFixup fixup{entry.mode, entry.uid, entry.gid, entry.has_mtime, entry.mtime,
                 entry.xattrs, entry.acl_access, entry.acl_default};
  if (entry.path == "/") {
    // The root itself (EntryFilter lets only a directory through).
    while (stack_.size() > 1) PopLevel();
    stack_[0].has_fixup = true;
    stack_[0].fixup = std::move(fixup);
    return Status::Ok();
  }
  std::string name;
  Result<int> parent = EnterParent(entry.path, &name);
  if (!parent.ok()) return parent.status();

  switch (entry.type) {
    case EntryType::kDirectory: {
      CLAWBACK_RETURN_IF_ERROR(CreateDirectory(*parent, name, entry));
      stack_.back().has_fixup = true;
      stack_.back().fixup = std::move(fixup);
      return Status::Ok();
    }
    case EntryType::kRegular: {
      const mode_t create_mode = entry.mode & 0777;
      int fd = openat(*parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, create_mode);
      replaced_existing_ = fd < 0;
      std::string temp;
      if (fd < 0 && errno == EEXIST) {
        // Something is there: build the new file beside it, rename over it at Commit.
        temp = TempName(name);
        fd = openat(*parent, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, create_mode);
      }
      if (fd < 0) return Fail(errno, "creating", entry.path);
      file_ = OpenFile{};
      file_.fd = UniqueFd(fd);
      file_.path = entry.path;
      file_.name = std::move(name);
      file_.temp_name = std::move(temp);
      file_.size = entry.size;
      file_.meta = entry;
      file_open_ = true;
      return Status::Ok();
    }
    default:
      return CreateSpecial(*parent, name, entry);
  }
}

Status DiskWriter::CreateDirectory(int parent, const std::string& name, const DiskEntry& entry) {
  // 0700 until its fixup: never looser than the archive says while children land.
  if (mkdirat(parent, name.c_str(), 0700) == 0) {
    replaced_existing_ = false;
  } else if (errno != EEXIST) {
    return Fail(errno, "creating directory", entry.path);
  }
  int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && IsSymlinkOrNotDir(errno)) {
    // A symlink or file where the archive has a directory: the archive wins.
    // unlinkat removes the link itself, never what it points to.
    if (unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) return Fail(errno, "replacing", entry.path);
    if (mkdirat(parent, name.c_str(), 0700) != 0) return Fail(errno, "creating directory", entry.path);
    fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (IsSymlinkOrNotDir(errno))
      return Status::FailedPrecondition("directory replaced by a symlink while restoring: " + entry.path);
    return Fail(errno, "opening directory", entry.path);
  }
  Level level;
  level.name = name;
  level.fd = UniqueFd(fd);
  finalized_.erase(PathHash(entry.path));
  stack_.push_back(std::move(level));
  return Status::Ok();
}

Status DiskWriter::CreateSpecial(int parent, const std::string& name, const DiskEntry& entry) {
  auto make = [&](const std::string& at) -> int {
    switch (entry.type) {
      case EntryType::kSymlink: return symlinkat(entry.symlink_target.c_str(), parent, at.c_str());
      case EntryType::kCharDevice: return mknodat(parent, at.c_str(), S_IFCHR | (entry.mode & 0777), entry.rdev);
      case EntryType::kBlockDevice: return mknodat(parent, at.c_str(), S_IFBLK | (entry.mode & 0777), entry.rdev);
      case EntryType::kFifo: return mknodat(parent, at.c_str(), S_IFIFO | (entry.mode & 0777), 0);
      default: errno = EINVAL; return -1;
    }
  };
  std::string at = name;
  replaced_existing_ = false;
  if (make(at) != 0) {
    if (errno != EEXIST) return Fail(errno, "creating", entry.path);
    replaced_existing_ = true;
    at = TempName(name);
    if (make(at) != 0) return Fail(errno, "creating", entry.path);
  }
  // Metadata goes on the new node under its own (possibly temporary) name,
  // never following a symlink; the final name is touched only by the rename.
  if (is_root_ && (entry.uid >= 0 || entry.gid >= 0) &&
      fchownat(parent, at.c_str(), static_cast<uid_t>(entry.uid), static_cast<gid_t>(entry.gid),
               AT_SYMLINK_NOFOLLOW) != 0)
    Warn("cannot restore owner of " + entry.path + ": " + std::strerror(errno));
  if (entry.type != EntryType::kSymlink && ((entry.mode & 07000) != 0 || (entry.mode & 0777 & ProcessUmask()) != 0)) {
    // fchmodat cannot refuse to follow a symlink: chmod through an O_PATH
    // handle of the node just made (its /proc/self/fd magic link).
    UniqueFd node(openat(parent, at.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (node.valid() && fstat(node.get(), &st) == 0 && !S_ISLNK(st.st_mode)) {
      const std::string proc = "/proc/self/fd/" + std::to_string(node.get());
      if (fchmodat(AT_FDCWD, proc.c_str(), entry.mode & 07777, 0) != 0)
        Warn("cannot restore mode of " + entry.path + ": " + std::strerror(errno));
    }
  }
  if (entry.has_mtime) {
    const struct timespec times[2] = {{0, UTIME_OMIT}, entry.mtime};
    if (utimensat(parent, at.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      Warn("cannot restore time of " + entry.path + ": " + std::strerror(errno));
  }
  if (at != name) return ReplaceWith(parent, at, name, entry.path);
  return Status::Ok();
}

Status DiskWriter::Write(const void* data, size_t size, int64_t offset) {
  if (!file_open_) return Status::Internal("DiskWriter::Write without an open file");
  if (offset == 0 && size >= sizeof kSqliteHeader && std::memcmp(data, kSqliteHeader, sizeof kSqliteHeader) == 0)
    file_.sqlite = true;
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = pwrite(file_.fd.get(), p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(errno, "writing", file_.path);
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  if (offset > file_.end) file_.end = offset;
  return Status::Ok();
}

Status DiskWriter::Commit() {
  if (!file_open_) return Status::Internal("DiskWriter::Commit without an open file");
  const int parent = stack_.back().fd.get();
  const int fd = file_.fd.get();
  if (file_.end < file_.size && ftruncate(fd, file_.size) != 0) {
    Status s = Fail(errno, "writing", file_.path);
    Abort();
    return s;
  }
  const DiskEntry& m = file_.meta;
  const bool set_mode = (m.mode & 07000) != 0 || (m.mode & 0777 & ProcessUmask()) != 0;
  ApplyAttributes(fd, file_.path, m.uid, m.gid, m.mode, set_mode, m.xattrs, m.acl_access, "", m.has_mtime,
                  m.mtime);
  if (file_.fd.Close() != 0) {
    Status s = Fail(errno, "writing", file_.path);
    Abort();
    return s;
  }
  if (file_.sqlite) {
    // A stale WAL or hot journal next to a restored database would be
    // replayed into it on the next open: they go first, then the database.
    for (const char* suffix : kSqliteSidecars) {
      const std::string sidecar = file_.name + suffix;
      if (unlinkat(parent, sidecar.c_str(), 0) != 0 && errno != ENOENT)
        Warn("cannot remove stale " + Join(CurrentPath(), sidecar) + ": " + std::strerror(errno));
    }
  }
  file_open_ = false;
  if (!file_.temp_name.empty()) return ReplaceWith(parent, file_.temp_name, file_.name, file_.path);
  return Status::Ok();
}

void DiskWriter::Abort() {
  if (!file_open_) return;
  file_open_ = false;
  file_.fd.Reset();
  // A half-written file is no restore of anything: remove it.
  const std::string& written = file_.temp_name.empty() ? file_.name : file_.temp_name;
  unlinkat(stack_.back().fd.get(), written.c_str(), 0);
}

Status DiskWriter::Link(const std::string& path, const std::string& target) {
  if (file_open_) return Status::Internal("DiskWriter::Link while a file is open");
  replaced_existing_ = false;
  std::string name;
  Result<int> parent = EnterParent(path, &name);
  if (!parent.ok()) return parent.status();
  const size_t slash = target.rfind('/');
  const std::string target_dir = target.substr(1, slash == 0 ? 0 : slash - 1);
  const std::string target_name = target.substr(slash + 1);
  UniqueFd dir(OpenBeneath(stack_[0].fd.get(), target_dir, O_PATH | O_DIRECTORY, resolution_));
  if (!dir.valid()) {
    if (errno == ENOENT) return Status::FailedPrecondition("hard link target does not exist: " + target);
    if (IsSymlinkOrNotDir(errno) || errno == EXDEV)
      return Status::FailedPrecondition("hard link target goes through a symlink or non-directory: " + target);
    return Fail(errno, "resolving hard link target", target);
  }
  std::string at = name;
  if (linkat(dir.get(), target_name.c_str(), *parent, at.c_str(), 0) != 0) {
    if (errno != EEXIST) return Fail(errno, "linking to " + target + ":", path);
    replaced_existing_ = true;
    at = TempName(name);
    if (linkat(dir.get(), target_name.c_str(), *parent, at.c_str(), 0) != 0)
      return Fail(errno, "linking to " + target + ":", path);
    CLAWBACK_RETURN_IF_ERROR(ReplaceWith(*parent, at, name, path));
    // rename(2) between two links of one inode does nothing: drop the spare.
    unlinkat(*parent, at.c_str(), 0);
  }
  return Status::Ok();
}

Status DiskWriter::ReplaceWith(int parent, const std::string& temp, const std::string& name, const std::string& path) {
  if (renameat(parent, temp.c_str(), parent, name.c_str()) == 0) return Status::Ok();
  int err = errno;
  if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
    // A directory is in the way: only an empty one gives way.
    if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 &&
        renameat(parent, temp.c_str(), parent, name.c_str()) == 0)
      return Status::Ok();
    err = errno;
    unlinkat(parent, temp.c_str(), 0);
    if (err == ENOTEMPTY || err == EEXIST)
      return Status::FailedPrecondition("a non-empty directory is in the way: " + path);
    return Fail(err, "replacing", path);
  }
  unlinkat(parent, temp.c_str(), 0);
  return Fail(err, "replacing", path);
}

// ---- Metadata ----

void DiskWriter::ApplyFixup(int fd, const DirFixup& f, const std::string& path) {
  ApplyAttributes(fd, path, f.uid, f.gid, f.mode, true, f.xattrs, f.acl_access, f.acl_default, f.has_mtime,
                  f.mtime);
}

void DiskWriter::ApplyAttributes(int fd, const std::string& path, int64_t uid, int64_t gid, mode_t mode,
                                 bool set_mode, const std::vector<std::pair<std::string, std::string>>& xattrs,
                                 const std::string& acl_access, const std::string& acl_default, bool has_mtime,
                                 const struct timespec& mtime) {
  if (is_root_ && (uid >= 0 || gid >= 0)) {
    if (fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
      Warn("cannot restore owner of " + path + ": " + std::strerror(errno));
  } else if (!is_root_ && (mode & (S_ISUID | S_ISGID)) != 0) {
    // Without the owner, setuid/setgid would grant the agent's own identity.
    mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
    set_mode = true;
  }
  // After fchown, which clears setuid/setgid.
  if (set_mode && fchmod(fd, mode & 07777) != 0) Warn("cannot restore mode of " + path + ": " + std::strerror(errno));
  for (const auto& [name, value] : xattrs) {
    if (fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0)
      Warn("cannot restore xattr " + name + " of " + path + ": " + std::strerror(errno));
  }
  if (!acl_access.empty() &&
      fsetxattr(fd, "system.posix_acl_access", acl_access.data(), acl_access.size(), 0) != 0)
    Warn("cannot restore ACL of " + path + ": " + std::strerror(errno));
  if (!acl_default.empty() &&
      fsetxattr(fd, "system.posix_acl_default", acl_default.data(), acl_default.size(), 0) != 0)
    Warn("cannot restore default ACL of " + path + ": " + std::strerror(errno));
  if (has_mtime) {
    const struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
    if (futimens(fd, times) != 0) Warn("cannot restore time of " + path + ": " + std::strerror(errno));
  }
}

// ---- Finishing ----

Status DiskWriter::Finish() {
  if (file_open_) Abort();
  while (stack_.size() > 1) PopLevel();
  if (stack_[0].has_fixup) {
    ApplyFixup(stack_[0].fd.get(), stack_[0].fixup, "/");
    stack_[0].has_fixup = false;
  }
  for (const Revisit& r : revisited_) {
    UniqueFd fd(OpenBeneath(stack_[0].fd.get(), r.path.substr(1), O_RDONLY | O_DIRECTORY, resolution_));
    const struct timespec times[2] = {{0, UTIME_OMIT}, r.mtime};
    if (!fd.valid() || futimens(fd.get(), times) != 0)
      Warn("cannot restore time of " + r.path + ": " + std::strerror(errno));
  }
  revisited_.clear();
  if (syncfs(stack_[0].fd.get()) != 0) return Fail(errno, "flushing restored files to disk under", "/");
  return Status::Ok();
}

std::string DiskWriter::TempName(const std::string& name) {
  std::string prefix = kTempPrefix + std::to_string(getpid()) + "-" + std::to_string(++temp_counter_) + "-";
  return prefix + name.substr(0, kNameMax - prefix.size());
}

Status DiskWriter::Fail(int err, const std::string& what, const std::string& path) {
  std::string message = what + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT: return Status::ResourceExhausted(message);
    case EIO:
    case EROFS:
    case ENOMEM: return Status::IoError(message);
    default: return Status::FailedPrecondition(message);
  }
}

void DiskWriter::Warn(std::string message) {
  constexpr size_t kMaxWarnings = 1000;
  if (warnings_.size() < kMaxWarnings) warnings_.push_back(std::move(message));
}

}  // namespace clawback::agent
