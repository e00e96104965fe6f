// Archive files on the controller's disk (private to controller/jobs).
//
// PartialArchive writes an arriving backup stream to "<final>.partial":
// created with O_CREAT|O_EXCL and mode 0600, written through a 1 MiB buffer
// (one per running backup, so it bounds the controller's memory per
// transfer), hashed (SHA-256) and counted as it goes. Written data is handed
// to the kernel's writeback every kWritebackStep (sync_file_range, no
// waiting), so the disk works while the stream arrives instead of all at
// once in the final fsync. Seal() flushes and fsyncs, Publish() renames
// to the final name and fsyncs the directory, so a completed record always
// points at a whole, durable file. Abandon() (and the destructor, unless
// committed) unlinks the partial file. Disk full (ENOSPC, or EFBIG from a
// file size limit) is ResourceExhausted "disk full while writing <path>: ...".
//
// ArchiveFileReader streams a finished archive for a restore and
// Sha256OfFile verifies one before a byte is sent. Not thread-safe: one
// owner thread each.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "controller/agents/agent_connector.h"
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

class PartialArchive {
 public:
  static constexpr size_t kBufferSize = 1024 * 1024;
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

  // Flushes, fsyncs and closes the partial file; returns the SHA-256 (hex)
  // of everything appended. No Append after this.
  Result<std::string> Seal();
  // After Seal(): renames to the final name and fsyncs the directory.
  Status Publish();
  // Unlinks the partial file unless published (idempotent).
  void Abandon();

 private:
  PartialArchive(int fd, std::string final_path);
  Status Flush();
  Status WriteError(int err) const;

  int fd_;
  std::string final_path_;
  std::string partial_path_;
  std::unique_ptr<char[]> buffer_;  // kBufferSize, not zero-filled: pages are touched as used
  size_t buffered_ = 0;
  uint64_t bytes_ = 0;
  uint64_t written_ = 0;     // bytes handed to write(2)
  uint64_t writeback_ = 0;   // bytes handed to sync_file_range(2)
  Sha256 sha_;
  bool sealed_ = false;
  bool published_ = false;
  bool removed_ = false;
};

// Reads a finished archive from its start, in order.
class ArchiveFileReader final : public ArchiveProvider {
 public:
  static Result<std::unique_ptr<ArchiveFileReader>> Open(const std::string& path);
  ~ArchiveFileReader() override;
  uint64_t TotalSize() const override { return size_; }
  Result<size_t> Read(char* buf, size_t capacity) override;

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
