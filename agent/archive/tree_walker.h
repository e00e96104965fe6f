// TreeWalker: depth-first walk of one backup path below a filesystem root,
// without chdir (openat/fstatat relative to directory descriptors, so any
// number of walks can run at once) and without following symlinks.
//
// What it leaves out, so the visitor never sees it: excluded system dirs
// (/proc /sys /dev /tmp /run relative to the root, with everything below),
// directories that are mount points of pseudo filesystems (pseudo_fs.h), and
// sockets, and whatever the backup's exclude rules match (checked on the name
// before the entry is stat'ed or opened, so an excluded subtree is never
// entered). Entries are visited parent before children, names sorted bytewise
// within a directory. Entries that vanish or cannot be opened are reported to
// the visitor as warnings and skipped. Intermediate components of the
// requested path must not be symlinks unless the root is "/" (a container must
// not redirect the agent into the host's filesystem).
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
};

// Walks `path` (normalized absolute container path) below `root`. Returns the
// first non-OK status from the visitor, Canceled when *cancel became true,
// InvalidArgument when the path goes through a symlink or a non-directory,
// IoError when the root cannot be opened. A missing `path` is a warning.
// `excludes` (may be null) leaves out matching entries and their subtrees;
// when `path` itself or an ancestor matches, nothing is visited.
Status WalkTree(const std::string& root, const std::string& path, WalkVisitor& visitor,
                const std::atomic<bool>* cancel, const ExcludeRules* excludes = nullptr);

// lstat of root + path with the same path resolution as WalkTree.
// InvalidArgument "path does not exist: /x" when it is missing.
Status CheckPathBelowRoot(const std::string& root, const std::string& path);

}  // namespace clawback::agent
