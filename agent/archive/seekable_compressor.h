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
// set) by a pool of `threads` workers; an emitter thread hands them to the
// ChunkSink in order, hashing the bytes with SHA-256 as they leave, so the
// producer (the tar writer) never waits on the network. zstd's own
// multithreading cannot do this: ZSTD_e_end per frame waits for all its jobs,
// so frames would be compressed one after the other.
//
// Frame sizes, chosen by measurement (bench/agent/frame_sizes.cc and
// bench/agent/run.sh, 256 MiB bench data set, figures in bench/README.md):
//   min:max KiB   256:512  512:1024  1024:2048  2048:4096  4096:8192
//   archive B     110.58M  110.41M   110.39M    110.37M    110.35M
// against 109.47M from the old single-frame stream (which already cut its
// input into independent 2 MiB zstd jobs): 1 MiB / 2 MiB costs 0.84 %
// (target <= 2 %), of which ~0.8 % is the index frame (54 bytes per entry,
// most of it the SHA-256), and keeps files up to 1 MiB in one frame, so
// fetching one decompresses a single frame of at most 2 MiB.
//
// Index entries. The producer hands each entry's index line to AddEntry
// once the entry is written; for a file whose content lies as is in the tar
// stream it first calls HashContent(size) right before writing the content,
// and the emitter computes the SHA-256 from the frames as they go out (off
// the producer's thread: on the bench it was 12 % of the CPU and the
// producer is the critical path). Lines reach the EntryFn in archive order,
// on the emitter thread (or the caller's, in Finish and without workers).
//
// Memory: threads + 1 frame slots, each an input buffer of kMaxFrameInput
// and an output buffer of ZSTD_compressBound(kMaxFrameInput) (pages touched
// only as used), plus one compression context per worker (~1.2 MiB at
// level 3 for 2 MiB frames): about 12 MiB with 2 workers.
//
// Thread safety: one producer thread calls the public methods; workers and
// the emitter touch only the slots handed to them, under mu_. The ChunkSink
// is called from the emitter thread while frames flow and from the calling
// thread in Finish (after the emitter is idle), never from two at once.
// Errors are sticky: after a sink, zstd or worker failure every call returns
// the first error and nothing more reaches the sink. The destructor stops and
// joins all threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/archive/archive_stream.h"
#include "shared/archive_index.h"
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

  // Receives each index line, SHA-256 filled in, in archive order.
  using EntryFn = std::function<Status(archive_index::IndexEntry&&)>;
  void OnEntry(EntryFn fn) { on_entry_ = std::move(fn); }
  // The next `size` bytes written are a file's content: hash them.
  void HashContent(uint64_t size);
  // Queues the index line of the entry just written. With `hashed`, its
  // sha256 is the hash of the range the last HashContent named.
  Status AddEntry(archive_index::IndexEntry entry, bool hashed);

  // Ends the last data frame, sends every frame and hands every index line to
  // the EntryFn. Call once, after the last Write.
  Status FinishData();
  // Then sends `index_frame` (a whole skippable frame,
  // archive_index::IndexWriter::Finish) and the seek table.
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
  struct ContentJob;
  struct PendingEntry;
  // Hashes the content ranges inside `slot` (tar offsets from its tar_begin)
  // and hands on the entries complete once it is out. Emitter thread, or the
  // producer without workers.
  Status AfterFrame(const Slot& slot);
  Status DeliverReady(uint64_t emitted_end);
  struct Hash;
  SeekableCompressor(ChunkSink& sink, size_t min_frame, size_t max_frame);
  Status Submit();                   // queues the filling slot, takes a free one
  Status Send(const char* data, size_t size);  // copies through a framed scratch buffer
  Status SendInPlace(char* data, size_t size);
  Status SendFrame(Slot& slot);
  void WorkerLoop(void* cctx);
  void EmitterLoop();
  Status SharedError();              // the emitter's or a worker's error, if any
  void Compress(Slot& slot, void* cctx);
  Status Fail(Status s);

  ChunkSink& sink_;
  const size_t min_frame_;
  const size_t max_frame_;
  int level_ = 3;
  std::vector<std::unique_ptr<Slot>> slots_;
  Slot* filling_ = nullptr;
  std::vector<std::thread> workers_;
  std::vector<void*> cctxs_;  // ZSTD_CCtx*: one per worker, or one for inline compression
  std::unique_ptr<Hash> hash_;
  std::vector<seek_table::FrameSize> sizes_;
  std::vector<char> scratch_;  // ChunkSink::kHeadroom + piece + kTailroom
  EntryFn on_entry_;
  // Content ranges and index lines not yet delivered, in archive order.
  // Appended by the producer, consumed by whoever runs AfterFrame; element
  // addresses stay put (deque), the containers themselves under entries_mu_.
  std::mutex entries_mu_;
  std::deque<std::unique_ptr<ContentJob>> jobs_;
  std::deque<PendingEntry> entries_;
  ContentJob* last_job_ = nullptr;  // producer only
  bool data_finished_ = false;

  std::thread emitter_;
  std::mutex mu_;  // guards queue_, in_order_, stop_, shared_error_ and the state of every Slot
  std::condition_variable work_cv_;   // workers: queue_ has a slot
  std::condition_variable done_cv_;   // emitter: a slot is compressed
  std::condition_variable free_cv_;   // producer: a slot is free, or in_order_ drained, or an error
  std::deque<Slot*> queue_;     // waiting for a worker
  std::deque<Slot*> in_order_;  // submitted and not yet sent, oldest first
  bool stop_ = false;
  Status shared_error_;         // first error of a worker or the emitter
  std::atomic<bool> failed_{false};     // shared_error_ is set (cheap check for Write)
  std::atomic<bool> abandoned_{false};

  Status error_;
  bool finished_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  uint64_t frames_sealed_ = 0;  // data frames ended so far
  std::string sha256_hex_;
};

}  // namespace clawback::agent
