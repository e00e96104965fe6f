// Records that let several controller replicas share one store (issue 18):
// named leases (the leader's, and any other "one replica at a time" role)
// and the ownership of unfinished transfers. Plain structs like model.h.
//
// Every time here is the caller's clock (UnixTime seconds), not the
// database's: replicas must keep their clocks in step (NTP) to within a
// small part of a lease's time to live.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "controller/store/model.h"

namespace clawback::controller {

// A named role held by one replica until expires_at (table leases).
struct Lease {
  std::string name;        // e.g. "leader"
  std::string holder;      // the holding replica's id ("" once released)
  UnixTime expires_at = 0;
};

// The lease each running replica renews while it lives (its transfer
// heartbeat): lets the others tell a live replica's work from a dead one's.
// Every such lease's name starts with kReplicaLeasePrefix.
inline constexpr std::string_view kReplicaLeasePrefix = "replica:";
inline std::string ReplicaLeaseName(std::string_view replica_id) {
  return std::string(kReplicaLeasePrefix) + std::string(replica_id);
}

// Backups and restores are both transfers; leases and claims cover both.
enum class TransferKind { kBackup, kRestore };
inline std::string_view TransferKindName(TransferKind kind) {  // "backup" | "restore"
  return kind == TransferKind::kBackup ? "backup" : "restore";
}

// The ownership of one queued or running transfer (columns owner and
// lease_until of backups and restores). owner is the replica that queued
// or runs it ("" for rows from before replicas existed); lease_until is
// when a survivor may declare it interrupted unless the owner renews it.
struct TransferLease {
  TransferKind kind = TransferKind::kBackup;
  Id id = 0;
  Id instance_id = 0;        // the backup's instance, or the restore's target
  BackupStatus status = BackupStatus::kQueued;
  std::string owner;
  UnixTime lease_until = 0;
  UnixTime created_at = 0;   // the record's; a row without owner may be a second old (see recovery)
};

// The transfers a renewal touched, by kind.
struct TransferIds {
  std::vector<Id> backups;
  std::vector<Id> restores;
};

// What ClaimTransfer answers.
enum class ClaimOutcome {
  kClaimed,       // now `running`, owned by the claimant
  kCapReached,    // as many transfers run (with live leases) as the cap allows: try later
  kInstanceBusy,  // another transfer of the same instance runs with a live lease: try later
  kNotQueued,     // no longer queued (canceled, or failed by a survivor): do not run it
};

}  // namespace clawback::controller
