// SqliteStore: restore records (table restores), each the extraction of one
// backup into one target instance.
#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kRestoreColumns =
    "id, backup_id, target_instance_id, target_instance_name, status, entries_written, bytes_written, "
    "progress_bytes, skipped_json, error_message, created_by, created_by_name, created_at, started_at, "
    "completed_at, quiesce, quiesced, dry_run, paths_json, changes_json";

Restore ReadRestore(SQLite::Statement& q) {
  Restore r;
  r.id = q.getColumn(0).getInt64();
  r.backup_id = q.getColumn(1).getInt64();
  r.target_instance_id = q.getColumn(2).getInt64();
  r.target_instance_name = q.getColumn(3).getString();
  r.status = StatusFromColumn(q.getColumn(4).getString());
  r.entries_written = ColU64(q.getColumn(5));
  r.bytes_written = ColU64(q.getColumn(6));
  r.progress_bytes = ColU64(q.getColumn(7));
  r.skipped_json = q.getColumn(8).getString();
  r.error_message = q.getColumn(9).getString();
  r.created_by = q.getColumn(10).getInt64();
  r.created_by_name = q.getColumn(11).getString();
  r.created_at = q.getColumn(12).getInt64();
  r.started_at = q.getColumn(13).getInt64();
  r.completed_at = q.getColumn(14).getInt64();
  r.quiesce = q.getColumn(15).getInt() != 0;
  r.quiesced = q.getColumn(16).getInt() != 0;
  r.dry_run = q.getColumn(17).getInt() != 0;
  r.paths_json = q.getColumn(18).getString();
  r.changes_json = q.getColumn(19).getString();
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
int BindRestoreMutable(SQLite::Statement& q, const Restore& r) {
  nlohmann::json skipped = nlohmann::json::parse(r.skipped_json, nullptr, /*allow_exceptions=*/false);
  if (!skipped.is_array()) Fail(Status::InvalidArgument("restore skipped_json must be a JSON array"));
  return BindFrom(q, 1, r.backup_id, r.target_instance_id, r.target_instance_name,
                  std::string(BackupStatusName(r.status)), U64(r.entries_written), U64(r.bytes_written),
                  U64(r.progress_bytes), r.skipped_json, r.error_message, r.created_by, r.created_by_name,
                  r.started_at, r.completed_at, r.quiesce ? 1 : 0, r.quiesced ? 1 : 0, r.dry_run ? 1 : 0,
                  r.paths_json, r.changes_json);
}

}  // namespace

Result<Restore> SqliteStore::CreateRestore(const Restore& restore) {
  return Run("create restore", [&] {
    Restore r = restore;
    r.created_at = OrNow(r.created_at);
    SQLite::Statement q(*db_,
                        "INSERT INTO restores (backup_id, target_instance_id, target_instance_name, status, "
                        "entries_written, bytes_written, progress_bytes, skipped_json, error_message, created_by, "
                        "created_by_name, started_at, completed_at, quiesce, quiesced, dry_run, paths_json, changes_json, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    BindFrom(q, BindRestoreMutable(q, r), r.created_at);
    q.exec();
    r.id = db_->getLastInsertRowid();
    return r;
  });
}

Result<Restore> SqliteStore::GetRestore(Id id) {
  return Run("get restore", [&] {
    return QueryOne(*db_, Select(kRestoreColumns, "FROM restores WHERE id = ?"), ReadRestore,
                    NotFound("restore", id), id);
  });
}

Result<std::vector<Restore>> SqliteStore::ListRestores(std::optional<Id> backup_id, int limit) {
  return Run("list restores", [&] {
    CheckPage(limit, 0);
    if (backup_id) {
      return QueryAll(*db_,
                      Select(kRestoreColumns,
                             "FROM restores WHERE backup_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"),
                      ReadRestore, *backup_id, limit);
    }
    return QueryAll(*db_, Select(kRestoreColumns, "FROM restores ORDER BY created_at DESC, id DESC LIMIT ?"),
                    ReadRestore, limit);
  });
}

Status SqliteStore::UpdateRestore(const Restore& restore) {
  return Run("update restore", [&] {
    SQLite::Statement q(*db_, std::string("UPDATE restores SET ") + kRestoreMutableAssignments + " WHERE id = ?");
    BindFrom(q, BindRestoreMutable(q, restore), restore.id);
    if (q.exec() == 0) Fail(NotFound("restore", restore.id));
  });
}

Result<std::vector<Restore>> SqliteStore::ListUnfinishedRestores() {
  return Run("list unfinished restores", [&] {
    return QueryAll(*db_,
                    Select(kRestoreColumns, "FROM restores WHERE status IN ('queued', 'running') ORDER BY id"),
                    ReadRestore);
  });
}

}  // namespace clawback::controller::store::sqlite
