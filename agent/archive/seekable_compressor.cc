#include "agent/archive/seekable_compressor.h"

#include <openssl/evp.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace clawback::agent {
namespace {
constexpr size_t kScratchPiece = 256 * 1024;  // index frame and seek table go out in pieces this big
}  // namespace

// One frame's buffers. The producer owns a slot while it is free or being
// filled; a worker while it is queued (until it is done); state changes under
// mu_.
struct SeekableCompressor::Slot {
  enum class State { kFree, kFilling, kQueued, kDone };
  std::unique_ptr<char[]> in;   // uninitialized: pages become resident only as filled
  size_t in_size = 0;
  uint64_t tar_begin = 0;       // tar offset of in[0]
  std::unique_ptr<char[]> out;  // kHeadroom + compressBound + kTailroom
  size_t out_capacity = 0;      // compressBound(max frame)
  size_t out_size = 0;
  State state = State::kFree;
  Status error;
};

// One file's content range in the tar stream and its running hash.
struct SeekableCompressor::ContentJob {
  uint64_t begin = 0, end = 0;  // tar offsets
  uint64_t hashed = 0;          // bytes hashed so far (from begin)
  EVP_MD_CTX* ctx = nullptr;
  ~ContentJob() { EVP_MD_CTX_free(ctx); }
};

struct SeekableCompressor::PendingEntry {
  archive_index::IndexEntry entry;
  ContentJob* job = nullptr;  // set when its sha256 comes from a content range
};

struct SeekableCompressor::Hash {
  EVP_MD_CTX* ctx = nullptr;
  ~Hash() { EVP_MD_CTX_free(ctx); }
};

SeekableCompressor::SeekableCompressor(ChunkSink& sink, size_t min_frame, size_t max_frame)
    : sink_(sink), min_frame_(min_frame), max_frame_(max_frame), hash_(std::make_unique<Hash>()) {}

SeekableCompressor::~SeekableCompressor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  if (emitter_.joinable()) emitter_.join();
  for (void* c : cctxs_) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(c));
}

Result<std::unique_ptr<SeekableCompressor>> SeekableCompressor::Create(int level, int threads, ChunkSink& sink,
                                                                       size_t min_frame, size_t max_frame) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
    return Status::InvalidArgument("zstd level out of range: " + std::to_string(level));
  if (min_frame == 0 || min_frame > max_frame || max_frame >= seek_table::kMaxFrameDecompressed)
    return Status::InvalidArgument("frame sizes out of range");
  std::unique_ptr<SeekableCompressor> c(new SeekableCompressor(sink, min_frame, max_frame));
  c->level_ = level;
  c->hash_->ctx = EVP_MD_CTX_new();
  if (c->hash_->ctx == nullptr || EVP_DigestInit_ex(c->hash_->ctx, EVP_sha256(), nullptr) != 1)
    return Status::Internal("SHA-256 unavailable");
  const size_t workers = threads > 0 ? static_cast<size_t>(threads) : 0;
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    if (cctx == nullptr) return Status::Internal("cannot allocate compressor");
    c->cctxs_.push_back(cctx);
    size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    if (ZSTD_isError(r)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(r));
  }
  // One slot per worker plus the one being filled.
  const size_t bound = ZSTD_compressBound(max_frame);
  for (size_t i = 0; i < workers + 1; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->in.reset(new char[max_frame]);
    slot->out.reset(new char[ChunkSink::kHeadroom + bound + ChunkSink::kTailroom]);
    slot->out_capacity = bound;
    c->slots_.push_back(std::move(slot));
  }
  c->scratch_.resize(ChunkSink::kHeadroom + kScratchPiece + ChunkSink::kTailroom);
  c->filling_ = c->slots_[0].get();
  c->filling_->state = Slot::State::kFilling;
  for (size_t i = 0; i < workers; ++i) {
    void* cctx = c->cctxs_[i];
    c->workers_.emplace_back([raw = c.get(), cctx] { raw->WorkerLoop(cctx); });
  }
  if (workers > 0) c->emitter_ = std::thread([raw = c.get()] { raw->EmitterLoop(); });
  return c;
}

Status SeekableCompressor::Fail(Status s) {
  if (error_.ok()) error_ = std::move(s);
  return error_;
}

void SeekableCompressor::Compress(Slot& slot, void* cctx) {
  size_t n = ZSTD_compress2(static_cast<ZSTD_CCtx*>(cctx), slot.out.get() + ChunkSink::kHeadroom, slot.out_capacity,
                            slot.in.get(), slot.in_size);
  if (ZSTD_isError(n)) {
    slot.error = Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    slot.out_size = 0;
  } else {
    slot.error = Status::Ok();
    slot.out_size = n;
  }
}

void SeekableCompressor::WorkerLoop(void* cctx) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Slot* slot = queue_.front();
    queue_.pop_front();
    lock.unlock();
    Compress(*slot, cctx);
    lock.lock();
    slot->state = Slot::State::kDone;
    done_cv_.notify_all();
  }
}

