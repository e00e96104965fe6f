#include "controller/jobs/verified_archive_reader.h"

#include <algorithm>

namespace clawback::controller {

Result<std::unique_ptr<VerifiedArchiveReader>> VerifiedArchiveReader::Open(
    const std::string& path, uint64_t size, const std::string& sha256, std::optional<BlockDigests> digests,
    std::function<void()> on_block) {
  auto archives = storage::MakeLocalArchiveStorage("/");
  auto file = archives->OpenArchive(path);
  if (!file.ok()) return file.status();
  return Open(std::move(file).value(), path, size, sha256, std::move(digests), std::move(on_block));
}

Result<std::unique_ptr<VerifiedArchiveReader>> VerifiedArchiveReader::Open(
    std::unique_ptr<storage::ArchiveReader> file, const std::string& path, uint64_t size, const std::string& sha256,
    std::optional<BlockDigests> digests, std::function<void()> on_block) {
  if (digests && (digests->size != size || digests->sha256 != sha256 || digests->block_size > kMaxBlockSize ||
                  digests->blocks.size() != digests->ExpectedBlocks())) {
    return Status::Internal("block digests do not describe archive " + path);
  }
  if (file->size() != size) {
    return Status::Corruption("archive changed on disk: " + path + " is " + std::to_string(file->size()) +
                              " bytes, recorded " + std::to_string(size));
  }
  const size_t block_size = static_cast<size_t>(digests ? digests->block_size : BlockDigests::kBlockSize);
  return std::unique_ptr<VerifiedArchiveReader>(new VerifiedArchiveReader(
      std::move(file), path, size, sha256, std::move(digests), std::move(on_block), block_size));
}

VerifiedArchiveReader::VerifiedArchiveReader(std::unique_ptr<storage::ArchiveReader> file, std::string path,
                                             uint64_t size, std::string sha256,
                                             std::optional<BlockDigests> digests,
                                             std::function<void()> on_block, size_t block_size)
    : file_(std::move(file)),
      path_(std::move(path)),
      size_(size),
      sha256_(std::move(sha256)),
      digests_(std::move(digests)),
      on_block_(std::move(on_block)),
      relay_(kBuffers, block_size),
      thread_([this] { Run(); }) {}

VerifiedArchiveReader::~VerifiedArchiveReader() {
  relay_.Abort();
  if (thread_.joinable()) thread_.join();
}

void VerifiedArchiveReader::Fail(Status st) {
  {
    std::lock_guard lock(mu_);
    failure_ = std::move(st);
    first_done_ = true;
  }
  first_.notify_all();
  // Blocks already verified and queued still go; then Next() reports this.
  relay_.Finish();
}

Status VerifiedArchiveReader::Failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void VerifiedArchiveReader::Run() {
  Sha256 whole;
  uint64_t offset = 0;
  size_t index = 0;
  while (offset < size_) {
    auto buffer = relay_.TakeEmpty();
    if (!buffer) return;  // aborted
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer->size(), size_ - offset));
    auto got = file_->ReadAt(read_offset_, buffer->data(), want);
    if (got.ok()) read_offset_ += *got;
    if (!got.ok()) return Fail(got.status());
    if (*got != want) {
      return Fail(Status::Corruption("archive changed on disk: " + path_ + " ended after " +
                                     std::to_string(offset + *got) + " of " + std::to_string(size_) +
                                     " bytes"));
    }
    if (digests_) {
      Sha256 block;
      block.Update(buffer->data(), want);
      if (block.HexDigest() != digests_->blocks[index]) {
        return Fail(Status::Corruption("archive corrupted on disk: sha256 mismatch in block " +
                                       std::to_string(index) + " (bytes " + std::to_string(offset) + "-" +
                                       std::to_string(offset + want - 1) + ") of " + path_ +
                                       "; nothing from that block was sent"));
      }
    }
    whole.Update(buffer->data(), want);
    offset += want;
    ++index;
    if (offset == size_) {
      char extra = 0;
      auto more = file_->ReadAt(read_offset_, &extra, 1);
      if (!more.ok()) return Fail(more.status());
      if (*more != 0)
        return Fail(Status::Corruption("archive changed on disk: " + path_ + " grew past " +
                                       std::to_string(size_) + " bytes"));
      std::string sha = whole.HexDigest();
      if (sha != sha256_) {
        return Fail(Status::Corruption("archive corrupted on disk: sha256 mismatch (" + path_ + " has " +
                                       sha + ", recorded " + sha256_ + ")"));
      }
    }
    relay_.PassFull(*buffer, want);
    if (index == 1) {
      {
        std::lock_guard lock(mu_);
        first_done_ = true;
      }
      first_.notify_all();
    }
    if (on_block_) on_block_();
  }
  relay_.Finish();
  {
    std::lock_guard lock(mu_);
    first_done_ = true;
  }
  first_.notify_all();
}

Status VerifiedArchiveReader::WaitForFirst() {
  std::unique_lock lock(mu_);
  first_.wait(lock, [&] { return first_done_; });
  return failure_;
}

Result<std::span<const char>> VerifiedArchiveReader::Next() {
  if (handed_out_) {
    relay_.GiveBack(*handed_out_);
    handed_out_.reset();
  }
  auto full = relay_.TakeFull();
  if (!full) {
    Status failed = Failure();
    if (!failed.ok()) return failed;
    if (relay_.aborted()) return Status::Internal("archive reader stopped");
    return std::span<const char>();
  }
  handed_out_ = full;
  return std::span<const char>(full->data(), full->size());
}

}  // namespace clawback::controller
