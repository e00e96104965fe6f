// When a cron expression fires in an IANA time zone.
//
// Matching is done on local wall-clock minutes; each matching local minute L
// becomes one instant:
//   - L exists once            -> that instant;
//   - L falls in a DST gap     -> the first instant after the gap (02:30 on
//     Berlin's spring-forward day fires at 03:00 CEST);
//   - L occurs twice (fall-back) -> the first occurrence only.
// Several local minutes mapping to the same instant fire once. The fire times
// are therefore strictly increasing and never bunch up around a transition.
//
// Zones come from the system tz database (/usr/share/zoneinfo) through
// Howard Hinnant's date library built with USE_OS_TZDB. Searches are bounded:
// they skip whole months, days and hours that cannot match, and give up after
// kCronSearchYears of local time (every expression that ParseCron accepts
// fires within that bound: February 29 recurs at most 8 years apart).
//
// All functions are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/scheduler/cron.h"
#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller {

inline constexpr int kCronSearchYears = 10;

// OK when `name` is a zone of the tz database ("UTC", "Europe/Berlin");
// InvalidArgument "timezone: unknown time zone Mars/Olympus" otherwise.
Status ValidateTimeZone(std::string_view name);

// The first fire time strictly after `after` and not after `until`, or
// nullopt when there is none in that interval.
Result<std::optional<UnixTime>> NextFireTime(const CronExpr& cron, std::string_view zone, UnixTime after,
                                             UnixTime until);

// The next `count` (1..1000) fire times strictly after `after`.
// InvalidArgument "cron: expression never fires" when none exists within
// kCronSearchYears.
Result<std::vector<UnixTime>> FireTimesAfter(const CronExpr& cron, std::string_view zone, UnixTime after,
                                             int count);

// The newest fire time in (after, until], or nullopt. Cost grows with the
// log of the interval's length, not with the number of slots in it, so a
// minutely schedule after a year-long outage is still cheap.
Result<std::optional<UnixTime>> LatestFireTime(const CronExpr& cron, std::string_view zone, UnixTime after,
                                               UnixTime until);

// Local wall-clock facts used for display and retention buckets.
struct LocalTime {
  int year = 1970;
  unsigned month = 1;    // 1..12
  unsigned day = 1;      // 1..31
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  int64_t days_since_epoch = 0;  // local civil day number
  int iso_year = 1970;           // ISO-8601 week-numbering year
  unsigned iso_week = 1;         // 1..53
  int utc_offset_seconds = 0;
};
Result<LocalTime> ToLocalTime(std::string_view zone, UnixTime t);

// "2026-11-26T03:00:00+01:00": RFC 3339 with the zone's offset at `t`.
Result<std::string> FormatLocalRfc3339(std::string_view zone, UnixTime t);

}  // namespace clawback::controller
