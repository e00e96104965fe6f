// Transfers across replicas against a real SQLite file: the store's claim
// (global cap and one transfer per instance, whichever replica asks),
// lease renewal and expiry, adoption of a stopped replica's queued backups,
// and two TransferServices (two in-process replicas) sharing one Store.
//
// The agent side is a gate (GatedAgents): a backup streams a few real bytes
// (with their real SHA-256) only when the test opens the gate, so the test
// can hold transfers running and count how many run at once. The archives
// land in a real backups directory. Lease times come from a FakeClock.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "controller/agents/agent_connector.h"
#include "controller/clock.h"
#include "controller/jobs/archive_file.h"
#include "controller/jobs/transfers.h"
#include "controller/store/store.h"
#include "tests/controller/replicas/replica_transfers_support.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::GatedAgents;
using testing::kT0;
using testing::MakeInstance;
using testing::OpenTestStore;
using testing::QueuedBackup;
using testing::ReplicaWorld;
using testing::StartBackupOn;
using testing::StartReplica;
using testing::TempDir;
namespace fs = std::filesystem;

TEST(TransferClaims, GlobalCapAndOneTransferPerInstanceAcrossReplicas) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  std::vector<Id> ids;
  for (Id instance : {1, 2, 3, 2}) {
    auto b = store->CreateBackup(QueuedBackup(instance));
    ASSERT_TRUE(b.ok());
    ids.push_back(b->id);
  }
  const UnixTime now = kT0 + 100;
  auto claim = [&](Id id, const char* who, UnixTime at) {
    auto c = store->ClaimTransfer(TransferKind::kBackup, id, who, at, at + 10, 2);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : ClaimOutcome::kNotQueued;
  };
  EXPECT_EQ(claim(ids[0], "replica-a", now), ClaimOutcome::kClaimed);
  // Instance 2 is free, the cap (2) is not reached: B gets a slot.
  EXPECT_EQ(claim(ids[1], "replica-b", now), ClaimOutcome::kClaimed);
  // Cap reached, whoever asks.
  EXPECT_EQ(claim(ids[2], "replica-a", now), ClaimOutcome::kCapReached);
  EXPECT_EQ(claim(ids[2], "replica-b", now), ClaimOutcome::kCapReached);
  // Claimed already: not queued any more.
  EXPECT_EQ(claim(ids[0], "replica-b", now), ClaimOutcome::kNotQueued);

  // A renews; B stops (its lease runs out at now + 10). After that, B's
  // transfer no longer counts: a slot frees up, but instance 2's second
  // backup waits only for a live transfer of instance 2 (none now).
  auto renewed = store->RenewTransferLeases("replica-a", now + 20);
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->backups, std::vector<Id>{ids[0]});
  EXPECT_EQ(claim(ids[2], "replica-a", now + 5), ClaimOutcome::kCapReached);
  EXPECT_EQ(claim(ids[2], "replica-a", now + 11), ClaimOutcome::kClaimed);
  EXPECT_EQ(claim(ids[3], "replica-a", now + 11), ClaimOutcome::kCapReached);

  // Same instance: with a free slot, a live transfer of instance 3 blocks.
  auto other = store->CreateBackup(QueuedBackup(3));
  ASSERT_TRUE(other.ok());
  auto c = store->ClaimTransfer(TransferKind::kBackup, other->id, "replica-b", now + 11, now + 21, 10);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, ClaimOutcome::kInstanceBusy);

  // Restores count too, against their target instance.
  Restore r;
  r.backup_id = ids[0];
  r.target_instance_id = 9;
  r.target_instance_name = "web-9";
  r.status = RestoreStatus::kQueued;
  auto restore = store->CreateRestore(r);
  ASSERT_TRUE(restore.ok());
  c = store->ClaimTransfer(TransferKind::kRestore, restore->id, "replica-b", now + 11, now + 21, 2);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, ClaimOutcome::kCapReached);
  c = store->ClaimTransfer(TransferKind::kRestore, restore->id, "replica-b", now + 11, now + 21, 3);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, ClaimOutcome::kClaimed);

  EXPECT_EQ(store->ClaimTransfer(TransferKind::kBackup, 999, "x", now, now, 1).status().code(),
            Status::Code::kNotFound);
}

