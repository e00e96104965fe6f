#include "controller/storage/multipart_sink.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "shared/log.h"

namespace clawback::controller::storage {

uint64_t MultipartSink::PartSize(uint64_t first_part_size, int number) {
  const int doublings = std::min((number - 1) / 1000, 20);
  return std::min(first_part_size << doublings, kMaxPartSize);
}

Result<std::unique_ptr<MultipartSink>> MultipartSink::Start(const S3Client& client, std::string key,
                                                            const std::atomic<bool>* cancel) {
  auto id = client.CreateMultipartUpload(key);
  if (!id.ok()) return id.status();
  return std::unique_ptr<MultipartSink>(new MultipartSink(client, std::move(key), std::move(id).value(), cancel));
}

MultipartSink::MultipartSink(const S3Client& client, std::string key, std::string upload_id,
                             const std::atomic<bool>* cancel)
    : client_(client), key_(std::move(key)), upload_id_(std::move(upload_id)), cancel_(cancel),
      thread_([this] { Run(); }) {
  filling_.reserve(PartSize(client_.config().first_part_size, 1));
}

MultipartSink::~MultipartSink() { Abandon(); }

Status MultipartSink::Failure() {
  std::lock_guard lock(mu_);
  return failure_;
}

void MultipartSink::Run() {
  for (;;) {
    std::pair<int, std::string> part;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return pending_.has_value() || closing_; });
      if (!pending_) return;
      part = std::move(*pending_);
      pending_.reset();
      busy_ = true;
    }
    cv_.notify_all();
    if (cancel_ != nullptr && cancel_->load()) stop_.store(true);
    // stop_ is set by Abandon, or by a waiter that saw the transfer's cancel.
    auto uploaded = client_.UploadPart(key_, upload_id_, part.first, part.second, &stop_);
    std::lock_guard lock(mu_);
    busy_ = false;
    // The buffer comes back for the part after next: two buffers in all.
    part.second.clear();
    spare_ = std::move(part.second);
    if (uploaded.ok()) {
      parts_.push_back(std::move(uploaded).value());
    } else if (failure_.ok()) {
      failure_ = uploaded.status();
    }
    cv_.notify_all();
  }
}

Status MultipartSink::WaitIdle(std::unique_lock<std::mutex>& lock) {
  while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return (!pending_ && !busy_) || !failure_.ok(); })) {
    if (cancel_ != nullptr && cancel_->load()) {
      stop_.store(true);
      return Status::Canceled("s3: upload of " + key_ + " canceled");
    }
  }
  if (!failure_.ok()) return failure_;
  if (cancel_ != nullptr && cancel_->load()) return Status::Canceled("s3: upload of " + key_ + " canceled");
  return Status::Ok();
}

Status MultipartSink::SendPart() {
  if (next_number_ > kMaxParts) {
    return Status::ResourceExhausted("s3: archive exceeds " + std::to_string(kMaxParts) + " parts");
  }
  std::unique_lock lock(mu_);
  // One part in flight at most: wait until the previous one is taken and done.
  CLAWBACK_RETURN_IF_ERROR(WaitIdle(lock));
  pending_.emplace(next_number_++, std::move(filling_));
  filling_ = std::move(spare_);
  spare_ = std::string();
  lock.unlock();
  cv_.notify_all();
  filling_.clear();
  filling_.reserve(PartSize(client_.config().first_part_size, next_number_));
  return Status::Ok();
}

Status MultipartSink::Append(const char* data, size_t size) {
  if (sealed_ || aborted_) return Status::Internal("append to a closed upload of " + key_);
  CLAWBACK_RETURN_IF_ERROR(Failure());
  digester_.Update(data, size);
  bytes_ += size;
  while (size > 0) {
    const uint64_t part_size = PartSize(client_.config().first_part_size, next_number_);
    size_t take = static_cast<size_t>(std::min<uint64_t>(size, part_size - filling_.size()));
    filling_.append(data, take);
    data += take;
    size -= take;
    if (filling_.size() == part_size) CLAWBACK_RETURN_IF_ERROR(SendPart());
  }
  return Status::Ok();
}

Result<BlockDigests> MultipartSink::Seal() {
  if (sealed_ || aborted_) return Status::Internal("upload of " + key_ + " sealed out of order");
  // The last part may be short; an empty archive still needs one part.
  if (!filling_.empty() || next_number_ == 1) CLAWBACK_RETURN_IF_ERROR(SendPart());
  {
    std::unique_lock lock(mu_);
    CLAWBACK_RETURN_IF_ERROR(WaitIdle(lock));
  }
  sealed_ = true;
  return digester_.Finish();
}

Status MultipartSink::Publish() {
  if (!sealed_ || published_ || aborted_) return Status::Internal("upload of " + key_ + " published out of order");
  std::vector<S3CompletedPart> parts;
  {
    std::lock_guard lock(mu_);
    parts = parts_;
  }
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
  CLAWBACK_RETURN_IF_ERROR(client_.CompleteMultipartUpload(key_, upload_id_, parts));
  published_ = true;
  auto size = client_.HeadObject(key_);
  Status check = size.status();
  if (check.ok() && *size != bytes_) {
    check = Status::Corruption("s3: " + key_ + " has " + std::to_string(*size) + " bytes after the upload, expected " +
                               std::to_string(bytes_));
  }
  if (check.ok() && client_.config().object_lock_days > 0) {
    const int64_t until = static_cast<int64_t>(std::time(nullptr)) + int64_t{86400} * client_.config().object_lock_days;
    check = client_.PutObjectRetention(key_, client_.config().object_lock_mode, until);
  }
  if (!check.ok()) {
    Status removed = client_.DeleteObject(key_);
    if (!removed.ok()) log::Warn("cannot remove an archive that failed its check", {{"key", key_}, {"error", removed.message()}});
    return check;
  }
  return Status::Ok();
}

void MultipartSink::Abandon() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  stop_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (published_ || aborted_) return;
  aborted_ = true;
  Status st = client_.AbortMultipartUpload(key_, upload_id_);
  if (!st.ok()) {
    log::Warn("cannot abort a multipart upload; the next start retries", {{"key", key_}, {"error", st.message()}});
  }
}

}  // namespace clawback::controller::storage
