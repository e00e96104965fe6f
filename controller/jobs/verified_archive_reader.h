// Supplies a stored archive to a restore, verified block by block just
// before it is handed out (private to controller/jobs).
//
// A reader thread reads the archive a block at a time into one of kBuffers
// buffers, checks the block's SHA-256 against the recorded block digests
// (block_digests.h), folds it into the whole-file SHA-256, and only then
// passes it to the transfer thread (Next()). The last block is passed only
// once the whole-file digest also matches the record, so an agent can never
// receive a complete archive that differs from what was backed up, and never
// receives a byte that failed its block check. A mismatch, a short read or
// a file that changed size ends the stream with Corruption naming the block.
//
// Without block digests (archives recorded before they existed) the caller
// checks the whole file first; blocks then pass unchecked individually but
// the whole-file digest still gates the last block.
//
// Memory: kBuffers x block size (capped at kMaxBlockSize).
// Threads: Next/WaitForFirst from the transfer thread; on_block runs on the
// reader thread after each verified block. The destructor stops and joins.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "controller/agents/agent_connector.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/block_digests.h"
#include "controller/jobs/buffer_relay.h"
#include "controller/storage/archive_storage.h"

namespace clawback::controller {

class VerifiedArchiveReader final : public ArchiveProvider {
 public:
  static constexpr size_t kBuffers = 3;
  static constexpr uint64_t kMaxBlockSize = 8 * 1024 * 1024;

  // Opens `path`, which must be `size` bytes with whole-file SHA-256
  // `sha256` (the record's). `digests` must describe the same archive (size
  // and sha256) or be nullopt. Corruption when the file size differs.
  static Result<std::unique_ptr<VerifiedArchiveReader>> Open(const std::string& path, uint64_t size,
                                                             const std::string& sha256,
                                                             std::optional<BlockDigests> digests,
                                                             std::function<void()> on_block);
  // The same over an archive already opened from its storage; `name` is
  // for messages.
  static Result<std::unique_ptr<VerifiedArchiveReader>> Open(std::unique_ptr<storage::ArchiveReader> archive,
                                                             const std::string& name, uint64_t size,
                                                             const std::string& sha256,
                                                             std::optional<BlockDigests> digests,
                                                             std::function<void()> on_block);
  ~VerifiedArchiveReader() override;
  VerifiedArchiveReader(const VerifiedArchiveReader&) = delete;
  VerifiedArchiveReader& operator=(const VerifiedArchiveReader&) = delete;

  std::optional<uint64_t> TotalSize() const override { return size_; }
  Result<std::span<const char>> Next() override;
  // Waits until the first block is verified (or failed): lets the caller
  // refuse a corrupt archive before contacting the agent at all.
  Status WaitForFirst();

 private:
  VerifiedArchiveReader(std::unique_ptr<storage::ArchiveReader> file, std::string path, uint64_t size,
                        std::string sha256, std::optional<BlockDigests> digests,
                        std::function<void()> on_block, size_t block_size);
  void Run();
  void Fail(Status st);
  Status Failure() const;

  std::unique_ptr<storage::ArchiveReader> file_;  // reader thread only
  uint64_t read_offset_ = 0;                       // reader thread only
  const std::string path_;
  const uint64_t size_;
  const std::string sha256_;
  const std::optional<BlockDigests> digests_;
  const std::function<void()> on_block_;
  BufferRelay relay_;
  std::optional<std::span<char>> handed_out_;  // transfer thread only
  mutable std::mutex mu_;                      // guards failure_, first_done_
  std::condition_variable first_;
  Status failure_;
  bool first_done_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace clawback::controller
