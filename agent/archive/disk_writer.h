// DiskWriter: creates restored entries below a root directory through
// directory handles, never through path strings.
//
// The writer keeps the root and every directory down the current path open
// (a stack of fds). Each entry is created relative to its parent's fd with
// O_NOFOLLOW / O_EXCL / *at() calls, so a process that swaps a directory for
// a symlink while a restore runs can at most make an entry fail: nothing is
// ever created, replaced, removed or chmod-ed outside the root. Multi-
// component lookups (hard link targets, late directory fixups) go through
// OpenBeneath (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or a component
// walk where the kernel refuses openat2).
//
// Entry semantics:
//   - a new regular file is written in place (openat O_CREAT|O_EXCL): about 5
//     syscalls (openat, write, fchown, futimens, close); an existing one is
//     replaced atomically (a temporary sibling, then renameat over it);
//   - writing an SQLite database (its data starts with the SQLite header)
//     first removes the target's "-wal", "-shm" and "-journal" for that path,
//     so a stale WAL is never replayed over the restored database;
//   - directories are created 0700 and get their mode, owner, xattrs, ACLs
//     and mtime once no later entry can land in them (when the writer leaves
//     them, or at Finish for the root and any directory entered again);
//   - a symlink or non-directory where a parent directory is needed refuses
//     the entry; a symlink or file where a directory entry goes is replaced;
//   - hard links are made with linkat from the target's own parent fd.
// Errors: FailedPrecondition means "this entry was not written" (the message,
// naming container paths only, is the skip reason; the restore goes on);
// ResourceExhausted (ENOSPC, EDQUOT) and IoError (EIO, EROFS, anything that
// leaves the tree in doubt) mean the restore must fail.
//
// Not thread-safe: one restore, one writer. No process-wide state (no chdir;
// the umask is read once per process).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "agent/archive/beneath.h"
#include "agent/archive/entry_filter.h"
#include "shared/status.h"
#include "shared/unique_fd.h"

namespace clawback::agent {

// What to create for one archive entry. Paths are normalized container paths
// from DecideEntry ("/" is the root itself).
struct DiskEntry {
  std::string path;
  EntryType type = EntryType::kRegular;
  mode_t mode = 0644;              // permission bits, including setuid/setgid/sticky
  int64_t uid = -1, gid = -1;      // -1: leave as created
  bool has_mtime = false;
  struct timespec mtime {};
  std::string symlink_target;      // kSymlink
  dev_t rdev = 0;                  // devices
  int64_t size = 0;                // kRegular: final size (trailing holes included)
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::string acl_access, acl_default;  // kernel xattr form (posix_acl.h), empty when none
};

class DiskWriter {
 public:
  // Opens the restore root (which must be a directory; symlinks in the root
  // path itself are the operator's choice and resolved once here).
  static Result<std::unique_ptr<DiskWriter>> Open(const std::string& root, Resolution resolution);
  ~DiskWriter();  // drops a file still being written (its temporary is removed), applies pending fixups
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  // Creates a directory, symlink, device or FIFO, or opens a regular file for
  // its data (then Write ... Commit).
  Status Create(const DiskEntry& entry);
  // Data of the regular file opened by Create, at `offset` (holes are skipped).
  Status Write(const void* data, size_t size, int64_t offset);
  // Finishes the regular file: size, owner, mode, xattrs, ACLs, mtime; then
  // removes database sidecars and renames it into place when it replaces one.
  Status Commit();
  // Drops the regular file being written (used when the stream fails).
  void Abort();
  // Hard link `path` -> existing `target` (both container paths).
  Status Link(const std::string& path, const std::string& target);
  // Applies every pending directory fixup and flushes the file system
  // (syncfs), so a restore reported complete is on disk.
  Status Finish();

  // Whether the last entry Create or Link made replaced something that was
  // there (false: it was created where nothing was).
  bool replaced_existing() const { return replaced_existing_; }
  // Problems that did not stop an entry (an xattr the file system refused ...).
  std::vector<std::string> TakeWarnings() { return std::move(warnings_); }
  // The resolution actually used for multi-component lookups.
  Resolution resolution() const { return EffectiveResolution(resolution_); }

 private:
  struct DirFixup {
    mode_t mode = 0;
    int64_t uid = -1, gid = -1;
    bool has_mtime = false;
    struct timespec mtime {};
    std::vector<std::pair<std::string, std::string>> xattrs;
    std::string acl_access, acl_default;
  };
  struct Level {
    std::string name;     // component name in the parent ("" for the root)
    UniqueFd fd;          // O_RDONLY|O_DIRECTORY
    bool has_fixup = false;
    DirFixup fixup;
  };
  struct OpenFile {
    UniqueFd fd;
    std::string path;        // container path (messages)
    std::string name;        // final name in the parent
    std::string temp_name;   // non-empty when replacing an existing entry
    int64_t size = 0;
    int64_t end = 0;         // end of the data written so far
    bool sqlite = false;     // data starts with the SQLite header
    DiskEntry meta;
  };

  DiskWriter(UniqueFd root, Resolution resolution);

  // Makes the stack hold exactly the parents of `path`, creating missing
  // directories; returns the parent fd and sets *name to the last component.
  Result<int> EnterParent(const std::string& path, std::string* name);
  Status PushChild(const std::string& name, const std::string& path_so_far);
  void PopLevel();
  Status CreateDirectory(int parent, const std::string& name, const DiskEntry& entry);
  Status CreateSpecial(int parent, const std::string& name, const DiskEntry& entry);
  // Puts the entry built at `temp` in place of `name`, removing an empty
  // directory in the way.
  Status ReplaceWith(int parent, const std::string& temp, const std::string& name, const std::string& path);
  void ApplyFixup(int fd, const DirFixup& fixup, const std::string& path);
  void ApplyAttributes(int fd, const std::string& path, int64_t uid, int64_t gid, mode_t mode, bool set_mode,
                       const std::vector<std::pair<std::string, std::string>>& xattrs,
                       const std::string& acl_access, const std::string& acl_default, bool has_mtime,
                       const struct timespec& mtime);
  std::string TempName(const std::string& name);
  std::string CurrentPath() const;
  Status Fail(int err, const std::string& what, const std::string& path);
  void Warn(std::string message);

  Resolution resolution_;
  std::vector<Level> stack_;  // [0] is the root
  OpenFile file_;
  bool file_open_ = false;
  bool is_root_ = false;      // may chown, keeps setuid bits
  bool replaced_existing_ = false;
  uint64_t temp_counter_ = 0;
  // Hashes of the directories whose fixup was applied when the writer left
  // them (8 bytes each, not their metadata: memory stays small on trees of
  // millions of directories). One entered again gets its mtime, as it was
  // then, put back at Finish (new children changed it).
  std::unordered_set<size_t> finalized_;
  struct Revisit {
    std::string path;
    struct timespec mtime;
  };
  std::vector<Revisit> revisited_;
  std::vector<std::string> warnings_;
};

}  // namespace clawback::agent
