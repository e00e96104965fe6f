// WriteBackup and CheckBackupPathsExist (archive_stream.h).
//
// Pipeline, all on the calling thread except the compressor's workers:
//   TreeWalker (openat, no chdir) -> archive_read_disk_entry_from_file (stat,
//   xattrs, ACLs, sparse map, owner names via OwnerDb) -> linkresolver ->
//   archive_write (pax, unblocked, uncompressed) -> WriteToCompressor
//   -> SeekableCompressor (frames at member boundaries, worker pool) -> ChunkSink.
// The archive is format 2 (docs/archive-format.md): as each entry is written
// its index line is made with the tar offsets counted through
// WriteToCompressor — exact, since the writer is unblocked — and handed to
// the compressor, which fills in the SHA-256 of the content from the frames
// it sends (a sparse file's is computed here) and passes the line on to the
// archive_index::IndexWriter (compressed as it grows); the index frame and
// seek table end the stream.
// File data is read by us with large reads rather than through
// archive_read_data_block, so shrinking/growing files are handled explicitly.
// A file starting with the SQLite header is written instead as a consistent
// image read through SQLite (DatabaseSnapshot, sqlite_capture.h): the read
// transaction begins before the tar header is written (its size is the
// image's), the pages follow, and the transaction ends with the entry.
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "agent/archive/archive_stream.h"
#include "agent/archive/libarchive_handles.h"
#include "agent/archive/owner_db.h"
#include "agent/archive/sqlite_capture.h"
#include "agent/archive/tree_walker.h"
#include "agent/archive/seekable_compressor.h"
#include "shared/archive_index.h"
#include "shared/path_rules.h"

namespace clawback::agent {
namespace {

using internal::ArchiveEntry;
using internal::ArchiveError;
using internal::ArchiveReader;
using internal::ArchiveWriter;
using internal::LinkResolver;

constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr size_t kMaxWarnings = 1000;

// SHA-256 of one entry's content as archived.
class ContentHash {
 public:
  ContentHash() : ctx_(EVP_MD_CTX_new()) {}
  ~ContentHash() { EVP_MD_CTX_free(ctx_); }
  ContentHash(const ContentHash&) = delete;
  ContentHash& operator=(const ContentHash&) = delete;

  Status Begin() {
    bytes_ = 0;
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
      return Status::Internal("SHA-256 unavailable");
    return Status::Ok();
  }
  void Update(const void* data, size_t size) {
    EVP_DigestUpdate(ctx_, data, size);
    bytes_ += size;
  }
  // Hashes the zeros the writer pads a short entry with up to `size`, and
  // returns the lowercase hex digest.
  Result<std::string> Finish(uint64_t size) {
    static const char kZeros[4096] = {};
    while (bytes_ < size) Update(kZeros, static_cast<size_t>(std::min<uint64_t>(size - bytes_, sizeof kZeros)));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, digest, &len) != 1) return Status::Internal("SHA-256 failed");
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
  uint64_t bytes_ = 0;
};

// The index type of an entry as written, or nullopt for one tar cannot hold.
std::optional<archive_index::EntryType> IndexType(archive_entry* e) {
  using archive_index::EntryType;
  if (archive_entry_hardlink(e) != nullptr) return EntryType::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return EntryType::kFile;
    case AE_IFDIR: return EntryType::kDir;
    case AE_IFLNK: return EntryType::kSymlink;
    case AE_IFCHR: return EntryType::kChar;
    case AE_IFBLK: return EntryType::kBlock;
    case AE_IFIFO: return EntryType::kFifo;
    default: return std::nullopt;
  }
}

const char* LookupUname(void* db, la_int64_t uid) { return static_cast<OwnerDb*>(db)->UserName(uid); }
const char* LookupGname(void* db, la_int64_t gid) { return static_cast<OwnerDb*>(db)->GroupName(gid); }

