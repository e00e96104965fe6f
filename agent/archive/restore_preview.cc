#include "agent/archive/restore_preview.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace clawback::agent {
namespace {

constexpr size_t kCompareBytes = 256 * 1024;

size_t PathHash(const std::string& path) { return std::hash<std::string>{}(path); }

bool IsSymlinkOrNotDir(int err) { return err == ELOOP || err == ENOTDIR || err == EXDEV; }


// True when the directory `name` in `parent` has no entries.
Result<bool> EmptyDirectory(int parent, const std::string& name, const std::string& path) {
  int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::IoError("opening " + path + ": " + std::strerror(errno));
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return Status::IoError("reading " + path + ": " + std::strerror(errno));
  }
  bool empty = true;
  while (dirent* d = readdir(dir)) {
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(dir);
  return empty;
}

bool SameType(EntryType type, mode_t mode) {
  switch (type) {
    case EntryType::kRegular: return S_ISREG(mode);
    case EntryType::kDirectory: return S_ISDIR(mode);
    case EntryType::kSymlink: return S_ISLNK(mode);
    case EntryType::kCharDevice: return S_ISCHR(mode);
    case EntryType::kBlockDevice: return S_ISBLK(mode);
    case EntryType::kFifo: return S_ISFIFO(mode);
    default: return false;
  }
}

}  // namespace

Result<std::unique_ptr<RestorePreview>> RestorePreview::Open(const std::string& root, Resolution resolution) {
  UniqueFd fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid())
    return Status::InvalidArgument("restore root " + root + " is not a directory that can be opened: " +
                                   std::strerror(errno));
  return std::unique_ptr<RestorePreview>(new RestorePreview(std::move(fd), resolution));
}

bool RestorePreview::UnderFreshDirectory(const std::string& path) const {
  if (fresh_dirs_.empty()) return false;
  for (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0; slash = path.rfind('/', slash - 1)) {
    if (fresh_dirs_.count(path.substr(0, slash)) > 0) return true;
  }
  return false;
}

// The refusal for a parent of `path` that is a symlink or not a directory,
// naming that parent as the DiskWriter does.
Status RestorePreview::LookupError(int err, const std::string& path) const {
  if (!IsSymlinkOrNotDir(err)) return Status::IoError("looking up " + path + ": " + std::strerror(err));
  std::string culprit = path;
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    UniqueFd fd(OpenBeneath(root_.get(), path.substr(1, slash - 1), O_PATH | O_DIRECTORY, resolution_));
    if (!fd.valid()) {
      culprit = path.substr(0, slash);
      break;
    }
  }
  return Status::FailedPrecondition("refusing to write through a symlink or non-directory: " + culprit);
}

int RestorePreview::OpenParent(const std::string& path, std::string* name) const {
  // path is normalized and not "/": "/a/b/c" -> parent "a/b", name "c".
  const size_t slash = path.rfind('/');
  *name = path.substr(slash + 1);
  const std::string parent = slash == 0 ? std::string() : path.substr(1, slash - 1);
  return OpenBeneath(root_.get(), parent, O_PATH | O_DIRECTORY, resolution_);
}

Result<Change> RestorePreview::Decided(const std::string& path, bool is_file, Result<Change> change) {
  // A file this restore rewrites gets a new inode: hard links to it are new too.
  if (is_file && change.ok() && *change != Change::kUnchanged) files_.insert(PathHash(path));
  return change;
}

Result<Change> RestorePreview::Classify(const DiskEntry& entry, const DataBlocks& data) {
  const bool dir = entry.type == EntryType::kDirectory;
  const bool file = entry.type == EntryType::kRegular;
  if (entry.path == "/") {
    struct stat st;
    if (fstat(root_.get(), &st) != 0) return Status::IoError(std::string("stat of the root: ") + std::strerror(errno));
    return (st.st_mode & 07777) == (entry.mode & 07777) ? Change::kUnchanged : Change::kReplace;
  }
  auto create = [&]() -> Result<Change> {
    if (dir) fresh_dirs_.insert(entry.path);
    return Decided(entry.path, file, Change::kCreate);
  };
  if (UnderFreshDirectory(entry.path)) return create();
  std::string name;
  UniqueFd parent(OpenParent(entry.path, &name));
  if (!parent.valid()) {
    if (errno == ENOENT) return create();  // a missing parent is created, and so is this entry
    return LookupError(errno, entry.path);
  }
  struct stat st;
  if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return create();
    return Status::IoError("looking up " + entry.path + ": " + std::strerror(errno));
  }
  if (!SameType(entry.type, st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      // Only an empty directory gives way to a non-directory (DiskWriter::ReplaceWith).
      Result<bool> empty = EmptyDirectory(parent.get(), name, entry.path);
      if (!empty.ok()) return empty.status();
      if (!*empty) return Status::FailedPrecondition("a non-empty directory is in the way: " + entry.path);
    }
    if (dir) fresh_dirs_.insert(entry.path);  // made anew where a non-directory was
    return Decided(entry.path, file, Change::kReplace);
  }
  switch (entry.type) {
    case EntryType::kRegular:
      return Decided(entry.path, true, CompareFile(parent.get(), name, entry, data));
    case EntryType::kSymlink: {
      std::vector<char> target(PATH_MAX + 1);
      ssize_t n = readlinkat(parent.get(), name.c_str(), target.data(), target.size());
      if (n < 0) return Status::IoError("reading symlink " + entry.path + ": " + std::strerror(errno));
      return std::string_view(target.data(), static_cast<size_t>(n)) == entry.symlink_target ? Change::kUnchanged
                                                                                              : Change::kReplace;
    }
    case EntryType::kCharDevice:
    case EntryType::kBlockDevice:
      if (st.st_rdev != entry.rdev) return Change::kReplace;
      [[fallthrough]];
    default:
      return (st.st_mode & 07777) == (entry.mode & 07777) ? Change::kUnchanged : Change::kReplace;
  }
}