Status SeekableCompressor::SendInPlace(char* data, size_t size) {
  if (abandoned_) return Status::Canceled("archive abandoned");
  EVP_DigestUpdate(hash_->ctx, data, size);
  CLAWBACK_RETURN_IF_ERROR(sink_.Write(data, size));
  bytes_out_ += size;
  return Status::Ok();
}

Status SeekableCompressor::Send(const char* data, size_t size) {
  while (size > 0) {
    const size_t n = std::min(size, kScratchPiece);
    char* piece = scratch_.data() + ChunkSink::kHeadroom;
    std::memcpy(piece, data, n);
    CLAWBACK_RETURN_IF_ERROR(SendInPlace(piece, n));
    data += n;
    size -= n;
  }
  return Status::Ok();
}

Status SeekableCompressor::SendFrame(Slot& slot) {
  CLAWBACK_RETURN_IF_ERROR(slot.error);
  CLAWBACK_RETURN_IF_ERROR(SendInPlace(slot.out.get() + ChunkSink::kHeadroom, slot.out_size));
  sizes_.push_back({static_cast<uint32_t>(slot.out_size), static_cast<uint32_t>(slot.in_size)});
  return Status::Ok();
}

void SeekableCompressor::EmitterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    done_cv_.wait(lock, [&] { return stop_ || (!in_order_.empty() && in_order_.front()->state == Slot::State::kDone); });
    if (stop_) return;
    Slot* slot = in_order_.front();
    const bool failed = failed_;
    lock.unlock();
    // After a failure frames are dropped unsent; the producer stops on the error.
    Status sent = failed ? Status::Ok() : SendFrame(*slot);
    if (sent.ok() && !failed) sent = AfterFrame(*slot);
    lock.lock();
    in_order_.pop_front();
    slot->state = Slot::State::kFree;
    if (!sent.ok() && shared_error_.ok()) {
      shared_error_ = sent;
      failed_ = true;
    }
    free_cv_.notify_all();
  }
}

Status SeekableCompressor::SharedError() {
  std::lock_guard<std::mutex> lock(mu_);
  return Fail(shared_error_);
}

Status SeekableCompressor::Submit() {
  Slot* slot = filling_;
  if (slot->in_size == 0) return Status::Ok();
  ++frames_sealed_;
  slot->tar_begin = bytes_in_ - slot->in_size;
  if (workers_.empty()) {
    Compress(*slot, cctxs_[0]);
    Status sent = SendFrame(*slot);
    if (sent.ok()) sent = AfterFrame(*slot);
    if (!sent.ok()) return Fail(sent);
    slot->in_size = 0;
    return Status::Ok();
  }
  std::unique_lock<std::mutex> lock(mu_);
  slot->state = Slot::State::kQueued;
  queue_.push_back(slot);
  in_order_.push_back(slot);
  filling_ = nullptr;
  work_cv_.notify_one();
  Slot* free = nullptr;
  free_cv_.wait(lock, [&] {
    if (failed_) return true;
    for (auto& s : slots_)
      if (s->state == Slot::State::kFree) free = s.get();
    return free != nullptr;
  });
  if (failed_) return Fail(shared_error_);
  filling_ = free;
  filling_->state = Slot::State::kFilling;
  filling_->in_size = 0;
  return Status::Ok();
}

Status SeekableCompressor::Write(const void* data, size_t size) {
  if (!error_.ok()) return error_;
  if (failed_.load(std::memory_order_relaxed)) return SharedError();
  if (finished_) return Fail(Status::Internal("write after finish"));
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const size_t n = std::min(size, max_frame_ - filling_->in_size);
    std::memcpy(filling_->in.get() + filling_->in_size, p, n);
    filling_->in_size += n;
    bytes_in_ += n;
    p += n;
    size -= n;
    if (filling_->in_size == max_frame_) CLAWBACK_RETURN_IF_ERROR(Submit());
  }
  return Status::Ok();
}

Status SeekableCompressor::MemberBoundary() {
  if (!error_.ok()) return error_;
  if (failed_.load(std::memory_order_relaxed)) return SharedError();
  if (filling_->in_size >= min_frame_) return Submit();
  return Status::Ok();
}

void SeekableCompressor::HashContent(uint64_t size) {
  auto job = std::make_unique<ContentJob>();
  job->begin = bytes_in_;
  job->end = bytes_in_ + size;
  last_job_ = job.get();
  std::lock_guard<std::mutex> lock(entries_mu_);
  jobs_.push_back(std::move(job));
}

Status SeekableCompressor::AddEntry(archive_index::IndexEntry entry, bool hashed) {
  if (!error_.ok()) return error_;
  if (hashed && last_job_ == nullptr) return Fail(Status::Internal("AddEntry: no content range to hash"));
  std::lock_guard<std::mutex> lock(entries_mu_);
  entries_.push_back({std::move(entry), hashed ? last_job_ : nullptr});
  last_job_ = nullptr;
  return Status::Ok();
}

