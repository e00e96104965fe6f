// SqlStore: what lets several controller replicas share one store (table
// leases; columns owner and lease_until of backups and restores). Every
// statement is SQL both engines accept (sql_connection.h's dialect rules).
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

// The table and the column naming the instance a transfer touches.
struct TransferTable {
  const char* table;
  const char* instance_column;
};

TransferTable TableOf(TransferKind kind) {
  return kind == TransferKind::kBackup ? TransferTable{"backups", "instance_id"}
                                       : TransferTable{"restores", "target_instance_id"};
}

Status MissingTransfer(TransferKind kind, Id id) { return NotFound(TransferKindName(kind), id); }

// The status of one transfer; Fails NotFound.
BackupStatus TransferStatus(Connection& db, TransferKind kind, Id id) {
  const TransferTable t = TableOf(kind);
  return QueryOne(db, std::string("SELECT status FROM ") + t.table + " WHERE id = ?",
                  [](const Statement& q) { return StatusFromColumn(q.Text(0)); },
                  MissingTransfer(kind, id), id);
}

std::vector<Id> Ids(Connection& db, const std::string& sql, const std::string& owner) {
  return QueryAll(db, sql, [](const Statement& q) { return q.Int64(0); }, owner);
}

}  // namespace

Result<bool> SqlStore::AcquireLease(const std::string& name, const std::string& holder, UnixTime now,
                                       UnixTime expires_at) {
  return Run("acquire lease", [&](Connection& db) {
    if (name.empty() || holder.empty()) Fail(Status::InvalidArgument("lease name and holder must not be empty"));
    // On a clash the row changes only when the lease is free or ours: zero
    // rows changed means another holder's lease is live.
    return Exec(db,
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
                "WHERE leases.expires_at < ? OR leases.holder = excluded.holder",
                name, holder, expires_at, now) > 0;
  });
}

Status SqlStore::ReleaseLease(const std::string& name, const std::string& holder) {
  return Run("release lease", [&](Connection& db) {
    Exec(db, "UPDATE leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ?", name, holder);
  });
}

Result<Lease> SqlStore::GetLease(const std::string& name) {
  return Run("get lease", [&](Connection& db) {
    return QueryOne(
        db, "SELECT name, holder, expires_at FROM leases WHERE name = ?",
        [](const Statement& q) {
          return Lease{q.Text(0), q.Text(1), q.Int64(2)};
        },
        NotFound("lease", name), name);
  });
}

Result<int64_t> SqlStore::DeleteExpiredLeases(const std::string& name_prefix, UnixTime expired_before) {
  return Run("delete expired leases", [&](Connection& db) {
    if (name_prefix.empty() || name_prefix.find_first_of("%_\\") != std::string::npos) {
      Fail(Status::InvalidArgument("lease name prefix must be non-empty and literal: " + name_prefix));
    }
    return Exec(db, "DELETE FROM leases WHERE name LIKE ? AND expires_at < ?", name_prefix + "%", expired_before);
  });
}

Status SqlStore::AssignTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime lease_until) {
  return Run("assign transfer", [&](Connection& db) {
    const TransferTable t = TableOf(kind);
    Transaction tx(db);
    const BackupStatus status = TransferStatus(db, kind, id);
    if (IsFinal(status)) {
      Fail(Status::FailedPrecondition(std::string(TransferKindName(kind)) + " " + std::to_string(id) + " is already " +
                                      std::string(BackupStatusName(status))));
    }
    Exec(db, std::string("UPDATE ") + t.table + " SET owner = ?, lease_until = ? WHERE id = ?", owner, lease_until,
         id);
    tx.Commit();
  });
}

Result<ClaimOutcome> SqlStore::ClaimTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                                UnixTime lease_until, int max_running) {
  return Run("claim transfer", [&](Connection& db) {
    const TransferTable t = TableOf(kind);
    // One write transaction, serialized with every other (SQLite's BEGIN
    // IMMEDIATE; PostgreSQL's transaction-scoped advisory lock): a plain READ
    // COMMITTED count would let two replicas both see the last free slot.
    Transaction tx(db);
    if (TransferStatus(db, kind, id) != BackupStatus::kQueued) return ClaimOutcome::kNotQueued;
    const Id instance = QueryCount(db, std::string("SELECT ") + t.instance_column + " FROM " + t.table +
                                             " WHERE id = ?", id);
    const int64_t running =
        QueryCount(db, "SELECT COUNT(*) FROM backups WHERE status = 'running' AND lease_until >= ?", now) +
        QueryCount(db, "SELECT COUNT(*) FROM restores WHERE status = 'running' AND lease_until >= ?", now);
    if (running >= max_running) return ClaimOutcome::kCapReached;
    const int64_t same_instance =
        QueryCount(db, "SELECT COUNT(*) FROM backups WHERE status = 'running' AND lease_until >= ? AND instance_id = ?",
                   now, instance) +
        QueryCount(db,
                   "SELECT COUNT(*) FROM restores WHERE status = 'running' AND lease_until >= ? "
                   "AND target_instance_id = ?",
                   now, instance);
    if (same_instance > 0) return ClaimOutcome::kInstanceBusy;
    Exec(db,
         std::string("UPDATE ") + t.table +
             " SET status = 'running', owner = ?, lease_until = ? WHERE id = ? AND status = 'queued'",
         owner, lease_until, id);
    tx.Commit();
    return ClaimOutcome::kClaimed;
  });
}

