// Leases and leader election against a real SQLite file: two in-process
// "replicas" (LeaderLease objects with different ids) share one Store, and a
// FakeClock stands in for time, so a takeover after the holder stops
// renewing is tested without sleeping.
#include "controller/replicas/leader_lease.h"

#include <chrono>
#include <cstdlib>

#include <gtest/gtest.h>

#include "controller/clock.h"
#include "controller/replicas/replica_identity.h"
#include "controller/store/lease_model.h"
#include "controller/store/store.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

constexpr UnixTime kT0 = 1767225600;  // 2026-01-01T00:00:00Z

TEST(StoreLeases, AcquireRenewAndExpire) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->GetLease("leader").status().code(), Status::Code::kNotFound);

  auto a = store->AcquireLease("leader", "aaaa", kT0, kT0 + 10);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(*a);
  // Live and held by someone else: refused, and the row is unchanged.
  auto b = store->AcquireLease("leader", "bbbb", kT0 + 5, kT0 + 15);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(*b);
  auto lease = store->GetLease("leader");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->holder, "aaaa");
  EXPECT_EQ(lease->expires_at, kT0 + 10);
  // The holder renews.
  EXPECT_TRUE(*store->AcquireLease("leader", "aaaa", kT0 + 8, kT0 + 18));
  // Exactly at expires_at it is still live; one second later it is free.
  EXPECT_FALSE(*store->AcquireLease("leader", "bbbb", kT0 + 18, kT0 + 28));
  EXPECT_TRUE(*store->AcquireLease("leader", "bbbb", kT0 + 19, kT0 + 29));
  EXPECT_EQ(store->GetLease("leader")->holder, "bbbb");
  // Another name is independent.
  EXPECT_TRUE(*store->AcquireLease("other", "aaaa", kT0 + 19, kT0 + 29));

  // Release by a non-holder does nothing; by the holder frees it at once.
  ASSERT_TRUE(store->ReleaseLease("leader", "aaaa").ok());
  EXPECT_FALSE(*store->AcquireLease("leader", "aaaa", kT0 + 20, kT0 + 30));
  ASSERT_TRUE(store->ReleaseLease("leader", "bbbb").ok());
  EXPECT_TRUE(*store->AcquireLease("leader", "aaaa", kT0 + 20, kT0 + 30));

  EXPECT_EQ(store->AcquireLease("", "aaaa", kT0, kT0 + 1).status().code(), Status::Code::kInvalidArgument);
}

TEST(StoreLeases, LeasesSurviveReopen) {
  if (const char* e = std::getenv("CLAWBACK_TEST_STORE"); e && std::string(e) == "postgres") {
    GTEST_SKIP() << "OpenTestStore opens a fresh PostgreSQL database each time";
  }
  TempDir dir;
  {
    auto store = OpenTestStore(dir);
    ASSERT_TRUE(store);
    EXPECT_TRUE(*store->AcquireLease("leader", "aaaa", kT0, kT0 + 10));
  }
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  EXPECT_FALSE(*store->AcquireLease("leader", "bbbb", kT0 + 1, kT0 + 11));
}

TEST(LeaderLease, OneLeaderAndTakeoverAfterTheHolderStopsRenewing) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  FakeClock clock(kT0);
  int a_changes = 0, b_changes = 0;
  LeaderLeaseSettings settings;
  settings.ttl = std::chrono::seconds(10);
  settings.on_change = [&](bool) { ++a_changes; };
  LeaderLease a(*store, clock, "replica-a", settings);
  settings.on_change = [&](bool) { ++b_changes; };
  LeaderLease b(*store, clock, "replica-b", settings);

  EXPECT_TRUE(a.Tick());
  EXPECT_FALSE(b.Tick());
  EXPECT_TRUE(a.IsLeader());
  EXPECT_FALSE(b.IsLeader());
  EXPECT_EQ(b.LastSeenLeader(), "replica-a");

  // A renews every 2 s for a minute: B never gets in.
  for (int i = 0; i < 30; ++i) {
    clock.Advance(2);
    EXPECT_TRUE(a.Tick());
    EXPECT_FALSE(b.Tick());
  }
  EXPECT_EQ(a_changes, 1);
  EXPECT_EQ(b_changes, 0);

  // A stops renewing (killed). Until its lease runs out B stays a follower;
  // A itself stops claiming leadership when its lease ends by its clock.
  const UnixTime a_until = clock.Now() + 10;
  int waited = 0;
  while (!b.Tick()) {
    clock.Advance(2);
    waited += 2;
    ASSERT_LE(waited, 14) << "B did not take over";
    if (clock.Now() < a_until) EXPECT_TRUE(a.IsLeader());
  }
  EXPECT_GT(clock.Now(), a_until);  // never while A's lease was live
  EXPECT_LE(waited, 12);            // within ttl + one renew interval
  EXPECT_FALSE(a.IsLeader());
  EXPECT_TRUE(b.IsLeader());
  EXPECT_EQ(b_changes, 1);

  // A comes back (e.g. after a pause): it does not take the lease back.
  EXPECT_FALSE(a.Tick());
  EXPECT_EQ(a.LastSeenLeader(), "replica-b");
  EXPECT_EQ(a_changes, 2);  // became leader, then noticed it is not
}