Status SeekableCompressor::AfterFrame(const Slot& slot) {
  const uint64_t fs = slot.tar_begin, fe = slot.tar_begin + slot.in_size;
  std::vector<ContentJob*> overlapping;
  {
    std::lock_guard<std::mutex> lock(entries_mu_);
    for (auto& job : jobs_) {
      if (job->begin >= fe) break;
      if (job->end > fs) overlapping.push_back(job.get());
    }
  }
  for (ContentJob* job : overlapping) {
    const uint64_t from = std::max(job->begin + job->hashed, fs), to = std::min(job->end, fe);
    if (to <= from) continue;
    if (job->ctx == nullptr) {
      job->ctx = EVP_MD_CTX_new();
      if (job->ctx == nullptr || EVP_DigestInit_ex(job->ctx, EVP_sha256(), nullptr) != 1)
        return Status::Internal("SHA-256 unavailable");
    }
    EVP_DigestUpdate(job->ctx, slot.in.get() + (from - fs), to - from);
    job->hashed = to - job->begin;
  }
  return DeliverReady(fe);
}

// Hands on, in order, every entry whose content (if any) is all hashed.
Status SeekableCompressor::DeliverReady(uint64_t emitted_end) {
  for (;;) {
    PendingEntry pending;
    {
      std::lock_guard<std::mutex> lock(entries_mu_);
      if (entries_.empty()) return Status::Ok();
      PendingEntry& front = entries_.front();
      if (front.job != nullptr && front.job->end > emitted_end) return Status::Ok();
      pending = std::move(front);
      entries_.pop_front();
    }
    if (ContentJob* job = pending.job) {
      if (job->ctx == nullptr) {  // an empty range
        job->ctx = EVP_MD_CTX_new();
        if (job->ctx == nullptr || EVP_DigestInit_ex(job->ctx, EVP_sha256(), nullptr) != 1)
          return Status::Internal("SHA-256 unavailable");
      }
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (job->hashed != job->end - job->begin || EVP_DigestFinal_ex(job->ctx, digest, &len) != 1)
        return Status::Internal("content hash incomplete for " + pending.entry.path);
      static const char kHex[] = "0123456789abcdef";
      pending.entry.sha256.clear();
      for (unsigned int i = 0; i < len; ++i) {
        pending.entry.sha256 += kHex[digest[i] >> 4];
        pending.entry.sha256 += kHex[digest[i] & 15];
      }
      std::lock_guard<std::mutex> lock(entries_mu_);
      // Jobs end in order: everything before this one is done too.
      while (!jobs_.empty() && jobs_.front().get() != job) jobs_.pop_front();
      if (!jobs_.empty()) jobs_.pop_front();
    }
    if (on_entry_) CLAWBACK_RETURN_IF_ERROR(on_entry_(std::move(pending.entry)));
  }
}

Status SeekableCompressor::FinishData() {
  if (!error_.ok()) return error_;
  if (data_finished_) return Fail(Status::Internal("FinishData called twice"));
  data_finished_ = true;
  CLAWBACK_RETURN_IF_ERROR(Submit());
  if (!workers_.empty()) {
    // The emitter sends what is left; after that only this thread uses the sink.
    std::unique_lock<std::mutex> lock(mu_);
    free_cv_.wait(lock, [&] { return failed_ || in_order_.empty(); });
    if (failed_) return Fail(shared_error_);
  }
  // Entries after the last byte (none carry content there) go out now.
  Status delivered = DeliverReady(bytes_in_);
  if (!delivered.ok()) return Fail(delivered);
  std::lock_guard<std::mutex> lock(entries_mu_);
  if (!entries_.empty()) return Fail(Status::Internal("index entries left undelivered"));
  return Status::Ok();
}

Status SeekableCompressor::Finish(std::string_view index_frame) {
  if (!error_.ok()) return error_;
  if (finished_) return Fail(Status::Internal("finish called twice"));
  if (!data_finished_) CLAWBACK_RETURN_IF_ERROR(FinishData());
  finished_ = true;
  if (sizes_.empty()) return Fail(Status::Internal("archive without data frames"));
  Status sent = Send(index_frame.data(), index_frame.size());
  if (!sent.ok()) return Fail(sent);
  sizes_.push_back({static_cast<uint32_t>(index_frame.size()), 0});
  Result<std::string> table = seek_table::EncodeSeekTable(sizes_);
  if (!table.ok()) return Fail(table.status());
  sent = Send(table->data(), table->size());
  if (!sent.ok()) return Fail(sent);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(hash_->ctx, digest, &len) != 1) return Fail(Status::Internal("SHA-256 failed"));
  static const char kHex[] = "0123456789abcdef";
  sha256_hex_.clear();
  for (unsigned int i = 0; i < len; ++i) {
    sha256_hex_ += kHex[digest[i] >> 4];
    sha256_hex_ += kHex[digest[i] & 15];
  }
  return Status::Ok();
}

}  // namespace clawback::agent
