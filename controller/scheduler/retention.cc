#include "controller/scheduler/retention.h"

#include <algorithm>
#include <cstdio>

#include "controller/scheduler/fire_times.h"

namespace clawback::controller {
namespace {

constexpr int kMaxKeep = 100000;

struct Rule {
  const char* name;
  int remaining;
  std::optional<int64_t> last_bucket;
};

std::string Pad(int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
  return buf;
}

}  // namespace

Status ValidateRetention(const RetentionPolicy& policy) {
  const std::pair<const char*, int> counts[] = {{"keep_last", policy.keep_last},
                                                 {"keep_hourly", policy.keep_hourly},
                                                 {"keep_daily", policy.keep_daily},
                                                 {"keep_weekly", policy.keep_weekly},
                                                 {"keep_monthly", policy.keep_monthly}};
  for (const auto& [name, value] : counts) {
    if (value < 0 || value > kMaxKeep) {
      return Status::InvalidArgument(std::string("retention: ") + name + " must be between 0 and " +
                                     std::to_string(kMaxKeep) + ", got " + std::to_string(value));
    }
  }
  return Status::Ok();
}

Result<std::vector<RetentionVerdict>> DecideRetention(const RetentionPolicy& policy, Id schedule_id,
                                                      std::vector<Backup> candidates,
                                                      std::optional<Id> newest_completed_id,
                                                      std::string_view timezone) {
  CLAWBACK_RETURN_IF_ERROR(ValidateRetention(policy));
  CLAWBACK_RETURN_IF_ERROR(ValidateTimeZone(timezone));
  std::sort(candidates.begin(), candidates.end(), [](const Backup& a, const Backup& b) {
    if (a.created_at != b.created_at) return a.created_at > b.created_at;
    return a.id > b.id;
  });

  Rule last{"last", policy.keep_last, std::nullopt};
  Rule hourly{"hourly", policy.keep_hourly, std::nullopt};
  Rule daily{"daily", policy.keep_daily, std::nullopt};
  Rule weekly{"weekly", policy.keep_weekly, std::nullopt};
  Rule monthly{"monthly", policy.keep_monthly, std::nullopt};

  std::vector<RetentionVerdict> out;
  out.reserve(candidates.size());
  for (Backup& backup : candidates) {
    RetentionVerdict verdict;
    bool eligible = backup.status == BackupStatus::kCompleted && backup.schedule_id == schedule_id;
    if (!eligible) {
      verdict.keep = true;
      verdict.reasons.push_back("not a completed backup of this schedule");
    } else if (policy.empty()) {
      verdict.keep = true;
      verdict.reasons.push_back("no retention policy");
    } else {
      auto local = ToLocalTime(timezone, backup.created_at);
      if (!local.ok()) return local.status();
      const LocalTime& lt = *local;
      struct Bucketed {
        Rule* rule;
        int64_t bucket;
        std::string label;
      };
      std::string date = Pad(lt.year, 4) + "-" + Pad(lt.month, 2) + "-" + Pad(lt.day, 2);
      Bucketed rules[] = {
          {&last, backup.id, ""},
          {&hourly, lt.days_since_epoch * 24 + lt.hour, date + " " + Pad(lt.hour, 2) + ":00"},
          {&daily, lt.days_since_epoch, date},
          {&weekly, int64_t{lt.iso_year} * 100 + lt.iso_week, Pad(lt.iso_year, 4) + "-W" + Pad(lt.iso_week, 2)},
          {&monthly, int64_t{lt.year} * 100 + lt.month, Pad(lt.year, 4) + "-" + Pad(lt.month, 2)},
      };
      for (Bucketed& r : rules) {
        if (r.rule->remaining > 0 && r.rule->last_bucket != r.bucket) {
          r.rule->remaining--;
          r.rule->last_bucket = r.bucket;
          verdict.keep = true;
          verdict.reasons.push_back(r.label.empty() ? std::string(r.rule->name)
                                                    : std::string(r.rule->name) + " " + r.label);
        }
      }
    }
    if (newest_completed_id && backup.id == *newest_completed_id) {
      verdict.keep = true;
      verdict.reasons.push_back("newest completed backup of the instance");
    }
    verdict.backup = std::move(backup);
    out.push_back(std::move(verdict));
  }
  return out;
}

}  // namespace clawback::controller
