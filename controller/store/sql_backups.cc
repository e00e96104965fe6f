// SqlStore: backup records (table backups). A backup keeps its
// instance_name when the instance goes, and its schedule_id becomes NULL
// when the schedule goes (ON DELETE SET NULL).
#include <map>

#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kBackupColumns =
    "id, instance_id, instance_name, status, paths_json, note, file_path, size_bytes, sha256, entries, "
    "progress_bytes, error_message, warnings_json, created_by, created_by_name, schedule_id, created_at, "
    "started_at, completed_at, excludes_json, exclude_presets_json, strict, databases_captured, databases_raw";

Backup ReadBackup(const Statement& q) {
  Backup b;
  b.id = q.Int64(0);
  b.instance_id = q.Int64(1);
  b.instance_name = q.Text(2);
  b.status = StatusFromColumn(q.Text(3));
  b.paths = JsonToStrings(q.Text(4), "backups.paths_json");
  b.note = q.Text(5);
  b.file_path = q.Text(6);
  b.size_bytes = ColU64(q, 7);
  b.sha256 = q.Text(8);
  b.entries = ColU64(q, 9);
  b.progress_bytes = ColU64(q, 10);
  b.error_message = q.Text(11);
  b.warnings = JsonToStrings(q.Text(12), "backups.warnings_json");
  b.created_by = q.Int64(13);
  b.created_by_name = q.Text(14);
  if (!q.IsNull(15)) b.schedule_id = q.Int64(15);
  b.created_at = q.Int64(16);
  b.started_at = q.Int64(17);
  b.completed_at = q.Int64(18);
  b.excludes = JsonToStrings(q.Text(19), "backups.excludes_json");
  b.exclude_presets = JsonToStrings(q.Text(20), "backups.exclude_presets_json");
  b.strict = q.Int(21) != 0;
  b.databases_captured = ColU64(q, 22);
  b.databases_raw = ColU64(q, 23);
  return b;
}

// Every Backup column but id and created_at, in the order BindBackupMutable
// binds them.
constexpr const char* kBackupMutableAssignments =
    "instance_id = ?, instance_name = ?, status = ?, paths_json = ?, note = ?, file_path = ?, "
    "size_bytes = ?, sha256 = ?, entries = ?, progress_bytes = ?, error_message = ?, warnings_json = ?, "
    "created_by = ?, created_by_name = ?, schedule_id = ?, started_at = ?, completed_at = ?, excludes_json = ?, "
    "exclude_presets_json = ?, strict = ?, databases_captured = ?, databases_raw = ?";

// Binds from parameter 1; returns the next index.
int BindBackupMutable(Statement& q, const Backup& b) {
  return BindFrom(q, 1, b.instance_id, b.instance_name, std::string(BackupStatusName(b.status)),
                  StringsToJson(b.paths), b.note, b.file_path, U64(b.size_bytes), b.sha256, U64(b.entries),
                  U64(b.progress_bytes), b.error_message, StringsToJson(b.warnings), b.created_by,
                  b.created_by_name, b.schedule_id, b.started_at, b.completed_at, StringsToJson(b.excludes),
                  StringsToJson(b.exclude_presets), b.strict, U64(b.databases_captured), U64(b.databases_raw));
}

// The only foreign key a backup's columns name is its schedule.
Clashes ScheduleRef(std::optional<Id> schedule_id) {
  if (!schedule_id) return {};
  return {.foreign_key = NotFound("schedule", *schedule_id)};
}

}  // namespace

