// ExtractRestore (archive_stream.h).
//
// Pipeline: ChunkSource -> ZstdDecompressor (strict about truncation, on its
// own ReadAhead thread so decompression overlaps extraction) -> archive_read (tar formats) -> EntryFilter (refuse before touching disk) ->
// archive_write_disk with absolute target paths below the realpath'd root and
// the SECURE_* flags, which check every existing path component with
// fstatat/openat (no chdir for paths below PATH_MAX; longer ones are refused by
// the filter).
#include <climits>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "agent/archive/archive_stream.h"
#include "agent/archive/entry_filter.h"
#include "agent/archive/libarchive_handles.h"
#include "agent/archive/owner_db.h"
#include "agent/archive/read_ahead.h"
#include "agent/archive/zstd_decompressor.h"

namespace clawback::agent {
namespace {

using internal::ArchiveError;
using internal::ArchiveReader;
using internal::ArchiveWriter;

// Decompressed bytes in flight between the decompressor thread and the
// extractor: kReadAheadBuffers blocks of kTarBufferBytes.
constexpr size_t kTarBufferBytes = 256 * 1024;
constexpr size_t kReadAheadBuffers = 4;
constexpr size_t kMaxMessages = 1000;

constexpr int kExtractFlags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                              ARCHIVE_EXTRACT_SAFE_WRITES | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                              ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL;

la_int64_t LookupUid(void* db, const char* name, la_int64_t uid) {
  if (name != nullptr && *name != '\0') {
    if (auto id = static_cast<OwnerDb*>(db)->UserId(name)) return *id;
  }
  return uid;
}

la_int64_t LookupGid(void* db, const char* name, la_int64_t gid) {
  if (name != nullptr && *name != '\0') {
    if (auto id = static_cast<OwnerDb*>(db)->GroupId(name)) return *id;
  }
  return gid;
}

EntryType TypeOf(archive_entry* entry) {
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return EntryType::kRegular;
    case AE_IFDIR: return EntryType::kDirectory;
    case AE_IFLNK: return EntryType::kSymlink;
    case AE_IFCHR: return EntryType::kCharDevice;
    case AE_IFBLK: return EntryType::kBlockDevice;
    case AE_IFIFO: return EntryType::kFifo;
    case AE_IFSOCK: return EntryType::kSocket;
    default: return EntryType::kUnknown;
  }
}

// Feeds libarchive decompressed tar bytes; remembers the real failure.
struct TarInput {
  ReadAhead* read_ahead = nullptr;
  Status error;

  static la_ssize_t Read(archive* a, void* self_ptr, const void** out) {
    auto* self = static_cast<TarInput*>(self_ptr);
    Result<ReadAhead::Block> block = self->read_ahead->Next();
    if (!block.ok()) {
      self->error = block.status();
      archive_set_error(a, EIO, "%s", block.status().message().c_str());
      return -1;
    }
    *out = block->data;
    return static_cast<la_ssize_t>(block->size);
  }

  // Reads and verifies the rest of the stream (after the tar end marker there
  // is only padding): OK when it ends cleanly.
  Status Drain() {
    for (;;) {
      Result<ReadAhead::Block> block = read_ahead->Next();
      if (!block.ok()) return block.status();
      if (block->size == 0) return Status::Ok();
    }
  }
};

class Extractor {
 public:
  Extractor(const RestoreOptions& options, RestoreSummary& summary) : options_(options), summary_(summary) {}

