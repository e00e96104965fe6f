// ZstdDecompressor: pulls a zstd stream from a ChunkSource and hands out the
// decompressed bytes. It is strict about the end: the stream must consist of
// whole zstd frames (content checksums verified when present), so a stream cut
// anywhere — even between two tar entries — is reported as Corruption instead
// of looking like a shorter archive.
//
// Owns its ZSTD_DCtx and a fixed input buffer. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/archive/archive_stream.h"
#include "shared/status.h"

namespace clawback::agent {

class ZstdDecompressor {
 public:
  static Result<std::unique_ptr<ZstdDecompressor>> Create(ChunkSource& source);
  ~ZstdDecompressor();
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

  // Fills up to `capacity` bytes; 0 at a clean end of the stream. Errors: the
  // source's own status, or Corruption (not zstd, corrupt, truncated).
  Result<size_t> Read(void* out, size_t capacity);

  // Reads and verifies the rest of the stream, discarding it (after the tar
  // end-of-archive marker there is only padding). OK when the stream ends
  // cleanly.
  Status Drain();

  uint64_t compressed_bytes() const { return compressed_bytes_; }

 private:
  struct Impl;
  explicit ZstdDecompressor(ChunkSource& source);

  ChunkSource& source_;
  std::unique_ptr<Impl> impl_;
  Status error_;
  bool source_eof_ = false;
  bool in_frame_ = false;     // inside a frame that has not ended yet
  bool saw_frame_ = false;
  uint64_t compressed_bytes_ = 0;
};

}  // namespace clawback::agent
