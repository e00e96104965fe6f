// Fire times in time zones, DST rules, bounded searches.
#include "controller/scheduler/fire_times.h"

#include <gtest/gtest.h>

#include "controller/scheduler/scheduler.h"

namespace clawback::controller {
namespace {

// 2026-03-28T12:00:00Z etc. are written as epoch seconds; comments give UTC.
std::vector<UnixTime> Next(const std::string& expr, const std::string& zone, UnixTime after, int n) {
  auto times = NextRunTimes(expr, zone, after, n);
  EXPECT_TRUE(times.ok()) << times.status().message();
  return times.ok() ? *times : std::vector<UnixTime>{};
}

TEST(FireTimesTest, UtcBasics) {
  // After 2026-01-01T00:00:00Z (1767225600).
  EXPECT_EQ(Next("0 2 * * *", "UTC", 1767225600, 2),
            (std::vector<UnixTime>{1767232800, 1767319200}));  // 02:00 on Jan 1 and 2
  // Strictly after: a slot equal to `after` is not returned.
  EXPECT_EQ(Next("0 2 * * *", "UTC", 1767232800, 1), (std::vector<UnixTime>{1767319200}));
  // Every 15 minutes from a time mid-slot.
  EXPECT_EQ(Next("*/15 * * * *", "UTC", 1767225600 + 60, 3),
            (std::vector<UnixTime>{1767225600 + 900, 1767225600 + 1800, 1767225600 + 2700}));
  EXPECT_EQ(Next("0 0 * * *", "Etc/UTC", 1767225600, 1), (std::vector<UnixTime>{1767312000}));
}

TEST(FireTimesTest, FixedOffsetZone) {
  // Asia/Kolkata is UTC+05:30: 02:00 local is 20:30Z the previous day.
  // After 2026-01-01T00:00:00Z: 2026-01-01T20:30:00Z.
  EXPECT_EQ(Next("0 2 * * *", "Asia/Kolkata", 1767225600, 1), (std::vector<UnixTime>{1767299400}));
}

TEST(FireTimesTest, BerlinSpringForwardGapFiresOnceAtNextValidTime) {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z (1774746000).
  // Daily 02:30 after 2026-03-28T12:00Z: fires at 03:00 CEST on the day of
  // the gap, then at 02:30 CEST (00:30Z) the next day.
  EXPECT_EQ(Next("30 2 * * *", "Europe/Berlin", 1774699200, 2),
            (std::vector<UnixTime>{1774746000, 1774830600}));
  // Every 30 minutes: 01:00 and 01:30 CET, then 02:00/02:30 (gap) and 03:00
  // CEST are the same instant and fire once, then 03:30 CEST.
  EXPECT_EQ(Next("*/30 * * * *", "Europe/Berlin", 1774742400 - 60, 4),
            (std::vector<UnixTime>{1774742400, 1774744200, 1774746000, 1774747800}));
  // Every minute: nothing bunches up at 03:00; 02:00..02:59 collapse into it.
  auto minutely = Next("* * * * *", "Europe/Berlin", 1774746000 - 120, 4);
  EXPECT_EQ(minutely, (std::vector<UnixTime>{1774746000 - 60, 1774746000, 1774746060, 1774746120}));
}

TEST(FireTimesTest, BerlinFallBackRepeatedTimeFiresOnceFirstOccurrence) {
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00Z (1792890000).
  // Daily 02:30: the first 02:30 (CEST, 00:30Z), then 02:30 CET next day.
  EXPECT_EQ(Next("30 2 * * *", "Europe/Berlin", 1792843200, 2),
            (std::vector<UnixTime>{1792888200, 1792888200 + 86400 + 3600}));
  // Every 30 minutes: 02:00 and 02:30 CEST, the repeated CET hour is
  // skipped, then 03:00 CET (02:00Z).
  EXPECT_EQ(Next("*/30 * * * *", "Europe/Berlin", 1792886400 - 60, 3),
            (std::vector<UnixTime>{1792886400, 1792888200, 1792893600}));
  // Starting inside the second occurrence (02:10 CET = 01:10Z) does not go
  // back to the first occurrence and does not fire the repeat.
  EXPECT_EQ(Next("*/30 * * * *", "Europe/Berlin", 1792890000 + 600, 1), (std::vector<UnixTime>{1792893600}));
}

TEST(FireTimesTest, NewYorkTransitions) {
  // 2026-03-08 02:00 EST -> 03:00 EDT at 07:00Z (1772953200).
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", 1772953200 - 3 * 3600, 1),
            (std::vector<UnixTime>{1772953200}));
  // 2026-11-01 02:00 EDT -> 01:00 EST at 06:00Z (1793512800). 01:30 fires
  // once, at 01:30 EDT (05:30Z).
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", 1793512800 - 3 * 3600, 2),
            (std::vector<UnixTime>{1793512800 - 1800, 1793512800 - 1800 + 86400 + 3600}));
}

