// TreeWalker: depth-first walk of one backup path below a filesystem root,
// without chdir (openat/fstatat relative to directory descriptors, so any
// number of walks can run at once) and without following symlinks.
//
// What it leaves out, so the visitor never sees it: excluded system dirs
// (/proc /sys /dev /tmp /run relative to the root, with everything below),
// anything on a pseudo filesystem (pseudo_fs.h) where the walk starts or
// crosses into one, sockets, and whatever the backup's exclude rules match
// (checked on the name before the entry is stat'ed or opened, so an excluded
// subtree is never entered). Entries are visited parent before children,
// names sorted bytewise within a directory. Entries that vanish or cannot be
// opened are reported to the visitor as warnings and skipped.
//
// The requested path is resolved inside the root, component by component with
// O_NOFOLLOW (never by the kernel following a path string): a symlinked
// intermediate component is read and resolved again within the root (an
// absolute target starts at the root, ".." stops there), as in a chroot. The
// exclusions then apply to what the path resolves to: "/var/run/lock" with
// var/run -> ../run is inside /run, and "~/p/1/environ" with p -> /proc is
// inside /proc. The walk's entries are named by the resolved path. The last
// component is not followed (a symlink is archived as itself).
//
// Resources: one open directory descriptor and the sorted name list per level
// of depth on the current path.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <string>

#include "shared/exclude_rules.h"
#include "shared/status.h"

namespace clawback::agent {

struct WalkEntry {
  const std::string& container_path;  // normalized absolute path in the container
  const std::string& host_path;       // root + container_path (for messages/libarchive)
  const struct stat& st;              // lstat of the entry (fstat of `fd` when open)
  int fd;                             // O_RDONLY descriptor for regular files and dirs, else -1
  int parent_fd;                      // directory holding the entry
  const char* name;                   // the entry's name within parent_fd
};

class WalkVisitor {
 public:
  virtual ~WalkVisitor() = default;
  // A non-OK status stops the walk and is returned by WalkTree.
  virtual Status Visit(const WalkEntry& entry) = 0;
  virtual void Warn(std::string message) = 0;
  // Asked before an entry is looked at (so before it can vanish or fail):
  // true leaves it out silently, with everything below it.
  virtual bool LeaveOut(const std::string& container_path) { return false; }
};

// Walks `path` (normalized absolute container path) below `root`. Returns the
// first non-OK status from the visitor, Canceled when *cancel became true,
// InvalidArgument when the path goes through a non-directory or too many
// symlinks, IoError when the root cannot be opened. A missing `path`, or one
// that now resolves into an excluded place, is a warning.
// `excludes` (may be null) leaves out matching entries and their subtrees;
// when `path` itself or an ancestor matches, nothing is visited.
Status WalkTree(const std::string& root, const std::string& path, WalkVisitor& visitor,
                const std::atomic<bool>* cancel, const ExcludeRules* excludes = nullptr);

// lstat of root + path with the same path resolution as WalkTree.
// InvalidArgument "path does not exist: /x" when it is missing, and
// "path is inside an excluded system directory: /x (...)" when it resolves
// into an excluded system dir or onto a pseudo filesystem.
Status CheckPathBelowRoot(const std::string& root, const std::string& path);

}  // namespace clawback::agent
