// ExtractRestore (archive_stream.h).
//
// Pipeline: ChunkSource -> ZstdDecompressor (strict about truncation, on its
// own ReadAhead thread so decompression overlaps extraction) -> archive_read
// (tar formats) -> EntryFilter (refuse before touching disk) -> DiskWriter,
// which creates every entry relative to directory handles it holds open below
// the root (disk_writer.h): no path string is ever resolved from the root
// again, so a concurrent symlink swap cannot redirect a write. A dry run
// puts RestorePreview (read-only, restore_preview.h) where the DiskWriter
// goes; everything before it is the same.
#include <string>

#include "agent/archive/archive_stream.h"
#include "agent/archive/disk_writer.h"
#include "agent/archive/entry_filter.h"
#include "agent/archive/libarchive_handles.h"
#include "agent/archive/owner_db.h"
#include "agent/archive/posix_acl.h"
#include "agent/archive/read_ahead.h"
#include "agent/archive/restore_preview.h"
#include "agent/archive/zstd_decompressor.h"

namespace clawback::agent {
namespace {

using internal::ArchiveError;
using internal::ArchiveReader;

// Decompressed bytes in flight between the decompressor thread and the
// extractor: kReadAheadBuffers blocks of kTarBufferBytes.
constexpr size_t kTarBufferBytes = 256 * 1024;
constexpr size_t kReadAheadBuffers = 4;
constexpr size_t kMaxMessages = 1000;

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
    if (options_.dry_run) {
      Result<std::unique_ptr<RestorePreview>> preview = RestorePreview::Open(options_.root, options_.resolution);
      if (!preview.ok()) return preview.status();
      preview_ = std::move(preview).value();
    } else {
      Result<std::unique_ptr<DiskWriter>> writer = DiskWriter::Open(options_.root, options_.resolution);
      if (!writer.ok()) return writer.status();
      writer_ = std::move(writer).value();
    }
    owners_ = OwnerDb::Load(options_.root);

    Result<std::unique_ptr<ZstdDecompressor>> decompressor = ZstdDecompressor::Create(source);
    if (!decompressor.ok()) return decompressor.status();
    ZstdDecompressor* zstd = decompressor->get();
    // Declared after `decompressor`, so it is stopped and joined first.
    ReadAhead read_ahead([zstd](void* buf, size_t capacity) { return zstd->Read(buf, capacity); },
                         kReadAheadBuffers, kTarBufferBytes);
    input_.read_ahead = &read_ahead;

    reader_.reset(archive_read_new());
    if (!reader_) return Status::Internal("cannot allocate libarchive handles");
    archive_read_support_format_tar(reader_.get());
    if (archive_read_open(reader_.get(), &input_, nullptr, &TarInput::Read, nullptr) != ARCHIVE_OK)
      return ReadError();

    Status status = ReadEntries();
    if (preview_ != nullptr) {
      CLAWBACK_RETURN_IF_ERROR(status);
      return input_.Drain();
    }
    // Directory modes and times go on last; on failure too, so what was
    // written is left with the archive's metadata.
    Status finished = writer_->Finish();
    for (std::string& w : writer_->TakeWarnings()) Warn(std::move(w));
    CLAWBACK_RETURN_IF_ERROR(status);
    CLAWBACK_RETURN_IF_ERROR(finished);
    // The tar end marker was seen; the rest of the stream must still be whole.
    return input_.Drain();
  }