TEST(FireTimesTest, LordHoweHalfHourShift) {
  // 2026-10-04 02:00 +10:30 -> 02:30 +11:00 at 2026-10-03T15:30Z (1791041400):
  // 02:15 does not exist and fires at 02:30.
  EXPECT_EQ(Next("15 2 * * *", "Australia/Lord_Howe", 1791041400 - 6 * 3600, 1),
            (std::vector<UnixTime>{1791041400}));
  // 2026-04-05 02:00 +11:00 -> 01:30 +10:30: 01:45 occurs twice, fires once
  // (the +11:00 one, 1775313900); next day at +10:30.
  EXPECT_EQ(Next("45 1 * * *", "Australia/Lord_Howe", 1775313900 - 6 * 3600, 2),
            (std::vector<UnixTime>{1775313900, 1775313900 + 86400 + 1800}));
}

TEST(FireTimesTest, SkippedCalendarDay) {
  // Samoa skipped 2011-12-30 entirely: its noon fires at the first valid
  // instant, 2011-12-31 00:00 local (1325239200).
  EXPECT_EQ(Next("0 12 30 12 *", "Pacific/Apia", 1322697600, 1), (std::vector<UnixTime>{1325239200}));
}

TEST(FireTimesTest, RareAndImpossible) {
  // Feb 29: from 2026 the next is 2028-02-29T00:00Z (1835395200).
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", 1767225600, 2), (std::vector<UnixTime>{1835395200, 1961625600}));
  // 2100 is no leap year: from 2098-03-01 the next Feb 29 is in 2104.
  auto far = Next("0 0 29 2 *", "UTC", 4044470400, 1);  // 2098-03-01
  ASSERT_EQ(far.size(), 1u);
  EXPECT_EQ(far[0], 4233686400);  // 2104-02-29T00:00Z
  auto impossible = NextRunTimes("0 0 30 2 *", "UTC", 1767225600, 1);
  ASSERT_FALSE(impossible.ok());
  EXPECT_EQ(impossible.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(impossible.status().message(), "cron: expression never fires: the selected months have no day 30");
}

TEST(FireTimesTest, Errors) {
  auto bad_zone = NextRunTimes("0 2 * * *", "Mars/Olympus", 0, 1);
  ASSERT_FALSE(bad_zone.ok());
  EXPECT_EQ(bad_zone.status().message(), "timezone: unknown time zone Mars/Olympus");
  EXPECT_EQ(ValidateTimeZone("").message(), "timezone: must not be empty");
  EXPECT_TRUE(ValidateTimeZone("Europe/Berlin").ok());
  EXPECT_EQ(NextRunTimes("0 2 * * *", "UTC", 0, 0).status().message(), "count must be between 1 and 1000, got 0");
  EXPECT_FALSE(NextRunTimes("0 2 * * *", "UTC", 0, 1001).ok());
  EXPECT_FALSE(NextRunTimes("0 2 * *", "UTC", 0, 1).ok());
}

TEST(FireTimesTest, LatestFireTimeAfterLongOutage) {
  auto cron = ParseCron("* * * * *");
  ASSERT_TRUE(cron.ok());
  // A year of minutes: the newest slot at or before `until`, found by bisection.
  UnixTime until = 1767225600 + 365 * 86400 + 59;
  auto latest = LatestFireTime(*cron, "Europe/Berlin", 1767225600, until);
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ(**latest, until - 59);
  // Nothing in an interval without a slot.
  auto daily = ParseCron("0 2 * * *");
  ASSERT_TRUE(daily.ok());
  auto none = LatestFireTime(*daily, "UTC", 1767232800, 1767232800 + 3600);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // The interval is half-open: (after, until].
  auto edge = LatestFireTime(*daily, "UTC", 1767232800 - 1, 1767232800);
  ASSERT_TRUE(edge.ok() && edge->has_value());
  EXPECT_EQ(**edge, 1767232800);
  // Across the Berlin spring-forward gap the latest daily 02:30 is 03:00 CEST.
  auto gap = ParseCron("30 2 * * *");
  ASSERT_TRUE(gap.ok());
  auto in_gap = LatestFireTime(*gap, "Europe/Berlin", 1774699200, 1774746000 + 600);
  ASSERT_TRUE(in_gap.ok() && in_gap->has_value());
  EXPECT_EQ(**in_gap, 1774746000);
}

TEST(FireTimesTest, LocalTimeFormatting) {
  auto text = FormatLocalRfc3339("Europe/Berlin", 1774746000);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "2026-03-29T03:00:00+02:00");
  auto kolkata = FormatLocalRfc3339("Asia/Kolkata", 1767299400);
  ASSERT_TRUE(kolkata.ok());
  EXPECT_EQ(*kolkata, "2026-01-02T02:00:00+05:30");
  auto ny = FormatLocalRfc3339("America/New_York", 1772953200 - 1);
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(*ny, "2026-03-08T01:59:59-05:00");
}

}  // namespace
}  // namespace clawback::controller
