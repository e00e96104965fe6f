// SeekableCompressor: turns the tar stream into a format 2 archive
// (docs/archive-format.md, "Seekable archives and the index"): independent
// zstd frames that end at tar member boundaries, then the index frame the
// caller built, then the seek table (shared/seek_table.h) listing them all.
//
// Frames. The producer says where tar members start (MemberBoundary); the
// frame being filled ends at the first boundary once it holds at least
// kMinFrameInput bytes, or is cut where it is at kMaxFrameInput (a member
// larger than max - min spans frames). Each frame is compressed on its own
// (single-threaded ZSTD_CCtx per worker, content checksum and content size
// set) by a pool of `threads` workers and handed to the ChunkSink in order,
// on the producer's thread, hashing the bytes with SHA-256 as they leave.
// zstd's own multithreading cannot do this: ZSTD_e_end per frame waits for
// all its jobs, so frames would be compressed one after the other.
//
// Frame sizes, chosen by measurement (bench/agent/run.sh and the ratio line
// it prints; figures in bench/README.md): min 1 MiB / max 2 MiB costs 0.1 %
// of archive size against the old single-frame stream (which already cut
// its input into independent 2 MiB zstd jobs), and keeps files up to 1 MiB in
// one frame, so fetching one reads a single frame. Smaller frames cost ratio
// quickly (512 KiB: ~1 %); larger ones memory.
//
// Memory: threads + 1 frame slots, each an input buffer of kMaxFrameInput
// and an output buffer of ZSTD_compressBound(kMaxFrameInput) (pages touched
// only as used), plus one compression context per worker (~1.2 MiB at
// level 3 for 2 MiB frames): about 12 MiB with 2 workers.
//
// Thread safety: one producer thread calls everything; the workers only touch
// the slots handed to them (guarded by mu_). Errors are sticky: after a sink,
// zstd or worker failure every call returns the first error and nothing more
// reaches the sink. The destructor stops and joins the workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/archive/archive_stream.h"
#include "shared/seek_table.h"
#include "shared/status.h"

namespace clawback::agent {

class SeekableCompressor {
 public:
  static constexpr size_t kMinFrameInput = 1 << 20;
  static constexpr size_t kMaxFrameInput = 2 << 20;

  // threads <= 0 compresses on the calling thread (no workers).
  // min/max frame input are overridable for tests (min <= max, max < 1 GiB).
  static Result<std::unique_ptr<SeekableCompressor>> Create(int level, int threads, ChunkSink& sink,
                                                            size_t min_frame = kMinFrameInput,
                                                            size_t max_frame = kMaxFrameInput);
  ~SeekableCompressor();
  SeekableCompressor(const SeekableCompressor&) = delete;
  SeekableCompressor& operator=(const SeekableCompressor&) = delete;

  // Appends tar bytes; a frame reaching the maximum is cut and queued.
  Status Write(const void* data, size_t size);
  // The next byte written starts a tar member: ends the frame if it holds at
  // least the minimum.
  Status MemberBoundary();
  // Bytes of tar stream written so far (the next byte's offset).
  uint64_t tar_offset() const { return bytes_in_; }
  // The data frame the next byte written goes to.
  uint64_t current_frame() const { return frames_sealed_; }

  // Ends the last data frame, sends every frame, then `index_frame` (a whole
  // skippable frame, archive_index::IndexWriter::Finish) and the seek table.
  // Call once, after the last Write.
  Status Finish(std::string_view index_frame);
  // Stops forwarding anything to the sink (used when the producer fails).
  void Abandon() { abandoned_ = true; }

  const Status& status() const { return error_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  int workers() const { return static_cast<int>(workers_.size()); }
  // Data frames sent (valid after Finish).
  size_t data_frames() const { return sizes_.empty() ? 0 : sizes_.size() - 1; }
  // Lowercase hex SHA-256 of everything sent; valid after Finish() succeeded.
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  struct Slot;
  struct Hash;
  SeekableCompressor(ChunkSink& sink, size_t min_frame, size_t max_frame);
  Status Submit();                   // queues the filling slot, takes a free one
  Status EmitReady(bool wait_one);   // sends finished frames in order
  Status Send(const char* data, size_t size);  // copies through a framed scratch buffer
  Status SendInPlace(char* data, size_t size);
  void WorkerLoop(void* cctx);
  void Compress(Slot& slot, void* cctx);
  Status Fail(Status s);

  ChunkSink& sink_;
  const size_t min_frame_;
  const size_t max_frame_;
  int level_ = 3;
  std::vector<std::unique_ptr<Slot>> slots_;
  Slot* filling_ = nullptr;
  std::deque<Slot*> in_order_;   // queued or compressed, oldest first (producer only)
  std::vector<std::thread> workers_;
  std::vector<void*> cctxs_;  // ZSTD_CCtx*: one per worker, or one for inline compression
  std::unique_ptr<Hash> hash_;
  std::vector<seek_table::FrameSize> sizes_;
  std::vector<char> scratch_;  // ChunkSink::kHeadroom + piece + kTailroom

  std::mutex mu_;  // guards queue_, stop_ and the state of every Slot
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<Slot*> queue_;  // waiting for a worker
  bool stop_ = false;

  Status error_;
  bool abandoned_ = false;
  bool finished_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  uint64_t frames_sealed_ = 0;  // data frames ended so far
  std::string sha256_hex_;
};

}  // namespace clawback::agent
