#include "controller/jobs/background_archive_writer.h"

namespace clawback::controller {
namespace {

// A PartialArchive seen as a sink (callers that write one directly).
class PartialArchiveSink final : public storage::ArchiveSink {
 public:
  explicit PartialArchiveSink(PartialArchive& file) : file_(file) {}
  Status Append(const char* data, size_t size) override { return file_.Append(data, size); }
  uint64_t bytes() const override { return file_.bytes(); }
  Result<BlockDigests> Seal() override { return file_.Seal(); }
  Status Publish() override { return file_.Publish(); }
  void Abandon() override { file_.Abandon(); }
  std::string staged_path() const override { return file_.partial_path(); }

 private:
  PartialArchive& file_;
};

}  // namespace

BackgroundArchiveWriter::BackgroundArchiveWriter(storage::ArchiveSink& sink,
                                                 std::function<void(uint64_t)> on_progress)
    : file_(sink), on_progress_(std::move(on_progress)), thread_([this] { Run(); }) {}

BackgroundArchiveWriter::BackgroundArchiveWriter(PartialArchive& file,
                                                 std::function<void(uint64_t)> on_progress)
    : adapter_(std::make_unique<PartialArchiveSink>(file)), file_(*adapter_), on_progress_(std::move(on_progress)), thread_([this] { Run(); }) {}

BackgroundArchiveWriter::~BackgroundArchiveWriter() {
  relay_.Abort();
  if (thread_.joinable()) thread_.join();
}

Status BackgroundArchiveWriter::Failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

Result<std::span<char>> BackgroundArchiveWriter::Buffer() {
  if (!lent_) {
    lent_ = relay_.TakeEmpty();
    if (!lent_) {
      Status failed = Failure();
      return failed.ok() ? Status::Internal("archive writer stopped") : failed;
    }
  }
  return *lent_;
}

Status BackgroundArchiveWriter::Commit(size_t size) {
  if (!lent_) return Status::Internal("commit without a buffer");
  if (size == 0) return Failure();  // keep the buffer for the next Buffer()
  relay_.PassFull(*lent_, size);
  lent_.reset();
  return Failure();
}

Status BackgroundArchiveWriter::Finish() {
  if (lent_) {
    relay_.GiveBack(*lent_);
    lent_.reset();
  }
  relay_.Finish();
  if (thread_.joinable()) thread_.join();
  return Failure();
}

void BackgroundArchiveWriter::Run() {
  while (auto full = relay_.TakeFull()) {
    Status st = file_.Append(full->data(), full->size());
    relay_.GiveBack(*full);
    if (!st.ok()) {
      {
        std::lock_guard lock(mu_);
        failure_ = st;
      }
      relay_.Abort();
      return;
    }
    if (on_progress_) on_progress_(file_.bytes());
  }
}

}  // namespace clawback::controller
