// Where archives are kept: a local directory (the default) or an
// S3-compatible bucket (CLAWORC_BACKUPS_PATH=s3://BUCKET/PREFIX). The "start
// here" header of controller/storage.
//
// Archives are named by their location relative to the storage root,
// "<instance>/<instance>-<id>-<UTC yyyymmdd-hhmmss>.tar.zst"
// (controller/jobs/archive_location.h); that is what Backup::file_path
// stores. Small sidecars travel with each archive: ".blocks" (per-block
// digests, block_digests.h) and ".index" (the browse catalog, a SQLite file).
//
// Writing: CreateArchive returns an ArchiveSink; Append the stream, Seal
// (everything appended is safely staged; returns the SHA-256 and per-block
// digests), put the sidecars, Publish (the archive appears under its final
// name, durable). Abandon (or destroying an unpublished sink) removes every
// trace of it: the local .partial file, or the S3 multipart upload (aborted).
//
// Reading: OpenArchive returns a random-access ArchiveReader (ranged
// download, restore, browse, verify).
//
// Thread-safety: ArchiveStorage is thread-safe; a sink or reader is used by
// one thread at a time (a sink may run its own background upload thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/jobs/block_digests.h"
#include "shared/status.h"

namespace clawback::controller::storage {

class ArchiveSink {
 public:
  virtual ~ArchiveSink() = default;
  virtual Status Append(const char* data, size_t size) = 0;
  // Bytes appended so far.
  virtual uint64_t bytes() const = 0;
  // Every appended byte staged durably (local: fsynced .partial; S3: every
  // part uploaded); returns the digests. No Append after this.
  virtual Result<BlockDigests> Seal() = 0;
  // After Seal() and the sidecars: the archive becomes visible under its
  // final name (local: rename + directory fsync; S3: CompleteMultipartUpload
  // and a HEAD showing the expected size, then Object Lock retention when
  // configured).
  virtual Status Publish() = 0;
  // Removes the staged bytes unless published (idempotent).
  virtual void Abandon() = 0;
  // A local file holding the bytes written so far, when there is one (the
  // local .partial file; "" on object storage).
  virtual std::string staged_path() const = 0;
};

class ArchiveReader {
 public:
  virtual ~ArchiveReader() = default;
  virtual uint64_t size() const = 0;
  // Up to `size` bytes at `offset`; fewer only at the end of the archive.
  virtual Result<size_t> ReadAt(uint64_t offset, char* out, size_t size) = 0;
};

// A stored archive or sidecar, by name relative to the root.
struct StoredName {
  std::string name;
  uint64_t size = 0;
};

class ArchiveStorage {
 public:
  virtual ~ArchiveStorage() = default;

  // "/var/lib/clawback/backups" or "s3://bucket/prefix": for logs and messages.
  virtual std::string Location() const = 0;
  // The canonical backups directory for local storage; "" for object storage.
  virtual std::string LocalDirectory() const = 0;

  // A sink for archive `name` (must not exist yet). `cancel`, when set
  // while a transfer runs, cuts its requests short. S3: starts the multipart
  // upload here, so an unreachable bucket fails before any byte is read.
  virtual Result<std::unique_ptr<ArchiveSink>> CreateArchive(const std::string& name,
                                                             const std::atomic<bool>* cancel) = 0;
  // NotFound "archive ... is missing" when there is none.
  virtual Result<std::unique_ptr<ArchiveReader>> OpenArchive(const std::string& name) = 0;

  // Sidecar "<name><suffix>" (suffix ".blocks", ".index"), stored durably.
  virtual Status PutSidecar(const std::string& name, const std::string& suffix, const std::string& bytes) = 0;
  // NotFound when there is none.
  virtual Result<std::string> GetSidecar(const std::string& name, const std::string& suffix) = 0;

  // Removes the archive and its sidecars (missing ones are fine).
  // FailedPrecondition "... is locked until 2027-01-01T00:00:00Z" when Object
  // Lock retention still protects it: nothing is deleted then.
  virtual Status RemoveArchive(const std::string& name) = 0;
  // The retain-until date (unix seconds) protecting `name`, if any.
  virtual Result<std::optional<int64_t>> LockedUntil(const std::string& name) = 0;

  // Every stored archive and sidecar (not staging files), by relative name.
  virtual Result<std::vector<StoredName>> List() = 0;

  // Removes what interrupted writes left (local: *.partial files; S3:
  // multipart uploads under the prefix), except those of the archives named
  // in `live` (transfers that still run, possibly on another replica).
  // `removed` gets the count.
  virtual Status RemoveInterruptedWrites(const std::set<std::string>& live, int* removed) = 0;
};

// Local directory `canonical_dir` (ResolveBackupsDir's answer).
std::unique_ptr<ArchiveStorage> MakeLocalArchiveStorage(std::string canonical_dir);

struct S3Config;
// Bucket storage; does not contact the bucket (see CheckReachable).
std::unique_ptr<ArchiveStorage> MakeS3ArchiveStorage(const S3Config& config);

// SHA-256 (lowercase hex) of a whole archive read through `reader`.
Result<std::string> Sha256OfArchive(ArchiveReader& reader);

}  // namespace clawback::controller::storage