TEST(TransferClaims, RacingClaimsNeverExceedTheCap) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  std::vector<Id> ids;
  for (Id instance = 1; instance <= 12; ++instance) ids.push_back(store->CreateBackup(QueuedBackup(instance))->id);
  std::atomic<int> claimed{0};
  std::vector<std::thread> replicas;
  for (int r = 0; r < 4; ++r) {
    replicas.emplace_back([&, r] {
      for (Id id : ids) {
        auto c = store->ClaimTransfer(TransferKind::kBackup, id, "replica-" + std::to_string(r), kT0, kT0 + 10, 3);
        if (c.ok() && *c == ClaimOutcome::kClaimed) ++claimed;
      }
    });
  }
  for (auto& t : replicas) t.join();
  EXPECT_EQ(claimed.load(), 3);
  auto leases = store->ListTransferLeases();
  ASSERT_TRUE(leases.ok());
  int running = 0;
  for (const TransferLease& l : *leases) running += l.status == BackupStatus::kRunning ? 1 : 0;
  EXPECT_EQ(running, 3);
}

TEST(TransferClaims, FailAndAdoptOnlyWhatIsAbandoned) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const Id live = store->CreateBackup(QueuedBackup(1))->id;
  const Id dead = store->CreateBackup(QueuedBackup(2))->id;
  const Id queued = store->CreateBackup(QueuedBackup(3))->id;
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, live, "alive", kT0 + 10).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, dead, "gone", kT0 + 10).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, queued, "gone", kT0 + 10).ok());
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, live, "alive", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, dead, "gone", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);
  ASSERT_TRUE(store->RenewTransferLeases("alive", kT0 + 30).ok());

  // Nothing has expired at kT0 + 10.
  EXPECT_FALSE(*store->FailAbandonedTransfer(TransferKind::kBackup, dead, kT0 + 10, "", "x"));
  EXPECT_FALSE(*store->AdoptQueuedTransfer(TransferKind::kBackup, queued, "me", kT0 + 10, kT0 + 20));
  // At kT0 + 11 "gone" has expired, "alive" has not.
  EXPECT_FALSE(*store->FailAbandonedTransfer(TransferKind::kBackup, live, kT0 + 11, "", "x"));
  EXPECT_TRUE(*store->FailAbandonedTransfer(TransferKind::kBackup, dead, kT0 + 11, "", "interrupted"));
  EXPECT_FALSE(*store->FailAbandonedTransfer(TransferKind::kBackup, dead, kT0 + 11, "", "again"));
  auto failed = store->GetBackup(dead);
  EXPECT_EQ(failed->status, BackupStatus::kFailed);
  EXPECT_EQ(failed->error_message, "interrupted");
  EXPECT_EQ(failed->completed_at, kT0 + 11);
  // Adoption: once, by one replica; a running transfer is never adopted.
  EXPECT_TRUE(*store->AdoptQueuedTransfer(TransferKind::kBackup, queued, "me", kT0 + 11, kT0 + 21));
  EXPECT_FALSE(*store->AdoptQueuedTransfer(TransferKind::kBackup, queued, "other", kT0 + 11, kT0 + 21));
  EXPECT_FALSE(*store->AdoptQueuedTransfer(TransferKind::kBackup, live, "me", kT0 + 40, kT0 + 50));
  // A previous life's transfer fails at once, lease or not.
  EXPECT_TRUE(*store->FailAbandonedTransfer(TransferKind::kBackup, live, kT0 + 12, "alive", "restarted"));
  // Final records cannot be assigned.
  EXPECT_EQ(store->AssignTransfer(TransferKind::kBackup, dead, "me", kT0 + 99).code(),
            Status::Code::kFailedPrecondition);
}

