#include "controller/browse/subtree_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <unordered_set>

#include "controller/agents/agent_connector.h"
#include "controller/browse/tar_reader.h"
#include "controller/browse/tar_stream.h"
#include "shared/path_rules.h"

namespace clawback::controller::browse {
namespace {

constexpr size_t kPiece = 256 * 1024;
// A selected entry further ahead than this starts a new read session at its
// frame instead of reading (and discarding) up to it.
constexpr uint64_t kReopenGap = 4 * 1024 * 1024;

}  // namespace

class SubtreeArchive::Impl {
 public:
  Impl(BackupArchive& archive, std::vector<IndexEntry> entries, int level)
      : archive_(archive), entries_(std::move(entries)), cctx_(ZSTD_createCCtx()), buf_(1024 * 1024, '\0') {
    for (const IndexEntry& e : entries_) selected_.insert(e.path);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    wr_ = archive_write_new();
    archive_write_set_format_pax_restricted(wr_);
    archive_write_set_bytes_in_last_block(wr_, 1);
  }

  ~Impl() {
    if (wr_ != nullptr) archive_write_free(wr_);
    ZSTD_freeCCtx(cctx_);
  }

  Status Start() {
    if (archive_write_open(wr_, this, nullptr, &Impl::WriteCallback, nullptr) != ARCHIVE_OK) {
      return Status::Internal(std::string("cannot start the archive: ") + archive_error_string(wr_));
    }
    return Status::Ok();
  }

  // Produces at least one piece (or the end); out_ holds it.
  Result<std::span<const char>> Next(uint64_t* written) {
    if (!failed_.ok()) return failed_;
    out_.clear();
    while (out_.size() < kPiece && !finished_) {
      Status st = Step(written);
      if (!st.ok()) {
        failed_ = st;
        return st;
      }
    }
    return std::span<const char>(out_.data(), out_.size());
  }

