#include "controller/browse/tar_stream.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "controller/jobs/archive_file.h"

namespace clawback::controller::browse {

Result<std::unique_ptr<VerifiedBlocks>> VerifiedBlocks::Open(const std::string& path, BlockDigests digests) {
  auto archive = storage::MakeLocalArchiveStorage("/")->OpenArchive(path);
  if (!archive.ok()) return archive.status();
  return Open(std::move(archive).value(), path, std::move(digests));
}

Result<std::unique_ptr<VerifiedBlocks>> VerifiedBlocks::Open(std::unique_ptr<storage::ArchiveReader> archive,
                                                            const std::string& path, BlockDigests digests) {
  if (archive->size() != digests.size || digests.block_size == 0 ||
      digests.blocks.size() != digests.ExpectedBlocks()) {
    return Status::Corruption("archive " + path + " does not match its block digests (size)");
  }
  return std::unique_ptr<VerifiedBlocks>(new VerifiedBlocks(std::move(archive), path, std::move(digests)));
}

VerifiedBlocks::VerifiedBlocks(std::unique_ptr<storage::ArchiveReader> archive, std::string path,
                               BlockDigests digests)
    : archive_(std::move(archive)), path_(std::move(path)), digests_(std::move(digests)) {}

VerifiedBlocks::~VerifiedBlocks() = default;

Result<std::string_view> VerifiedBlocks::ReadAt(uint64_t offset) {
  if (offset >= digests_.size) return std::string_view();
  const uint64_t bs = digests_.block_size;
  const uint64_t no = offset / bs;
  if (no != block_no_) {
    const uint64_t start = no * bs;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(bs, digests_.size - start));
    block_.resize(want);
    auto got = archive_->ReadAt(start, block_.data(), want);
    if (!got.ok()) {
      block_no_ = UINT64_MAX;
      return got.status();
    }
    if (*got != want) {
      block_no_ = UINT64_MAX;
      return Status::Corruption("archive corrupted on disk: short read in block " + std::to_string(no));
    }
    counters_.compressed_bytes_read += want;
    Sha256 sha;
    sha.Update(block_.data(), want);
    if (sha.HexDigest() != digests_.blocks[no]) {
      block_no_ = UINT64_MAX;
      return Status::Corruption("archive corrupted on disk: sha256 mismatch in block " + std::to_string(no) +
                                " (bytes " + std::to_string(start) + "-" + std::to_string(start + want) + ")");
    }
    ++counters_.blocks_verified;
    block_no_ = no;
  }
  const size_t at = static_cast<size_t>(offset - no * bs);
  return std::string_view(block_).substr(at);
}

TarStream::TarStream(VerifiedBlocks& blocks, std::vector<FrameInfo> frames, uint64_t tar_size)
    : blocks_(blocks), frames_(std::move(frames)), tar_size_(tar_size), dctx_(ZSTD_createDCtx()) {}

TarStream::~TarStream() { ZSTD_freeDCtx(dctx_); }

size_t TarStream::FrameAt(uint64_t d_offset) const {
  // Last frame whose d_offset <= d_offset.
  auto it = std::upper_bound(frames_.begin(), frames_.end(), d_offset,
                             [](uint64_t v, const FrameInfo& f) { return v < f.d_offset; });
  return it == frames_.begin() ? 0 : static_cast<size_t>(it - frames_.begin() - 1);
}

Status TarStream::StartFrame(size_t frame) {
  if (frame >= frames_.size()) return Status::Corruption("file index names a frame past the archive's end");
  ZSTD_DCtx_reset(dctx_, ZSTD_reset_session_only);
  c_pos_ = frames_[frame].c_offset;
  pos_ = frames_[frame].d_offset;
  in_ = {};
  next_frame_ = frame;
  started_ = true;
  return Status::Ok();
}

Status TarStream::Seek(uint64_t offset) {
  if (offset > tar_size_) return Status::Corruption("file index offset " + std::to_string(offset) + " is past the tar stream's end");
  // Already there, or a little ahead in the current frame: keep going.
  if (started_ && offset >= pos_ && FrameAt(offset) == FrameAt(pos_)) {
    auto skipped = Skip(offset - pos_);
    if (!skipped.ok()) return skipped.status();
    return Status::Ok();
  }
  CLAWBACK_RETURN_IF_ERROR(StartFrame(FrameAt(offset)));
  auto skipped = Skip(offset - pos_);
  if (!skipped.ok()) return skipped.status();
  if (pos_ != offset) return Status::Corruption("archive ends before offset " + std::to_string(offset));
  return Status::Ok();
}

Result<size_t> TarStream::Decompress(char* buf, size_t capacity) {
  if (!started_) CLAWBACK_RETURN_IF_ERROR(StartFrame(0));
  capacity = static_cast<size_t>(std::min<uint64_t>(capacity, tar_size_ - pos_));
  if (capacity == 0) return size_t{0};
  ZSTD_outBuffer out{buf, capacity, 0};
  while (out.pos == 0) {
    if (in_.empty()) {
      auto piece = blocks_.ReadAt(c_pos_);
      if (!piece.ok()) return piece.status();
      if (piece->empty()) {
        if (tar_size_ == kUnknownSize) return size_t{0};
        return Status::Corruption("archive ends inside the tar stream");
      }
      in_ = *piece;
      in_offset_ = c_pos_;
      c_pos_ += in_.size();
    }
    ZSTD_inBuffer in{in_.data(), in_.size(), 0};
    size_t rc = ZSTD_decompressStream(dctx_, &out, &in);
    if (ZSTD_isError(rc)) return Status::Corruption(std::string("archive does not decompress: ") + ZSTD_getErrorName(rc));
    const uint64_t consumed_to = in_offset_ + in.pos;
    in_ = in_.substr(in.pos);
    in_offset_ += in.pos;
    while (next_frame_ < frames_.size() && consumed_to > frames_[next_frame_].c_offset) {
      ++blocks_.counters().frames_touched;
      ++next_frame_;
    }
  }
  pos_ += out.pos;
  return out.pos;
}

Result<size_t> TarStream::Read(char* buf, size_t capacity) { return Decompress(buf, capacity); }

Result<uint64_t> TarStream::Skip(uint64_t n) {
  const uint64_t target = n > tar_size_ - pos_ ? tar_size_ : pos_ + n;
  const uint64_t start = pos_;
  if (started_ && !frames_.empty() && FrameAt(target) > FrameAt(pos_)) {
    CLAWBACK_RETURN_IF_ERROR(StartFrame(FrameAt(target)));
  }
  if (scratch_.size() < 256 * 1024) scratch_.resize(256 * 1024);
  while (pos_ < target) {
    auto got = Decompress(scratch_.data(), static_cast<size_t>(std::min<uint64_t>(scratch_.size(), target - pos_)));
    if (!got.ok()) return got.status();
    if (*got == 0) break;
  }
  return pos_ - start;
}

}  // namespace clawback::controller::browse
