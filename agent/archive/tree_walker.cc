#include "agent/archive/tree_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "agent/archive/pseudo_fs.h"
#include "shared/path_rules.h"
#include "shared/unique_fd.h"

namespace clawback::agent {
namespace {


std::string Errno(int err) { return std::strerror(err); }

// The directory holding `path` (opened below root, every component resolved
// inside the root), the last component's name ("." for the root itself), the
// path it resolved to, and why it is left out ("" when it is not).
struct ParentDir {
  UniqueFd fd;
  std::string name;
  std::string container_path;
  std::string excluded;
};

// The symlink budget of one resolution, as the kernel's (MAXSYMLINKS).
constexpr int kMaxSymlinkHops = 40;

void SplitComponents(const std::string& text, std::deque<std::string>* out, bool at_front) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t slash = text.find('/', pos);
    if (slash == std::string::npos) slash = text.size();
    if (slash > pos) parts.push_back(text.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (at_front) {
    out->insert(out->begin(), parts.begin(), parts.end());
  } else {
    out->insert(out->end(), parts.begin(), parts.end());
  }
}

std::string JoinPath(const std::vector<std::string>& names, const std::string& last) {
  std::string out;
  for (const std::string& n : names) out += "/" + n;
  if (!last.empty()) out += "/" + last;
  return out.empty() ? "/" : out;
}

// Resolves the parent of `path` component by component with O_NOFOLLOW, the
// way the kernel would inside a chroot at `root`: a symlinked component is
// read and its target (absolute = from the root) resolved again within the
// root, ".." stops at the root. So no component ever leads outside the root,
// and the system-dir exclusions and the pseudo-filesystem check apply to what
// the path really names, not to its text. The last component itself is not
// followed (a symlink is archived as a symlink).
Result<ParentDir> OpenParent(const std::string& root, const std::string& path) {
  ParentDir out;
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return Status::IoError("cannot open backup root " + root + ": " + Errno(errno));
  if (IsOnPseudoFilesystem(root_fd.get()))
    out.excluded = "the root is on a pseudo filesystem (proc, sysfs ...)";
  if (path == "/") {
    out.fd = std::move(root_fd);
    out.name = ".";
    out.container_path = "/";
    return out;
  }
  std::deque<std::string> pending;
  SplitComponents(path, &pending, false);
  const std::string last = pending.back();
  pending.pop_back();

  std::vector<UniqueFd> fds;       // fds[i] = directory of names[0..i-1]; fds[0] = root
  std::vector<std::string> names;  // the resolved components so far
  fds.push_back(std::move(root_fd));
  int hops = 0;
  while (!pending.empty() && out.excluded.empty()) {
    std::string component = std::move(pending.front());
    pending.pop_front();
    if (component == ".") continue;
    if (component == "..") {
      if (!names.empty()) {
        names.pop_back();
        fds.pop_back();
      }
      continue;
    }
    int fd = openat(fds.back().get(), component.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      fds.emplace_back(fd);
      names.push_back(std::move(component));
      const std::string so_far = JoinPath(names, "");
      if (IsExcludedSystemPath(so_far)) {
        out.excluded = "resolves into the excluded system directory " + so_far;
      } else if (IsOnPseudoFilesystem(fd)) {
        out.excluded = so_far + " is on a pseudo filesystem (proc, sysfs ...)";
      }
      continue;
    }
    const int err = errno;
    const std::string prefix = JoinPath(names, component);
    if (err == ELOOP || err == ENOTDIR) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(fds.back().get(), component.c_str(), target, sizeof target);
      if (n > 0 && static_cast<size_t>(n) < sizeof target) {
        if (++hops > kMaxSymlinkHops) return Status::InvalidArgument("too many symlinks resolving " + path);
        if (target[0] == '/') {
          fds.resize(1);
          names.clear();
        }
        SplitComponents(std::string(target, static_cast<size_t>(n)), &pending, true);
        continue;
      }
      if (err == ENOTDIR)
        return Status::InvalidArgument("path goes through a non-directory " + prefix + ": " + path);
    }
    if (err == ENOENT) return Status::InvalidArgument("path does not exist: " + path);
    return Status::IoError("cannot open " + prefix + ": " + Errno(err));
  }
  out.container_path = JoinPath(names, last);
  if (out.excluded.empty() && IsExcludedSystemPath(out.container_path)) {
    out.excluded = "resolves into the excluded system directory " + out.container_path;
  }
  out.fd = std::move(fds.back());
  out.name = last;
  return out;
}

// The refusal for a requested path that resolved into an excluded place.
Status ExcludedPath(const std::string& path, const ParentDir& parent) {
  return Status::InvalidArgument("path is inside an excluded system directory: " + path + " (" +
                                 parent.excluded + ")");
}

struct Frame {
  UniqueFd fd;
  std::string container_path;
  dev_t dev;
  std::vector<std::string> names;
  size_t next = 0;
};

class Walker {
 public:
  Walker(const std::string& root, WalkVisitor& visitor, const ExcludeRules* excludes)
      : root_(root), host_prefix_(root == "/" ? "" : root), visitor_(visitor), excludes_(excludes) {
    while (!host_prefix_.empty() && host_prefix_.back() == '/') host_prefix_.pop_back();
  }

