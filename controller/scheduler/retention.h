// Retention: which of a schedule's backups of one instance to keep.
//
// restic `forget` semantics. Candidates are sorted newest first (created_at,
// then id). keep_last N keeps the N newest. keep_hourly/daily/weekly/monthly N
// walk the same list and keep the newest backup of each of the N most recent
// hours/days/ISO weeks/months that have a backup (so a gap of missing days
// does not use up the count). A backup is kept when any rule keeps it.
// Buckets use the schedule's time zone (a "daily" backup at 01:00 Berlin is
// bucketed in the Berlin day it was taken on), taken at created_at (the slot
// time, not the completion time). An empty policy keeps everything.
//
// Safety rules on top of the policy:
//   - `newest_completed_id` (the instance's newest completed backup of any
//     origin) is always kept if it is among the candidates;
//   - the caller passes only COMPLETED backups made by THIS schedule; anything
//     else in `candidates` (wrong status, other schedule) is kept, never
//     forgotten.
// Pure function; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller {

struct RetentionVerdict {
  Backup backup;
  bool keep = false;
  std::vector<std::string> reasons;  // "last", "daily 2026-11-25", "newest completed", ...
};

// Verdicts in newest-first order. InvalidArgument for a negative count or an
// unknown zone.
Result<std::vector<RetentionVerdict>> DecideRetention(const RetentionPolicy& policy, Id schedule_id,
                                                      std::vector<Backup> candidates,
                                                      std::optional<Id> newest_completed_id,
                                                      std::string_view timezone);

// "retention: keep_daily must be between 0 and 100000" for out-of-range counts.
Status ValidateRetention(const RetentionPolicy& policy);

}  // namespace clawback::controller
