#include "controller/verify/protection.h"

#include "controller/store/store.h"

namespace clawback::controller {
namespace {

std::string Age(int64_t s) {
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  if (s < 172800) return std::to_string(s / 3600) + " h";
  return std::to_string(s / 86400) + " days";
}

// Sets state and reason from what `p` already holds.
void Decide(InstanceProtection& p, int64_t unprotected_after_s, UnixTime now) {
  const int64_t age = p.last_good ? now - p.last_good->completed_at : -1;
  if (!p.last_good || age > unprotected_after_s) {
    p.state = "unprotected";
    p.reason = p.last_good ? "last good backup " + Age(age) + " ago" : "no completed backup";
  } else if (p.latest && p.latest->status == BackupStatus::kFailed) {
    p.state = "failing";
    p.reason = "newest backup failed: " + p.latest->error_message;
  } else if (p.last_verification && p.last_verification->status == CheckStatus::kFailed) {
    p.state = "failing";
    p.reason = "verification of backup " + std::to_string(p.last_verification->backup_id) +
               " failed: " + p.last_verification->error;
  } else if (p.last_drill && p.last_drill->status == CheckStatus::kFailed) {
    p.state = "failing";
    p.reason = "restore drill of backup " + std::to_string(p.last_drill->backup_id) + " failed: " + p.last_drill->error;
  } else if (age > unprotected_after_s / 2) {
    p.state = "stale";
    p.reason = "last good backup " + Age(age) + " ago";
  } else {
    p.state = "protected";
    p.reason = "last good backup " + Age(age) + " ago";
  }
}

}  // namespace

Result<std::map<Id, InstanceProtection>> AssessFleetProtection(Store& store, const std::vector<Instance>& instances,
                                                               int64_t unprotected_after_s, UnixTime now) {
  auto backups = store.ListLatestBackups();
  if (!backups.ok()) return backups.status();
  auto checks = store.ListLatestChecks();
  if (!checks.ok()) return checks.status();
  std::map<Id, InstanceProtection> out;
  for (const Instance& i : instances) {
    InstanceProtection& p = out[i.id];
    p.instance_id = i.id;
    p.instance_name = i.name;
  }
  for (LatestBackups& b : *backups) {
    auto it = out.find(b.instance_id);
    if (it == out.end()) continue;  // registered after the instance list was read
    it->second.latest = std::move(b.latest);
    it->second.last_good = std::move(b.last_good);
  }
  for (LatestCheck& c : *checks) {
    auto it = out.find(c.instance_id);
    if (it == out.end() || !c.newest) continue;
    (c.kind == CheckKind::kVerify ? it->second.last_verification : it->second.last_drill) = std::move(c.newest);
  }
  for (auto& [id, p] : out) Decide(p, unprotected_after_s, now);
  return out;
}

Result<InstanceProtection> AssessProtection(Store& store, const Instance& instance, int64_t unprotected_after_s,
                                            UnixTime now) {
  InstanceProtection p;
  p.instance_id = instance.id;
  p.instance_name = instance.name;
  BackupFilter newest;
  newest.instance_id = instance.id;
  newest.limit = 1;
  auto latest = store.ListBackups(newest, nullptr);
  if (!latest.ok()) return latest.status();
  if (!latest->empty()) p.latest = latest->front();
  auto done = store.ListCompletedBackups(instance.id);
  if (!done.ok()) return done.status();
  if (!done->empty()) p.last_good = done->front();
  std::vector<Id> ids;
  for (const Backup& b : *done) ids.push_back(b.id);
  auto checks = store.ListBackupChecks(ids);
  if (!checks.ok()) return checks.status();
  for (const BackupCheck& c : *checks) {
    if (c.status == CheckStatus::kRunning) continue;
    auto& slot = c.kind == CheckKind::kVerify ? p.last_verification : p.last_drill;
    if (!slot || c.at > slot->at || (c.at == slot->at && c.backup_id > slot->backup_id)) slot = c;
  }

  Decide(p, unprotected_after_s, now);
  return p;
}

}  // namespace clawback::controller