Result<TransferIds> SqlStore::RenewTransferLeases(const std::string& owner, UnixTime lease_until) {
  return Run("renew transfer leases", [&](Connection& db) {
    if (owner.empty()) Fail(Status::InvalidArgument("transfer owner must not be empty"));
    Transaction tx(db);
    TransferIds out;
    for (TransferKind kind : {TransferKind::kBackup, TransferKind::kRestore}) {
      const TransferTable t = TableOf(kind);
      const std::string mine =
          std::string(" FROM ") + t.table + " WHERE owner = ? AND status IN ('queued', 'running')";
      Exec(db, std::string("UPDATE ") + t.table + " SET lease_until = ? WHERE owner = ? AND status IN "
                                                    "('queued', 'running')",
           lease_until, owner);
      (kind == TransferKind::kBackup ? out.backups : out.restores) =
          Ids(db, "SELECT id" + mine + " ORDER BY id", owner);
    }
    tx.Commit();
    return out;
  });
}

Result<bool> SqlStore::AdoptQueuedTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                              UnixTime lease_until) {
  return Run("adopt queued transfer", [&](Connection& db) {
    const TransferTable t = TableOf(kind);
    Transaction tx(db);
    TransferStatus(db, kind, id);  // NotFound
    const int changed = Exec(db,
                             std::string("UPDATE ") + t.table +
                                 " SET owner = ?, lease_until = ? WHERE id = ? AND status = 'queued' AND lease_until < ?",
                             owner, lease_until, id, now);
    tx.Commit();
    return changed > 0;
  });
}

Result<int64_t> SqlStore::ReleaseQueuedTransfers(const std::string& owner) {
  return Run("release queued transfers", [&](Connection& db) {
    if (owner.empty()) Fail(Status::InvalidArgument("transfer owner must not be empty"));
    Transaction tx(db);
    int64_t released = 0;
    for (TransferKind kind : {TransferKind::kBackup, TransferKind::kRestore}) {
      // Serialized with ClaimTransfer: a transfer claimed first is running
      // and stays; one released first is claimed by whoever adopts it.
      released += Exec(db, std::string("UPDATE ") + TableOf(kind).table +
                               " SET lease_until = 0 WHERE owner = ? AND status = 'queued'",
                       owner);
    }
    tx.Commit();
    return released;
  });
}

Result<std::vector<TransferLease>> SqlStore::ListTransferLeases() {
  return Run("list transfer leases", [&](Connection& db) {
    std::vector<TransferLease> out;
    for (TransferKind kind : {TransferKind::kBackup, TransferKind::kRestore}) {
      const TransferTable t = TableOf(kind);
      auto rows = QueryAll(db,
                           std::string("SELECT id, ") + t.instance_column + ", status, owner, lease_until, created_at FROM " +
                               t.table + " WHERE status IN ('queued', 'running') ORDER BY id",
                           [kind](const Statement& q) {
                             TransferLease l;
                             l.kind = kind;
                             l.id = q.Int64(0);
                             l.instance_id = q.Int64(1);
                             l.status = StatusFromColumn(q.Text(2));
                             l.owner = q.Text(3);
                             l.lease_until = q.Int64(4);
                             l.created_at = q.Int64(5);
                             return l;
                           });
      out.insert(out.end(), rows.begin(), rows.end());
    }
    return out;
  });
}

Result<bool> SqlStore::FailAbandonedTransfer(TransferKind kind, Id id, UnixTime now, const std::string& owner_gone,
                                                const std::string& error) {
  return Run("fail abandoned transfer", [&](Connection& db) {
    const TransferTable t = TableOf(kind);
    Transaction tx(db);
    TransferStatus(db, kind, id);  // NotFound
    const std::string clear_archive =
        kind == TransferKind::kBackup ? ", file_path = '', size_bytes = 0, sha256 = ''" : "";
    const int changed =
        Exec(db,
             std::string("UPDATE ") + t.table + " SET status = 'failed', error_message = ?, completed_at = ?" +
                 clear_archive +
                 " WHERE id = ? AND status IN ('queued', 'running') AND (lease_until < ? OR (owner <> '' AND owner = ?))",
             error, now, id, now, owner_gone);
    tx.Commit();
    return changed > 0;
  });
}

}  // namespace clawback::controller::store::sql
