// Store::ListLatestBackups and Store::ListLatestChecks on a real SQLite file:
// the newest backup and newest completed backup of every registered instance,
// and per instance and kind the newest finished check of its completed
// backups, with the ties and exclusions the per-instance queries have; and
// for 150 instances with random histories, the same answers as the
// per-instance queries they replace (ListBackups limit 1,
// ListCompletedBackups).
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "controller/store/store.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

Instance AddInstance(Store& store, const std::string& name) {
  Instance i;
  i.name = name;
  i.agent_url = "https://127.0.0.1:1";
  auto made = store.CreateInstance(i);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? *made : i;
}

Backup AddBackup(Store& store, const Instance& i, BackupStatus status, UnixTime created_at) {
  Backup b;
  b.instance_id = i.id;
  b.instance_name = i.name;
  b.status = status;
  b.paths = {"/home/claworc"};
  b.created_at = created_at;
  b.completed_at = created_at + 5;
  auto made = store.CreateBackup(b);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? *made : b;
}

void AddCheck(Store& store, const Backup& b, CheckKind kind, CheckStatus status, UnixTime at) {
  BackupCheck c;
  c.backup_id = b.id;
  c.kind = kind;
  c.status = status;
  c.at = at;
  c.error = status == CheckStatus::kFailed ? "frame 3: checksum mismatch" : "";
  ASSERT_TRUE(store.PutBackupCheck(c).ok());
}

std::map<Id, LatestBackups> LatestById(Store& store) {
  auto list = store.ListLatestBackups();
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  std::map<Id, LatestBackups> out;
  if (!list.ok()) return out;
  for (const LatestBackups& l : *list) {
    EXPECT_TRUE(out.emplace(l.instance_id, l).second) << "instance " << l.instance_id << " listed twice";
  }
  return out;
}

Id IdOf(const std::optional<Backup>& b) { return b ? b->id : 0; }

TEST(StoreLatest, NewestBackupsPerInstanceWithTiesAndExclusions) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  Instance none = AddInstance(*store, "none");
  Instance failed_only = AddInstance(*store, "failed-only");
  Instance good_then_failed = AddInstance(*store, "good-then-failed");
  Instance tie = AddInstance(*store, "tie");
  Instance running = AddInstance(*store, "running");
  Instance gone = AddInstance(*store, "gone");

  Backup f1 = AddBackup(*store, failed_only, BackupStatus::kFailed, 100);
  Backup g1 = AddBackup(*store, good_then_failed, BackupStatus::kCompleted, 100);
  Backup g2 = AddBackup(*store, good_then_failed, BackupStatus::kFailed, 200);
  Backup t1 = AddBackup(*store, tie, BackupStatus::kCompleted, 300);
  Backup t2 = AddBackup(*store, tie, BackupStatus::kCompleted, 300);  // same second: the higher id wins
  Backup r1 = AddBackup(*store, running, BackupStatus::kCompleted, 100);
  Backup r2 = AddBackup(*store, running, BackupStatus::kRunning, 400);
  AddBackup(*store, gone, BackupStatus::kCompleted, 100);
  ASSERT_TRUE(store->DeleteInstance(gone.id).ok());  // its backups stay, but it is no longer registered

  auto latest = LatestById(*store);
  EXPECT_EQ(latest.size(), 4u);
  EXPECT_EQ(latest.count(none.id), 0u);
  EXPECT_EQ(latest.count(gone.id), 0u);
  ASSERT_EQ(latest.count(failed_only.id), 1u);
  EXPECT_EQ(IdOf(latest[failed_only.id].latest), f1.id);
  EXPECT_FALSE(latest[failed_only.id].last_good.has_value());
  EXPECT_EQ(IdOf(latest[good_then_failed.id].latest), g2.id);
  EXPECT_EQ(IdOf(latest[good_then_failed.id].last_good), g1.id);
  EXPECT_EQ(IdOf(latest[tie.id].latest), t2.id);
  EXPECT_EQ(IdOf(latest[tie.id].last_good), t2.id);
  EXPECT_NE(t1.id, t2.id);
  EXPECT_EQ(IdOf(latest[running.id].latest), r2.id);
  EXPECT_EQ(IdOf(latest[running.id].last_good), r1.id);
  // Whole records, not just ids.
  EXPECT_EQ(latest[running.id].latest->status, BackupStatus::kRunning);
  EXPECT_EQ(latest[running.id].last_good->paths, std::vector<std::string>{"/home/claworc"});
  EXPECT_EQ(latest[good_then_failed.id].latest->instance_name, "good-then-failed");
}