Result<Backup> SqlStore::CreateBackup(const Backup& backup) {
  return Run("create backup", [&](Connection& db) {
    Backup b = backup;
    b.created_at = OrNow(b.created_at);
    auto q = db.Prepare(
                        "INSERT INTO backups (instance_id, instance_name, status, paths_json, note, file_path, "
                        "size_bytes, sha256, entries, progress_bytes, error_message, warnings_json, created_by, "
                        "created_by_name, schedule_id, started_at, completed_at, excludes_json, "
                        "exclude_presets_json, strict, databases_captured, databases_raw, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    BindFrom(*q, BindBackupMutable(*q, b), b.created_at);
    b.id = InsertReturningId(*q, ScheduleRef(b.schedule_id));
    return b;
  });
}

Result<Backup> SqlStore::GetBackup(Id id) {
  return Run("get backup", [&](Connection& db) {
    return QueryOne(db, Select(kBackupColumns, "FROM backups WHERE id = ?"), ReadBackup, NotFound("backup", id),
                    id);
  });
}

Result<std::vector<Backup>> SqlStore::ListBackups(const BackupFilter& filter, int64_t* total) {
  return RunRead("list backups", [&](Connection& db) {
    CheckPage(filter.limit, filter.offset);
    if (filter.visible_instances && filter.visible_instances->empty()) {
      if (total) *total = 0;
      return std::vector<Backup>();
    }
    Conditions c;
    if (filter.instance_id) c.Add("instance_id = ?", *filter.instance_id);
    if (filter.instance_name) c.Add("instance_name = ?", *filter.instance_name);
    if (filter.status) c.Add("status = ?", std::string(BackupStatusName(*filter.status)));
    if (filter.schedule_id) c.Add("schedule_id = ?", *filter.schedule_id);
    if (filter.visible_instances) c.AddIn("instance_id", *filter.visible_instances);
    if (total) *total = Count(db, "backups", c);
    return QueryPage(db, kBackupColumns, "backups", std::move(c), "created_at DESC, id DESC", filter.limit,
                     filter.offset, ReadBackup);
  });
}

Status SqlStore::UpdateBackup(const Backup& backup) {
  return Run("update backup", [&](Connection& db) {
    auto q = db.Prepare(std::string("UPDATE backups SET ") + kBackupMutableAssignments + " WHERE id = ?");
    BindFrom(*q, BindBackupMutable(*q, backup), backup.id);
    if (ExecChecked(*q, ScheduleRef(backup.schedule_id)) == 0) Fail(NotFound("backup", backup.id));
  });
}

Result<bool> SqlStore::FinishOwnedBackup(const Backup& backup, const std::string& owner) {
  return Run("finish owned backup", [&](Connection& db) {
    if (owner.empty()) Fail(Status::InvalidArgument("transfer owner must not be empty"));
    Transaction tx(db);
    if (QueryCount(db, "SELECT COUNT(*) FROM backups WHERE id = ?", backup.id) == 0) Fail(NotFound("backup", backup.id));
    // One conditional statement: a survivor's FailAbandonedTransfer and this
    // write cannot both win (each requires status queued/running).
    auto q = db.Prepare(std::string("UPDATE backups SET ") + kBackupMutableAssignments +
                        " WHERE id = ? AND owner = ? AND status IN ('queued', 'running')");
    BindFrom(*q, BindBackupMutable(*q, backup), backup.id, owner);
    const bool written = ExecChecked(*q, ScheduleRef(backup.schedule_id)) > 0;
    tx.Commit();
    return written;
  });
}

Status SqlStore::UpdateBackupProgress(Id id, uint64_t progress_bytes) {
  return Run("update backup progress", [&](Connection& db) {
    ExecOne(db, "UPDATE backups SET progress_bytes = ? WHERE id = ?", NotFound("backup", id), U64(progress_bytes),
            id);
  });
}

Status SqlStore::DeleteBackup(Id id) {
  return Run("delete backup",
             [&](Connection& db) { ExecOne(db, "DELETE FROM backups WHERE id = ?", NotFound("backup", id), id); });
}

Result<std::vector<Backup>> SqlStore::ListUnfinishedBackups() {
  return Run("list unfinished backups", [&](Connection& db) {
    return QueryAll(db, Select(kBackupColumns, "FROM backups WHERE status IN ('queued', 'running') ORDER BY id"),
                    ReadBackup);
  });
}

Result<std::vector<Backup>> SqlStore::ListCompletedBackups(Id instance_id) {
  return Run("list completed backups", [&](Connection& db) {
    return QueryAll(db,
                    Select(kBackupColumns,
                           "FROM backups WHERE instance_id = ? AND status = 'completed' "
                           "ORDER BY created_at DESC, id DESC"),
                    ReadBackup, instance_id);
  });
}

// Two index seeks per instance (backups_by_instance), whatever the number of
// backups: correlated scalar subqueries with ORDER BY ... LIMIT 1, combined
// by UNION.
Result<std::vector<LatestBackups>> SqlStore::ListLatestBackups() {
  return RunRead("list latest backups", [&](Connection& db) {
    std::vector<Backup> rows = QueryAll(
        db,
        Select(kBackupColumns,
               "FROM backups WHERE id IN ("
               " SELECT (SELECT x.id FROM backups x WHERE x.instance_id = i.id"
               "         ORDER BY x.created_at DESC, x.id DESC LIMIT 1) FROM instances i"
               " UNION"
               " SELECT (SELECT x.id FROM backups x WHERE x.instance_id = i.id AND x.status = 'completed'"
               "         ORDER BY x.created_at DESC, x.id DESC LIMIT 1) FROM instances i)"),
        ReadBackup);
    auto newer = [](const Backup& a, const std::optional<Backup>& b) {
      return !b || a.created_at > b->created_at || (a.created_at == b->created_at && a.id > b->id);
    };
    std::vector<LatestBackups> out;
    std::map<Id, size_t> slot;
    for (Backup& b : rows) {
      auto [it, added] = slot.emplace(b.instance_id, out.size());
      if (added) {
        out.emplace_back();
        out.back().instance_id = b.instance_id;
      }
      LatestBackups& l = out[it->second];
      if (b.status == BackupStatus::kCompleted && newer(b, l.last_good)) l.last_good = b;
      if (newer(b, l.latest)) l.latest = std::move(b);
    }
    return out;
  });
}

}  // namespace clawback::controller::store::sql