 private:
  Status ReadEntries() {
    for (;;) {
      if (options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed))
        return Status::Canceled("restore canceled");
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(reader_.get(), &entry);
      if (r == ARCHIVE_EOF) return Status::Ok();
      if (r == ARCHIVE_RETRY) continue;
      if (r < ARCHIVE_WARN) return ReadError();
      CLAWBACK_RETURN_IF_ERROR(RestoreEntry(entry));
    }
  }

  Status RestoreEntry(archive_entry* entry) {
    ++summary_.entries;
    const char* raw_name = archive_entry_pathname(entry);
    const char* raw_link = archive_entry_hardlink(entry);
    std::string name = raw_name ? raw_name : "";
    EntryCandidate candidate;
    candidate.name = name;
    candidate.type = TypeOf(entry);
    candidate.is_hardlink = raw_link != nullptr;
    candidate.hardlink_name = raw_link ? raw_link : "";
    candidate.allow_devices = options_.allow_devices;
    candidate.root_length = options_.root.size();
    EntryDecision decision = DecideEntry(candidate);
    if (!decision.allowed) {
      Skip(name, decision.reason);
      return Status::Ok();  // libarchive skips the entry's data on the next header
    }

    if (preview_ != nullptr) return PreviewEntry(entry, name, candidate, std::move(decision));
    // A hard link entry's data (tar never writes any) is never read: it
    // would go through the link to its target.
    if (candidate.is_hardlink) return Outcome(name, writer_->Link(decision.path, decision.hardlink_path));

    DiskEntry disk = Describe(entry, candidate.type, std::move(decision.path));
    Status created = writer_->Create(disk);
    if (!created.ok() || disk.type != EntryType::kRegular) return Outcome(name, created);
    Status copied = CopyData(name);
    if (!copied.ok()) {
      writer_->Abort();
      return Outcome(name, copied);
    }
    return Outcome(name, writer_->Commit());
  }

  // Dry run: classify, reading a file's data only to compare it.
  Status PreviewEntry(archive_entry* entry, const std::string& name, const EntryCandidate& candidate,
                      EntryDecision decision) {
    if (candidate.is_hardlink) return PreviewOutcome(name, preview_->ClassifyLink(decision.path, decision.hardlink_path));
    DiskEntry disk = Describe(entry, candidate.type, std::move(decision.path));
    Status read_error;
    DataBlocks data = [&]() -> Result<DataBlock> {
      DataBlock b;
      la_int64_t offset = 0;
      int r = archive_read_data_block(reader_.get(), &b.data, &b.size, &offset);
      if (r == ARCHIVE_EOF) return DataBlock{};
      if (r < ARCHIVE_WARN) return read_error = ReadError();
      b.offset = offset;
      return b;
    };
    Result<Change> change = preview_->Classify(disk, data);
    if (!read_error.ok()) return read_error;  // the stream broke, not the target
    return PreviewOutcome(name, change);
  }

  Status PreviewOutcome(const std::string& name, const Result<Change>& change) {
    if (!change.ok()) return Outcome(name, change.status());
    ChangeList& list = *change == Change::kCreate    ? summary_.changes.create
                       : *change == Change::kReplace ? summary_.changes.replace
                                                     : summary_.changes.unchanged;
    ++list.count;
    if (list.first.size() < ChangeList::kMaxFirst) {
      // Named like the index names entries: a directory without its trailing '/'.
      std::string_view shown = name;
      while (shown.size() > 1 && shown.back() == '/') shown.remove_suffix(1);
      list.first.push_back(PrintableEntryName(shown));
    }
    return Status::Ok();
  }

  // Everything the writer needs to know about an entry, owners mapped by
  // name through the target root's /etc/passwd and /etc/group.
  DiskEntry Describe(archive_entry* entry, EntryType type, std::string path) {
    DiskEntry d;
    d.path = std::move(path);
    d.type = type;
    d.mode = archive_entry_perm(entry);
    d.uid = archive_entry_uid(entry);
    d.gid = archive_entry_gid(entry);
    if (const char* u = archive_entry_uname(entry); u != nullptr && *u != '\0') {
      if (auto id = owners_.UserId(u)) d.uid = *id;
    }
    if (const char* g = archive_entry_gname(entry); g != nullptr && *g != '\0') {
      if (auto id = owners_.GroupId(g)) d.gid = *id;
    }
    if (archive_entry_mtime_is_set(entry)) {
      d.has_mtime = true;
      d.mtime = {static_cast<time_t>(archive_entry_mtime(entry)), archive_entry_mtime_nsec(entry)};
    }
    if (const char* target = archive_entry_symlink(entry)) d.symlink_target = target;
    d.rdev = archive_entry_rdev(entry);
    d.size = archive_entry_size(entry);
    if (archive_entry_xattr_reset(entry) > 0) {
      const char* xname;
      const void* value;
      size_t size;
      while (archive_entry_xattr_next(entry, &xname, &value, &size) == ARCHIVE_OK)
        d.xattrs.emplace_back(xname, std::string(static_cast<const char*>(value), size));
    }
    d.acl_access = AccessAclXattr(entry);
    if (type == EntryType::kDirectory) d.acl_default = DefaultAclXattr(entry);
    return d;
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
      CLAWBACK_RETURN_IF_ERROR(writer_->Write(block, size, offset));
      summary_.bytes_written += size;
    }
  }

  // An entry the writer refused is skipped with its reason; a full disk, an
  // I/O error, a broken stream or a cancel ends the restore.
  Status Outcome(const std::string& name, const Status& status) {
    if (status.ok()) {
      if (writer_ != nullptr) {
        ++summary_.entries_written;
        ++(writer_->replaced_existing() ? summary_.changes.replace : summary_.changes.create).count;
      }
      return Status::Ok();
    }
    if (status.code() == Status::Code::kFailedPrecondition) {
      Skip(name, status.message());
      return Status::Ok();
    }
    return status;
  }

  // The source's own status if it broke, else the archive is corrupt.
  Status ReadError() {
    if (!input_.error.ok()) return input_.error;
    return Status::Corruption(std::string("archive is corrupt: ") + ArchiveError(reader_.get()));
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
  OwnerDb owners_;
  TarInput input_;
  std::unique_ptr<DiskWriter> writer_;    // a real restore
  std::unique_ptr<RestorePreview> preview_;  // a dry run
  ArchiveReader reader_;
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
