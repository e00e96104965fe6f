#include "controller/storage/archive_storage.h"
#include "controller/verify/archive_verifier.h"

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <span>
#include <thread>
#include <vector>


#include "controller/browse/tar_reader.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/block_digests.h"
#include "shared/archive_index.h"

namespace clawback::controller {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kSkippableMask = 0xFFFFFFF0u;
constexpr uint32_t kSkippableBase = 0x184D2A50u;
constexpr uint32_t kIndexMagic = 0x184D2A5Bu;
constexpr uint64_t kMaxIndexPayload = 256ull * 1024 * 1024;

uint32_t Le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

std::string Bytes(uint64_t first, uint64_t last) {
  return "bytes " + std::to_string(first) + "-" + std::to_string(last);
}

// Reads the archive in order, a block at a time: checks each block against
// its digest, folds it into the whole-file SHA-256 (checked when the last
// block arrives) and paces the reads.
class CheckedSource {
 public:
  CheckedSource(std::unique_ptr<storage::ArchiveReader> file, uint64_t size, std::string sha256,
                const std::optional<BlockDigests>& digests, const VerifyPacing& pacing)
      : file_(std::move(file)), size_(size), sha256_(std::move(sha256)), digests_(digests), pacing_(pacing),
        block_(digests ? digests->block_size : BlockDigests::kBlockSize), start_(Clock::now()) {}

  uint64_t offset() const { return offset_; }
  bool at_end() const { return offset_ >= size_; }

  // Appends the next block to `buf`; 0 at the end of the file.
  Result<size_t> Next(std::vector<char>& buf) {
    if (at_end()) return size_t{0};
    const uint64_t n = std::min<uint64_t>(block_, size_ - offset_);
    CLAWBACK_RETURN_IF_ERROR(WaitTurn(n));
    const size_t old = buf.size();
    buf.resize(old + n);
    auto got = file_->ReadAt(offset_, buf.data() + old, n);
    if (!got.ok()) return got.status();
    if (*got < n) {
      buf.resize(old + *got);
      return Status::Corruption("truncated: the archive ends at byte " + std::to_string(offset_ + *got) +
                                ", the record says " + std::to_string(size_) + " bytes");
    }
    whole_.Update(buf.data() + old, n);
    if (digests_) {
      const uint64_t index = offset_ / block_;
      Sha256 block;
      block.Update(buf.data() + old, n);
      if (block.HexDigest() != digests_->blocks[index]) {
        return Status::Corruption("sha256 mismatch in block " + std::to_string(index) + " (" +
                                  Bytes(offset_, offset_ + n - 1) +
                                  "): the archive on disk differs from what was backed up");
      }
    }
    offset_ += n;
    if (at_end()) {
      std::string got_sha = whole_.HexDigest();
      if (got_sha != sha256_) {
        return Status::Corruption("sha256 mismatch: the archive's SHA-256 is " + got_sha + ", the record says " +
                                  sha256_);
      }
    }
    return static_cast<size_t>(n);
  }

 private:
  // Pauses while asked to, then sleeps until the paced rate allows the next
  // `n` bytes; both in short slices so a cancel ends the wait.
  Status WaitTurn(uint64_t n) {
    auto canceled = [&] { return pacing_.cancel && pacing_.cancel->load(); };
    while (pacing_.should_pause && pacing_.should_pause()) {
      if (canceled()) return Status::Canceled("verification canceled");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      paused_ += std::chrono::milliseconds(100);
    }
    if (pacing_.bytes_per_second > 0) {
      auto due = start_ + paused_ +
                 std::chrono::microseconds((offset_ + n) * 1000000 / pacing_.bytes_per_second);
      while (Clock::now() < due) {
        if (canceled()) return Status::Canceled("verification canceled");
        std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(100)));
      }
    }
    if (canceled()) return Status::Canceled("verification canceled");
    return Status::Ok();
  }

  std::unique_ptr<storage::ArchiveReader> file_;
  const uint64_t size_;
  const std::string sha256_;
  const std::optional<BlockDigests>& digests_;
  const VerifyPacing& pacing_;
  const uint64_t block_;
  const Clock::time_point start_;
  Clock::duration paused_{};
  uint64_t offset_ = 0;
  Sha256 whole_;
};

