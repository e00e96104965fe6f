// Archives as objects in an S3-compatible bucket: "<prefix><name>", sidecars
// "<prefix><name>.blocks" / ".index" beside them.
#include <algorithm>
#include <ctime>
#include <vector>

#include "controller/storage/archive_storage.h"
#include "controller/storage/multipart_sink.h"
#include "controller/storage/s3_client.h"
#include "shared/log.h"

namespace clawback::controller::storage {
namespace {

// Ranged GETs with a read-ahead window, so callers reading small pieces in
// order (browse, tar headers) cost one request per window, while large reads
// go straight to the caller's buffer.
class S3Reader final : public ArchiveReader {
 public:
  static constexpr size_t kReadAhead = 1024 * 1024;

  S3Reader(const S3Client& client, std::string key, uint64_t size)
      : client_(client), key_(std::move(key)), size_(size) {}
  uint64_t size() const override { return size_; }

  Result<size_t> ReadAt(uint64_t offset, char* out, size_t size) override {
    if (offset >= size_) return size_t{0};
    size = static_cast<size_t>(std::min<uint64_t>(size, size_ - offset));
    size_t done = 0;
    while (done < size) {
      const uint64_t at = offset + done;
      if (at >= window_offset_ && at < window_offset_ + window_.size()) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(size - done, window_offset_ + window_.size() - at));
        std::copy_n(window_.data() + (at - window_offset_), n, out + done);
        done += n;
        continue;
      }
      const size_t rest = size - done;
      if (rest >= kReadAhead) {
        auto got = client_.GetRange(key_, at, out + done, rest);
        if (!got.ok()) return got.status();
        if (*got != rest) return Short(at + *got);
        done += rest;
        continue;
      }
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadAhead, size_ - at));
      window_.resize(want);
      auto got = client_.GetRange(key_, at, window_.data(), want);
      if (!got.ok()) {
        window_.clear();
        return got.status();
      }
      if (*got != want) {
        window_.clear();
        return Short(at + *got);
      }
      window_offset_ = at;
    }
    return size;
  }

 private:
  Status Short(uint64_t at) const {
    return Status::Corruption("s3: " + client_.config().bucket + "/" + key_ + " ended after " + std::to_string(at) +
                              " of " + std::to_string(size_) + " bytes");
  }
  const S3Client& client_;
  const std::string key_;
  const uint64_t size_;
  std::vector<char> window_;
  uint64_t window_offset_ = 0;
};

constexpr const char* kSidecars[] = {".blocks", ".index"};

class S3ArchiveStorage final : public ArchiveStorage {
 public:
  explicit S3ArchiveStorage(const S3Config& config) : client_(config) {}

  std::string Location() const override { return client_.config().Location(); }
  std::string LocalDirectory() const override { return ""; }

  Result<std::unique_ptr<ArchiveSink>> CreateArchive(const std::string& name,
                                                     const std::atomic<bool>* cancel) override {
    CLAWBACK_RETURN_IF_ERROR(CheckName(name));
    auto sink = MultipartSink::Start(client_, client_.Key(name), cancel);
    if (!sink.ok()) return sink.status();
    return std::unique_ptr<ArchiveSink>(std::move(sink).value());
  }

  Result<std::unique_ptr<ArchiveReader>> OpenArchive(const std::string& name) override {
    CLAWBACK_RETURN_IF_ERROR(CheckName(name));
    auto size = client_.HeadObject(client_.Key(name));
    if (!size.ok()) {
      if (size.status().code() == Status::Code::kNotFound) {
        return Status::NotFound("archive file is missing: " + Location() + "/" + name);
      }
      return size.status();
    }
    return std::unique_ptr<ArchiveReader>(new S3Reader(client_, client_.Key(name), *size));
  }

  Status PutSidecar(const std::string& name, const std::string& suffix, const std::string& bytes) override {
    CLAWBACK_RETURN_IF_ERROR(CheckName(name));
    const std::string key = client_.Key(name) + suffix;
    CLAWBACK_RETURN_IF_ERROR(client_.PutObject(key, bytes));
    if (client_.config().object_lock_days > 0) {
      const int64_t until = static_cast<int64_t>(std::time(nullptr)) + int64_t{86400} * client_.config().object_lock_days;
      Status locked = client_.PutObjectRetention(key, client_.config().object_lock_mode, until);
      if (!locked.ok()) {
        (void)client_.DeleteObject(key);
        return locked;
      }
    }
    return Status::Ok();
  }

  Result<std::string> GetSidecar(const std::string& name, const std::string& suffix) override {
    CLAWBACK_RETURN_IF_ERROR(CheckName(name));
    return client_.GetObject(client_.Key(name) + suffix);
  }

  Status RemoveArchive(const std::string& name) override {
    CLAWBACK_RETURN_IF_ERROR(CheckName(name));
    auto until = LockedUntil(name);
    if (!until.ok()) return until.status();
    if (*until && **until > static_cast<int64_t>(std::time(nullptr))) {
      return Status::FailedPrecondition("archive " + name + " is locked (S3 Object Lock) until " + Iso8601(**until) +
                                        "; it cannot be deleted before then");
    }
    Status first;
    for (const std::string& key :
         {client_.Key(name), client_.Key(name) + kSidecars[0], client_.Key(name) + kSidecars[1]}) {
      Status st = client_.DeleteObject(key);
      if (!st.ok() && first.ok()) first = st;
    }
    return first;
  }

  Result<std::optional<int64_t>> LockedUntil(const std::string& name) override {
    auto until = client_.GetObjectRetention(client_.Key(name));
    if (!until.ok() && until.status().code() == Status::Code::kNotFound) return std::optional<int64_t>();
    return until;
  }

  Result<std::vector<StoredName>> List() override {
    auto objects = client_.ListObjects(client_.config().prefix);
    if (!objects.ok()) return objects.status();
    std::vector<StoredName> out;
    for (const S3Object& o : *objects) out.push_back({o.key.substr(client_.config().prefix.size()), o.size});
    return out;
  }

  Status RemoveInterruptedWrites(const std::set<std::string>& live, int* removed) override {
    *removed = 0;
    const std::string& prefix = client_.config().prefix;
    auto uploads = client_.ListMultipartUploads(prefix);
    if (!uploads.ok()) return uploads.status().WithContext("listing unfinished uploads in " + Location());
    Status first;
    for (const S3Upload& u : *uploads) {
      if (u.key.starts_with(prefix) && live.count(u.key.substr(prefix.size())) != 0) continue;  // a running transfer's
      Status st = client_.AbortMultipartUpload(u.key, u.upload_id);
      if (st.ok()) {
        ++*removed;
        log::Warn("aborted an unfinished multipart upload", {{"key", u.key}, {"initiated", u.initiated}});
      } else if (first.ok()) {
        first = st;
      }
    }
    return first;
  }

 private:
  // Names come from our records; never let one leave the prefix.
  static Status CheckName(const std::string& name) {
    if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos || name.find("//") != std::string::npos) {
      return Status::Internal("stored archive location is not a plain relative name: " + name);
    }
    return Status::Ok();
  }

  S3Client client_;
};

}  // namespace

std::unique_ptr<ArchiveStorage> MakeS3ArchiveStorage(const S3Config& config) {
  return std::make_unique<S3ArchiveStorage>(config);
}

}  // namespace clawback::controller::storage