Result<Change> RestorePreview::CompareFile(int parent, const std::string& name, const DiskEntry& entry,
                                           const DataBlocks& data) {
  // O_NONBLOCK: were it swapped for a FIFO since the stat, the open must not hang.
  UniqueFd fd(openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("opening " + entry.path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != entry.size) return Change::kReplace;
  std::vector<char> buf(kCompareBytes);
  // Compares [offset, offset + size) of the file with `expected`, or with
  // zeros when `expected` is null (a hole in the archive's data).
  auto same = [&](int64_t offset, const char* expected, size_t size) -> Result<bool> {
    while (size > 0) {
      const size_t want = size < buf.size() ? size : buf.size();
      ssize_t n = pread(fd.get(), buf.data(), want, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IoError("reading " + entry.path + ": " + std::strerror(errno));
      if (n == 0) return false;  // shorter than it said
      for (ssize_t i = 0; expected == nullptr && i < n; ++i)
        if (buf[static_cast<size_t>(i)] != 0) return false;
      if (expected != nullptr && std::memcmp(buf.data(), expected, static_cast<size_t>(n)) != 0) return false;
      if (expected != nullptr) expected += n;
      offset += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  int64_t pos = 0;
  for (;;) {
    Result<DataBlock> block = data();
    if (!block.ok()) return block.status();
    if (block->size == 0) break;
    if (block->offset < pos || block->offset + static_cast<int64_t>(block->size) > entry.size)
      return Change::kReplace;  // data outside the declared size: not what is on disk
    Result<bool> hole = same(pos, nullptr, static_cast<size_t>(block->offset - pos));
    if (!hole.ok()) return hole.status();
    if (!*hole) return Change::kReplace;
    Result<bool> bytes = same(block->offset, static_cast<const char*>(block->data), block->size);
    if (!bytes.ok()) return bytes.status();
    if (!*bytes) return Change::kReplace;
    pos = block->offset + static_cast<int64_t>(block->size);
  }
  Result<bool> tail = same(pos, nullptr, static_cast<size_t>(entry.size - pos));
  if (!tail.ok()) return tail.status();
  return *tail ? Change::kUnchanged : Change::kReplace;
}

Result<Change> RestorePreview::ClassifyLink(const std::string& path, const std::string& target) {
  if (UnderFreshDirectory(path)) return Change::kCreate;
  std::string name;
  UniqueFd parent(OpenParent(path, &name));
  const bool target_rewritten = files_.count(PathHash(target)) > 0;
  // The target must exist when the link is made: on disk, or written by this restore.
  struct stat target_st {};
  bool target_on_disk = false;
  if (!target_rewritten) {
    const size_t slash = target.rfind('/');
    UniqueFd dir(OpenBeneath(root_.get(), slash == 0 ? std::string() : target.substr(1, slash - 1),
                             O_PATH | O_DIRECTORY, resolution_));
    if (!dir.valid()) {
      if (errno == ENOENT) return Status::FailedPrecondition("hard link target does not exist: " + target);
      if (IsSymlinkOrNotDir(errno))
        return Status::FailedPrecondition("hard link target goes through a symlink or non-directory: " + target);
      return Status::IoError("resolving hard link target " + target + ": " + std::strerror(errno));
    }
    if (fstatat(dir.get(), target.substr(slash + 1).c_str(), &target_st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Status::FailedPrecondition("hard link target does not exist: " + target);
      return Status::IoError("looking up " + target + ": " + std::strerror(errno));
    }
    target_on_disk = true;
  }
  if (!parent.valid()) {
    if (errno == ENOENT) return Change::kCreate;
    return LookupError(errno, path);
  }
  struct stat st;
  if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Change::kCreate;
    return Status::IoError("looking up " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    Result<bool> empty = EmptyDirectory(parent.get(), name, path);
    if (!empty.ok()) return empty.status();
    if (!*empty) return Status::FailedPrecondition("a non-empty directory is in the way: " + path);
    return Change::kReplace;
  }
  if (target_on_disk && st.st_dev == target_st.st_dev && st.st_ino == target_st.st_ino) return Change::kUnchanged;
  return Change::kReplace;
}

}  // namespace clawback::agent