TEST(LeaderLease, CleanStopHandsOverAtTheNextTick) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  FakeClock clock(kT0);
  LeaderLease a(*store, clock, "replica-a");
  LeaderLease b(*store, clock, "replica-b");
  EXPECT_TRUE(a.Tick());
  EXPECT_FALSE(b.Tick());
  a.Stop();
  EXPECT_FALSE(a.IsLeader());
  EXPECT_TRUE(b.Tick());  // same second: no wait for the ttl
}

TEST(StoreLeases, DeleteExpiredLeasesByLiteralPrefix) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  ASSERT_TRUE(*store->AcquireLease("replica:old", "old", kT0 - 100, kT0 - 50));
  ASSERT_TRUE(*store->AcquireLease("replica:fresh", "fresh", kT0, kT0 + 10));
  ASSERT_TRUE(*store->AcquireLease("replica:gone", "gone", kT0, kT0 + 10));
  ASSERT_TRUE(store->ReleaseLease("replica:gone", "gone").ok());  // expires_at 0
  ASSERT_TRUE(*store->AcquireLease("leader", "old", kT0 - 100, kT0 - 50));
  ASSERT_TRUE(*store->AcquireLease("replicaX", "old", kT0 - 100, kT0 - 50));  // no ':'

  auto removed = store->DeleteExpiredLeases("replica:", kT0 - 50);  // strictly before
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1);  // only the released one
  EXPECT_EQ(store->GetLease("replica:gone").status().code(), Status::Code::kNotFound);
  removed = store->DeleteExpiredLeases("replica:", kT0);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(store->GetLease("replica:old").status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store->GetLease("replica:fresh").ok());
  EXPECT_TRUE(store->GetLease("leader").ok());
  EXPECT_TRUE(store->GetLease("replicaX").ok());

  for (const char* bad : {"", "replica%", "replica_", "a\\b"}) {
    EXPECT_EQ(store->DeleteExpiredLeases(bad, kT0 + 1000).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(store->GetLease("replica:fresh").ok());
}

// Each replica start leaves a `replica:<id>` row: the leader removes those
// whose lease ran out more than kStaleReplicaLeaseAge ago, and nothing else.
TEST(LeaderLease, LeaderRemovesStaleReplicaLeasesOnly) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const UnixTime age = std::chrono::duration_cast<std::chrono::seconds>(kStaleReplicaLeaseAge).count();
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("dead-long-ago"), "dead-long-ago", kT0 - 2 * age, kT0 - age - 1));
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("stopped"), "stopped", kT0 - 5, kT0 + 5));
  ASSERT_TRUE(store->ReleaseLease(ReplicaLeaseName("stopped"), "stopped").ok());
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("dead-recently"), "dead-recently", kT0 - age, kT0 - age + 60));
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("live"), "live", kT0, kT0 + 10));
  ASSERT_TRUE(*store->AcquireLease("some-other-role", "dead-long-ago", kT0 - 2 * age, kT0 - age - 1));
  ASSERT_TRUE(*store->AcquireLease("leader", "replica-b", kT0, kT0 + 10));
  auto exists = [&](const std::string& name) { return store->GetLease(name).ok(); };

  FakeClock clock(kT0);
  LeaderLease a(*store, clock, "replica-a");
  // Not the leader: sweeps nothing.
  EXPECT_FALSE(a.Tick());
  EXPECT_TRUE(exists(ReplicaLeaseName("dead-long-ago")));
  ASSERT_TRUE(store->ReleaseLease("leader", "replica-b").ok());

  EXPECT_TRUE(a.Tick());
  EXPECT_FALSE(exists(ReplicaLeaseName("dead-long-ago")));
  EXPECT_FALSE(exists(ReplicaLeaseName("stopped")));  // released at a clean stop: expires_at 0
  EXPECT_TRUE(exists(ReplicaLeaseName("dead-recently")));
  EXPECT_TRUE(exists(ReplicaLeaseName("live")));
  EXPECT_TRUE(exists("some-other-role"));
  auto leader = store->GetLease("leader");
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->holder, "replica-a");
  EXPECT_EQ(leader->expires_at, kT0 + 10);

  // At most every sweep_every (60 s): a tick 2 s later leaves a new stale row.
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("dead-too"), "dead-too", kT0 - 2 * age, kT0 - age - 1));
  clock.Advance(2);
  EXPECT_TRUE(a.Tick());
  EXPECT_TRUE(exists(ReplicaLeaseName("dead-too")));
  // Renewed all along, "live" stays; "dead-recently" crosses the age at 61 s.
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("live"), "live", kT0 + 60, kT0 + 70));
  clock.Set(kT0 + 60);
  EXPECT_TRUE(a.Tick());
  EXPECT_FALSE(exists(ReplicaLeaseName("dead-too")));
  EXPECT_TRUE(exists(ReplicaLeaseName("dead-recently")));
  EXPECT_TRUE(exists(ReplicaLeaseName("live")));
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("live"), "live", kT0 + 120, kT0 + 130));
  clock.Set(kT0 + 120);
  EXPECT_TRUE(a.Tick());
  EXPECT_FALSE(exists(ReplicaLeaseName("dead-recently")));
  EXPECT_TRUE(exists(ReplicaLeaseName("live")));
  EXPECT_TRUE(exists("some-other-role"));
  EXPECT_TRUE(exists("leader"));
}