TEST(StoreLatest, NewestFinishedCheckPerInstanceAndKind) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  Instance a = AddInstance(*store, "alpha");
  Instance b = AddInstance(*store, "beta");
  Backup a1 = AddBackup(*store, a, BackupStatus::kCompleted, 100);
  Backup a2 = AddBackup(*store, a, BackupStatus::kCompleted, 200);
  Backup a3 = AddBackup(*store, a, BackupStatus::kFailed, 300);
  Backup b1 = AddBackup(*store, b, BackupStatus::kCompleted, 100);

  AddCheck(*store, a1, CheckKind::kVerify, CheckStatus::kFailed, 500);  // newest verification, on an older backup
  AddCheck(*store, a2, CheckKind::kVerify, CheckStatus::kPassed, 400);
  AddCheck(*store, a1, CheckKind::kDrill, CheckStatus::kPassed, 50);
  AddCheck(*store, a2, CheckKind::kDrill, CheckStatus::kRunning, 600);  // running: flagged, never "newest"
  AddCheck(*store, a3, CheckKind::kVerify, CheckStatus::kPassed, 900);  // a failed backup's check does not count
  AddCheck(*store, b1, CheckKind::kDrill, CheckStatus::kRunning, 70);   // only a running one

  auto list = store->ListLatestChecks();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::map<std::pair<Id, CheckKind>, LatestCheck> by;
  for (const LatestCheck& c : *list) by[{c.instance_id, c.kind}] = c;
  EXPECT_EQ(by.size(), 3u);
  EXPECT_EQ(by.count({b.id, CheckKind::kVerify}), 0u);

  const LatestCheck& av = by[{a.id, CheckKind::kVerify}];
  ASSERT_TRUE(av.newest.has_value());
  EXPECT_EQ(av.newest->backup_id, a1.id);
  EXPECT_EQ(av.newest->status, CheckStatus::kFailed);
  EXPECT_EQ(av.newest->at, 500);
  EXPECT_EQ(av.newest->error, "frame 3: checksum mismatch");
  EXPECT_FALSE(av.running);

  const LatestCheck& ad = by[{a.id, CheckKind::kDrill}];
  ASSERT_TRUE(ad.newest.has_value());
  EXPECT_EQ(ad.newest->backup_id, a1.id);
  EXPECT_EQ(ad.newest->status, CheckStatus::kPassed);
  EXPECT_TRUE(ad.running);

  const LatestCheck& bd = by[{b.id, CheckKind::kDrill}];
  EXPECT_FALSE(bd.newest.has_value());
  EXPECT_TRUE(bd.running);
}

// 150 instances with random histories (several statuses, equal timestamps):
// the one query answers what the per-instance queries answer.
TEST(StoreLatest, ManyInstancesMatchThePerInstanceQueries) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  std::mt19937 rng(18);
  const BackupStatus statuses[] = {BackupStatus::kCompleted, BackupStatus::kCompleted, BackupStatus::kFailed,
                                   BackupStatus::kCanceled, BackupStatus::kRunning, BackupStatus::kQueued};
  std::vector<Instance> instances;
  for (int n = 0; n < 150; ++n) {
    instances.push_back(AddInstance(*store, "inst-" + std::to_string(n)));
    const int count = static_cast<int>(rng() % 6);  // some have none
    for (int k = 0; k < count; ++k) {
      AddBackup(*store, instances.back(), statuses[rng() % 6], 1000 + static_cast<UnixTime>(rng() % 4));
    }
  }
  auto latest = LatestById(*store);
  size_t with_backups = 0;
  for (const Instance& i : instances) {
    BackupFilter newest;
    newest.instance_id = i.id;
    newest.limit = 1;
    auto one = store->ListBackups(newest, nullptr);
    ASSERT_TRUE(one.ok());
    auto done = store->ListCompletedBackups(i.id);
    ASSERT_TRUE(done.ok());
    auto it = latest.find(i.id);
    if (one->empty()) {
      EXPECT_EQ(it, latest.end()) << i.name;
      continue;
    }
    ++with_backups;
    ASSERT_NE(it, latest.end()) << i.name;
    EXPECT_EQ(IdOf(it->second.latest), one->front().id) << i.name;
    EXPECT_EQ(IdOf(it->second.last_good), done->empty() ? 0 : done->front().id) << i.name;
  }
  EXPECT_EQ(latest.size(), with_backups);
  EXPECT_GT(with_backups, 100u);
}

}  // namespace
}  // namespace clawback::controller
