#include "controller/verify/verification_policy.h"

#include <algorithm>
#include <map>
#include <random>

#include "controller/store/store.h"
#include "controller/verify/drill.h"
#include "controller/verify/verification.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

// Every completed backup of every instance still registered.
std::vector<Backup> CompletedBackups(Store& store) {
  std::vector<Backup> out;
  auto instances = store.ListInstances();
  if (!instances.ok()) return out;
  for (const Instance& i : *instances) {
    auto done = store.ListCompletedBackups(i.id);
    if (done.ok()) out.insert(out.end(), done->begin(), done->end());
  }
  return out;
}

void StartQuietly(VerificationService& verifier, const Backup& b, const char* why) {
  if (verifier.Active(b.id)) return;
  auto started = verifier.Start(b);
  if (started.ok()) {
    log::Info("verification scheduled", {{"backup_id", b.id}, {"reason", why}});
  } else if (started.status().code() != Status::Code::kConflict) {
    log::Warn("cannot schedule a verification", {{"backup_id", b.id}, {"error", started.status().message()}});
  }
}

}  // namespace

void VerificationPolicy::OnBackupFinished(const Backup& backup) {
  if (backup.status != BackupStatus::kCompleted) return;
  bool wanted = settings_.verify_after_backup;
  if (!wanted && backup.schedule_id) {
    auto schedule = store_.GetSchedule(*backup.schedule_id);
    wanted = schedule.ok() && schedule->verify_after_backup;
  }
  if (wanted) StartQuietly(verifier_, backup, "after backup");
}

void VerificationPolicy::OnTick(UnixTime now) {
  const bool drills = drills_ != nullptr && settings_.drill_every_days > 0;
  if (settings_.reverify_after_days <= 0 && settings_.daily_sample_percent <= 0 && !drills) return;
  {
    std::lock_guard lock(mu_);
    if (last_scan_ != 0 && now - last_scan_ < scan_interval_.count()) return;
    last_scan_ = now;
  }
  if (settings_.reverify_after_days > 0) Reverify(now);
  if (settings_.daily_sample_percent > 0) Sample(now);
  if (drills) Drill(now);
}

// Two store queries for the whole fleet (newest backups, newest checks).
void VerificationPolicy::Drill(UnixTime now) {
  auto instances = store_.ListInstances();
  if (!instances.ok()) return;
  auto latest = store_.ListLatestBackups();
  if (!latest.ok()) return;
  auto checks = store_.ListLatestChecks();
  if (!checks.ok()) return;
  std::map<Id, Backup> newest_good;
  for (LatestBackups& l : *latest) {
    if (l.last_good) newest_good.emplace(l.instance_id, std::move(*l.last_good));
  }
  std::map<Id, const LatestCheck*> drills;
  for (const LatestCheck& c : *checks) {
    if (c.kind == CheckKind::kDrill) drills[c.instance_id] = &c;
  }
  const int64_t every = int64_t{settings_.drill_every_days} * 86400;
  for (const Instance& i : *instances) {
    auto good = newest_good.find(i.id);
    if (good == newest_good.end()) continue;
    auto d = drills.find(i.id);
    const bool running = d != drills.end() && d->second->running;
    const UnixTime last = d != drills.end() && d->second->newest ? d->second->newest->at : 0;
    const Backup& latest_good = good->second;
    if (running || now - last < every || drills_->Active(latest_good.id)) continue;
    auto started = drills_->Start(latest_good, i);
    if (started.ok()) {
      log::Info("restore drill scheduled", {{"backup_id", latest_good.id}, {"instance", i.name}});
    } else if (started.status().code() != Status::Code::kConflict) {
      log::Warn("cannot schedule a restore drill", {{"backup_id", latest_good.id}, {"error", started.status().message()}});
    }
  }
}

void VerificationPolicy::Reverify(UnixTime now) {
  std::vector<Backup> backups = CompletedBackups(store_);
  std::vector<Id> ids;
  for (const Backup& b : backups) ids.push_back(b.id);
  auto checks = store_.ListBackupChecks(ids);
  if (!checks.ok()) return;
  std::map<Id, UnixTime> verified_at;
  for (const BackupCheck& c : *checks) {
    if (c.kind == CheckKind::kVerify) verified_at[c.backup_id] = c.status == CheckStatus::kRunning ? now : c.at;
  }
  const int64_t max_age = int64_t{settings_.reverify_after_days} * 86400;
  for (const Backup& b : backups) {
    auto it = verified_at.find(b.id);
    const UnixTime last = it == verified_at.end() ? 0 : it->second;
    if (now - last > max_age && now - b.completed_at > max_age) StartQuietly(verifier_, b, "re-verify");
  }
}

void VerificationPolicy::Sample(UnixTime now) {
  const int64_t day = now / 86400;
  {
    std::lock_guard lock(mu_);
    if (day == last_sample_day_) return;
  }
  std::vector<Backup> backups = CompletedBackups(store_);
  if (backups.empty()) return;  // nothing to sample yet: try again next scan
  {
    std::lock_guard lock(mu_);
    if (day == last_sample_day_) return;
    last_sample_day_ = day;
  }
  const size_t count = std::max<size_t>(
      1, (backups.size() * static_cast<size_t>(std::min(settings_.daily_sample_percent, 100)) + 99) / 100);
  std::mt19937_64 rng(std::random_device{}());
  std::shuffle(backups.begin(), backups.end(), rng);
  for (size_t i = 0; i < count && i < backups.size(); ++i) StartQuietly(verifier_, backups[i], "daily sample");
}

}  // namespace clawback::controller
