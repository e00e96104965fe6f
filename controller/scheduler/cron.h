// Cron expressions: the standard five fields
//
//   minute(0-59) hour(0-23) day-of-month(1-31) month(1-12|jan-dec) day-of-week(0-7|sun-sat)
//
// Each field is a comma list of `*`, `N`, `N-M`, each optionally followed by
// `/STEP`; `N/STEP` means N through the field's maximum. Names are
// case-insensitive, day-of-week 7 is Sunday like 0. Macros: @yearly
// (@annually), @monthly, @weekly, @daily (@midnight), @hourly.
//
// Day rule (as in Vixie cron and croniter): when BOTH day-of-month and
// day-of-week are restricted, a day matches when EITHER matches; otherwise
// both must match. "Restricted" means the field does not cover its whole range
// ("*/2" in day-of-month is restricted, "*" and "1-31" are not).
//
// Parsing is pure and thread-safe. Errors are InvalidArgument and name the
// field and the value: "cron: hour value 24 out of range 0-23",
// "cron: expected 5 fields, got 4". An expression no calendar can satisfy
// ("0 0 30 2 *") is refused with "cron: expression never fires: ...".
#pragma once

#include <bitset>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback::controller {

struct CronExpr {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // bits 1..31
  std::bitset<13> months;         // bits 1..12
  std::bitset<7> days_of_week;    // 0 = Sunday .. 6 = Saturday
  bool dom_restricted = false;
  bool dow_restricted = false;

  // Whether a civil day (day of month 1-31, month 1-12, weekday 0-6 with
  // Sunday = 0) is one this expression fires on, applying the day rule.
  bool MatchesDay(unsigned day_of_month, unsigned month, unsigned weekday) const;
};

// Longest expression accepted (defensive bound on user input).
inline constexpr size_t kMaxCronLength = 256;

Result<CronExpr> ParseCron(std::string_view text);

// Plain-language reading of a parsed expression: "At 02:00 every day",
// "At minute 0 past every 6th hour", "At 02:00 on Sunday",
// "At 02:00 on day 1 of the month". Unusual combinations get a generic
// field-by-field reading.
std::string DescribeCronExpr(const CronExpr& cron);

}  // namespace clawback::controller