 private:
  static la_ssize_t WriteCallback(::archive*, void* p, const void* data, size_t n) {
    auto* self = static_cast<Impl*>(p);
    Status st = self->Compress(data, n, ZSTD_e_continue);
    if (!st.ok()) {
      self->failed_ = st;
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  Status Compress(const void* data, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      const size_t old = out_.size();
      const size_t room = ZSTD_CStreamOutSize();
      out_.resize(old + room);
      ZSTD_outBuffer o{out_.data() + old, room, 0};
      size_t rc = ZSTD_compressStream2(cctx_, &o, &in, mode);
      out_.resize(old + o.pos);
      if (ZSTD_isError(rc)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(rc));
      if (mode == ZSTD_e_end ? rc == 0 : in.pos == in.size) return Status::Ok();
    }
  }

  Status WriteFailed(const char* what) {
    if (!failed_.ok()) return failed_;
    const char* why = archive_error_string(wr_);
    return Status::Internal(std::string(what) + ": " + (why ? why : "unknown error"));
  }

  Status WriteData(const char* data, size_t n) {
    while (n > 0) {
      la_ssize_t w = archive_write_data(wr_, data, n);
      if (w <= 0) return WriteFailed("cannot write archived content");
      data += w;
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }

  // The header of `e`, read from the archive and checked against the catalog.
  Result<archive_entry*> HeaderOf(const IndexEntry& e) {
    if (!reader_ || e.offset <= reader_->header_offset() || e.offset - reader_->header_offset() > kReopenGap) {
      auto r = TarReader::Open(archive_.stream(), e.offset);
      if (!r.ok()) return r.status();
      reader_ = std::move(r).value();
    }
    for (;;) {
      auto h = reader_->NextHeader();
      if (!h.ok()) return h.status();
      if (*h == nullptr || reader_->header_offset() > e.offset) {
        return Status::Corruption("file index does not match the archive: no header at offset " +
                                  std::to_string(e.offset) + " for " + PrintablePath(e.path));
      }
      if (reader_->header_offset() < e.offset) continue;  // an entry outside the selection
      CLAWBACK_RETURN_IF_ERROR(CheckHeader(*h, e));
      return *h;
    }
  }

  Status CopyFile(const IndexEntry& e, archive_entry* out_header, TarReader& from) {
    if (e.size <= SubtreeArchive::kBufferedFile) {
      // Read and verify the whole file before any byte of it is encoded.
      std::string content(static_cast<size_t>(e.size), '\0');
      size_t at = 0;
      Sha256 sha;
      while (at < content.size()) {
        auto n = from.ReadData(content.data() + at, content.size() - at);
        if (!n.ok()) return n.status();
        if (*n == 0) return Status::Corruption("archive ends inside " + PrintablePath(e.path));
        at += *n;
      }
      sha.Update(content.data(), content.size());
      if (!e.sha256.empty() && sha.HexDigest() != e.sha256) {
        return Status::Corruption("content of /" + PrintablePath(e.path) + " does not match the file index (sha256)");
      }
      if (archive_write_header(wr_, out_header) < ARCHIVE_WARN) return WriteFailed("cannot write a header");
      return WriteData(content.data(), content.size());
    }
    if (archive_write_header(wr_, out_header) < ARCHIVE_WARN) return WriteFailed("cannot write a header");
    Sha256 sha;
    uint64_t left = e.size;
    while (left > 0) {
      auto n = from.ReadData(buf_.data(), static_cast<size_t>(std::min<uint64_t>(buf_.size(), left)));
      if (!n.ok()) return n.status();
      if (*n == 0) return Status::Corruption("archive ends inside " + PrintablePath(e.path));
      sha.Update(buf_.data(), *n);
      CLAWBACK_RETURN_IF_ERROR(WriteData(buf_.data(), *n));
      left -= *n;
    }
    if (!e.sha256.empty() && sha.HexDigest() != e.sha256) {
      return Status::Corruption("content of /" + PrintablePath(e.path) + " does not match the file index (sha256)");
    }
    return Status::Ok();
  }

  // A hardlink to an entry outside the selection: a regular file with the
  // target's content, read from its own session so the main one stays put.
  Status CopyLinkTarget(const IndexEntry& link, archive_entry* header) {
    auto target = archive_.catalog().Lookup(link.target);
    if (!target.ok() || target->type != "file") {
      return Status::Corruption("hardlink /" + PrintablePath(link.path) + " names a target that is not a file in the backup");
    }
    TarStream stream(archive_.blocks(), archive_.catalog().frames(), archive_.catalog().meta().tar_size);
    auto r = TarReader::Open(stream, target->offset);
    if (!r.ok()) return r.status();
    auto h = (*r)->NextHeader();
    if (!h.ok()) return h.status();
    if (*h == nullptr || (*r)->header_offset() != target->offset) {
      return Status::Corruption("file index does not match the archive: no header at offset " +
                                std::to_string(target->offset));
    }
    CLAWBACK_RETURN_IF_ERROR(CheckHeader(*h, *target));
    archive_entry* out = archive_entry_clone(header);
    archive_entry_set_hardlink(out, nullptr);
    archive_entry_set_filetype(out, AE_IFREG);
    archive_entry_set_size(out, static_cast<la_int64_t>(target->size));
    IndexEntry as_file = *target;
    as_file.path = link.path;
    Status st = CopyFile(as_file, out, **r);
    archive_entry_free(out);
    return st;
  }

  Status Step(uint64_t* written) {
    if (next_ == entries_.size()) {
      if (archive_write_close(wr_) != ARCHIVE_OK) return WriteFailed("cannot finish the archive");
      CLAWBACK_RETURN_IF_ERROR(Compress(nullptr, 0, ZSTD_e_end));
      finished_ = true;
      return Status::Ok();
    }
    const IndexEntry& e = entries_[next_++];
    auto h = HeaderOf(e);
    if (!h.ok()) return h.status();
    if (e.type == "file") {
      CLAWBACK_RETURN_IF_ERROR(CopyFile(e, *h, *reader_));
    } else if (e.type == "hardlink" && selected_.count(e.target) == 0) {
      CLAWBACK_RETURN_IF_ERROR(CopyLinkTarget(e, *h));
    } else {
      if (archive_write_header(wr_, *h) < ARCHIVE_WARN) return WriteFailed("cannot write a header");
    }
    ++*written;
    return Status::Ok();
  }

  BackupArchive& archive_;
  std::vector<IndexEntry> entries_;
  std::unordered_set<std::string> selected_;
  size_t next_ = 0;
  ZSTD_CCtx* cctx_;
  ::archive* wr_ = nullptr;
  std::unique_ptr<TarReader> reader_;
  std::string out_;
  std::string buf_;
  Status failed_;
  bool finished_ = false;
};

SubtreeArchive::SubtreeArchive(std::unique_ptr<BackupArchive> archive) : archive_(std::move(archive)) {}
SubtreeArchive::~SubtreeArchive() = default;

Result<std::unique_ptr<SubtreeArchive>> SubtreeArchive::Open(std::unique_ptr<BackupArchive> archive,
                                                             std::vector<IndexEntry> entries, int zstd_level) {
  std::unique_ptr<SubtreeArchive> s(new SubtreeArchive(std::move(archive)));
  s->impl_ = std::make_unique<Impl>(*s->archive_, std::move(entries), zstd_level);
  CLAWBACK_RETURN_IF_ERROR(s->impl_->Start());
  return s;
}

Result<std::span<const char>> SubtreeArchive::Next() {
  if (finished_sent_) return std::span<const char>();
  auto piece = impl_->Next(&written_);
  if (piece.ok() && piece->empty()) finished_sent_ = true;
  return piece;
}

namespace {

class SelectionProvider final : public ArchiveProvider {
 public:
  explicit SelectionProvider(std::unique_ptr<SubtreeArchive> archive) : archive_(std::move(archive)) {}
  std::optional<uint64_t> TotalSize() const override { return std::nullopt; }
  Result<std::span<const char>> Next() override { return archive_->Next(); }

 private:
  std::unique_ptr<SubtreeArchive> archive_;
};

}  // namespace

ArchiveIndexer MakeArchiveIndexer() { return IndexWrittenArchive; }

SelectionOpener MakeSelectionOpener(std::string backups_dir) {
  return [dir = std::move(backups_dir)](const Backup& backup,
                                        const std::vector<std::string>& paths) -> Result<std::unique_ptr<ArchiveProvider>> {
    auto archive = OpenBackupArchive(dir, backup);
    if (!archive.ok()) return archive.status();
    auto entries = SelectSubtrees((*archive)->catalog(), paths);
    if (!entries.ok()) return entries.status();
    auto stream = SubtreeArchive::Open(std::move(archive).value(), std::move(entries).value());
    if (!stream.ok()) return stream.status();
    return std::unique_ptr<ArchiveProvider>(new SelectionProvider(std::move(stream).value()));
  };
}

}  // namespace clawback::controller::browse
