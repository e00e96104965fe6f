// SqliteStore: what lets several controller replicas share one store (table
// leases; columns owner and lease_until of backups and restores). Every
// statement here is SQL that PostgreSQL 15 accepts unchanged (with `?`
// numbered), so the PostgreSQL store runs the same text.
#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
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
BackupStatus TransferStatus(SQLite::Database& db, TransferKind kind, Id id) {
  const TransferTable t = TableOf(kind);
  return QueryOne(db, std::string("SELECT status FROM ") + t.table + " WHERE id = ?",
                  [](SQLite::Statement& q) { return StatusFromColumn(q.getColumn(0).getString()); },
                  MissingTransfer(kind, id), id);
}

std::vector<Id> Ids(SQLite::Database& db, const std::string& sql, const std::string& owner) {
  return QueryAll(db, sql, [](SQLite::Statement& q) { return q.getColumn(0).getInt64(); }, owner);
}

}  // namespace

Result<bool> SqliteStore::AcquireLease(const std::string& name, const std::string& holder, UnixTime now,
                                       UnixTime expires_at) {
  return Run("acquire lease", [&] {
    if (name.empty() || holder.empty()) Fail(Status::InvalidArgument("lease name and holder must not be empty"));
    // On a clash the row changes only when the lease is free or ours: zero
    // rows changed means another holder's lease is live.
    return Exec(*db_,
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
                "WHERE leases.expires_at < ? OR leases.holder = excluded.holder",
                name, holder, expires_at, now) > 0;
  });
}

Status SqliteStore::ReleaseLease(const std::string& name, const std::string& holder) {
  return Run("release lease", [&] {
    Exec(*db_, "UPDATE leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ?", name, holder);
  });
}

Result<Lease> SqliteStore::GetLease(const std::string& name) {
  return Run("get lease", [&] {
    return QueryOne(
        *db_, "SELECT name, holder, expires_at FROM leases WHERE name = ?",
        [](SQLite::Statement& q) {
          return Lease{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64()};
        },
        NotFound("lease", name), name);
  });
}

Status SqliteStore::AssignTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime lease_until) {
  return Run("assign transfer", [&] {
    const TransferTable t = TableOf(kind);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    const BackupStatus status = TransferStatus(*db_, kind, id);
    if (IsFinal(status)) {
      Fail(Status::FailedPrecondition(std::string(TransferKindName(kind)) + " " + std::to_string(id) + " is already " +
                                      std::string(BackupStatusName(status))));
    }
    Exec(*db_, std::string("UPDATE ") + t.table + " SET owner = ?, lease_until = ? WHERE id = ?", owner, lease_until,
         id);
    tx.commit();
  });
}

Result<ClaimOutcome> SqliteStore::ClaimTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                                UnixTime lease_until, int max_running) {
  return Run("claim transfer", [&] {
    const TransferTable t = TableOf(kind);
    // One write transaction: BEGIN IMMEDIATE here; on PostgreSQL the store's
    // Begin() takes a transaction-scoped advisory lock, which serializes
    // claims the same way (a plain READ COMMITTED count would let two
    // replicas both see a free slot).
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (TransferStatus(*db_, kind, id) != BackupStatus::kQueued) return ClaimOutcome::kNotQueued;
    const Id instance = QueryCount(*db_, std::string("SELECT ") + t.instance_column + " FROM " + t.table +
                                             " WHERE id = ?", id);
    const int64_t running =
        QueryCount(*db_, "SELECT COUNT(*) FROM backups WHERE status = 'running' AND lease_until >= ?", now) +
        QueryCount(*db_, "SELECT COUNT(*) FROM restores WHERE status = 'running' AND lease_until >= ?", now);
    if (running >= max_running) return ClaimOutcome::kCapReached;
    const int64_t same_instance =
        QueryCount(*db_, "SELECT COUNT(*) FROM backups WHERE status = 'running' AND lease_until >= ? AND instance_id = ?",
                   now, instance) +
        QueryCount(*db_,
                   "SELECT COUNT(*) FROM restores WHERE status = 'running' AND lease_until >= ? "
                   "AND target_instance_id = ?",
                   now, instance);
    if (same_instance > 0) return ClaimOutcome::kInstanceBusy;
    Exec(*db_,
         std::string("UPDATE ") + t.table +
             " SET status = 'running', owner = ?, lease_until = ? WHERE id = ? AND status = 'queued'",
         owner, lease_until, id);
    tx.commit();
    return ClaimOutcome::kClaimed;
  });
}

