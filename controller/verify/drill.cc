#include "controller/verify/drill.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/agents/agent_connector.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/block_digests.h"
#include "controller/jobs/verified_archive_reader.h"
#include "controller/store/store.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

constexpr uint64_t kWholeCheckBelow = 16 * 1024 * 1024;
constexpr std::chrono::milliseconds kLiveCheck{3000};

UnixTime Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class DrillServiceImpl final : public DrillService {
 public:
  DrillServiceImpl(Store& store, AgentConnector& agents, DrillSettings settings,
                   std::function<void(const Backup&, const Instance&, const BackupCheck&)> on_finished)
      : store_(store), agents_(agents), settings_(std::move(settings)), on_finished_(std::move(on_finished)) {
    for (int i = 0; i < std::max(1, settings_.max_concurrent); ++i) workers_.emplace_back([this] { Work(); });
  }
  ~DrillServiceImpl() override { Shutdown(); }

  Result<BackupCheck> Start(const Backup& backup, const Instance& target) override {
    if (backup.status != BackupStatus::kCompleted) {
      return Status::FailedPrecondition("backup " + std::to_string(backup.id) + " is " +
                                        std::string(BackupStatusName(backup.status)) +
                                        "; only completed backups can be drilled");
    }
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("controller shutting down");
    if (active_.count(backup.id)) {
      return Status::Conflict("backup " + std::to_string(backup.id) + " already has a restore drill running");
    }
    BackupCheck check;
    check.backup_id = backup.id;
    check.owner = settings_.replica_id;
    check.kind = CheckKind::kDrill;
    check.status = CheckStatus::kRunning;
    check.at = Now();
    check.detail_json = nlohmann::json{{"instance", target.name}}.dump();
    CLAWBACK_RETURN_IF_ERROR(store_.PutBackupCheck(check));
    active_.insert(backup.id);
    queue_.push_back({backup, target});
    changed_.notify_one();
    return check;
  }

  bool Active(Id backup_id) const override {
    std::lock_guard lock(mu_);
    return active_.count(backup_id) != 0;
  }

  void Shutdown() override {
    std::deque<std::pair<Backup, Instance>> dropped;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      cancel_.store(true);
      dropped.swap(queue_);
      changed_.notify_all();
    }
    for (std::thread& t : workers_) t.join();
    for (const auto& [b, i] : dropped) Finish(b, i, Status::Unavailable("controller shutting down"), {}, 0);
  }

 private:
  void Work() {
    while (true) {
      std::pair<Backup, Instance> job;
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = queue_.front();
        queue_.pop_front();
      }
      const auto t0 = std::chrono::steady_clock::now();
      auto result = Run(job.first, job.second);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      Status st = result.status();
      if (cancel_.load() && !st.ok()) st = Status::Unavailable("controller shutting down");
      Finish(job.first, job.second, st, result.ok() ? result->answer_json : std::string(), seconds);
    }
  }

  Result<AgentRestoreResult> Run(const Backup& backup, const Instance& target) {
    InstanceHealth health = agents_.ProbeWithin(target, kLiveCheck);
    if (health.status != "running") {
      return Status::Conflict("instance " + target.name + " is not running (" + health.status +
                              (health.reason.empty() ? "" : ": " + health.reason) + ")");
    }
    if (settings_.archives) return DrillStored(backup, target);
    auto path = ArchiveAbsolutePath(settings_.backups_dir, backup.file_path);
    if (!path.ok() || path->empty()) return Status::Internal("the archive location of the backup is invalid");
    std::optional<BlockDigests> digests;
    if (auto read = ReadBlockDigests(*path); read.ok() && read->size == backup.size_bytes &&
                                             read->sha256 == backup.sha256 &&
                                             read->block_size <= VerifiedArchiveReader::kMaxBlockSize) {
      digests = std::move(*read);
    }
    // As a restore: small archives and those without usable digests are
    // checked whole before the agent is contacted.
    if (!digests || backup.size_bytes <= kWholeCheckBelow) {
      auto sha = Sha256OfFile(*path);
      if (!sha.ok()) {
        return sha.status().code() == Status::Code::kNotFound ? Status::Corruption("the archive file is missing")
                                                              : sha.status();
      }
      if (*sha != backup.sha256) {
        return Status::Corruption("archive corrupted on disk: sha256 mismatch (file has " + *sha + ", recorded " +
                                  backup.sha256 + ")");
      }
    }
    auto reader = VerifiedArchiveReader::Open(*path, backup.size_bytes, backup.sha256, std::move(digests), [] {});
    if (!reader.ok()) return reader.status();
    CLAWBACK_RETURN_IF_ERROR((*reader)->WaitForFirst());
    return agents_.Drill(target, **reader, cancel_, settings_.stall_timeout);
  }

  // Through the archive storage (object storage: ranged reads).
  Result<AgentRestoreResult> DrillStored(const Backup& backup, const Instance& target) {
    storage::ArchiveStorage& archives = *settings_.archives;
    if (backup.file_path.empty()) return Status::Internal("the archive location of the backup is invalid");
    std::optional<BlockDigests> digests;
    if (auto text = archives.GetSidecar(backup.file_path, BlockDigestsPath("")); text.ok()) {
      if (auto read = ParseBlockDigests(*text); read.ok() && read->size == backup.size_bytes &&
                                                read->sha256 == backup.sha256 &&
                                                read->block_size <= VerifiedArchiveReader::kMaxBlockSize) {
        digests = std::move(read).value();
      }
    }
    auto missing = [](const Status& st) {
      return st.code() == Status::Code::kNotFound ? Status::Corruption("the archive file is missing") : st;
    };
    if (!digests || backup.size_bytes <= kWholeCheckBelow) {
      auto whole = archives.OpenArchive(backup.file_path);
      if (!whole.ok()) return missing(whole.status());
      auto sha = storage::Sha256OfArchive(**whole);
      if (!sha.ok()) return sha.status();
      if (*sha != backup.sha256) {
        return Status::Corruption("archive corrupted in storage: sha256 mismatch (archive has " + *sha +
                                  ", recorded " + backup.sha256 + ")");
      }
    }
    auto archive = archives.OpenArchive(backup.file_path);
    if (!archive.ok()) return missing(archive.status());
    auto reader = VerifiedArchiveReader::Open(std::move(archive).value(), backup.file_path, backup.size_bytes,
                                              backup.sha256, std::move(digests), [] {});
    if (!reader.ok()) return reader.status();
    CLAWBACK_RETURN_IF_ERROR((*reader)->WaitForFirst());
    return agents_.Drill(target, **reader, cancel_, settings_.stall_timeout);
  }

  void Finish(const Backup& backup, const Instance& target, const Status& st, const std::string& answer,
              double seconds) {
    nlohmann::json detail = {{"instance", target.name}};
    auto a = nlohmann::json::parse(answer, nullptr, false);
    if (a.is_object()) {
      for (const char* k : {"entries", "bytes", "files_checked", "databases_checked", "index", "duration_ms"}) {
        if (a.contains(k)) detail[k] = a[k];
      }
      if (a.contains("skipped") && a["skipped"].is_array()) detail["skipped"] = a["skipped"].size();
    }
    BackupCheck check;
    check.backup_id = backup.id;
    check.owner = settings_.replica_id;
    check.kind = CheckKind::kDrill;
    check.status = st.ok() ? CheckStatus::kPassed : CheckStatus::kFailed;
    check.at = Now();
    check.duration_s = seconds;
    check.error = st.ok() ? "" : WithoutBackupsDir(st.message(), settings_.backups_dir);
    check.detail_json = detail.dump();
    Status stored = store_.PutBackupCheck(check);
    if (!stored.ok()) log::Error("cannot record a restore drill", {{"backup_id", backup.id}, {"error", stored.message()}});
    if (st.ok()) {
      log::Info("restore drill passed", {{"backup_id", backup.id}, {"instance", target.name}, {"seconds", seconds}});
    } else {
      log::Warn("restore drill failed", {{"backup_id", backup.id}, {"instance", target.name}, {"error", st.message()}});
    }
    {
      std::lock_guard lock(mu_);
      active_.erase(backup.id);
    }
    if (on_finished_) on_finished_(backup, target, check);
  }

  Store& store_;
  AgentConnector& agents_;
  const DrillSettings settings_;
  const std::function<void(const Backup&, const Instance&, const BackupCheck&)> on_finished_;
  std::atomic<bool> cancel_{false};
  mutable std::mutex mu_;  // guards queue_, active_, stopping_
  std::condition_variable changed_;
  std::deque<std::pair<Backup, Instance>> queue_;
  std::set<Id> active_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last
};

}  // namespace

std::unique_ptr<DrillService> MakeDrillService(
    Store& store, AgentConnector& agents, DrillSettings settings,
    std::function<void(const Backup&, const Instance&, const BackupCheck&)> on_finished) {
  return std::make_unique<DrillServiceImpl>(store, agents, std::move(settings), std::move(on_finished));
}

}  // namespace clawback::controller