TEST(LeaderLease, RacingReplicasNeverBothLead) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  FakeClock clock(kT0);
  std::vector<std::unique_ptr<LeaderLease>> replicas;
  for (int i = 0; i < 4; ++i) {
    replicas.push_back(std::make_unique<LeaderLease>(*store, clock, "replica-" + std::to_string(i)));
  }
  for (int round = 0; round < 50; ++round) {
    std::vector<std::thread> threads;
    for (auto& r : replicas) threads.emplace_back([&r] { r->Tick(); });
    for (auto& t : threads) t.join();
    int leaders = 0;
    for (auto& r : replicas) leaders += r->IsLeader() ? 1 : 0;
    EXPECT_EQ(leaders, 1) << "round " << round;
    clock.Advance(11);  // every lease has expired: a fresh race each round
  }
}

TEST(LeaderLease, BackgroundThreadRenews) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  SystemClock clock;
  LeaderLeaseSettings settings;
  settings.renew_every = std::chrono::milliseconds(20);
  LeaderLease a(*store, clock, "replica-a", settings);
  a.Start();
  for (int i = 0; i < 200 && !a.IsLeader(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(a.IsLeader());
  a.Stop();
  EXPECT_FALSE(a.IsLeader());
  auto lease = store->GetLease("leader");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->holder, "");  // released
}

TEST(ReplicaIdentity, NewIdEachStartRemembersThePreviousOne) {
  TempDir dir;
  auto first = ReplicaIdentity::StartInDataDir(dir.path().string());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->id.size(), 16u);
  EXPECT_EQ(first->previous_id, "");
  EXPECT_FALSE(first->hostname.empty());
  auto second = ReplicaIdentity::StartInDataDir(dir.path().string());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->id, first->id);
  EXPECT_EQ(second->previous_id, first->id);
  EXPECT_EQ(second->Display(), second->id + "@" + second->hostname);
}

}  // namespace
}  // namespace clawback::controller