Result<TransferIds> SqliteStore::RenewTransferLeases(const std::string& owner, UnixTime lease_until) {
  return Run("renew transfer leases", [&] {
    if (owner.empty()) Fail(Status::InvalidArgument("transfer owner must not be empty"));
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    TransferIds out;
    for (TransferKind kind : {TransferKind::kBackup, TransferKind::kRestore}) {
      const TransferTable t = TableOf(kind);
      const std::string mine =
          std::string(" FROM ") + t.table + " WHERE owner = ? AND status IN ('queued', 'running')";
      Exec(*db_, std::string("UPDATE ") + t.table + " SET lease_until = ? WHERE owner = ? AND status IN "
                                                    "('queued', 'running')",
           lease_until, owner);
      (kind == TransferKind::kBackup ? out.backups : out.restores) =
          Ids(*db_, "SELECT id" + mine + " ORDER BY id", owner);
    }
    tx.commit();
    return out;
  });
}

Result<bool> SqliteStore::AdoptQueuedTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                              UnixTime lease_until) {
  return Run("adopt queued transfer", [&] {
    const TransferTable t = TableOf(kind);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    TransferStatus(*db_, kind, id);  // NotFound
    const int changed = Exec(*db_,
                             std::string("UPDATE ") + t.table +
                                 " SET owner = ?, lease_until = ? WHERE id = ? AND status = 'queued' AND lease_until < ?",
                             owner, lease_until, id, now);
    tx.commit();
    return changed > 0;
  });
}

Result<std::vector<TransferLease>> SqliteStore::ListTransferLeases() {
  return Run("list transfer leases", [&] {
    std::vector<TransferLease> out;
    for (TransferKind kind : {TransferKind::kBackup, TransferKind::kRestore}) {
      const TransferTable t = TableOf(kind);
      auto rows = QueryAll(*db_,
                           std::string("SELECT id, ") + t.instance_column + ", status, owner, lease_until, created_at FROM " +
                               t.table + " WHERE status IN ('queued', 'running') ORDER BY id",
                           [kind](SQLite::Statement& q) {
                             TransferLease l;
                             l.kind = kind;
                             l.id = q.getColumn(0).getInt64();
                             l.instance_id = q.getColumn(1).getInt64();
                             l.status = StatusFromColumn(q.getColumn(2).getString());
                             l.owner = q.getColumn(3).getString();
                             l.lease_until = q.getColumn(4).getInt64();
                             l.created_at = q.getColumn(5).getInt64();
                             return l;
                           });
      out.insert(out.end(), rows.begin(), rows.end());
    }
    return out;
  });
}

Result<bool> SqliteStore::FailAbandonedTransfer(TransferKind kind, Id id, UnixTime now, const std::string& owner_gone,
                                                const std::string& error) {
  return Run("fail abandoned transfer", [&] {
    const TransferTable t = TableOf(kind);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    TransferStatus(*db_, kind, id);  // NotFound
    const std::string clear_archive =
        kind == TransferKind::kBackup ? ", file_path = '', size_bytes = 0, sha256 = ''" : "";
    const int changed =
        Exec(*db_,
             std::string("UPDATE ") + t.table + " SET status = 'failed', error_message = ?, completed_at = ?" +
                 clear_archive +
                 " WHERE id = ? AND status IN ('queued', 'running') AND (lease_until < ? OR (owner <> '' AND owner = ?))",
             error, now, id, now, owner_gone);
    tx.commit();
    return changed > 0;
  });
}

}  // namespace clawback::controller::store::sqlite
