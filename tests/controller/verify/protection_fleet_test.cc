// AssessFleetProtection (two store queries for all instances) against
// AssessProtection (queries per instance) on a real SQLite store: 150
// instances with random backup histories, verifications and drills (failed,
// passed, running) give the same state, reason, newest backups and checks.
#include <gtest/gtest.h>

#include <random>

#include "controller/store/store.h"
#include "controller/verify/protection.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

std::string Describe(const std::optional<BackupCheck>& c) {
  if (!c) return "none";
  return std::to_string(c->backup_id) + "/" + std::string(CheckStatusName(c->status)) + "@" + std::to_string(c->at);
}

TEST(FleetProtection, SameAnswersAsPerInstanceAssessment) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  std::mt19937 rng(1000);
  const UnixTime now = 10'000'000;
  const int64_t unprotected_after = 2 * 86400;
  const BackupStatus statuses[] = {BackupStatus::kCompleted, BackupStatus::kCompleted, BackupStatus::kCompleted,
                                   BackupStatus::kFailed, BackupStatus::kRunning};
  const CheckStatus checks[] = {CheckStatus::kPassed, CheckStatus::kPassed, CheckStatus::kFailed,
                                CheckStatus::kRunning};
  std::vector<Instance> instances;
  for (int n = 0; n < 150; ++n) {
    Instance i;
    i.name = "fleet-" + std::to_string(n);
    i.agent_url = "https://127.0.0.1:1";
    auto made = store->CreateInstance(i);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    instances.push_back(*made);
    const int count = static_cast<int>(rng() % 5);
    for (int k = 0; k < count; ++k) {
      Backup b;
      b.instance_id = made->id;
      b.instance_name = made->name;
      b.status = statuses[rng() % 5];
      b.created_at = now - static_cast<UnixTime>(rng() % (3 * 86400));
      b.completed_at = b.created_at + 10;
      b.error_message = b.status == BackupStatus::kFailed ? "agent unreachable" : "";
      auto backup = store->CreateBackup(b);
      ASSERT_TRUE(backup.ok());
      for (CheckKind kind : {CheckKind::kVerify, CheckKind::kDrill}) {
        if (rng() % 3 == 0) continue;
        BackupCheck c;
        c.backup_id = backup->id;
        c.kind = kind;
        c.status = checks[rng() % 4];
        c.at = b.completed_at + static_cast<UnixTime>(rng() % 50);  // equal times happen: ties by backup id
        c.error = c.status == CheckStatus::kFailed ? "entry 7: size differs" : "";
        ASSERT_TRUE(store->PutBackupCheck(c).ok());
      }
    }
  }

  auto fleet = AssessFleetProtection(*store, instances, unprotected_after, now);
  ASSERT_TRUE(fleet.ok()) << fleet.status().ToString();
  ASSERT_EQ(fleet->size(), instances.size());
  std::map<std::string, int> states;
  for (const Instance& i : instances) {
    auto one = AssessProtection(*store, i, unprotected_after, now);
    ASSERT_TRUE(one.ok());
    const InstanceProtection& f = fleet->at(i.id);
    SCOPED_TRACE(i.name);
    EXPECT_EQ(f.instance_name, i.name);
    EXPECT_EQ(f.state, one->state);
    EXPECT_EQ(f.reason, one->reason);
    EXPECT_EQ(f.latest ? f.latest->id : 0, one->latest ? one->latest->id : 0);
    EXPECT_EQ(f.last_good ? f.last_good->id : 0, one->last_good ? one->last_good->id : 0);
    EXPECT_EQ(Describe(f.last_verification), Describe(one->last_verification));
    EXPECT_EQ(Describe(f.last_drill), Describe(one->last_drill));
    states[f.state] += 1;
  }
  // The data exercises every state.
  for (const char* s : {"protected", "stale", "failing", "unprotected"}) EXPECT_GT(states[s], 0) << s;
}

}  // namespace
}  // namespace clawback::controller
