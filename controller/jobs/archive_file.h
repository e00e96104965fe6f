// Archive files on the controller's disk (private to controller/jobs).
//
// PartialArchive writes an arriving backup stream to "<final>.partial":
// created with O_CREAT|O_EXCL and mode 0600, written straight from the
// caller's (large) pieces, hashed (whole-file SHA-256 and one SHA-256 per
// block, see block_digests.h) and counted as it goes. Written data is handed
// to the kernel's writeback every kWritebackStep (sync_file_range, no
// waiting), so the disk works while the stream arrives instead of all at
// once in the final fsync. Seal() flushes and fsyncs, Publish() renames
// to the final name and fsyncs the directory, so a completed record always
// points at a whole, durable file. Abandon() (and the destructor, unless
// committed) unlinks the partial file. Disk full (ENOSPC, or EFBIG from a
// file size limit) is ResourceExhausted "disk full while writing <path>: ...".
//
// Sha256OfFile verifies a whole archive (the restore path of archives
// recorded without block digests). Not thread-safe: one owner thread each.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shared/status.h"

namespace clawback::controller {

// Incremental SHA-256 (OpenSSL EVP), RAII over EVP_MD_CTX.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t size);
  std::string HexDigest();  // lowercase hex; call once

 private:
  EVP_MD_CTX* ctx_;
};

struct BlockDigests;
class BlockDigester;

class PartialArchive {
 public:
  static constexpr uint64_t kWritebackStep = 8 * 1024 * 1024;

  // Creates final_path + ".partial" (must not exist).
  static Result<std::unique_ptr<PartialArchive>> Create(const std::string& final_path);
  ~PartialArchive();
  PartialArchive(const PartialArchive&) = delete;
  PartialArchive& operator=(const PartialArchive&) = delete;

  Status Append(const char* data, size_t size);
  uint64_t bytes() const { return bytes_; }
  const std::string& partial_path() const { return partial_path_; }
  const std::string& final_path() const { return final_path_; }

  // Fsyncs and closes the partial file; returns the SHA-256 (hex) of
  // everything appended and the per-block digests. No Append after this.
  Result<BlockDigests> Seal();
  // After Seal(): renames to the final name and fsyncs the directory.
  Status Publish();
  // Unlinks the partial file unless published (idempotent).
  void Abandon();

 private:
  PartialArchive(int fd, std::string final_path);
  Status WriteError(int err) const;

  int fd_;
  std::string final_path_;
  std::string partial_path_;
  uint64_t bytes_ = 0;       // bytes written with write(2)
  uint64_t writeback_ = 0;   // bytes handed to sync_file_range(2)
  std::unique_ptr<BlockDigester> digester_;
  bool sealed_ = false;
  bool published_ = false;
  bool removed_ = false;
};

// Reads a finished archive from its start, in order.
class ArchiveFileReader {
 public:
  static Result<std::unique_ptr<ArchiveFileReader>> Open(const std::string& path);
  ~ArchiveFileReader();
  ArchiveFileReader(const ArchiveFileReader&) = delete;
  ArchiveFileReader& operator=(const ArchiveFileReader&) = delete;
  uint64_t size() const { return size_; }
  // Up to capacity bytes; fewer only at the end of the file; 0 at the end.
  Result<size_t> ReadFull(char* buf, size_t capacity);

 private:
  ArchiveFileReader(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

// SHA-256 (lowercase hex) of a whole file.
Result<std::string> Sha256OfFile(const std::string& path);

// mkdir -p with `mode` for directories it creates.
Status MakeDirectories(const std::string& path, mode_t mode);

// fsync of a directory, so a rename or unlink in it is durable.
Status SyncDirectory(const std::string& dir);

}  // namespace clawback::controller