  Status Run(const std::string& path, const std::atomic<bool>* cancel) {
    if (excludes_ != nullptr && excludes_->Excludes(path)) return Status::Ok();
    Result<ParentDir> parent = OpenParent(root_, path);
    if (!parent.ok()) return parent.status();
    // The rules apply to what the path resolves to as well as to its spelling.
    if (excludes_ != nullptr && excludes_->Excludes(parent->container_path)) return Status::Ok();
    if (!parent->excluded.empty()) {
      // Checked when the request came; changed since (a component swapped
      // for a symlink): nothing from there is archived.
      visitor_.Warn(ExcludedPath(path, *parent).message() + ", skipped");
      return Status::Ok();
    }
    CLAWBACK_RETURN_IF_ERROR(
        Handle(parent->fd.get(), parent->name.c_str(), parent->container_path, std::nullopt));
    while (!stack_.empty()) {
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return Status::Canceled("backup canceled");
      Frame& top = stack_.back();
      if (top.next == top.names.size()) {
        stack_.pop_back();
        continue;
      }
      // Copies: Handle may grow stack_ and move `top`.
      std::string name = std::move(top.names[top.next++]);
      std::string child = top.container_path == "/" ? "/" + name : top.container_path + "/" + name;
      int dir_fd = top.fd.get();
      dev_t dev = top.dev;
      CLAWBACK_RETURN_IF_ERROR(Handle(dir_fd, name.c_str(), child, dev));
    }
    return Status::Ok();
  }

 private:
  Status Handle(int parent_fd, const char* name, const std::string& cpath, std::optional<dev_t> parent_dev) {
    if (IsExcludedSystemPath(cpath) || visitor_.LeaveOut(cpath)) return Status::Ok();
    // Parents are handled first and a matched directory is never listed, so
    // the entry's own name is all that is left to check.
    if (excludes_ != nullptr && excludes_->Matches(cpath)) return Status::Ok();
    struct stat st;
    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      Unreadable(cpath, "cannot stat", errno);
      return Status::Ok();
    }
    if (S_ISSOCK(st.st_mode)) return Status::Ok();  // sockets cannot be archived; tar skips them too

    UniqueFd fd;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
      const bool dir = S_ISDIR(st.st_mode);
      fd = UniqueFd(openat(parent_fd, name,
                           O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (dir ? O_DIRECTORY : 0)));
      if (!fd.valid()) {
        Unreadable(cpath, "cannot open", errno);
        return Status::Ok();
      }
      struct stat opened;
      if (fstat(fd.get(), &opened) != 0 || (opened.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
        visitor_.Warn("changed while being read, skipped: " + cpath);
        return Status::Ok();
      }
      st = opened;
      // Only a device change can enter another filesystem; statfs only there
      // and on the entry the walk starts from (file or directory).
      if ((!parent_dev || (dir && *parent_dev != st.st_dev)) && IsOnPseudoFilesystem(fd.get())) {
        if (!parent_dev) visitor_.Warn("on a pseudo filesystem, skipped: " + cpath);
        return Status::Ok();
      }
    }

    std::string host = cpath == "/" ? root_ : host_prefix_ + cpath;
    CLAWBACK_RETURN_IF_ERROR(visitor_.Visit(WalkEntry{cpath, host, st, fd.get(), parent_fd, name}));

    if (S_ISDIR(st.st_mode)) {
      Frame frame{std::move(fd), cpath, st.st_dev, {}, 0};
      if (!ReadNames(frame.fd.get(), cpath, &frame.names)) return Status::Ok();
      std::sort(frame.names.begin(), frame.names.end());
      stack_.push_back(std::move(frame));
    }
    return Status::Ok();
  }

  bool ReadNames(int dir_fd, const std::string& cpath, std::vector<std::string>* names) {
    int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    DIR* dir = dup_fd >= 0 ? fdopendir(dup_fd) : nullptr;
    if (dir == nullptr) {
      if (dup_fd >= 0) close(dup_fd);
      Unreadable(cpath, "cannot list directory", errno);
      return false;
    }
    errno = 0;
    while (struct dirent* d = readdir(dir)) {
      const char* n = d->d_name;
      if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
      names->emplace_back(n);
    }
    int err = errno;
    closedir(dir);
    if (err != 0) Unreadable(cpath, "error listing directory", err);
    return true;
  }

  void Unreadable(const std::string& cpath, const char* what, int err) {
    if (err == ENOENT)
      visitor_.Warn("vanished while being read: " + cpath);
    else
      visitor_.Warn(std::string(what) + " " + cpath + ": " + Errno(err));
  }

  const std::string& root_;
  std::string host_prefix_;
  WalkVisitor& visitor_;
  const ExcludeRules* excludes_;  // may be null
  std::vector<Frame> stack_;
};

}  // namespace

Status WalkTree(const std::string& root, const std::string& path, WalkVisitor& visitor,
                const std::atomic<bool>* cancel, const ExcludeRules* excludes) {
  Walker walker(root, visitor, excludes);
  Status s = walker.Run(path, cancel);
  // A requested path that disappeared after CheckBackupPathsExist is a warning,
  // like any other entry that vanishes mid-backup.
  if (s.code() == Status::Code::kInvalidArgument && s.message().rfind("path does not exist", 0) == 0) {
    visitor.Warn("vanished while being read: " + path);
    return Status::Ok();
  }
  return s;
}

Status CheckPathBelowRoot(const std::string& root, const std::string& path) {
  Result<ParentDir> parent = OpenParent(root, path);
  if (!parent.ok()) return parent.status();
  if (!parent->excluded.empty()) return ExcludedPath(path, *parent);
  struct stat st;
  if (fstatat(parent->fd.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::InvalidArgument("path does not exist: " + path);
    return Status::IoError("cannot stat " + path + ": " + Errno(errno));
  }
  return Status::Ok();
}

}  // namespace clawback::agent
