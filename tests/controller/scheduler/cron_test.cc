// Cron parsing and description: table-driven.
#include "controller/scheduler/cron.h"

#include <gtest/gtest.h>

#include "controller/scheduler/scheduler.h"

namespace clawback::controller {
namespace {

template <size_t N>
std::vector<int> Bits(const std::bitset<N>& b) {
  std::vector<int> out;
  for (size_t i = 0; i < N; ++i) {
    if (b.test(i)) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> Range(int lo, int hi, int step = 1) {
  std::vector<int> out;
  for (int v = lo; v <= hi; v += step) out.push_back(v);
  return out;
}

struct ValidCase {
  const char* expr;
  std::vector<int> minutes, hours, doms, months, dows;
  bool dom_restricted, dow_restricted;
};

TEST(CronParseTest, ValidExpressions) {
  const ValidCase cases[] = {
      {"* * * * *", Range(0, 59), Range(0, 23), Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"0 2 * * *", {0}, {2}, Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"*/15 * * * *", {0, 15, 30, 45}, Range(0, 23), Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"1-30/5 * * * *", {1, 6, 11, 16, 21, 26}, Range(0, 23), Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"5/10 * * * *", {5, 15, 25, 35, 45, 55}, Range(0, 23), Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"0,30 8-17 * * mon-fri", {0, 30}, Range(8, 17), Range(1, 31), Range(1, 12), Range(1, 5), false, true},
      {"0 0 1,15 * *", {0}, {0}, {1, 15}, Range(1, 12), Range(0, 6), true, false},
      {"0 0 * JAN,jul *", {0}, {0}, Range(1, 31), {1, 7}, Range(0, 6), false, false},
      {"0 0 * * 7", {0}, {0}, Range(1, 31), Range(1, 12), {0}, false, true},
      {"0 0 * * 5-7", {0}, {0}, Range(1, 31), Range(1, 12), {0, 5, 6}, false, true},
      {"0 0 * * 0-7", {0}, {0}, Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"0 0 * * Sun", {0}, {0}, Range(1, 31), Range(1, 12), {0}, false, true},
      {"0 0 * * */2", {0}, {0}, Range(1, 31), Range(1, 12), {0, 2, 4, 6}, false, true},
      {"0 0 */2 * *", {0}, {0}, Range(1, 31, 2), Range(1, 12), Range(0, 6), true, false},
      {"0 0 1-31 * *", {0}, {0}, Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"  0\t2  *  *  *  ", {0}, {2}, Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"@hourly", {0}, Range(0, 23), Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"@daily", {0}, {0}, Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"@midnight", {0}, {0}, Range(1, 31), Range(1, 12), Range(0, 6), false, false},
      {"@WEEKLY", {0}, {0}, Range(1, 31), Range(1, 12), {0}, false, true},
      {"@monthly", {0}, {0}, {1}, Range(1, 12), Range(0, 6), true, false},
      {"@yearly", {0}, {0}, {1}, {1}, Range(0, 6), true, false},
      {"@annually", {0}, {0}, {1}, {1}, Range(0, 6), true, false},
      {"0 0 29 2 *", {0}, {0}, {29}, {2}, Range(0, 6), true, false},
      {"59 23 31 12 6", {59}, {23}, {31}, {12}, {6}, true, true},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.expr);
    auto parsed = ParseCron(c.expr);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(Bits(parsed->minutes), c.minutes);
    EXPECT_EQ(Bits(parsed->hours), c.hours);
    EXPECT_EQ(Bits(parsed->days_of_month), c.doms);
    EXPECT_EQ(Bits(parsed->months), c.months);
    EXPECT_EQ(Bits(parsed->days_of_week), c.dows);
    EXPECT_EQ(parsed->dom_restricted, c.dom_restricted);
    EXPECT_EQ(parsed->dow_restricted, c.dow_restricted);
  }
}

TEST(CronParseTest, InvalidExpressionsNameFieldAndValue) {
  const std::pair<const char*, const char*> cases[] = {
      {"0 2 * *", "cron: expected 5 fields, got 4"},
      {"", "cron: expected 5 fields, got 0"},
      {"0 2 * * * *", "cron: expected 5 fields, got 6"},
      {"0 24 * * *", "cron: hour value 24 out of range 0-23"},
      {"60 * * * *", "cron: minute value 60 out of range 0-59"},
      {"0 0 0 * *", "cron: day-of-month value 0 out of range 1-31"},
      {"0 0 32 * *", "cron: day-of-month value 32 out of range 1-31"},
      {"0 0 * 13 *", "cron: month value 13 out of range 1-12"},
      {"0 0 * 0 *", "cron: month value 0 out of range 1-12"},
      {"0 0 * * 8", "cron: day-of-week value 8 out of range 0-7"},
      {"0 0 * * 99999999999999", "cron: day-of-week value 99999999999999 out of range 0-7"},
      {"x * * * *", "cron: minute value 'x' is not a number"},
      {"0 0 * foo *", "cron: month value 'foo' is not a number or a known name"},
      {"0 0 * * monday", "cron: day-of-week value 'monday' is not a number or a known name"},
      {"0 mon * * *", "cron: hour value 'mon' is not a number"},
      {"*/0 * * * *", "cron: minute step 0 out of range 1-60"},
      {"*/61 * * * *", "cron: minute step 61 out of range 1-60"},
      {"*/x * * * *", "cron: minute step 'x' is not a number"},
      {"0 */ * * *", "cron: hour step '' is not a number"},
      {"30-10 * * * *", "cron: minute range 30-10 starts after it ends"},
      {"0 0 * * fri-mon", "cron: day-of-week range fri-mon starts after it ends"},
      {"1,,2 * * * *", "cron: minute field '1,,2' has an empty list item"},
      {"1, * * * *", "cron: minute field '1,' has an empty list item"},
      {"-5 * * * *", "cron: minute has an empty value"},
      {"1-2-3 * * * *", "cron: minute value '2-3' is not a number"},
      {"@reboot", "cron: unknown macro @reboot"},
      {"@daily 0", "cron: expected 5 fields, got 2"},
      {"0 0 30 2 *", "cron: expression never fires: the selected months have no day 30"},
      {"0 0 31 4,6,9,11 *", "cron: expression never fires: the selected months have no day 31"},
      {"0 0 * * *\n", "cron: expression contains a control character"},
  };
  for (const auto& [expr, message] : cases) {
    SCOPED_TRACE(expr);
    auto parsed = ParseCron(expr);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), message);
  }
}

TEST(CronParseTest, RejectsOverlongInput) {
  std::string expr(300, '1');
  auto parsed = ParseCron(expr);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "cron: expression longer than 256 characters");
}

