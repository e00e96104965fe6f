#include "agent/archive/zstd_compressor.h"

#include <openssl/evp.h>
#include <zstd.h>

#include <vector>

namespace clawback::agent {

struct ZstdCompressor::Impl {
  ZSTD_CCtx* cctx = nullptr;
  EVP_MD_CTX* sha = nullptr;
  std::vector<unsigned char> out;
  ZSTD_outBuffer out_buf{};
  ~Impl() {
    ZSTD_freeCCtx(cctx);
    EVP_MD_CTX_free(sha);
  }
};

namespace {
// Chosen by measurement (bench/zstd/run.sh, figures in bench/README.md):
// level 3, 2 workers, pax tar of the bench dataset. The compressing process
// peaks at 14 / 22 / 30 / 35 / 70 MiB with 1 / 2 / 3 / 4 MiB / default
// jobs, so 2 MiB is the largest job that keeps the whole agent (TLS,
// libarchive, buffers: ~8 MiB more) within its 32 MiB bound. With jobs that
// small, zstd's default overlap (window/8 = 256 KiB at level 3, re-read at
// the start of every job) is 1/8 more work per job for a 0.03 % smaller
// archive; no overlap gives that CPU to the workers and ~2 MiB of RSS back.
constexpr int kJobSizeBytes = 2 << 20;
constexpr int kOverlapLogNone = 1;
}  // namespace

ZstdCompressor::ZstdCompressor(ChunkSink& sink) : sink_(sink), impl_(std::make_unique<Impl>()) {}
ZstdCompressor::~ZstdCompressor() = default;

Result<std::unique_ptr<ZstdCompressor>> ZstdCompressor::Create(int level, int threads, ChunkSink& sink) {
  std::unique_ptr<ZstdCompressor> c(new ZstdCompressor(sink));
  Impl& impl = *c->impl_;
  impl.cctx = ZSTD_createCCtx();
  impl.sha = EVP_MD_CTX_new();
  if (impl.cctx == nullptr || impl.sha == nullptr) return Status::Internal("cannot allocate compressor");
  if (EVP_DigestInit_ex(impl.sha, EVP_sha256(), nullptr) != 1) return Status::Internal("SHA-256 unavailable");
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
    return Status::InvalidArgument("zstd level out of range: " + std::to_string(level));
  size_t r = ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(r)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(r));
  if (threads > 0) {
    // Fails on a single-threaded libzstd build; compression then runs inline.
    if (!ZSTD_isError(ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_nbWorkers, threads))) {
      c->workers_ = threads;
      // zstd's default job is 4 windows (8 MiB at level 3), and each worker
      // holds an input job plus its compressed output: see kJobSizeBytes.
      ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_jobSize, kJobSizeBytes);
      ZSTD_CCtx_setParameter(impl.cctx, ZSTD_c_overlapLog, kOverlapLogNone);
    }
  }
  // The sink may frame each block in place (ChunkSink::kHeadroom/kTailroom).
  const size_t block = ZSTD_CStreamOutSize() * 2;
  impl.out.resize(ChunkSink::kHeadroom + block + ChunkSink::kTailroom);
  impl.out_buf = {impl.out.data() + ChunkSink::kHeadroom, block, 0};
  return c;
}

Status ZstdCompressor::Flush() {
  ZSTD_outBuffer& ob = impl_->out_buf;
  if (ob.pos == 0) return Status::Ok();
  if (abandoned_) return error_ = Status::Canceled("archive abandoned");
  EVP_DigestUpdate(impl_->sha, ob.dst, ob.pos);
  Status s = sink_.Write(static_cast<char*>(ob.dst), ob.pos);
  if (!s.ok()) return error_ = s;
  bytes_out_ += ob.pos;
  ob.pos = 0;
  return Status::Ok();
}

Status ZstdCompressor::Write(const void* data, size_t size) {
  if (!error_.ok()) return error_;
  if (finished_) return error_ = Status::Internal("write after finish");
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    size_t r = ZSTD_compressStream2(impl_->cctx, &impl_->out_buf, &in, ZSTD_e_continue);
    if (ZSTD_isError(r)) return error_ = Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(r));
    if (impl_->out_buf.pos == impl_->out_buf.size) CLAWBACK_RETURN_IF_ERROR(Flush());
  }
  bytes_in_ += size;
  return Status::Ok();
}

Status ZstdCompressor::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return error_ = Status::Internal("finish called twice");
  finished_ = true;
  ZSTD_inBuffer in{nullptr, 0, 0};
  for (;;) {
    size_t remaining = ZSTD_compressStream2(impl_->cctx, &impl_->out_buf, &in, ZSTD_e_end);
    if (ZSTD_isError(remaining))
      return error_ = Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(remaining));
    if (remaining == 0 || impl_->out_buf.pos == impl_->out_buf.size) CLAWBACK_RETURN_IF_ERROR(Flush());
    if (remaining == 0) break;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->sha, digest, &len) != 1) return error_ = Status::Internal("SHA-256 failed");
  static const char kHex[] = "0123456789abcdef";
  sha256_hex_.clear();
  for (unsigned int i = 0; i < len; ++i) {
    sha256_hex_ += kHex[digest[i] >> 4];
    sha256_hex_ += kHex[digest[i] & 15];
  }
  return Status::Ok();
}

}  // namespace clawback::agent
