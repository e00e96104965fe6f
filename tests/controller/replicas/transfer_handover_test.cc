// Handing queued transfers over between replicas: a queued restore of a
// dead replica is adopted and run once (like a queued backup); a replica
// stopped cleanly releases its queued transfers instead of failing them, and
// another replica, or the same data dir's next start, runs them; running
// ones are still failed, saying why.
//
// Real store (SQLite file, or PostgreSQL with CLAWBACK_TEST_STORE), real
// backups directory and archives; the agents are GatedAgents, time for the
// leases a FakeClock.
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "controller/clock.h"
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

// The lease row of one unfinished transfer, or a default one (id 0).
TransferLease LeaseOf(Store& store, TransferKind kind, Id id) {
  auto leases = store.ListTransferLeases();
  if (leases.ok()) {
    for (const TransferLease& l : *leases) {
      if (l.kind == kind && l.id == id) return l;
    }
  }
  return {};
}

// A completed backup of `instance` with a real archive, made by a replica
// that then stops.
Backup CompletedBackup(Store& store, GatedAgents& agents, const std::string& backups, const Clock& clock,
                       const Instance& instance) {
  auto maker = StartReplica(store, agents, backups, "maker", clock, 1);
  const Id id = StartBackupOn(*maker, instance);
  if (id == 0) return {};
  EXPECT_TRUE(Eventually([&] { return maker->finished == 1; }));
  maker->transfers->Shutdown();
  return *store.GetBackup(id);
}

Restore QueuedRestore(const Backup& backup, const Instance& target) {
  Restore r;
  r.backup_id = backup.id;
  r.target_instance_id = target.id;
  r.target_instance_name = target.name;
  r.status = RestoreStatus::kQueued;
  r.created_at = kT0;
  return r;
}

TEST(TransferClaims, ReleasedQueuedTransfersAreAdoptedOnceAndRunningOnesStay) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const Id queued = store->CreateBackup(QueuedBackup(1))->id;
  const Id running = store->CreateBackup(QueuedBackup(2))->id;
  const Id others = store->CreateBackup(QueuedBackup(3))->id;
  Restore r;
  r.backup_id = running;
  r.target_instance_id = 4;
  r.target_instance_name = "web-4";
  const Id restore = store->CreateRestore(r)->id;
  for (Id id : {queued, running}) ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, id, "stopping", kT0 + 10).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, others, "alive", kT0 + 10).ok());
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kRestore, restore, "stopping", kT0 + 10).ok());
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, running, "stopping", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);

  // Leases live: nobody may adopt yet.
  EXPECT_FALSE(*store->AdoptQueuedTransfer(TransferKind::kBackup, queued, "b", kT0, kT0 + 10));
  auto released = store->ReleaseQueuedTransfers("stopping");
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(*released, 2);  // the queued backup and the queued restore
  for (auto [kind, id] : {std::pair{TransferKind::kBackup, queued}, std::pair{TransferKind::kRestore, restore}}) {
    TransferLease l = LeaseOf(*store, kind, id);
    EXPECT_EQ(l.owner, "stopping");  // whose it was stays visible
    EXPECT_EQ(l.lease_until, 0);
    EXPECT_EQ(l.status, BackupStatus::kQueued);
  }
  EXPECT_EQ(LeaseOf(*store, TransferKind::kBackup, running).lease_until, kT0 + 10);  // running: untouched
  EXPECT_EQ(LeaseOf(*store, TransferKind::kBackup, running).status, BackupStatus::kRunning);
  EXPECT_EQ(LeaseOf(*store, TransferKind::kBackup, others).lease_until, kT0 + 10);   // another owner's

  // At once (not after the lease time), by one replica only, then claimed once.
  EXPECT_TRUE(*store->AdoptQueuedTransfer(TransferKind::kBackup, queued, "b", kT0, kT0 + 10));
  EXPECT_FALSE(*store->AdoptQueuedTransfer(TransferKind::kBackup, queued, "c", kT0, kT0 + 10));
  EXPECT_TRUE(*store->AdoptQueuedTransfer(TransferKind::kRestore, restore, "c", kT0, kT0 + 10));
  EXPECT_EQ(*store->ClaimTransfer(TransferKind::kBackup, queued, "b", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);
  EXPECT_EQ(*store->ClaimTransfer(TransferKind::kBackup, queued, "c", kT0, kT0 + 10, 5), ClaimOutcome::kNotQueued);
  EXPECT_EQ(*store->ReleaseQueuedTransfers("stopping"), 0);  // nothing of its own queued any more
  EXPECT_EQ(store->ReleaseQueuedTransfers("").status().code(), Status::Code::kInvalidArgument);
}