TEST(TransferRecovery, StartupFailsThePreviousLifeAndExpiredLeasesButNotLiveReplicas) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const std::string backups = dir.file("backups");
  const Id mine = store->CreateBackup(QueuedBackup(1))->id;
  const Id expired = store->CreateBackup(QueuedBackup(2))->id;
  const Id live = store->CreateBackup(QueuedBackup(3))->id;
  Backup old = QueuedBackup(4);
  old.created_at = kT0 - 3600;
  const Id legacy = store->CreateBackup(old)->id;  // no owner: from before migration 8
  const Id unassigned = store->CreateBackup(QueuedBackup(5))->id;  // being created by a live replica
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, mine, "old-me", kT0 + 100).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, expired, "dead", kT0 + 5).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, live, "alive", kT0 + 100).ok());
  for (Id id : {mine, expired, live}) {
    ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, id, "", kT0, 0, 10), ClaimOutcome::kClaimed);
  }
  // Claiming with owner "" and lease 0 above reset them: assign again.
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, mine, "old-me", kT0 + 100).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, expired, "dead", kT0 + 5).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, live, "alive", kT0 + 100).ok());
  // Each running backup has its partial archive on disk.
  std::map<Id, std::string> partials;
  for (Id id : {mine, expired, live}) {
    Backup b = *store->GetBackup(id);
    fs::create_directories(backups + "/" + b.instance_name);
    const std::string final_path = backups + "/" + b.instance_name + "/" + b.instance_name + "-" +
                                   std::to_string(id) + "-20260101-000000.tar.zst";
    std::ofstream(final_path + ".partial") << "partial bytes";
    partials[id] = final_path + ".partial";
  }

  ASSERT_TRUE(RecoverInterruptedTransfers(*store, backups, kT0 + 10, "old-me").ok());
  EXPECT_EQ(store->GetBackup(mine)->status, BackupStatus::kFailed);
  EXPECT_EQ(store->GetBackup(mine)->error_message, "interrupted: controller restarted");
  EXPECT_EQ(store->GetBackup(expired)->status, BackupStatus::kFailed);
  EXPECT_EQ(store->GetBackup(expired)->error_message, "interrupted: controller replica dead stopped");
  EXPECT_EQ(store->GetBackup(legacy)->status, BackupStatus::kFailed);
  EXPECT_EQ(store->GetBackup(legacy)->error_message, "interrupted: controller restarted");
  EXPECT_EQ(store->GetBackup(live)->status, BackupStatus::kRunning);
  EXPECT_EQ(store->GetBackup(unassigned)->status, BackupStatus::kQueued);
  EXPECT_FALSE(fs::exists(partials[mine]));
  EXPECT_FALSE(fs::exists(partials[expired]));
  EXPECT_TRUE(fs::exists(partials[live])) << "a live replica's partial archive was removed";
}

TEST(ReplicaTransfers, GlobalCapHoldsAcrossTwoReplicasAndEveryBackupRunsOnce) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;
  auto a = StartReplica(*store, agents, backups, "replica-a", clock, 2);
  auto b = StartReplica(*store, agents, backups, "replica-b", clock, 2);

  std::vector<Id> ids;
  for (int i = 1; i <= 6; ++i) {
    const Id id = StartBackupOn(*(i % 2 ? a : b), MakeInstance(*store, i));
    ASSERT_NE(id, 0);
    ids.push_back(id);
  }
  // Each replica alone would run 2: together only 2 may stream.
  ASSERT_TRUE(Eventually([&] { return agents.in_flight() == 2; }));
  std::this_thread::sleep_for(200ms);  // ten heartbeats and many claim retries
  EXPECT_EQ(agents.in_flight(), 2);
  auto leases = store->ListTransferLeases();
  ASSERT_TRUE(leases.ok());
  int running = 0;
  for (const TransferLease& l : *leases) running += l.status == BackupStatus::kRunning ? 1 : 0;
  EXPECT_EQ(running, 2);

  agents.Open();
  ASSERT_TRUE(Eventually([&] { return a->finished + b->finished == 6; }));
  EXPECT_EQ(agents.max_in_flight(), 2);
  EXPECT_EQ(agents.started(), 6);  // each ran once
  for (Id id : ids) {
    auto backup = store->GetBackup(id);
    ASSERT_TRUE(backup.ok());
    EXPECT_EQ(backup->status, BackupStatus::kCompleted) << backup->error_message;
    EXPECT_TRUE(fs::exists(backups + "/" + backup->file_path));
  }
  a->transfers->Shutdown();
  b->transfers->Shutdown();
}

