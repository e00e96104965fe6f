#include "controller/browse/browse.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <map>
#include <optional>
#include <mutex>
#include <set>

#include "controller/browse/catalog_build.h"
#include "controller/browse/catalog_import.h"
#include "controller/browse/tar_stream.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/block_digests.h"
#include "shared/log.h"
#include "shared/path_rules.h"
#include "shared/small_file.h"

namespace clawback::controller::browse {
namespace {

// Far above any catalog we build (~100 B per entry).
constexpr uint64_t kMaxCatalogBytes = uint64_t{2} << 30;

// One mutex per archive path: a catalog (or digests) is built once even when
// several requests ask at the same moment.
std::shared_ptr<std::mutex> BuildLock(const std::string& archive_path) {
  static std::mutex registry_mu;
  static std::map<std::string, std::weak_ptr<std::mutex>> registry;  // guarded by registry_mu
  std::lock_guard lock(registry_mu);
  auto& slot = registry[archive_path];
  auto mu = slot.lock();
  if (!mu) {
    mu = std::make_shared<std::mutex>();
    slot = mu;
  }
  return mu;
}

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Block digests that describe this backup's archive; computed (after a
// whole-file check against the record) and stored when missing or unusable.
Result<BlockDigests> UsableDigests(const Backup& b, const std::string& path) {
  auto digests = ReadBlockDigests(path);
  if (digests.ok() && digests->size == b.size_bytes && digests->sha256 == b.sha256 &&
      digests->blocks.size() == digests->ExpectedBlocks()) {
    return digests;
  }
  auto reader = ArchiveFileReader::Open(path);
  if (!reader.ok()) return reader.status();
  BlockDigester digester;
  std::vector<char> buf(1024 * 1024);
  for (;;) {
    auto n = (*reader)->ReadFull(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    digester.Update(buf.data(), *n);
  }
  BlockDigests fresh = digester.Finish();
  if (fresh.sha256 != b.sha256 || fresh.size != b.size_bytes) {
    return Status::Corruption("archive of backup " + std::to_string(b.id) +
                              " corrupted on disk: sha256 mismatch (file has " + fresh.sha256 + ", recorded " +
                              b.sha256 + ")");
  }
  CLAWBACK_RETURN_IF_ERROR(WriteBlockDigests(path, fresh));
  CLAWBACK_RETURN_IF_ERROR(SyncDirectory(DirOf(path)));
  log::Info("stored block digests for an archive that had none", {{"backup_id", b.id}});
  return fresh;
}

// Ranged reads over verified blocks (each byte checked before it is used).
seek_table::ReadAtFn VerifiedReadAt(VerifiedBlocks& blocks) {
  return [&blocks](uint64_t offset, size_t size, std::string& out) -> Status {
    out.clear();
    while (out.size() < size) {
      auto piece = blocks.ReadAt(offset + out.size());
      if (!piece.ok()) return piece.status();
      if (piece->empty()) return Status::Corruption("archive ends before byte " + std::to_string(offset + size));
      out.append(piece->substr(0, size - out.size()));
    }
    return Status::Ok();
  };
}

// The index frame when the archive has one (format 2), else a scan.
Status BuildCatalog(VerifiedBlocks& blocks, const Backup& b, const std::string& catalog_path) {
  Status imported = ImportArchiveIndex(blocks.size(), VerifiedReadAt(blocks),
                                       b.entries > 0 ? std::optional<uint64_t>(b.entries) : std::nullopt, b.sha256,
                                       catalog_path);
  if (imported.ok()) return imported;
  if (imported.code() != Status::Code::kNotFound) {
    log::Warn("archive index unusable; scanning the archive instead", {{"backup_id", b.id}, {"error", imported.message()}});
  }
  return ScanIntoCatalog(blocks, b.sha256, catalog_path);
}

bool CatalogDescribes(const Catalog& c, const Backup& b) {
  return c.meta().archive_sha256 == b.sha256 && c.meta().archive_size == b.size_bytes;
}

Status UserFacing(const Backup& b, const Status& st, const char* what) {
  if (st.ok()) return st;
  log::Warn(what, {{"backup_id", b.id}, {"error", st.message()}});
  if (st.code() == Status::Code::kNotFound) {
    return Status::Corruption("archive file of backup " + std::to_string(b.id) + " is missing");
  }
  if (st.code() == Status::Code::kCorruption) {
    return Status::Corruption("backup " + std::to_string(b.id) + ": " + st.message());
  }
  return Status(st.code(), "cannot read the archive of backup " + std::to_string(b.id) +
                               " (the controller's log has the details)");
}

struct ObjectStorageSource {
  std::shared_ptr<storage::ArchiveStorage> archives;
  std::string cache_dir;
};

std::mutex& SourcesMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, ObjectStorageSource>& Sources() {  // guarded by SourcesMutex()
  static std::map<std::string, ObjectStorageSource> sources;
  return sources;
}

std::optional<ObjectStorageSource> SourceFor(const std::string& location) {
  std::lock_guard lock(SourcesMutex());
  auto it = Sources().find(location);
  if (it == Sources().end()) return std::nullopt;
  return it->second;
}

// Block digests of a stored archive: its .blocks object, or computed from
// the archive (checked against the record) and stored.
Result<BlockDigests> StoredDigests(storage::ArchiveStorage& archives, const Backup& b) {
  auto text = archives.GetSidecar(b.file_path, BlockDigestsPath(""));
  if (text.ok()) {
    auto d = ParseBlockDigests(*text);
    if (d.ok() && d->size == b.size_bytes && d->sha256 == b.sha256 && d->blocks.size() == d->ExpectedBlocks()) {
      return d;
    }
  }
  auto reader = archives.OpenArchive(b.file_path);
  if (!reader.ok()) return reader.status();
  BlockDigester digester;
  std::vector<char> buf(4 * 1024 * 1024);
  for (uint64_t off = 0; off < (*reader)->size();) {
    auto n = (*reader)->ReadAt(off, buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    digester.Update(buf.data(), *n);
    off += *n;
  }
  BlockDigests fresh = digester.Finish();
  if (fresh.sha256 != b.sha256 || fresh.size != b.size_bytes) {
    return Status::Corruption("archive of backup " + std::to_string(b.id) +
                              " corrupted in storage: sha256 mismatch (archive has " + fresh.sha256 + ", recorded " +
                              b.sha256 + ")");
  }
  CLAWBACK_RETURN_IF_ERROR(archives.PutSidecar(b.file_path, BlockDigestsPath(""), EncodeBlockDigests(fresh)));
  return fresh;
}

}  // namespace

struct StoredArchiveOpener {
  static Result<std::unique_ptr<BackupArchive>> Open(const ObjectStorageSource& src, const Backup& backup) {
    storage::ArchiveStorage& archives = *src.archives;
    if (backup.file_path.empty() || backup.file_path.front() == '/' ||
        backup.file_path.find("..") != std::string::npos) {
      return Status::Internal("the archive location of backup " + std::to_string(backup.id) + " is invalid");
    }
    std::unique_ptr<BackupArchive> out(new BackupArchive());
    out->backup_ = backup;
    // Local stand-in path: its ".index" is the cached catalog.
    out->archive_path_ = src.cache_dir + "/" + backup.file_path;
    const std::string catalog_path = CatalogPath(out->archive_path_);
    CLAWBACK_RETURN_IF_ERROR(MakeDirectories(DirOf(catalog_path), 0700));

    auto digests = StoredDigests(archives, backup);
    if (!digests.ok()) return UserFacing(backup, digests.status(), "cannot verify a backup's archive");
    auto catalog = Catalog::Open(catalog_path);
    if (!catalog.ok() || !CatalogDescribes(**catalog, backup)) {
      auto lock = BuildLock(catalog_path);
      std::lock_guard guard(*lock);
      catalog = Catalog::Open(catalog_path);
      if (!catalog.ok() || !CatalogDescribes(**catalog, backup)) {
        // The bucket's copy first; built (and uploaded) only when it has none.
        auto stored = archives.GetSidecar(backup.file_path, ".index");
        if (stored.ok()) {
          CLAWBACK_RETURN_IF_ERROR(WriteFileAtomically(catalog_path, *stored));
          catalog = Catalog::Open(catalog_path);
        }
        if (!catalog.ok() || !CatalogDescribes(**catalog, backup)) {
          auto reader = archives.OpenArchive(backup.file_path);
          if (!reader.ok()) return UserFacing(backup, reader.status(), "cannot open a backup's archive");
          auto blocks = VerifiedBlocks::Open(std::move(reader).value(), backup.file_path, *digests);
          if (!blocks.ok()) return UserFacing(backup, blocks.status(), "cannot open a backup's archive");
          Status built = BuildCatalog(**blocks, backup, catalog_path);
          if (!built.ok()) return UserFacing(backup, built, "cannot build a backup's file index");
          auto bytes = ReadSmallFile(catalog_path, kMaxCatalogBytes);
          Status uploaded = bytes.ok() ? archives.PutSidecar(backup.file_path, ".index", *bytes) : bytes.status();
          if (!uploaded.ok()) {
            log::Warn("cannot store a backup's file index in the bucket; it stays cached locally",
                      {{"backup_id", backup.id}, {"error", uploaded.message()}});
          }
          log::Info("built a backup's file index", {{"backup_id", backup.id}});
          catalog = Catalog::Open(catalog_path);
        }
        if (!catalog.ok()) return UserFacing(backup, catalog.status(), "cannot open a backup's file index");
      }
    }
    auto reader = archives.OpenArchive(backup.file_path);
    if (!reader.ok()) return UserFacing(backup, reader.status(), "cannot open a backup's archive");
    auto blocks = VerifiedBlocks::Open(std::move(reader).value(), backup.file_path, std::move(digests).value());
    if (!blocks.ok()) return UserFacing(backup, blocks.status(), "cannot open a backup's archive");
    out->catalog_ = std::move(catalog).value();
    out->blocks_ = std::move(blocks).value();
    out->stream_ =
        std::make_unique<TarStream>(*out->blocks_, out->catalog_->frames(), out->catalog_->meta().tar_size);
    return out;
  }
};

Status IndexStoredArchive(storage::ArchiveStorage& archives, const std::string& cache_dir, const std::string& name,
                          uint64_t expected_entries, const BlockDigests& digests) {
  auto reader = archives.OpenArchive(name);
  if (!reader.ok()) return reader.status();
  auto blocks = VerifiedBlocks::Open(std::move(reader).value(), name, digests);
  if (!blocks.ok()) return blocks.status();
  const std::string catalog_path = CatalogPath(cache_dir + "/" + name);
  CLAWBACK_RETURN_IF_ERROR(MakeDirectories(DirOf(catalog_path), 0700));
  CLAWBACK_RETURN_IF_ERROR(
      ImportArchiveIndex((*blocks)->size(), VerifiedReadAt(**blocks), expected_entries, digests.sha256, catalog_path));
  auto bytes = ReadSmallFile(catalog_path, kMaxCatalogBytes);
  if (!bytes.ok()) return bytes.status();
  return archives.PutSidecar(name, ".index", *bytes);
}

void ServeArchivesFrom(const std::string& location, std::shared_ptr<storage::ArchiveStorage> archives,
                       std::string cache_dir) {
  std::lock_guard lock(SourcesMutex());
  Sources()[location] = ObjectStorageSource{std::move(archives), std::move(cache_dir)};
}

BackupArchive::~BackupArchive() {
  stream_.reset();
  blocks_.reset();
}

const ReadCounters& BackupArchive::counters() const { return blocks_->counters(); }

Result<std::unique_ptr<BackupArchive>> OpenBackupArchive(const std::string& backups_dir, const Backup& backup) {
  if (backup.status != BackupStatus::kCompleted || backup.file_path.empty()) {
    return Status::FailedPrecondition("backup " + std::to_string(backup.id) + " is " +
                                      std::string(BackupStatusName(backup.status)) +
                                      "; only completed backups can be browsed");
  }
  if (auto src = SourceFor(backups_dir)) return StoredArchiveOpener::Open(*src, backup);
  auto path = ArchiveAbsolutePath(backups_dir, backup.file_path);
  if (!path.ok()) {
    log::Error("cannot locate a backup's archive", {{"backup_id", backup.id}, {"error", path.status().message()}});
    return Status::Internal("the archive location of backup " + std::to_string(backup.id) + " is invalid");
  }
  std::unique_ptr<BackupArchive> out(new BackupArchive());
  out->backup_ = backup;
  out->archive_path_ = *path;
  const std::string catalog_path = CatalogPath(*path);

  auto catalog = Catalog::Open(catalog_path);
  std::optional<BlockDigests> digests;
  if (!catalog.ok() || !CatalogDescribes(**catalog, backup)) {
    auto lock = BuildLock(*path);
    std::lock_guard guard(*lock);
    catalog = Catalog::Open(catalog_path);  // another request may have built it meanwhile
    if (!catalog.ok() || !CatalogDescribes(**catalog, backup)) {
      if (!catalog.ok() && catalog.status().code() != Status::Code::kNotFound) {
        log::Warn("file index unusable; rebuilding it", {{"backup_id", backup.id}, {"error", catalog.status().message()}});
      }
      auto d = UsableDigests(backup, *path);
      if (!d.ok()) return UserFacing(backup, d.status(), "cannot verify a backup's archive");
      auto blocks = VerifiedBlocks::Open(*path, *d);
      if (!blocks.ok()) return UserFacing(backup, blocks.status(), "cannot open a backup's archive");
      Status built = BuildCatalog(**blocks, backup, catalog_path);
      if (built.ok()) built = SyncDirectory(DirOf(*path));
      if (!built.ok()) return UserFacing(backup, built, "cannot build a backup's file index");
      log::Info("built a backup's file index", {{"backup_id", backup.id}});
      digests = std::move(d).value();
      catalog = Catalog::Open(catalog_path);
      if (!catalog.ok()) return UserFacing(backup, catalog.status(), "cannot open a backup's file index");
    }
  }
  if (!digests) {
    auto d = UsableDigests(backup, *path);
    if (!d.ok()) return UserFacing(backup, d.status(), "cannot verify a backup's archive");
    digests = std::move(d).value();
  }
  auto blocks = VerifiedBlocks::Open(*path, std::move(*digests));
  if (!blocks.ok()) return UserFacing(backup, blocks.status(), "cannot open a backup's archive");
  out->catalog_ = std::move(catalog).value();
  out->blocks_ = std::move(blocks).value();
  out->stream_ = std::make_unique<TarStream>(*out->blocks_, out->catalog_->frames(), out->catalog_->meta().tar_size);
  return out;
}

Status IndexWrittenArchive(const std::string& written_path, const std::string& final_archive_path,
                           uint64_t expected_entries, const std::string& archive_sha256) {
  int fd = ::open(written_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + written_path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) return Status::IoError("cannot size " + written_path + ": " + std::strerror(errno));
  auto read_at = [fd, &written_path](uint64_t offset, size_t n, std::string& out) -> Status {
    out.resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError("read " + written_path + " failed: " + std::strerror(errno));
      if (r == 0) return Status::Corruption("archive ends before byte " + std::to_string(offset + n));
      got += static_cast<size_t>(r);
    }
    return Status::Ok();
  };
  Status st = ImportArchiveIndex(static_cast<uint64_t>(size), read_at, expected_entries, archive_sha256,
                                 CatalogPath(final_archive_path));
  if (st.code() == Status::Code::kNotFound) {
    return Status::Corruption("archive says it is format 2 but has no seek table: " + st.message());
  }
  return st;
}

Result<std::string> CatalogPathFromQuery(const std::string& query_path) {
  if (query_path.empty() || query_path == "/") return std::string();
  std::string abs = query_path.front() == '/' ? query_path : "/" + query_path;
  for (unsigned char c : abs) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("path: control characters are not allowed: " + PrintablePath(query_path));
    }
  }
  auto normal = NormalizeAbsolutePath(abs);
  if (!normal.ok()) return Status::InvalidArgument("path: " + normal.status().message());
  if (*normal == "/") return std::string();
  return normal->substr(1);
}

std::string DisplayPath(const std::string& catalog_path) { return "/" + catalog_path; }

Result<std::vector<IndexEntry>> SelectSubtrees(Catalog& catalog, const std::vector<std::string>& paths) {
  std::map<uint64_t, IndexEntry> by_offset;
  for (const std::string& p : paths) {
    auto self = catalog.Lookup(p);
    if (!self.ok()) return self.status();
    auto below = catalog.Subtree(p);
    if (!below.ok()) return below.status();
    for (IndexEntry& e : *below) by_offset.emplace(e.offset, std::move(e));
  }
  std::vector<IndexEntry> out;
  out.reserve(by_offset.size());
  for (auto& [offset, e] : by_offset) out.push_back(std::move(e));
  return out;
}

}  // namespace clawback::controller::browse
