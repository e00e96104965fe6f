// RestorePreview: what a restore would do to each entry, decided read-only
// (the restore dry run, ExtractRestore with RestoreOptions::dry_run).
//
// For an entry the EntryFilter allowed, the target below the root is looked
// up with the same rules the DiskWriter writes with — parents through
// directory handles (OpenBeneath: no symlink, no "..", never outside the
// root), the entry itself with O_NOFOLLOW — and compared:
//   missing                                              -> kCreate
//   same type and  file: same size and same bytes (compared streaming
//                        against the archive's data, holes as zeros)
//                  symlink: same target
//                  hard link: already a link to the same inode
//                  dir / device / FIFO: same permission bits (and device number)
//                                                         -> kUnchanged
//   anything else                                         -> kReplace
// What the DiskWriter would refuse is refused here with the same kind of
// reason (FailedPrecondition: a parent that is a symlink or not a directory,
// a non-empty directory where a non-directory goes, a hard link whose target
// neither exists nor comes earlier in the archive). Entries below a directory
// this preview decided to create — or to make anew where a non-directory was
// — are kCreate without looking (a real restore would create them in it).
//
// Nothing is created, opened for writing, or changed: the root and files are
// opened O_RDONLY (O_PATH for directories on the way), no hooks. Memory: the
// paths of the directories decided "create anew" and an 8-byte hash per file
// entry (hard link targets). Not thread-safe: one preview per restore.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "agent/archive/beneath.h"
#include "agent/archive/disk_writer.h"
#include "shared/status.h"
#include "shared/unique_fd.h"

namespace clawback::agent {

enum class Change { kCreate, kReplace, kUnchanged };

// Supplies a regular file entry's archive data: each call returns the next
// block (data, size, offset in the file) or size 0 at the end; a non-OK
// status when the stream broke.
struct DataBlock {
  const void* data = nullptr;
  size_t size = 0;
  int64_t offset = 0;
};
using DataBlocks = std::function<Result<DataBlock>()>;

class RestorePreview {
 public:
  // Opens the restore root read-only (InvalidArgument when it is not a directory).
  static Result<std::unique_ptr<RestorePreview>> Open(const std::string& root, Resolution resolution);

  // `entry.path` is the normalized container path from DecideEntry. For a
  // regular file, `data` is read only when the sizes match (to compare).
  // FailedPrecondition: the restore would skip this entry (the message says
  // why); other errors are I/O failures reading the target or the stream.
  Result<Change> Classify(const DiskEntry& entry, const DataBlocks& data);
  // A hard link entry `path` -> `target` (container paths).
  Result<Change> ClassifyLink(const std::string& path, const std::string& target);

 private:
  RestorePreview(UniqueFd root, Resolution resolution) : root_(std::move(root)), resolution_(resolution) {}
  bool UnderFreshDirectory(const std::string& path) const;
  // Opens the parent directory of `path` (O_PATH); -1 with errno on failure.
  int OpenParent(const std::string& path, std::string* name) const;
  Status LookupError(int err, const std::string& path) const;
  Result<Change> CompareFile(int parent, const std::string& name, const DiskEntry& entry, const DataBlocks& data);
  Result<Change> Decided(const std::string& path, bool is_file, Result<Change> change);

  UniqueFd root_;
  Resolution resolution_;
  std::unordered_set<std::string> fresh_dirs_;  // directories a restore would make anew
  std::unordered_set<size_t> files_;            // hashes of file paths classified (hard link targets)
};

}  // namespace clawback::agent
