// An archive streamed into an S3 multipart upload of unknown length
// (private to controller/storage).
//
// Memory is bounded: one part being filled plus at most one part in flight,
// uploaded on the sink's own thread while the next fills. Part n (from 1)
// is first_part_size x 2^((n-1)/1000), capped at 5 GiB, so with 8 MiB first
// parts 10,000 parts hold 7.8 TiB (> S3's 5 TiB object limit). Each part is
// retried by S3Client (backoff on 5xx/429/timeouts/dropped connections) and
// carries the configured checksum. Seal() uploads the last part and waits;
// Publish() completes the upload, checks with a HEAD that the object has
// exactly bytes() bytes, and applies Object Lock retention when configured.
// Any failure, Abandon(), or destruction before Publish() aborts the
// upload (AbortMultipartUpload), so no parts stay billed.
//
// Threads: Append/Seal/Publish/Abandon from one thread; the upload thread
// is internal. `cancel` (the transfer's flag) cuts in-flight requests short.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "controller/storage/archive_storage.h"
#include "controller/storage/s3_client.h"

namespace clawback::controller::storage {

class MultipartSink final : public ArchiveSink {
 public:
  static constexpr uint64_t kMaxPartSize = 5ull << 30;
  static constexpr int kMaxParts = 10000;
  // Size of part `number` (1-based) for a given first part size.
  static uint64_t PartSize(uint64_t first_part_size, int number);

  // Starts the upload (CreateMultipartUpload) for `key`.
  static Result<std::unique_ptr<MultipartSink>> Start(const S3Client& client, std::string key,
                                                      const std::atomic<bool>* cancel);
  ~MultipartSink() override;

  Status Append(const char* data, size_t size) override;
  uint64_t bytes() const override { return bytes_; }
  Result<BlockDigests> Seal() override;
  Status Publish() override;
  void Abandon() override;
  std::string staged_path() const override { return ""; }
  const std::string& upload_id() const { return upload_id_; }

 private:
  MultipartSink(const S3Client& client, std::string key, std::string upload_id, const std::atomic<bool>* cancel);
  // Hands the filled part to the upload thread (waits while one is in flight).
  Status SendPart();
  // Waits (mu_ held) until no part is pending or in flight; the first
  // failure, or Canceled once the transfer's cancel flag is set.
  Status WaitIdle(std::unique_lock<std::mutex>& lock);
  void Run();
  Status Failure();

  const S3Client& client_;
  const std::string key_;
  const std::string upload_id_;
  const std::atomic<bool>* cancel_;
  std::atomic<bool> stop_{false};  // set by Abandon: the upload thread's requests stop
  BlockDigester digester_;
  std::string filling_;   // caller thread
  int next_number_ = 1;   // caller thread
  uint64_t bytes_ = 0;
  bool sealed_ = false, published_ = false, aborted_ = false;

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::optional<std::pair<int, std::string>> pending_;  // part handed over, not yet taken
  bool busy_ = false;                                   // a part is being uploaded
  bool closing_ = false;
  Status failure_;
  std::vector<S3CompletedPart> parts_;
  std::string spare_;  // the last uploaded part's buffer, reused for the next one
  std::thread thread_;  // last
};

}  // namespace clawback::controller::storage
