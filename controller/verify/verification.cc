#include "controller/verify/verification.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/jobs/archive_location.h"
#include "controller/jobs/block_digests.h"
#include "controller/store/store.h"
#include "controller/verify/archive_verifier.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

UnixTime Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class VerificationServiceImpl final : public VerificationService {
 public:
  VerificationServiceImpl(Store& store, VerificationSettings settings, VerificationHooks hooks)
      : store_(store), settings_(std::move(settings)), hooks_(std::move(hooks)) {
    for (int i = 0; i < std::max(1, settings_.workers); ++i) workers_.emplace_back([this] { Work(); });
  }
  ~VerificationServiceImpl() override { Shutdown(); }

  Result<BackupCheck> Start(const Backup& backup) override {
    if (backup.status != BackupStatus::kCompleted) {
      return Status::FailedPrecondition("backup " + std::to_string(backup.id) + " is " +
                                        std::string(BackupStatusName(backup.status)) +
                                        "; only completed backups can be verified");
    }
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("controller shutting down");
    if (active_.count(backup.id)) {
      return Status::Conflict("backup " + std::to_string(backup.id) + " is already being verified");
    }
    BackupCheck check;
    check.backup_id = backup.id;
    check.owner = settings_.replica_id;
    check.kind = CheckKind::kVerify;
    check.status = CheckStatus::kRunning;
    check.at = Now();
    CLAWBACK_RETURN_IF_ERROR(store_.PutBackupCheck(check));
    active_.insert(backup.id);
    queue_.push_back(backup);
    changed_.notify_one();
    return check;
  }

  bool Active(Id backup_id) const override {
    std::lock_guard lock(mu_);
    return active_.count(backup_id) != 0;
  }

  int QueuedOrRunning() const override {
    std::lock_guard lock(mu_);
    return static_cast<int>(active_.size());
  }

  void Shutdown() override {
    std::deque<Backup> dropped;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      cancel_.store(true);
      dropped.swap(queue_);
      changed_.notify_all();
    }
    for (std::thread& t : workers_) t.join();
    for (const Backup& b : dropped) Finish(b, Status::Unavailable("controller shutting down"), {}, Now(), 0);
  }

 private:
  void Work() {
    while (true) {
      Backup backup;
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        backup = queue_.front();
        queue_.pop_front();
      }
      Run(backup);
    }
  }

  void Run(const Backup& backup) {
    const UnixTime started = Now();
    const auto t0 = std::chrono::steady_clock::now();
    Result<VerifyReport> report = Verify(backup);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Status st = report.status();
    if (st.code() == Status::Code::kCanceled) st = Status::Unavailable("controller shutting down");
    Finish(backup, st, report.ok() ? *report : VerifyReport{}, started, seconds);
  }

  Result<VerifyReport> Verify(const Backup& backup) {
    if (settings_.archives) return VerifyStored(backup);
    auto path = ArchiveAbsolutePath(settings_.backups_dir, backup.file_path);
    if (!path.ok() || path->empty()) return Status::Corruption("the archive location of the backup is invalid");
    std::optional<BlockDigests> digests;
    auto read = ReadBlockDigests(*path);
    if (read.ok()) {
      if (read->size == backup.size_bytes && read->sha256 == backup.sha256) {
        digests = std::move(*read);
      } else {
        return Status::Corruption("block digests (.blocks) do not match the record (size " +
                                  std::to_string(read->size) + ", sha256 " + read->sha256 + ")");
      }
    } else if (read.status().code() != Status::Code::kNotFound) {
      return Status::Corruption("block digests (.blocks) unreadable: " + read.status().message());
    }
    VerifyPacing pacing;
    pacing.bytes_per_second = settings_.bytes_per_second;
    pacing.should_pause = hooks_.should_pause;
    pacing.cancel = &cancel_;
    auto report = VerifyArchive(*path, backup.size_bytes, backup.sha256, digests, pacing);
    if (!report.ok() && report.status().code() == Status::Code::kNotFound) {
      return Status::Corruption("the archive file is missing");
    }
    return report;
  }

  // Through the archive storage: the same checks, ranged reads.
  Result<VerifyReport> VerifyStored(const Backup& backup) {
    storage::ArchiveStorage& archives = *settings_.archives;
    if (backup.file_path.empty()) return Status::Corruption("the archive location of the backup is invalid");
    std::optional<BlockDigests> digests;
    auto text = archives.GetSidecar(backup.file_path, BlockDigestsPath(""));
    if (text.ok()) {
      auto read = ParseBlockDigests(*text);
      if (!read.ok()) return Status::Corruption("block digests (.blocks) unreadable: " + read.status().message());
      if (read->size != backup.size_bytes || read->sha256 != backup.sha256) {
        return Status::Corruption("block digests (.blocks) do not match the record (size " +
                                  std::to_string(read->size) + ", sha256 " + read->sha256 + ")");
      }
      digests = std::move(read).value();
    } else if (text.status().code() != Status::Code::kNotFound) {
      return Status::Corruption("block digests (.blocks) unreadable: " + text.status().message());
    }
    auto archive = archives.OpenArchive(backup.file_path);
    if (!archive.ok()) {
      if (archive.status().code() == Status::Code::kNotFound) return Status::Corruption("the archive file is missing");
      return archive.status();
    }
    VerifyPacing pacing;
    pacing.bytes_per_second = settings_.bytes_per_second;
    pacing.should_pause = hooks_.should_pause;
    pacing.cancel = &cancel_;
    return VerifyArchive(std::move(archive).value(), backup.size_bytes, backup.sha256, digests, pacing);
  }

  void Finish(const Backup& backup, const Status& st, const VerifyReport& r, UnixTime started, double seconds) {
    BackupCheck check;
    check.backup_id = backup.id;
    check.owner = settings_.replica_id;
    check.kind = CheckKind::kVerify;
    check.status = st.ok() ? CheckStatus::kPassed : CheckStatus::kFailed;
    check.at = Now();
    check.duration_s = seconds;
    check.error = st.ok() ? "" : WithoutBackupsDir(st.message(), settings_.backups_dir);
    check.detail_json = nlohmann::json{{"started_at", started},
                                       {"archive_bytes", r.archive_bytes},
                                       {"tar_bytes", r.tar_bytes},
                                       {"frames", r.frames},
                                       {"skippable_frames", r.skippable_frames},
                                       {"entries", r.entries},
                                       {"block_digests", r.block_digests},
                                       {"index", r.index}}
                            .dump();
    Status stored = store_.PutBackupCheck(check);
    if (!stored.ok()) log::Error("cannot record a verification", {{"backup_id", backup.id}, {"error", stored.message()}});
    if (st.ok()) {
      log::Info("backup verified", {{"backup_id", backup.id}, {"entries", r.entries}, {"seconds", seconds}});
    } else {
      log::Warn("backup verification failed", {{"backup_id", backup.id}, {"error", st.message()}});
    }
    {
      std::lock_guard lock(mu_);
      active_.erase(backup.id);
    }
    if (hooks_.on_finished) hooks_.on_finished(backup, check);
  }

  Store& store_;
  const VerificationSettings settings_;
  const VerificationHooks hooks_;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mu_;  // guards queue_, active_, stopping_
  std::condition_variable changed_;
  std::deque<Backup> queue_;
  std::set<Id> active_;  // queued or running
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: started after the members they use
};

}  // namespace

std::unique_ptr<VerificationService> MakeVerificationService(Store& store, VerificationSettings settings,
                                                             VerificationHooks hooks) {
  return std::make_unique<VerificationServiceImpl>(store, std::move(settings), std::move(hooks));
}

}  // namespace clawback::controller