TEST(ReplicaTransfers, SurvivorAdoptsQueuedAndFailsRunningTransfersOfAStoppedReplica) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;
  agents.Open();
  const Instance i1 = MakeInstance(*store, 1), i2 = MakeInstance(*store, 2), i3 = MakeInstance(*store, 3);

  // What a replica killed with SIGKILL leaves: a running backup with its
  // partial archive, a queued backup, a running restore, all leased until
  // kT0 + 10. And a live replica's running backup, leased far ahead.
  auto record = [&](const Instance& inst, const char* owner, UnixTime until, bool running) {
    Backup b = QueuedBackup(inst.id);
    b.instance_name = inst.name;
    Id id = store->CreateBackup(b)->id;
    EXPECT_TRUE(store->AssignTransfer(TransferKind::kBackup, id, owner, until).ok());
    if (running) {
      EXPECT_EQ(*store->ClaimTransfer(TransferKind::kBackup, id, owner, kT0, until, 10), ClaimOutcome::kClaimed);
    }
    return id;
  };
  const Id dead_running = record(i1, "dead", kT0 + 10, true);
  const Id dead_queued = record(i2, "dead", kT0 + 10, false);
  const Id alive_running = record(i3, "alive", kT0 + 1000, true);
  fs::create_directories(backups + "/web-1");
  const std::string partial =
      backups + "/web-1/web-1-" + std::to_string(dead_running) + "-20260101-000000.tar.zst.partial";
  std::ofstream(partial) << "half an archive";
  // Killed while writing the sidecars: the block digests published, the index half-written.
  const std::string archive = partial.substr(0, partial.size() - std::string(".partial").size());
  std::ofstream(archive + ".blocks") << "digests";
  std::ofstream(archive + ".index.partial") << "half an index";
  Restore r;
  r.backup_id = dead_running;
  r.target_instance_id = i2.id;
  r.target_instance_name = i2.name;
  const Id dead_restore = store->CreateRestore(r)->id;
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kRestore, dead_restore, "dead", kT0 + 10).ok());
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kRestore, dead_restore, "dead", kT0, kT0 + 10, 10),
            ClaimOutcome::kClaimed);

  auto survivor = StartReplica(*store, agents, backups, "survivor", clock, 4);
  // Leases still live: the survivor touches nothing.
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(store->GetBackup(dead_running)->status, BackupStatus::kRunning);
  EXPECT_EQ(store->GetBackup(dead_queued)->status, BackupStatus::kQueued);
  EXPECT_TRUE(fs::exists(partial));

  clock.Set(kT0 + 11);  // the dead replica's leases run out
  ASSERT_TRUE(Eventually([&] { return store->GetBackup(dead_queued)->status == BackupStatus::kCompleted; }))
      << "the queued backup was not adopted: " << store->GetBackup(dead_queued)->error_message;
  auto failed = store->GetBackup(dead_running);
  EXPECT_EQ(failed->status, BackupStatus::kFailed);
  EXPECT_EQ(failed->error_message, "interrupted: controller replica dead stopped");
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(archive + ".blocks"));
  EXPECT_FALSE(fs::exists(archive + ".index.partial"));
  auto restore = store->GetRestore(dead_restore);
  EXPECT_EQ(restore->status, RestoreStatus::kFailed);
  EXPECT_EQ(restore->error_message, "interrupted: controller replica dead stopped");
  EXPECT_EQ(store->GetBackup(alive_running)->status, BackupStatus::kRunning);
  EXPECT_EQ(agents.started(), 1);  // only the adopted backup ran, once
  survivor->transfers->Shutdown();
}