  Status Run(ChunkSource& source) {
    CLAWBACK_RETURN_IF_ERROR(ResolveRoot());
    owners_ = OwnerDb::Load(root_);

    Result<std::unique_ptr<ZstdDecompressor>> decompressor = ZstdDecompressor::Create(source);
    if (!decompressor.ok()) return decompressor.status();
    ZstdDecompressor* zstd = decompressor->get();
    // Declared after `decompressor`, so it is stopped and joined first.
    ReadAhead read_ahead([zstd](void* buf, size_t capacity) { return zstd->Read(buf, capacity); },
                         kReadAheadBuffers, kTarBufferBytes);
    input_.read_ahead = &read_ahead;

    reader_.reset(archive_read_new());
    writer_.reset(archive_write_disk_new());
    if (!reader_ || !writer_) return Status::Internal("cannot allocate libarchive handles");
    archive_read_support_format_tar(reader_.get());
    archive_write_disk_set_options(writer_.get(), kExtractFlags);
    current_flags_ = kExtractFlags;
    archive_write_disk_set_user_lookup(writer_.get(), &owners_, LookupUid, nullptr);
    archive_write_disk_set_group_lookup(writer_.get(), &owners_, LookupGid, nullptr);
    if (archive_read_open(reader_.get(), &input_, nullptr, &TarInput::Read, nullptr) != ARCHIVE_OK)
      return ReadError();

    for (;;) {
      if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed))
        return Status::Canceled("restore canceled");
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(reader_.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_RETRY) continue;
      if (r < ARCHIVE_WARN) return ReadError();
      CLAWBACK_RETURN_IF_ERROR(RestoreEntry(entry));
    }
    // Directory modes and times are applied last (deferred fixups).
    int r = archive_write_close(writer_.get());
    if (r == ARCHIVE_FATAL) return WriteError("finishing restore");
    if (r != ARCHIVE_OK) Warn(Relative(ArchiveError(writer_.get())));
    RestoreDirectoryTimes();
    // The tar end marker was seen; the rest of the stream must still be whole.
    return input_.Drain();
  }

 private:
  Status ResolveRoot() {
    char* real = realpath(options_.root.c_str(), nullptr);
    if (real == nullptr) return Status::InvalidArgument("restore root " + options_.root + ": " + std::strerror(errno));
    root_ = real;
    free(real);
    struct stat st;
    if (stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::InvalidArgument("restore root is not a directory: " + options_.root);
    return Status::Ok();
  }

  Status RestoreEntry(archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    const char* raw_link = archive_entry_hardlink(entry);
    std::string name = raw_name ? raw_name : "";
    EntryCandidate candidate;
    candidate.name = name;
    candidate.type = TypeOf(entry);
    candidate.is_hardlink = raw_link != nullptr;
    candidate.hardlink_name = raw_link ? raw_link : "";
    candidate.allow_devices = options_.allow_devices;
    candidate.root_length = root_.size();
    EntryDecision decision = DecideEntry(candidate);
    if (!decision.allowed) {
      Skip(name, decision.reason);
      return Status::Ok();  // libarchive skips the entry's data on the next header
    }

    archive_entry_copy_pathname(entry, JoinRoot(root_, decision.path).c_str());
    if (candidate.is_hardlink) {
      archive_entry_copy_hardlink(entry, JoinRoot(root_, decision.hardlink_path).c_str());
      // A hard link entry carrying data would be written through the link
      // target; tar never produces one, so the data is dropped.
      archive_entry_set_size(entry, 0);
    }

    if (candidate.type == EntryType::kDirectory && !candidate.is_hardlink && archive_entry_mtime_is_set(entry))
      directory_times_.push_back({decision.path, archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)});

    // Replacing an existing file goes through a temporary file and a rename
    // (SAFE_WRITES), so a reader never sees it half-written. A new path has no
    // reader to protect and is written in place, which saves a create and a
    // rename per file on the common restore into an empty home.
    struct stat existing;
    const bool exists = lstat(archive_entry_pathname(entry), &existing) == 0;
    const int flags = exists ? kExtractFlags : (kExtractFlags & ~ARCHIVE_EXTRACT_SAFE_WRITES);
    if (flags != current_flags_) {
      archive_write_disk_set_options(writer_.get(), flags);
      current_flags_ = flags;
    }

    int r = archive_write_header(writer_.get(), entry);
    if (r == ARCHIVE_FATAL) return WriteError(name);
    if (r == ARCHIVE_FAILED) {
      int err = archive_errno(writer_.get());
      if (err == ENOSPC || err == EDQUOT || err == EROFS || err == EIO) return WriteError(name);
      Skip(name, Relative(ArchiveError(writer_.get())));
      return Status::Ok();
    }
    if (r == ARCHIVE_WARN) Warn(PrintableEntryName(name) + ": " + Relative(ArchiveError(writer_.get())));

    if (archive_entry_size(entry) > 0) CLAWBACK_RETURN_IF_ERROR(CopyData(name));

    r = archive_write_finish_entry(writer_.get());
    if (r == ARCHIVE_FATAL) return WriteError(name);
    if (r != ARCHIVE_OK) Warn(PrintableEntryName(name) + ": " + Relative(ArchiveError(writer_.get())));
    ++summary_.entries_written;
    return Status::Ok();
  }

  Status CopyData(const std::string& name) {
    for (;;) {
      if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed))
        return Status::Canceled("restore canceled");
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(reader_.get(), &block, &size, &offset);
      if (r == ARCHIVE_EOF) return Status::Ok();
      if (r < ARCHIVE_WARN) return ReadError();
      la_ssize_t w = archive_write_data_block(writer_.get(), block, size, offset);
      if (w < ARCHIVE_OK) {
        if (w == ARCHIVE_WARN) {
          Warn(PrintableEntryName(name) + ": " + Relative(ArchiveError(writer_.get())));
        } else {
          return WriteError(name);
        }
      }
      summary_.bytes_written += size;
    }
  }

  // libarchive restores the times of directories it creates, but leaves an
  // existing directory's alone, and writing its children changes its mtime
  // anyway. So every archived directory gets its mtime once all entries are
  // in, deepest first. Each is opened component by component from the root
  // with O_NOFOLLOW, so a symlink planted in the target is never followed.
  void RestoreDirectoryTimes() {
    std::sort(directory_times_.begin(), directory_times_.end(),
              [](const DirectoryTime& a, const DirectoryTime& b) { return a.path.size() > b.path.size(); });
    for (const DirectoryTime& d : directory_times_) {
      int fd = OpenDirectoryBelowRoot(d.path);
      if (fd < 0) {
        Warn(PrintableEntryName(d.path) + ": cannot restore directory time: " + std::strerror(errno));
        continue;
      }
      const struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(d.mtime), d.mtime_nsec}};
      if (futimens(fd, times) != 0)
        Warn(PrintableEntryName(d.path) + ": cannot restore directory time: " + std::strerror(errno));
      close(fd);
    }
  }

  // An O_DIRECTORY fd for a normalized container path, or -1 with errno.
  int OpenDirectoryBelowRoot(const std::string& path) const {
    int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t pos = 1;
    while (fd >= 0 && pos < path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      const std::string component = path.substr(pos, slash - pos);
      int next = openat(fd, component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int saved = errno;
      close(fd);
      errno = saved;
      fd = next;
      pos = slash + 1;
    }
    return fd;
  }

  // The source's own status if it broke, else the archive is corrupt.
  Status ReadError() {
    if (!input_.error.ok()) return input_.error;
    return Status::Corruption(std::string("archive is corrupt: ") + ArchiveError(reader_.get()));
  }

  Status WriteError(const std::string& name) {
    int err = archive_errno(writer_.get());
    std::string message = "writing " + PrintableEntryName(name) + ": " + Relative(ArchiveError(writer_.get()));
    if (err == ENOSPC || err == EDQUOT) return Status::ResourceExhausted(message);
    return Status::IoError(message);
  }

  // libarchive messages name absolute host paths; users know container paths.
  std::string Relative(std::string message) const {
    if (root_ == "/") return message;
    const std::string prefix = root_ + "/";
    for (size_t pos; (pos = message.find(prefix)) != std::string::npos;) message.erase(pos, prefix.size());
    return message;
  }

  void Skip(const std::string& name, std::string reason) {
    if (summary_.skipped.size() < kMaxMessages)
      summary_.skipped.push_back({PrintableEntryName(name), std::move(reason)});
  }

  void Warn(std::string message) {
    if (summary_.warnings.size() < kMaxMessages) summary_.warnings.push_back(std::move(message));
  }

  const RestoreOptions& options_;
  RestoreSummary& summary_;
  std::string root_;
  struct DirectoryTime {
    std::string path;  // normalized container path
    int64_t mtime;
    long mtime_nsec;
  };
  std::vector<DirectoryTime> directory_times_;
  int current_flags_ = 0;  // the writer's options for the entry being written
  OwnerDb owners_;  // outlives writer_ (its lookups point here)
  TarInput input_;
  ArchiveReader reader_;
  ArchiveWriter writer_;
};

}  // namespace

Result<RestoreSummary> ExtractRestore(const RestoreOptions& options, ChunkSource& source,
                                      RestoreSummary* partial) {
  RestoreSummary summary;
  Status status;
  {
    Extractor extractor(options, summary);
    status = extractor.Run(source);
    // The extractor's destructor frees the disk writer, which applies any
    // pending directory fixups; count is final only after that.
  }
  if (!status.ok()) {
    if (partial != nullptr) *partial = summary;
    return status;
  }
  return summary;
}

}  // namespace clawback::agent