struct DctxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// Decodes the archive frame by frame: zstd frames into tar bytes, skippable
// frames stepped over (the index frame's payload kept).
class FrameDecoder {
 public:
  explicit FrameDecoder(CheckedSource& source)
      : source_(source), dctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize()) {}

  // The next decompressed bytes; empty at the clean end of the archive.
  Result<std::span<const char>> Next() {
    while (true) {
      if (!in_frame_) {
        CLAWBACK_RETURN_IF_ERROR(Fill(8));
        const size_t avail = in_.size() - pos_;
        if (avail == 0) return std::span<const char>();
        if (avail < 4) {
          return Status::Corruption("truncated: " + std::to_string(avail) + " stray bytes at byte " +
                                    std::to_string(Offset()) + " where a frame should start");
        }
        const uint32_t magic = Le32(in_.data() + pos_);
        if ((magic & kSkippableMask) == kSkippableBase) {
          CLAWBACK_RETURN_IF_ERROR(SkipFrame(magic));
          continue;
        }
        in_frame_ = true;
        ++frames_;
        frame_start_ = Offset();
        ZSTD_DCtx_reset(dctx_.get(), ZSTD_reset_session_only);
      }
      if (pos_ == in_.size()) {
        CLAWBACK_RETURN_IF_ERROR(Fill(1));
        if (pos_ == in_.size()) {
          return Status::Corruption("truncated: zstd frame " + std::to_string(frames_) + " starting at byte " +
                                    std::to_string(frame_start_) + " is cut off at the end of the archive");
        }
      }
      ZSTD_inBuffer in{in_.data(), in_.size(), pos_};
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      const size_t r = ZSTD_decompressStream(dctx_.get(), &out, &in);
      pos_ = in.pos;
      if (ZSTD_isError(r)) {
        return Status::Corruption("zstd frame " + std::to_string(frames_) + " starting at byte " +
                                  std::to_string(frame_start_) + " does not decode: " + ZSTD_getErrorName(r));
      }
      if (r == 0) in_frame_ = false;
      if (out.pos > 0) {
        tar_bytes_ += out.pos;
        return std::span<const char>(out_.data(), out.pos);
      }
    }
  }

  uint64_t frames() const { return frames_; }
  uint64_t skippable_frames() const { return skippable_; }
  uint64_t tar_bytes() const { return tar_bytes_; }
  const std::optional<std::string>& index_payload() const { return index_; }

 private:
  uint64_t Offset() const { return in_base_ + pos_; }

  // Tries to have `need` unread bytes buffered; fewer only at end of file.
  Status Fill(size_t need) {
    while (in_.size() - pos_ < need) {
      if (pos_ > 0) {
        in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(pos_));
        in_base_ += pos_;
        pos_ = 0;
      }
      auto got = source_.Next(in_);
      if (!got.ok()) return got.status();
      if (*got == 0) break;
    }
    return Status::Ok();
  }

  Status SkipFrame(uint32_t magic) {
    const uint64_t at = Offset();
    if (in_.size() - pos_ < 8) {
      return Status::Corruption("truncated: the skippable frame header at byte " + std::to_string(at) +
                                " is cut off");
    }
    uint64_t remaining = Le32(in_.data() + pos_ + 4);
    pos_ += 8;
    ++skippable_;
    const bool capture = magic == kIndexMagic;
    if (capture) {
      if (index_) return Status::Corruption("a second index frame at byte " + std::to_string(at));
      if (remaining > kMaxIndexPayload) {
        return Status::Corruption("the index frame at byte " + std::to_string(at) + " declares " +
                                  std::to_string(remaining) + " bytes, more than an index may hold");
      }
      index_.emplace();
    }
    while (remaining > 0) {
      if (pos_ == in_.size()) {
        CLAWBACK_RETURN_IF_ERROR(Fill(1));
        if (pos_ == in_.size()) {
          return Status::Corruption("truncated: the skippable frame at byte " + std::to_string(at) + " is cut off (" +
                                    std::to_string(remaining) + " bytes missing)");
        }
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining, in_.size() - pos_));
      if (capture) index_->append(in_.data() + pos_, take);
      pos_ += take;
      remaining -= take;
    }
    return Status::Ok();
  }

  CheckedSource& source_;
  std::unique_ptr<ZSTD_DCtx, DctxFree> dctx_;
  std::vector<char> in_;  // [pos_, size) unread; in_[0] is file byte in_base_
  size_t pos_ = 0;
  uint64_t in_base_ = 0;
  std::vector<char> out_;
  bool in_frame_ = false;
  uint64_t frames_ = 0;
  uint64_t skippable_ = 0;
  uint64_t frame_start_ = 0;
  uint64_t tar_bytes_ = 0;
  std::optional<std::string> index_;
};

