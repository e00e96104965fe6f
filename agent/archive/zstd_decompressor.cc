#include "agent/archive/zstd_decompressor.h"

#include <zstd.h>

#include <vector>

namespace clawback::agent {

struct ZstdDecompressor::Impl {
  ZSTD_DCtx* dctx = nullptr;
  std::vector<unsigned char> in;
  ZSTD_inBuffer in_buf{};
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

ZstdDecompressor::ZstdDecompressor(ChunkSource& source) : source_(source), impl_(std::make_unique<Impl>()) {}
ZstdDecompressor::~ZstdDecompressor() = default;

Result<std::unique_ptr<ZstdDecompressor>> ZstdDecompressor::Create(ChunkSource& source) {
  std::unique_ptr<ZstdDecompressor> d(new ZstdDecompressor(source));
  d->impl_->dctx = ZSTD_createDCtx();
  if (d->impl_->dctx == nullptr) return Status::Internal("cannot allocate decompressor");
  // Bound the window a hostile stream can make us allocate (zstd -3 uses 2^21;
  // --long up to 2^27 is still accepted).
  ZSTD_DCtx_setParameter(d->impl_->dctx, ZSTD_d_windowLogMax, 27);
  d->impl_->in.resize(ZSTD_DStreamInSize() * 2);
  d->impl_->in_buf = {d->impl_->in.data(), 0, 0};
  return d;
}

Result<size_t> ZstdDecompressor::Read(void* out, size_t capacity) {
  if (!error_.ok()) return error_;
  ZSTD_outBuffer ob{out, capacity, 0};
  ZSTD_inBuffer& ib = impl_->in_buf;
  while (ob.pos == 0) {
    // Decompress while there is input, or output still buffered in a frame.
    if (ib.pos < ib.size || in_frame_) {
      bool had_input = ib.pos < ib.size;
      size_t r = ZSTD_decompressStream(impl_->dctx, &ob, &ib);
      if (ZSTD_isError(r))
        return error_ = Status::Corruption(std::string("archive stream is not valid zstd: ") + ZSTD_getErrorName(r));
      if (had_input) saw_frame_ = true;
      in_frame_ = r != 0;
      if (ob.pos > 0 || ib.pos < ib.size) continue;
    }
    if (source_eof_) {
      if (in_frame_) return error_ = Status::Corruption("archive stream truncated (incomplete zstd frame)");
      if (!saw_frame_) return error_ = Status::Corruption("archive stream is empty");
      return size_t{0};
    }
    Result<size_t> n = source_.Read(impl_->in.data(), impl_->in.size());
    if (!n.ok()) return error_ = n.status();
    if (*n == 0) {
      source_eof_ = true;
      continue;
    }
    compressed_bytes_ += *n;
    ib = {impl_->in.data(), *n, 0};
  }
  return ob.pos;
}

Status ZstdDecompressor::Drain() {
  std::vector<unsigned char> scratch(64 * 1024);
  for (;;) {
    Result<size_t> n = Read(scratch.data(), scratch.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
  }
}

}  // namespace clawback::agent