TEST(CronParseTest, ImpossibleOnlyWhenDayOfWeekUnrestricted) {
  // Day 30 never occurs in February, but with the OR rule Mondays still fire.
  EXPECT_TRUE(ParseCron("0 0 30 2 1").ok());
  EXPECT_TRUE(ParseCron("0 0 30 1,2 *").ok());
}

TEST(CronMatchTest, DayRule) {
  auto both = ParseCron("0 0 1 * 1");  // the 1st OR any Monday
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->MatchesDay(1, 3, 3));   // the 1st, a Wednesday
  EXPECT_TRUE(both->MatchesDay(9, 3, 1));   // a Monday
  EXPECT_FALSE(both->MatchesDay(9, 3, 2));  // neither
  auto dom_only = ParseCron("0 0 1 * *");
  ASSERT_TRUE(dom_only.ok());
  EXPECT_TRUE(dom_only->MatchesDay(1, 3, 3));
  EXPECT_FALSE(dom_only->MatchesDay(9, 3, 1));
  auto step_dom = ParseCron("0 0 */2 * 1");  // restricted too: OR
  ASSERT_TRUE(step_dom.ok());
  EXPECT_TRUE(step_dom->MatchesDay(2, 3, 1));
  EXPECT_TRUE(step_dom->MatchesDay(3, 3, 4));
  EXPECT_FALSE(step_dom->MatchesDay(4, 3, 4));
  auto month = ParseCron("0 0 1 6 *");
  ASSERT_TRUE(month.ok());
  EXPECT_FALSE(month->MatchesDay(1, 7, 0));
}

TEST(CronDescribeTest, PlainLanguage) {
  const std::pair<const char*, const char*> cases[] = {
      {"0 2 * * *", "At 02:00 every day"},
      {"0 */6 * * *", "At minute 0 past every 6th hour"},
      {"0 2 * * 0", "At 02:00 on Sunday"},
      {"0 2 1 * *", "At 02:00 on day 1 of the month"},
      {"* * * * *", "Every minute"},
      {"*/15 * * * *", "Every 15 minutes"},
      {"5 * * * *", "At minute 5"},
      {"@hourly", "At minute 0"},
      {"30 14 * * 1-5", "At 14:30 on Monday through Friday"},
      {"0 9,17 * * *", "At 09:00 and 17:00 every day"},
      {"0 0 1,15 * *", "At 00:00 on days 1 and 15 of the month"},
      {"0 3 1 * 1", "At 03:00 on day 1 of the month or on Monday"},
      {"0 0 1 1 *", "At 00:00 on day 1 of the month in January"},
      {"0,20,40 1-5 * * 6,0", "Every 20 minutes during hours 1 through 5 on Sunday and Saturday"},
      {"0,25 1-5 * * *", "At minutes 0 and 25 past hours 1 through 5"},
      {"* 3 * * *", "Every minute during hour 3"},
      {"0 0,12 * * *", "At minute 0 past every 12th hour"},
      {"15 */2 * 1,7 *", "At minute 15 past every 2nd hour in January and July"},
      {"0 0 */3 * *", "At 00:00 on every 3rd day of the month"},
  };
  for (const auto& [expr, text] : cases) {
    SCOPED_TRACE(expr);
    auto described = DescribeCron(expr);
    ASSERT_TRUE(described.ok()) << described.status().message();
    EXPECT_EQ(*described, text);
  }
  auto bad = DescribeCron("0 24 * * *");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "cron: hour value 24 out of range 0-23");
}

}  // namespace
}  // namespace clawback::controller
