// ZstdCompressor: streams bytes through one zstd frame (content checksum on,
// ZSTD_c_nbWorkers = threads) into a ChunkSink, hashing the compressed bytes
// with SHA-256 as they leave.
//
// Owns its ZSTD_CCtx and EVP_MD_CTX. Memory: the zstd window and job buffers
// (a few MiB per worker at level 3) plus one output buffer. Errors are sticky:
// after a sink or zstd failure every call returns the first error and nothing
// more reaches the sink. Not thread-safe (one producer); zstd runs its own
// workers internally.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agent/archive/archive_stream.h"
#include "shared/status.h"

namespace clawback::agent {

class ZstdCompressor {
 public:
  // threads <= 0 compresses on the calling thread. When the zstd library was
  // built without multithreading, it silently falls back to 0 (see workers()).
  static Result<std::unique_ptr<ZstdCompressor>> Create(int level, int threads, ChunkSink& sink);
  ~ZstdCompressor();
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  // Compresses `size` bytes; full output buffers go to the sink.
  Status Write(const void* data, size_t size);
  // Ends the frame and flushes everything to the sink. Call once.
  Status Finish();
  // Stops forwarding anything to the sink (used when the producer fails).
  void Abandon() { abandoned_ = true; }

  // The first error (sticky), OK while healthy.
  const Status& status() const { return error_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  int workers() const { return workers_; }
  // Lowercase hex SHA-256 of everything sent; valid after Finish() succeeded.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  struct Impl;
  explicit ZstdCompressor(ChunkSink& sink);
  Status Flush();

  ChunkSink& sink_;
  std::unique_ptr<Impl> impl_;
  Status error_;
  bool abandoned_ = false;
  bool finished_ = false;
  int workers_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  std::string sha256_hex_;
};

}  // namespace clawback::agent
