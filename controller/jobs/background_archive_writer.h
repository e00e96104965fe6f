// Receives a backup stream for a PartialArchive and writes it on its own
// thread (private to controller/jobs). The transfer thread reads the network
// straight into this writer's buffers (ArchiveReceiver::Buffer/Commit); the
// writer thread hashes (whole file and per block), writes, hints writeback
// and reports progress, so none of that waits on, or delays, the TLS reads.
//
// Memory: kBuffers x kBufferSize per running backup, fixed.
// Errors: a failed write (disk full ...) stops the writer; the transfer sees
// it from its next Buffer()/Commit() and Finish() returns it.
// Threads: Buffer/Commit/Finish from the transfer thread only; on_progress
// runs on the writer thread. The destructor stops and joins the writer.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "controller/agents/agent_connector.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/buffer_relay.h"
#include "controller/storage/archive_storage.h"

namespace clawback::controller {

class BackgroundArchiveWriter final : public ArchiveReceiver {
 public:
  static constexpr size_t kBuffers = 4;
  static constexpr size_t kBufferSize = 256 * 1024;

  // on_progress(bytes written so far), after each buffer, on the writer thread.
  BackgroundArchiveWriter(storage::ArchiveSink& sink, std::function<void(uint64_t)> on_progress);
  BackgroundArchiveWriter(PartialArchive& file, std::function<void(uint64_t)> on_progress);
  ~BackgroundArchiveWriter() override;
  BackgroundArchiveWriter(const BackgroundArchiveWriter&) = delete;
  BackgroundArchiveWriter& operator=(const BackgroundArchiveWriter&) = delete;

  Result<std::span<char>> Buffer() override;
  Status Commit(size_t size) override;
  // No more data: waits until everything committed is written; returns the
  // first write error, if any. Call once, before reading the file's state.
  Status Finish();

 private:
  void Run();
  Status Failure() const;

  std::unique_ptr<storage::ArchiveSink> adapter_;  // when built over a PartialArchive
  storage::ArchiveSink& file_;
  const std::function<void(uint64_t)> on_progress_;
  BufferRelay relay_{kBuffers, kBufferSize};
  std::optional<std::span<char>> lent_;  // transfer thread only
  mutable std::mutex mu_;                // guards failure_
  Status failure_;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace clawback::controller
