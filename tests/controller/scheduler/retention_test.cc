// Retention: restic-style keep rules, table-driven over synthetic backups.
#include "controller/scheduler/retention.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

namespace clawback::controller {
namespace {

constexpr Id kSchedule = 7;
constexpr UnixTime kDay = 86400;
constexpr UnixTime kJan1 = 1767225600;  // 2026-01-01T00:00:00Z, a Thursday

Backup Make(Id id, UnixTime created_at, std::optional<Id> schedule = kSchedule,
            BackupStatus status = BackupStatus::kCompleted) {
  Backup b;
  b.id = id;
  b.instance_id = 1;
  b.instance_name = "web-1";
  b.status = status;
  b.created_at = created_at;
  b.schedule_id = schedule;
  b.file_path = "/backups/web-1/" + std::to_string(id) + ".tar.zst";
  return b;
}

// One backup a day at 02:00Z for `days` days starting Jan 1; ids 1..days.
std::vector<Backup> Daily(int days) {
  std::vector<Backup> out;
  for (int i = 0; i < days; ++i) out.push_back(Make(i + 1, kJan1 + i * kDay + 7200));
  return out;
}

std::set<Id> Kept(const RetentionPolicy& policy, std::vector<Backup> backups,
                  std::optional<Id> newest = std::nullopt, const char* zone = "UTC") {
  auto verdicts = DecideRetention(policy, kSchedule, std::move(backups), newest, zone);
  EXPECT_TRUE(verdicts.ok()) << verdicts.status().message();
  std::set<Id> kept;
  if (!verdicts.ok()) return kept;
  for (const auto& v : *verdicts) {
    if (v.keep) kept.insert(v.backup.id);
  }
  return kept;
}

std::set<Id> Ids(Id lo, Id hi) {
  std::set<Id> out;
  for (Id i = lo; i <= hi; ++i) out.insert(i);
  return out;
}

TEST(RetentionTest, Table) {
  struct Case {
    const char* name;
    RetentionPolicy policy;
    int days;
    std::set<Id> kept;
  };
  const Case cases[] = {
      {"empty policy keeps everything", {}, 30, Ids(1, 30)},
      {"keep_daily 7 of 30 dailies", {.keep_daily = 7}, 30, Ids(24, 30)},
      {"keep_last 3", {.keep_last = 3}, 30, Ids(28, 30)},
      {"more rules than backups", {.keep_last = 50}, 30, Ids(1, 30)},
      // Jan 1 2026 is a Thursday: ISO weeks start on Mondays 5, 12, 19, 26
      // (ids 5, 12, 19, 26 are Mondays). The newest of each of the last 4
      // weeks: 30 (Fri Jan 30), 25 (Sun Jan 25), 18, 11.
      {"keep_weekly 4", {.keep_weekly = 4}, 30, {11, 18, 25, 30}},
      {"keep_last 3 + keep_weekly 4 is a union", {.keep_last = 3, .keep_weekly = 4}, 30,
       {11, 18, 25, 28, 29, 30}},
      // 70 days: Jan 1 .. Mar 11. Newest of March, February, January.
      {"keep_monthly 3", {.keep_monthly = 3}, 70, {31, 59, 70}},
      {"keep_daily 2 + keep_monthly 2", {.keep_daily = 2, .keep_monthly = 2}, 70, {59, 69, 70}},
      {"keep_hourly 5 with one backup a day keeps 5 days", {.keep_hourly = 5}, 30, Ids(26, 30)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Kept(c.policy, Daily(c.days)), c.kept);
  }
}

TEST(RetentionTest, NewestOfEachBucketWins) {
  // Three backups on day 1, two on day 2: keep_daily 2 keeps the newest of each.
  std::vector<Backup> backups = {Make(1, kJan1 + 3600), Make(2, kJan1 + 7200), Make(3, kJan1 + 10800),
                                 Make(4, kJan1 + kDay + 3600), Make(5, kJan1 + kDay + 7200)};
  EXPECT_EQ(Kept({.keep_daily = 2}, backups), (std::set<Id>{3, 5}));
  // keep_hourly 4: newest per hour, the four most recent hours having one.
  EXPECT_EQ(Kept({.keep_hourly = 4}, backups), (std::set<Id>{2, 3, 4, 5}));
  // Input order does not matter.
  std::reverse(backups.begin(), backups.end());
  EXPECT_EQ(Kept({.keep_daily = 2}, backups), (std::set<Id>{3, 5}));
}

TEST(RetentionTest, BucketsUseTheScheduleTimeZone) {
  // 23:30Z Jan 1 and 00:30Z Jan 2 are different UTC days but the same Berlin
  // day (00:30 and 01:30 on Jan 2); 12:00Z Jan 1 is Berlin's Jan 1.
  std::vector<Backup> backups = {Make(1, kJan1 + 12 * 3600), Make(2, kJan1 + 23 * 3600 + 1800),
                                 Make(3, kJan1 + kDay + 1800)};
  EXPECT_EQ(Kept({.keep_daily = 2}, backups, std::nullopt, "UTC"), (std::set<Id>{2, 3}));
  EXPECT_EQ(Kept({.keep_daily = 2}, backups, std::nullopt, "Europe/Berlin"), (std::set<Id>{1, 3}));
}

TEST(RetentionTest, NeverForgetsOthersBackupsOrTheNewestCompleted) {
  std::vector<Backup> backups = Daily(10);
  backups.push_back(Make(100, kJan1 + 1 * kDay, std::nullopt));                 // manual
  backups.push_back(Make(101, kJan1 + 2 * kDay, Id{8}));                        // other schedule
  backups.push_back(Make(102, kJan1 + 3 * kDay, kSchedule, BackupStatus::kFailed));
  std::set<Id> kept = Kept({.keep_last = 2}, backups, /*newest=*/10);
  EXPECT_EQ(kept, (std::set<Id>{9, 10, 100, 101, 102}));

  auto verdicts = DecideRetention({.keep_last = 1}, kSchedule, Daily(3), Id{3}, "UTC");
  ASSERT_TRUE(verdicts.ok());
  ASSERT_EQ(verdicts->size(), 3u);
  EXPECT_EQ((*verdicts)[0].backup.id, 3);
  EXPECT_TRUE((*verdicts)[0].keep);
  EXPECT_NE(std::find((*verdicts)[0].reasons.begin(), (*verdicts)[0].reasons.end(),
                      "newest completed backup of the instance"),
            (*verdicts)[0].reasons.end());
  EXPECT_FALSE((*verdicts)[1].keep);
  EXPECT_FALSE((*verdicts)[2].keep);
}

TEST(RetentionTest, RejectsBadPolicyAndZone) {
  auto negative = DecideRetention({.keep_daily = -1}, kSchedule, Daily(3), std::nullopt, "UTC");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().message(), "retention: keep_daily must be between 0 and 100000, got -1");
  auto zone = DecideRetention({.keep_daily = 1}, kSchedule, Daily(3), std::nullopt, "Mars/Olympus");
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.status().message(), "timezone: unknown time zone Mars/Olympus");
}

}  // namespace
}  // namespace clawback::controller