// Startup and the survivors' sweep fail running transfers of dead owners,
// but leave queued ones with an owner for adoption (the previous life's are
// released at once). Queued rows without owner still fail after the grace.
TEST(TransferRecovery, QueuedTransfersWithAnOwnerAreLeftForAdoption) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store);
  const std::string backups = dir.file("backups");
  const Id mine_running = store->CreateBackup(QueuedBackup(1))->id;
  const Id mine_queued = store->CreateBackup(QueuedBackup(2))->id;
  const Id dead_queued = store->CreateBackup(QueuedBackup(3))->id;
  Backup old = QueuedBackup(4);
  old.created_at = kT0 - 3600;
  const Id legacy_queued = store->CreateBackup(old)->id;
  for (Id id : {mine_running, mine_queued}) {
    ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, id, "old-me", kT0 + 100).ok());
  }
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, dead_queued, "dead", kT0 + 5).ok());
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, mine_running, "old-me", kT0, kT0 + 100, 5),
            ClaimOutcome::kClaimed);

  ASSERT_TRUE(RecoverInterruptedTransfers(*store, backups, kT0 + 10, "old-me").ok());
  EXPECT_EQ(store->GetBackup(mine_running)->status, BackupStatus::kFailed);
  EXPECT_EQ(store->GetBackup(mine_running)->error_message, "interrupted: controller restarted");
  EXPECT_EQ(store->GetBackup(legacy_queued)->status, BackupStatus::kFailed);
  EXPECT_EQ(store->GetBackup(mine_queued)->status, BackupStatus::kQueued);
  EXPECT_EQ(LeaseOf(*store, TransferKind::kBackup, mine_queued).lease_until, 0) << "the previous life's queue is released";
  EXPECT_EQ(store->GetBackup(dead_queued)->status, BackupStatus::kQueued);
  EXPECT_EQ(LeaseOf(*store, TransferKind::kBackup, dead_queued).lease_until, kT0 + 5);  // adopted when it runs out
}

TEST(ReplicaTransfers, ADeadReplicasQueuedRestoreIsAdoptedAndRunsOnce) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;
  agents.Open();
  const Instance source = MakeInstance(*store, 1), target = MakeInstance(*store, 2);
  const Backup backup = CompletedBackup(*store, agents, backups, clock, source);
  ASSERT_EQ(backup.status, BackupStatus::kCompleted) << backup.error_message;

  // What a replica killed with SIGKILL leaves: a queued restore (never
  // sent a byte), leased until kT0 + 10.
  Restore queued = QueuedRestore(backup, target);
  queued.quiesce = false;
  const Id restore_id = store->CreateRestore(queued)->id;
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kRestore, restore_id, "dead", kT0 + 10).ok());

  // Two survivors race for it.
  auto s1 = StartReplica(*store, agents, backups, "survivor-1", clock, 2);
  auto s2 = StartReplica(*store, agents, backups, "survivor-2", clock, 2);
  std::this_thread::sleep_for(150ms);  // several heartbeats: the lease is still live
  EXPECT_EQ(store->GetRestore(restore_id)->status, RestoreStatus::kQueued);
  EXPECT_EQ(agents.restores_started(), 0);

  clock.Set(kT0 + 11);
  ASSERT_TRUE(Eventually([&] { return store->GetRestore(restore_id)->status == RestoreStatus::kCompleted; }))
      << "the queued restore was not adopted: " << store->GetRestore(restore_id)->error_message;
  std::this_thread::sleep_for(150ms);  // any second run would start by now
  auto done = store->GetRestore(restore_id);
  EXPECT_EQ(done->bytes_written, backup.size_bytes);
  EXPECT_FALSE(done->quiesce) << "the adopted restore lost its options";
  EXPECT_EQ(agents.restores_started(), 1) << "the restore ran more than once";
  s1->transfers->Shutdown();
  s2->transfers->Shutdown();
}

// SIGTERM with transfers queued: they are released, not failed, and
// another live replica runs each of them exactly once. The replica's
// running transfer is failed, saying why.
TEST(ReplicaTransfers, CleanStopHandsQueuedTransfersToAnotherReplica) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;  // closed: started backups stay streaming
  const Instance i1 = MakeInstance(*store, 1), i2 = MakeInstance(*store, 2), i3 = MakeInstance(*store, 3);
  auto b = StartReplica(*store, agents, backups, "replica-b", clock, 2);
  auto a = StartReplica(*store, agents, backups, "replica-a", clock, 2);
  const Id b_running = StartBackupOn(*b, i1);
  ASSERT_TRUE(Eventually([&] { return agents.in_flight() == 1; }));
  const Id a_running = StartBackupOn(*a, i2);
  ASSERT_TRUE(Eventually([&] { return agents.in_flight() == 2; }));
  // Cap 2 reached: A's next one waits for a slot on a worker (WaitForSlot);
  // the one after that waits in A's queue (A runs 2 jobs at most).
  const Id a_waiting = StartBackupOn(*a, i3);
  const Id a_queued = StartBackupOn(*a, i1);
  std::this_thread::sleep_for(100ms);
  for (Id id : {a_waiting, a_queued}) {
    EXPECT_EQ(store->GetBackup(id)->status, BackupStatus::kQueued);
    EXPECT_EQ(LeaseOf(*store, TransferKind::kBackup, id).owner, "replica-a");
  }

  a->transfers->Shutdown();
  auto cut = store->GetBackup(a_running);
  EXPECT_EQ(cut->status, BackupStatus::kFailed);
  EXPECT_EQ(cut->error_message, "controller shutting down");
  for (Id id : {a_waiting, a_queued}) {
    auto backup = store->GetBackup(id);
    EXPECT_EQ(backup->status, BackupStatus::kQueued) << backup->error_message;
  }
  EXPECT_EQ(agents.started(), 2);

  // B adopts both at once (no lease to wait for) and runs each once.
  ASSERT_TRUE(Eventually([&] {
    return LeaseOf(*store, TransferKind::kBackup, a_waiting).owner == "replica-b" &&
           LeaseOf(*store, TransferKind::kBackup, a_queued).owner == "replica-b";
  }));
  agents.Open();
  ASSERT_TRUE(Eventually([&] { return b->finished == 3; }));
  for (Id id : {b_running, a_waiting, a_queued}) {
    auto backup = store->GetBackup(id);
    EXPECT_EQ(backup->status, BackupStatus::kCompleted) << id << ": " << backup->error_message;
    EXPECT_TRUE(fs::exists(backups + "/" + backup->file_path));
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(agents.started(), 4) << "a handed-over backup ran twice";
  b->transfers->Shutdown();
}