// One tar entry as read, for the comparison with the index.
struct WalkedEntry {
  std::string path;
  std::string type;
  uint64_t size = 0;
  std::string sha256;  // regular files only
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

struct TarInput {
  FrameDecoder* decoder;
  Status failure;

  static la_ssize_t Read(archive* a, void* self, const void** buffer) {
    auto* in = static_cast<TarInput*>(self);
    auto next = in->decoder->Next();
    if (!next.ok()) {
      in->failure = next.status();
      archive_set_error(a, EIO, "%s", next.status().message().c_str());
      return -1;
    }
    *buffer = next->data();
    return static_cast<la_ssize_t>(next->size());
  }
};

std::string EntryPath(archive_entry* e) {
  const char* p = archive_entry_pathname(e);
  std::string path = p ? p : "";
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Checks the captured index payload (read by shared/archive_index.h) against
// the walked entries.
Status CheckIndex(const std::string& payload, const std::vector<WalkedEntry>& walked, uint64_t tar_bytes) {
  size_t n = 0;  // entry lines seen
  auto end = archive_index::ReadIndexPayload(payload, [&](archive_index::IndexEntry&& e) -> Status {
    if (n >= walked.size()) {
      return Status::Corruption("index lists more entries than the tar stream has (" + std::to_string(walked.size()) +
                                ")");
    }
    const WalkedEntry& w = walked[n];
    const std::string where = "index entry " + std::to_string(n + 1) + " (" + w.path + ")";
    const std::string type(archive_index::TypeName(e.type));
    if (e.path != w.path) return Status::Corruption(where + ": the index names " + e.path);
    if (type != w.type) {
      return Status::Corruption(where + ": the index says type " + type + ", the tar entry is " + w.type);
    }
    if (w.type == "file") {
      if (e.size != w.size) {
        return Status::Corruption(where + ": the index says " + std::to_string(e.size) + " bytes, the tar entry has " +
                                  std::to_string(w.size));
      }
      if (!e.sha256.empty() && e.sha256 != w.sha256) {
        return Status::Corruption(where + ": content sha256 " + w.sha256 + " differs from the index's " + e.sha256);
      }
    }
    ++n;
    return Status::Ok();
  });
  if (!end.ok()) return Status::Corruption("index frame: " + end.status().message());
  if (end->entries != n || n != walked.size()) {
    return Status::Corruption("index lists " + std::to_string(end->entries) + " entries (" + std::to_string(n) +
                              " lines), the tar stream has " + std::to_string(walked.size()));
  }
  if (end->tar_size != tar_bytes) {
    return Status::Corruption("index says tar_size " + std::to_string(end->tar_size) + ", the archive decompresses to " +
                              std::to_string(tar_bytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

Result<VerifyReport> VerifyArchive(const std::string& path, uint64_t expected_size,
                                   const std::string& expected_sha256, const std::optional<BlockDigests>& digests,
                                   const VerifyPacing& pacing) {
  auto file = storage::MakeLocalArchiveStorage("/")->OpenArchive(path);
  if (!file.ok()) return file.status();
  return VerifyArchive(std::move(file).value(), expected_size, expected_sha256, digests, pacing);
}

Result<VerifyReport> VerifyArchive(std::unique_ptr<storage::ArchiveReader> file, uint64_t expected_size,
                                   const std::string& expected_sha256, const std::optional<BlockDigests>& digests,
                                   const VerifyPacing& pacing) {
  const uint64_t size = file->size();
  if (size < expected_size) {
    return Status::Corruption("truncated: the archive is " + std::to_string(size) + " bytes, the record says " +
                              std::to_string(expected_size));
  }
  if (size > expected_size) {
    return Status::Corruption("the archive is " + std::to_string(size) + " bytes, the record says " +
                              std::to_string(expected_size) + " (bytes were appended)");
  }
  VerifyReport report;
  report.block_digests = digests.has_value();

  CheckedSource source(std::move(file), size, expected_sha256, digests, pacing);
  FrameDecoder decoder(source);
  TarInput input{&decoder, Status::Ok()};
  std::unique_ptr<archive, ArchiveFree> reader(archive_read_new());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open(reader.get(), &input, nullptr, &TarInput::Read, nullptr) != ARCHIVE_OK) {
    if (!input.failure.ok()) return input.failure;
    return Status::Corruption(std::string("not a tar archive: ") + archive_error_string(reader.get()));
  }

  std::vector<WalkedEntry> walked;
  std::vector<char> sink;
  std::string last = "(start of archive)";
  while (true) {
    archive_entry* entry = nullptr;
    const int r = archive_read_next_header(reader.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (!input.failure.ok()) return input.failure;
      return Status::Corruption("tar entry " + std::to_string(walked.size() + 1) + " (after " + last +
                                "): " + archive_error_string(reader.get()));
    }
    WalkedEntry w{EntryPath(entry), browse::EntryTypeName(entry), 0, {}};
    Sha256 content;
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t off = 0;
    while (true) {
      const int d = archive_read_data_block(reader.get(), &buf, &len, &off);
      if (d == ARCHIVE_EOF) break;
      if (d < ARCHIVE_WARN) {
        if (!input.failure.ok()) return input.failure;
        return Status::Corruption("tar entry " + std::to_string(walked.size() + 1) + " (" + w.path +
                                  "): " + archive_error_string(reader.get()));
      }
      content.Update(buf, len);
      w.size += len;
    }
    if (w.type == "file") w.sha256 = content.HexDigest();
    last = w.path;
    walked.push_back(std::move(w));
  }
  // The rest of the stream: zero padding after the end-of-archive blocks,
  // more frames, the index and the seek table. Every byte is still read and
  // checked.
  while (true) {
    auto rest = decoder.Next();
    if (!rest.ok()) return rest.status();
    if (rest->empty()) break;
    if (std::any_of(rest->begin(), rest->end(), [](char c) { return c != 0; })) {
      return Status::Corruption("data after the end of the tar archive (decompressed byte " +
                                std::to_string(decoder.tar_bytes() - rest->size()) + ")");
    }
  }
  if (!source.at_end()) return Status::Internal("verification stopped before the end of the archive");

  report.archive_bytes = size;
  report.tar_bytes = decoder.tar_bytes();
  report.frames = decoder.frames();
  report.skippable_frames = decoder.skippable_frames();
  report.entries = walked.size();
  if (decoder.index_payload()) {
    CLAWBACK_RETURN_IF_ERROR(CheckIndex(*decoder.index_payload(), walked, decoder.tar_bytes()));
    report.index = true;
  }
  return report;
}

}  // namespace clawback::controller
