// SqlStore: restore records (table restores), each the extraction of one
// backup into one target instance.
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kRestoreColumns =
    "id, backup_id, target_instance_id, target_instance_name, status, entries_written, bytes_written, "
    "progress_bytes, skipped_json, error_message, created_by, created_by_name, created_at, started_at, "
    "completed_at, quiesce, quiesced, dry_run, paths_json, changes_json";

Restore ReadRestore(const Statement& q) {
  Restore r;
  r.id = q.Int64(0);
  r.backup_id = q.Int64(1);
  r.target_instance_id = q.Int64(2);
  r.target_instance_name = q.Text(3);
  r.status = StatusFromColumn(q.Text(4));
  r.entries_written = ColU64(q, 5);
  r.bytes_written = ColU64(q, 6);
  r.progress_bytes = ColU64(q, 7);
  r.skipped_json = q.Text(8);
  r.error_message = q.Text(9);
  r.created_by = q.Int64(10);
  r.created_by_name = q.Text(11);
  r.created_at = q.Int64(12);
  r.started_at = q.Int64(13);
  r.completed_at = q.Int64(14);
  r.quiesce = q.Int(15) != 0;
  r.quiesced = q.Int(16) != 0;
  r.dry_run = q.Int(17) != 0;
  r.paths_json = q.Text(18);
  r.changes_json = q.Text(19);
  return r;
}

// Every Restore column but id and created_at, in the order
// BindRestoreMutable binds them.
constexpr const char* kRestoreMutableAssignments =
    "backup_id = ?, target_instance_id = ?, target_instance_name = ?, status = ?, entries_written = ?, "
    "bytes_written = ?, progress_bytes = ?, skipped_json = ?, error_message = ?, created_by = ?, "
    "created_by_name = ?, started_at = ?, completed_at = ?, quiesce = ?, quiesced = ?, dry_run = ?, paths_json = ?, "
    "changes_json = ?";

// Binds from parameter 1; returns the next index. InvalidArgument when
// skipped_json is not a JSON array.
int BindRestoreMutable(Statement& q, const Restore& r) {
  nlohmann::json skipped = nlohmann::json::parse(r.skipped_json, nullptr, /*allow_exceptions=*/false);
  if (!skipped.is_array()) Fail(Status::InvalidArgument("restore skipped_json must be a JSON array"));
  return BindFrom(q, 1, r.backup_id, r.target_instance_id, r.target_instance_name,
                  std::string(BackupStatusName(r.status)), U64(r.entries_written), U64(r.bytes_written),
                  U64(r.progress_bytes), r.skipped_json, r.error_message, r.created_by, r.created_by_name,
                  r.started_at, r.completed_at, r.quiesce ? 1 : 0, r.quiesced ? 1 : 0, r.dry_run ? 1 : 0,
                  r.paths_json, r.changes_json);
}

}  // namespace

Result<Restore> SqlStore::CreateRestore(const Restore& restore) {
  return Run("create restore", [&](Connection& db) {
    Restore r = restore;
    r.created_at = OrNow(r.created_at);
    auto q = db.Prepare(
                        "INSERT INTO restores (backup_id, target_instance_id, target_instance_name, status, "
                        "entries_written, bytes_written, progress_bytes, skipped_json, error_message, created_by, "
                        "created_by_name, started_at, completed_at, quiesce, quiesced, dry_run, paths_json, changes_json, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    BindFrom(*q, BindRestoreMutable(*q, r), r.created_at);
    r.id = InsertReturningId(*q, {});
    return r;
  });
}

Result<Restore> SqlStore::GetRestore(Id id) {
  return Run("get restore", [&](Connection& db) {
    return QueryOne(db, Select(kRestoreColumns, "FROM restores WHERE id = ?"), ReadRestore,
                    NotFound("restore", id), id);
  });
}

Result<std::vector<Restore>> SqlStore::ListRestores(std::optional<Id> backup_id, int limit) {
  return Run("list restores", [&](Connection& db) {
    CheckPage(limit, 0);
    if (backup_id) {
      return QueryAll(db,
                      Select(kRestoreColumns,
                             "FROM restores WHERE backup_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"),
                      ReadRestore, *backup_id, limit);
    }
    return QueryAll(db, Select(kRestoreColumns, "FROM restores ORDER BY created_at DESC, id DESC LIMIT ?"),
                    ReadRestore, limit);
  });
}

Status SqlStore::UpdateRestore(const Restore& restore) {
  return Run("update restore", [&](Connection& db) {
    auto q = db.Prepare(std::string("UPDATE restores SET ") + kRestoreMutableAssignments + " WHERE id = ?");
    BindFrom(*q, BindRestoreMutable(*q, restore), restore.id);
    if (q->Execute() == 0) Fail(NotFound("restore", restore.id));
  });
}

Result<std::vector<Restore>> SqlStore::ListUnfinishedRestores() {
  return Run("list unfinished restores", [&](Connection& db) {
    return QueryAll(db,
                    Select(kRestoreColumns, "FROM restores WHERE status IN ('queued', 'running') ORDER BY id"),
                    ReadRestore);
  });
}

}  // namespace clawback::controller::store::sql