TEST(ReplicaTransfers, AReplicaStopsAJobWhoseRecordASurvivorFailed) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;  // closed: the backup stays streaming
  auto a = StartReplica(*store, agents, backups, "replica-a", clock, 2);
  const Id started = StartBackupOn(*a, MakeInstance(*store, 1));
  ASSERT_NE(started, 0);
  ASSERT_TRUE(Eventually([&] { return agents.in_flight() == 1; }));

  // Another replica decided A was gone (A's store link was down past its lease).
  ASSERT_TRUE(*store->FailAbandonedTransfer(TransferKind::kBackup, started, kT0, "replica-a",
                                            "interrupted: controller replica replica-a stopped"));
  ASSERT_TRUE(Eventually([&] { return a->finished == 1; }));
  auto backup = store->GetBackup(started);
  EXPECT_EQ(backup->status, BackupStatus::kFailed);
  EXPECT_EQ(backup->error_message, "interrupted: controller replica replica-a stopped");  // not overwritten
  EXPECT_EQ(agents.in_flight(), 0);
  a->transfers->Shutdown();
}

TEST(TransferClaims, FinishingABackupRequiresOwningItUnfinished) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const Id id = store->CreateBackup(QueuedBackup(1))->id;
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, id, "replica-a", kT0 + 10).ok());
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, id, "replica-a", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);
  Backup done = *store->GetBackup(id);
  done.status = BackupStatus::kCompleted;
  done.file_path = "web-1/archive.tar.zst";
  done.size_bytes = 42;
  // Another replica cannot finish it; nor can anyone once a survivor failed it.
  EXPECT_FALSE(*store->FinishOwnedBackup(done, "replica-b"));
  EXPECT_EQ(store->GetBackup(id)->status, BackupStatus::kRunning);
  ASSERT_TRUE(*store->FailAbandonedTransfer(TransferKind::kBackup, id, kT0 + 11, "", "interrupted"));
  EXPECT_FALSE(*store->FinishOwnedBackup(done, "replica-a"));
  auto failed = store->GetBackup(id);
  EXPECT_EQ(failed->status, BackupStatus::kFailed);
  EXPECT_EQ(failed->error_message, "interrupted");
  EXPECT_EQ(failed->file_path, "");
  // The owner finishes its own running backup.
  const Id other = store->CreateBackup(QueuedBackup(2))->id;
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, other, "replica-a", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);
  done.id = other;
  done.instance_id = 2;
  EXPECT_TRUE(*store->FinishOwnedBackup(done, "replica-a"));
  EXPECT_EQ(store->GetBackup(other)->status, BackupStatus::kCompleted);
  EXPECT_EQ(store->GetBackup(other)->size_bytes, 42u);
  done.id = 9999;
  EXPECT_EQ(store->FinishOwnedBackup(done, "replica-a").status().code(), Status::Code::kNotFound);
}