// One controller on SQLite: stopped cleanly with a backup queued, started
// again on the same data dir (a new replica id, the old one its previous
// life): the queued backup runs, neither failed nor left queued.
TEST(ReplicaTransfers, RestartRunsTheBackupACleanStopLeftQueued) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;
  const Instance i1 = MakeInstance(*store, 1), i2 = MakeInstance(*store, 2);
  auto first = StartReplica(*store, agents, backups, "life-1", clock, 1);
  BackupRequest req;
  req.instance = i1;
  req.paths = {"/home/claworc"};
  const Id running = first->transfers->StartBackup(req)->id;
  ASSERT_TRUE(Eventually([&] { return agents.in_flight() == 1; }));
  req.instance = i2;
  const Id queued = first->transfers->StartBackup(req)->id;
  first->transfers->Shutdown();
  EXPECT_EQ(store->GetBackup(running)->status, BackupStatus::kFailed);
  EXPECT_EQ(store->GetBackup(running)->error_message, "controller shutting down");
  EXPECT_EQ(store->GetBackup(queued)->status, BackupStatus::kQueued);

  clock.Advance(30);
  ASSERT_TRUE(RecoverInterruptedTransfers(*store, backups, clock.Now(), "life-1").ok());
  EXPECT_EQ(store->GetBackup(queued)->status, BackupStatus::kQueued) << store->GetBackup(queued)->error_message;
  agents.Open();
  auto second = StartReplica(*store, agents, backups, "life-2", clock, 1);
  ASSERT_TRUE(Eventually([&] { return second->finished == 1; }));
  auto done = store->GetBackup(queued);
  EXPECT_EQ(done->status, BackupStatus::kCompleted) << done->error_message;
  EXPECT_TRUE(fs::exists(backups + "/" + done->file_path));
  EXPECT_EQ(agents.started(), 2);
  second->transfers->Shutdown();
}

// The same after kill -9 (nothing released, leases still live at the
// restart): the previous life's queued restore runs at once, its running
// backup fails.
TEST(ReplicaTransfers, RestartAfterAKillRunsThePreviousLifesQueuedRestore) {
  ReplicaWorld world;
  ASSERT_TRUE(world.store);
  auto& [dir, store, clock, agents, backups] = world;
  agents.Open();
  const Instance i1 = MakeInstance(*store, 1), i2 = MakeInstance(*store, 2);
  const Backup backup = CompletedBackup(*store, agents, backups, clock, i1);
  ASSERT_EQ(backup.status, BackupStatus::kCompleted) << backup.error_message;
  Backup b = QueuedBackup(i1.id);
  b.instance_name = i1.name;
  const Id running = store->CreateBackup(b)->id;
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kBackup, running, "life-1", kT0 + 10).ok());
  ASSERT_EQ(*store->ClaimTransfer(TransferKind::kBackup, running, "life-1", kT0, kT0 + 10, 5), ClaimOutcome::kClaimed);
  const Id restore_id = store->CreateRestore(QueuedRestore(backup, i2))->id;
  ASSERT_TRUE(store->AssignTransfer(TransferKind::kRestore, restore_id, "life-1", kT0 + 10).ok());

  ASSERT_TRUE(RecoverInterruptedTransfers(*store, backups, kT0 + 2, "life-1").ok());
  EXPECT_EQ(store->GetBackup(running)->error_message, "interrupted: controller restarted");
  auto second = StartReplica(*store, agents, backups, "life-2", clock, 1);
  ASSERT_TRUE(Eventually([&] { return store->GetRestore(restore_id)->status == RestoreStatus::kCompleted; }))
      << store->GetRestore(restore_id)->error_message;
  EXPECT_EQ(agents.restores_started(), 1);
  second->transfers->Shutdown();
}

}  // namespace
}  // namespace clawback::controller