class BackupArchiver final : public WalkVisitor {
 public:
  BackupArchiver(const BackupOptions& options, SeekableCompressor& compressor, BackupSummary& summary)
      : options_(options), compressor_(compressor), summary_(summary), buffer_(kReadBufferBytes) {}

  Status Open() {
    owners_ = OwnerDb::Load(options_.root);
    disk_.reset(archive_read_disk_new());
    writer_.reset(archive_write_new());
    entry_.reset(archive_entry_new());
    resolver_.reset(archive_entry_linkresolver_new());
    if (!disk_ || !writer_ || !entry_ || !resolver_) return Status::Internal("cannot allocate libarchive handles");
    archive_read_disk_set_symlink_physical(disk_.get());
    // File flags are left out like GNU tar does (ext4 reports "extent" on every
    // file, which is not something to restore).
    archive_read_disk_set_behavior(disk_.get(), ARCHIVE_READDISK_NO_FFLAGS);
    archive_read_disk_set_uname_lookup(disk_.get(), &owners_, LookupUname, nullptr);
    archive_read_disk_set_gname_lookup(disk_.get(), &owners_, LookupGname, nullptr);

    // Full pax (not "restricted"): restricted mode drops sub-second mtimes
    // unless some other field already forces an extended header, and a
    // restore must give back the exact mtime. atime/ctime are unset per entry
    // below, so the extended header carries only what a restore uses.
    if (archive_write_set_format_pax(writer_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(writer_.get(), 0) != ARCHIVE_OK ||
        archive_write_open(writer_.get(), this, nullptr, &BackupArchiver::WriteToCompressor, nullptr) != ARCHIVE_OK)
      return WriterError();
    archive_entry_linkresolver_set_strategy(resolver_.get(), archive_format(writer_.get()));
    return Status::Ok();
  }

  // Writes the end-of-archive marker through to the compressor.
  Status Close() {
    if (database_files_lock_.owns_lock()) database_files_lock_.unlock();
    if (archive_write_close(writer_.get()) != ARCHIVE_OK) return WriterError();
    return Status::Ok();
  }

  Status Visit(const WalkEntry& e) override {
    CLAWBACK_RETURN_IF_ERROR(CheckCancel());
    // Held from here until the next Visit, so past the walker closing this
    // entry's descriptor (LockDatabaseFiles, sqlite_capture.h).
    if (database_files_lock_.owns_lock()) database_files_lock_.unlock();
    const bool database = S_ISREG(e.st.st_mode) && e.fd >= 0 && e.st.st_size >= 16 && HasSqliteHeader(e.fd);
    if (database || (S_ISREG(e.st.st_mode) && !SidecarDatabaseName(e.container_path).empty()))
      database_files_lock_ = LockDatabaseFiles();
    archive_entry* entry = entry_.get();
    archive_entry_clear(entry);
    archive_entry_copy_pathname(entry, PathToArchiveName(e.container_path).c_str());
    archive_entry_copy_sourcepath(entry, e.host_path.c_str());

    if (e.fd >= 0) {
      // Regular file or directory: xattrs, ACLs and the sparse map via the fd.
      int r = archive_read_disk_entry_from_file(disk_.get(), entry, e.fd, &e.st);
      if (r == ARCHIVE_FATAL) return Status::Internal("reading metadata of " + e.container_path + ": " + ArchiveError(disk_.get()));
      if (r != ARCHIVE_OK) Warn("incomplete metadata for " + e.container_path + ": " + ArchiveError(disk_.get()));
    } else {
      // Symlinks, devices, FIFOs: plain metadata, no path-based calls on
      // container-controlled paths.
      archive_entry_copy_stat(entry, &e.st);
      if (const char* u = owners_.UserName(e.st.st_uid)) archive_entry_copy_uname(entry, u);
      if (const char* g = owners_.GroupName(e.st.st_gid)) archive_entry_copy_gname(entry, g);
      if (S_ISLNK(e.st.st_mode)) {
        std::vector<char> target(static_cast<size_t>(e.st.st_size > 0 && e.st.st_size < PATH_MAX ? e.st.st_size : PATH_MAX) + 1);
        ssize_t n = readlinkat(e.parent_fd, e.name, target.data(), target.size());
        if (n < 0 || static_cast<size_t>(n) >= target.size()) {
          Warn(n < 0 && errno == ENOENT ? "vanished while being read: " + e.container_path
                                        : "cannot read symlink " + e.container_path);
          return Status::Ok();
        }
        target[static_cast<size_t>(n)] = '\0';
        archive_entry_copy_symlink(entry, target.data());
      }
    }

    std::unique_ptr<DatabaseSnapshot> snapshot;
    if (database) {
      Result<std::unique_ptr<DatabaseSnapshot>> begun =
          DatabaseSnapshot::Begin(e.parent_fd, e.name, e.container_path, options_.database_busy_timeout);
      if (begun.ok()) {
        snapshot = std::move(*begun);
        archive_entry_sparse_clear(entry);
        archive_entry_set_size(entry, static_cast<la_int64_t>(snapshot->image_size()));
      } else {
        CLAWBACK_RETURN_IF_ERROR(
            DatabaseNotCaptured(begun.status().message() + " (archived as plain bytes)"));
      }
    }

    archive_entry_unset_atime(entry);
    archive_entry_unset_ctime(entry);
    archive_entry_unset_birthtime(entry);
    archive_entry* to_write = entry;
    archive_entry* spare = nullptr;  // tar strategy never defers entries
    archive_entry_linkify(resolver_.get(), &to_write, &spare);
    if (to_write == nullptr) return Status::Ok();

    // A new tar member starts here: the compressor may end its frame.
    CLAWBACK_RETURN_IF_ERROR(compressor_.MemberBoundary());
    archive_index::IndexEntry line;
    line.offset = compressor_.tar_offset();
    line.frame = compressor_.current_frame();
    int r = archive_write_header(writer_.get(), to_write);
    if (r == ARCHIVE_FATAL) return WriterError();
    if (r == ARCHIVE_FAILED) {
      Warn("not archived: " + e.container_path + ": " + ArchiveError(writer_.get()));
      return Status::Ok();
    }
    // ARCHIVE_WARN here means a name was stored as raw bytes (hdrcharset=BINARY).
    ++summary_.entries;
    line.data_offset = compressor_.tar_offset();

    std::optional<archive_index::EntryType> type = IndexType(to_write);
    if (!type) return Status::Internal("archived an entry of unknown type: " + e.container_path);
    const bool has_data = archive_entry_hardlink(to_write) == nullptr;
    const bool file = *type == archive_index::EntryType::kFile;
    // Content that lies as is in the tar stream is hashed by the compressor
    // as its frames go out; a sparse file's holes are not in the stream, so
    // its content is hashed here, as fed to the writer.
    const bool stream_hashed = file && archive_entry_sparse_count(to_write) == 0;
    if (stream_hashed) compressor_.HashContent(static_cast<uint64_t>(archive_entry_size(to_write)));
    if (file && !stream_hashed) CLAWBACK_RETURN_IF_ERROR(content_hash_.Begin());
    hashing_ = file && !stream_hashed;
    Status copied;
    if (snapshot != nullptr && has_data) {
      copied = CopySnapshot(e, *snapshot);
    } else if (S_ISREG(e.st.st_mode) && has_data && archive_entry_size(to_write) > 0) {
      copied = CopyFileData(e, to_write);
    }
    hashing_ = false;
    CLAWBACK_RETURN_IF_ERROR(copied);

    if (archive_write_finish_entry(writer_.get()) == ARCHIVE_FATAL) return WriterError();
    return AddIndexLine(std::move(line), *type, to_write, stream_hashed);
  }

  // The image of a captured database already holds what its -wal had, and a
  // stale -wal or -journal beside a restored image would be replayed into it:
  // they are left out, also when one vanishes as the writer commits. (The
  // walker visits "x.db" before "x.db-wal": names sort bytewise.)
  bool LeaveOut(const std::string& container_path) override {
    return !captured_.empty() && captured_.count(SidecarDatabaseName(container_path)) > 0;
  }

  void Warn(std::string message) override {
    ++warning_count_;
    if (summary_.warnings.size() < kMaxWarnings) summary_.warnings.push_back(std::move(message));
  }

  // The index line of the entry just written (offsets already set).
  Status AddIndexLine(archive_index::IndexEntry line, archive_index::EntryType type, archive_entry* entry,
                      bool stream_hashed) {
    line.path = archive_entry_pathname(entry);
    // The pax writer names directories "dir/" in the header it writes.
    while (line.path.size() > 1 && line.path.back() == '/') line.path.pop_back();
    line.type = type;
    line.mode = static_cast<uint32_t>(archive_entry_perm(entry)) & 07777;
    line.uid = static_cast<uint64_t>(archive_entry_uid(entry));
    line.gid = static_cast<uint64_t>(archive_entry_gid(entry));
    if (const char* u = archive_entry_uname(entry)) line.uname = u;
    if (const char* g = archive_entry_gname(entry)) line.gname = g;
    line.mtime = archive_entry_mtime(entry);
    line.mtime_nsec = static_cast<uint32_t>(archive_entry_mtime_nsec(entry));
    if (type == archive_index::EntryType::kFile) {
      line.size = static_cast<uint64_t>(archive_entry_size(entry));
      if (!stream_hashed) {
        Result<std::string> sha = content_hash_.Finish(line.size);
        if (!sha.ok()) return sha.status();
        line.sha256 = std::move(*sha);
      }
    } else if (type == archive_index::EntryType::kSymlink) {
      line.target = archive_entry_symlink(entry);
    } else if (type == archive_index::EntryType::kHardlink) {
      line.target = archive_entry_hardlink(entry);
    }
    return compressor_.AddEntry(std::move(line), stream_hashed);
  }

  void FinishWarnings() {
    if (warning_count_ > summary_.warnings.size())
      summary_.warnings.push_back("... and " + std::to_string(warning_count_ - summary_.warnings.size()) +
                                  " more warnings");
  }

 private:
  // A file with the SQLite header that is not archived as a consistent image:
  // counted and warned about, or with strict the refusal that ends the backup.
  Status DatabaseNotCaptured(const std::string& reason) {
    ++summary_.databases_raw;
    if (options_.strict)
      return Status::FailedPrecondition("strict: database not captured consistently: " + reason);
    Warn("database not captured consistently: " + reason);
    return Status::Ok();
  }

  // Streams the snapshot's pages as the entry's data, buffer_ at a time.
  // A page that cannot be read after the header went out leaves an entry the
  // writer pads with zeros: said in a warning (or refused with strict), never
  // counted as captured.
  Status CopySnapshot(const WalkEntry& e, DatabaseSnapshot& snapshot) {
    size_t filled = 0;
    Status sink_status;
    auto flush = [&]() -> Status {
      sink_status = WriteData(buffer_.data(), filled);
      filled = 0;
      return sink_status;
    };
    uint64_t pages = 0;
    Status s = snapshot.WritePages(
        [&](const void* page, size_t size) -> Status {
          if (filled + size > buffer_.size()) CLAWBACK_RETURN_IF_ERROR(flush());
          CLAWBACK_RETURN_IF_ERROR(CheckCancel());
          std::memcpy(buffer_.data() + filled, page, size);
          filled += size;
          summary_.bytes_read += size;
          return Status::Ok();
        },
        &pages);
    if (s.ok() && filled > 0) s = flush();
    if (!sink_status.ok() || s.code() == Status::Code::kCanceled) return s;
    if (!s.ok()) {
      if (filled > 0) CLAWBACK_RETURN_IF_ERROR(flush());
      return DatabaseNotCaptured(s.message() + " (the archived image stops after " + std::to_string(pages) +
                                 " pages and is padded with zeros)");
    }
    ++summary_.databases_captured;
    captured_.insert(e.container_path);
    return Status::Ok();
  }

  static la_ssize_t WriteToCompressor(archive* a, void* self_ptr, const void* data, size_t size) {
    auto* self = static_cast<BackupArchiver*>(self_ptr);
    Status s = self->compressor_.Write(data, size);
    if (!s.ok()) {
      archive_set_error(a, EIO, "%s", s.message().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(size);
  }

  Status CheckCancel() const {
    if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed))
      return Status::Canceled("backup canceled");
    return Status::Ok();
  }

  // The compressor's status (sink gone, ...) when it failed, else libarchive's.
  Status WriterError() {
    if (!compressor_.status().ok()) return compressor_.status();
    return Status::IoError(std::string("archive writer: ") + ArchiveError(writer_.get()));
  }

  Status WriteData(const void* data, size_t size) {
    la_ssize_t n = archive_write_data(writer_.get(), data, size);
    if (n < 0) return WriterError();
    // The writer takes at most the entry's declared size (a grown file is
    // cut there): hash what it took.
    if (hashing_) content_hash_.Update(data, static_cast<size_t>(n));
    return Status::Ok();
  }

  // Writes `size` zero bytes of a hole (the pax writer drops them again using
  // the sparse map; this is how libarchive's own tools feed sparse files).
  Status WriteZeros(int64_t size) {
    std::memset(buffer_.data(), 0, buffer_.size());
    while (size > 0) {
      size_t n = size > static_cast<int64_t>(buffer_.size()) ? buffer_.size() : static_cast<size_t>(size);
      CLAWBACK_RETURN_IF_ERROR(WriteData(buffer_.data(), n));
      size -= static_cast<int64_t>(n);
    }
    return Status::Ok();
  }

  // Copies [offset, offset+length) of the file; false in *short_read when the
  // file ended early (the writer pads the entry with zeros on finish).
  Status CopyRange(const WalkEntry& e, int64_t offset, int64_t length, bool* short_read) {
    while (length > 0) {
      CLAWBACK_RETURN_IF_ERROR(CheckCancel());
      size_t want = length > static_cast<int64_t>(buffer_.size()) ? buffer_.size() : static_cast<size_t>(length);
      ssize_t n = pread(e.fd, buffer_.data(), want, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Warn("read error in " + e.container_path + " (rest of the file stored as zeros): " + std::strerror(errno));
        *short_read = true;
        return Status::Ok();
      }
      if (n == 0) {
        *short_read = true;
        return Status::Ok();
      }
      CLAWBACK_RETURN_IF_ERROR(WriteData(buffer_.data(), static_cast<size_t>(n)));
      summary_.bytes_read += static_cast<uint64_t>(n);
      offset += n;
      length -= n;
    }
    return Status::Ok();
  }

  Status CopyFileData(const WalkEntry& e, archive_entry* entry) {
    const int64_t size = archive_entry_size(entry);
    bool short_read = false;
    if (archive_entry_sparse_reset(entry) > 0) {
      int64_t progress = 0, offset = 0, length = 0;
      while (!short_read && archive_entry_sparse_next(entry, &offset, &length) == ARCHIVE_OK) {
        if (offset > progress) CLAWBACK_RETURN_IF_ERROR(WriteZeros(offset - progress));
        CLAWBACK_RETURN_IF_ERROR(CopyRange(e, offset, length, &short_read));
        progress = offset + length;
      }
      if (!short_read && progress < size) CLAWBACK_RETURN_IF_ERROR(WriteZeros(size - progress));
    } else {
      posix_fadvise(e.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      CLAWBACK_RETURN_IF_ERROR(CopyRange(e, 0, size, &short_read));
    }
    struct stat after;
    if (short_read) {
      Warn("file shrank while being read (padded with zeros): " + e.container_path);
    } else if (fstat(e.fd, &after) == 0 &&
               (after.st_size != e.st.st_size || after.st_mtim.tv_sec != e.st.st_mtim.tv_sec ||
                after.st_mtim.tv_nsec != e.st.st_mtim.tv_nsec)) {
      Warn("file changed while being read: " + e.container_path);
    }
    return Status::Ok();
  }

  const BackupOptions& options_;
  SeekableCompressor& compressor_;
  BackupSummary& summary_;
  ContentHash content_hash_;  // of the sparse file being written, while hashing_
  bool hashing_ = false;
  OwnerDb owners_;  // outlives disk_ (its lookups point here)
  ArchiveReader disk_;
  ArchiveWriter writer_;
  ArchiveEntry entry_;
  LinkResolver resolver_;
  std::vector<char> buffer_;
  uint64_t warning_count_ = 0;
  // Container paths of the databases written as consistent images, whose
  // sidecars are left out. One short string per database.
  std::unordered_set<std::string> captured_;
  std::unique_lock<std::mutex> database_files_lock_;  // see Visit
};

}  // namespace

Status CheckBackupPathsExist(const BackupOptions& options, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) CLAWBACK_RETURN_IF_ERROR(CheckPathBelowRoot(options.root, path));
  return Status::Ok();
}