// The race the renewal cannot catch: a survivor fails the record after the
// owner's last renewal and before its final write. The owner (whose
// heartbeat is far off here) must not overwrite it with "completed", must
// not report it completed, and must not leave its archive.
TEST(ReplicaTransfers, AnOwnerCutOffPastItsLeaseDoesNotCompleteWhatASurvivorFailed) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;  // closed until the survivor has failed the record
  auto a = StartReplica(*store, agents, backups, "replica-a", clock, 2, /*heartbeat=*/std::chrono::hours(1));
  const Id started = StartBackupOn(*a, MakeInstance(*store, 1));
  ASSERT_NE(started, 0);
  ASSERT_TRUE(Eventually([&] { return agents.in_flight() == 1; }));

  ASSERT_TRUE(*store->FailAbandonedTransfer(TransferKind::kBackup, started, kT0 + 11, "",
                                            "interrupted: controller replica replica-a stopped"));
  agents.Open();  // the stream ends well; only the final write is left
  ASSERT_TRUE(Eventually([&] { return a->finished == 1; }));
  auto backup = store->GetBackup(started);
  EXPECT_EQ(backup->status, BackupStatus::kFailed);
  EXPECT_EQ(backup->error_message, "interrupted: controller replica replica-a stopped");
  EXPECT_EQ(backup->file_path, "");
  {
    std::lock_guard lock(a->mu);
    EXPECT_EQ(a->last_finished.status, BackupStatus::kFailed) << "the job reported a backup nobody recorded";
  }
  int files = 0;
  if (fs::exists(backups)) {
    for (const auto& entry : fs::recursive_directory_iterator(backups)) files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 0) << "an unrecorded archive (or sidecar) was left behind";
  a->transfers->Shutdown();
}

// A starting replica fails the verification/drill checks nobody runs any
// more, and leaves those of replicas that still renew their lease.
TEST(ReplicaChecks, StartupFailsOnlyChecksNoLiveReplicaRuns) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const UnixTime now = kT0 + 100;
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("alive"), "alive", now, now + 10));
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("dead"), "dead", kT0, kT0 + 10));  // ran out
  ASSERT_TRUE(*store->AcquireLease(ReplicaLeaseName("old-me"), "old-me", now, now + 10));  // still looks live
  const std::map<Id, std::string> owners = {{1, ""}, {2, "old-me"}, {3, "alive"}, {4, "dead"}, {5, "never-leased"}};
  std::vector<Id> ids;
  for (const auto& [backup_id, owner] : owners) {
    for (CheckKind kind : {CheckKind::kVerify, CheckKind::kDrill}) {
      BackupCheck c;
      c.backup_id = backup_id;
      c.kind = kind;
      c.status = CheckStatus::kRunning;
      c.at = kT0;
      c.owner = owner;
      ASSERT_TRUE(store->PutBackupCheck(c).ok());
    }
    ids.push_back(backup_id);
  }
  ASSERT_TRUE(store->FailRunningChecks(now, "interrupted: controller restarted", "old-me").ok());
  auto checks = store->ListBackupChecks(ids);
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  ASSERT_EQ(checks->size(), 10u);
  for (const BackupCheck& c : *checks) {
    EXPECT_EQ(c.owner, owners.at(c.backup_id));
    if (c.owner == "alive") {
      EXPECT_EQ(c.status, CheckStatus::kRunning) << "a live replica's check was failed";
      EXPECT_EQ(c.at, kT0);
    } else {
      EXPECT_EQ(c.status, CheckStatus::kFailed) << "owner " << c.owner;
      EXPECT_EQ(c.error, "interrupted: controller restarted");
      EXPECT_EQ(c.at, now);
    }
  }
  // Once "alive" stops renewing, the next start fails its check too.
  ASSERT_TRUE(store->FailRunningChecks(now + 11, "interrupted: controller restarted", "").ok());
  auto later = store->ListBackupChecks({3});
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 2u);
  for (const BackupCheck& c : *later) EXPECT_EQ(c.status, CheckStatus::kFailed);
}

// The transfer heartbeat is what keeps a replica's lease: taken at start,
// released at a clean stop.
TEST(ReplicaChecks, TheTransferHeartbeatHoldsTheReplicaLease) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  FakeClock clock(kT0);
  GatedAgents agents;
  auto a = StartReplica(*store, agents, dir.file("backups"), "replica-a", clock, 1);
  ASSERT_TRUE(Eventually([&] {
    auto lease = store->GetLease(ReplicaLeaseName("replica-a"));
    return lease.ok() && lease->holder == "replica-a" && lease->expires_at > kT0;
  }));
  a->transfers->Shutdown();
  auto lease = store->GetLease(ReplicaLeaseName("replica-a"));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->holder, "");
}

}  // namespace
}  // namespace clawback::controller
