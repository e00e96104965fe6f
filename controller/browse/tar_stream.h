// Random access to a stored archive (private to controller/browse).
//
// VerifiedBlocks reads the archive file with pread, one digest block
// (block_digests.h, 1 MiB) at a time, and checks the block's SHA-256 against
// the recorded digest before any byte of it is used: a byte that fails its
// check is never decompressed, let alone served. It keeps the last verified
// block, so small sequential reads cost one pread per block. It counts what it
// read (for bench/browse).
//
// TarStream is the decompressed tar stream of the archive, readable from any
// offset: Seek() starts decompressing at the frame that holds the offset
// (catalog frames) and discards up to it; Skip() jumps frames when the target
// lies in a later one. Format 1 archives are one frame, so a seek there
// decompresses from the start (their cost is what it is; format 2 makes it
// one or two frames).
//
// Not thread-safe: one owner each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "controller/browse/catalog.h"
#include "controller/jobs/block_digests.h"
#include "controller/storage/archive_storage.h"
#include "shared/status.h"

struct ZSTD_DCtx_s;

namespace clawback::controller::browse {

struct ReadCounters {
  uint64_t compressed_bytes_read = 0;  // bytes pread from the archive file
  uint64_t blocks_verified = 0;
  uint64_t frames_touched = 0;         // data frames whose bytes were decompressed (at least partly)
};

class VerifiedBlocks {
 public:
  // `digests` must describe the file (size checked here).
  static Result<std::unique_ptr<VerifiedBlocks>> Open(const std::string& path, BlockDigests digests);
  // The same over an archive opened from its storage (`name` for messages).
  static Result<std::unique_ptr<VerifiedBlocks>> Open(std::unique_ptr<storage::ArchiveReader> archive,
                                                      const std::string& name, BlockDigests digests);
  ~VerifiedBlocks();
  VerifiedBlocks(const VerifiedBlocks&) = delete;
  VerifiedBlocks& operator=(const VerifiedBlocks&) = delete;

  uint64_t size() const { return digests_.size; }
  // Verified bytes starting at `offset`: at most to the end of its block,
  // empty at the end of the file. Valid until the next call. Corruption on a
  // digest mismatch or a short read.
  Result<std::string_view> ReadAt(uint64_t offset);
  ReadCounters& counters() { return counters_; }

 private:
  VerifiedBlocks(std::unique_ptr<storage::ArchiveReader> archive, std::string path, BlockDigests digests);
  std::unique_ptr<storage::ArchiveReader> archive_;
  std::string path_;
  BlockDigests digests_;
  std::string block_;
  uint64_t block_no_ = UINT64_MAX;  // which block block_ holds
  ReadCounters counters_;
};

class TarStream {
 public:
  // A tar size not known yet (a scan): the stream ends where the archive does.
  static constexpr uint64_t kUnknownSize = UINT64_MAX;
  TarStream(VerifiedBlocks& blocks, std::vector<FrameInfo> frames, uint64_t tar_size);
  ~TarStream();
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  Status Seek(uint64_t offset);
  // Up to `capacity` decompressed bytes; 0 at the end of the tar stream.
  Result<size_t> Read(char* buf, size_t capacity);
  // Skips `n` bytes (fewer only at the end); returns how many.
  Result<uint64_t> Skip(uint64_t n);
  uint64_t position() const { return pos_; }
  ReadCounters& counters() { return blocks_.counters(); }

 private:
  size_t FrameAt(uint64_t d_offset) const;
  Status StartFrame(size_t frame);
  Result<size_t> Decompress(char* buf, size_t capacity);

  VerifiedBlocks& blocks_;
  std::vector<FrameInfo> frames_;
  uint64_t tar_size_;
  ZSTD_DCtx_s* dctx_;
  uint64_t pos_ = 0;         // decompressed position
  uint64_t c_pos_ = 0;       // next compressed byte to feed
  std::string_view in_;      // verified input not yet consumed
  uint64_t in_offset_ = 0;   // file offset of in_.data()
  size_t next_frame_ = 0;    // first frame not yet counted as touched
  bool started_ = false;
  std::string scratch_;
};

}  // namespace clawback::controller::browse