Result<BackupSummary> WriteBackup(const BackupOptions& options, const std::vector<std::string>& paths,
                                  ChunkSink& sink) {
  int threads = options.threads > 0 ? options.threads : DefaultCompressionThreads();
  Result<std::unique_ptr<SeekableCompressor>> compressor =
      SeekableCompressor::Create(options.compression_level, threads, sink,
                                 options.min_frame_input > 0 ? options.min_frame_input : SeekableCompressor::kMinFrameInput,
                                 options.max_frame_input > 0 ? options.max_frame_input : SeekableCompressor::kMaxFrameInput);
  if (!compressor.ok()) return compressor.status();
  Result<std::unique_ptr<archive_index::IndexWriter>> index = archive_index::IndexWriter::Create();
  if (!index.ok()) return index.status();

  archive_index::IndexWriter& index_writer = **index;
  (*compressor)->OnEntry([&index_writer](archive_index::IndexEntry&& e) {
    return index_writer.Add(e).WithContext(e.path);
  });

  BackupSummary summary;
  Status status;
  {
    BackupArchiver archiver(options, **compressor, summary);
    status = archiver.Open();
    for (size_t i = 0; status.ok() && i < paths.size(); ++i)
      status = WalkTree(options.root, paths[i], archiver, options.cancel, &options.excludes);
    if (status.ok()) status = archiver.Close();
    archiver.FinishWarnings();
    // On failure nothing more may reach the sink: freeing the writer would
    // otherwise emit an end-of-archive marker after a broken entry.
    if (!status.ok()) (*compressor)->Abandon();
  }
  if (status.ok()) status = (*compressor)->FinishData();
  if (!status.ok()) return status;
  summary.index_entries = (*index)->entries();
  summary.index_bytes = (*index)->compressed_bytes();
  Result<std::string> index_frame = (*index)->Finish((*compressor)->tar_offset());
  if (!index_frame.ok()) return index_frame.status();
  status = (*compressor)->Finish(*index_frame);
  if (!status.ok()) return status;
  summary.bytes_sent = (*compressor)->bytes_out();
  summary.sha256 = (*compressor)->sha256_hex();
  summary.tar_bytes = (*compressor)->bytes_in();
  summary.frames = (*compressor)->data_frames();
  return summary;
}

}  // namespace clawback::agent
