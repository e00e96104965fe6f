// SqliteStore: backup records (table backups). A backup keeps its
// instance_name when the instance goes, and its schedule_id becomes NULL
// when the schedule goes (ON DELETE SET NULL).
#include <map>

#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kBackupColumns =
    "id, instance_id, instance_name, status, paths_json, note, file_path, size_bytes, sha256, entries, "
    "progress_bytes, error_message, warnings_json, created_by, created_by_name, schedule_id, created_at, "
    "started_at, completed_at, excludes_json, exclude_presets_json, strict, databases_captured, databases_raw";

Backup ReadBackup(SQLite::Statement& q) {
  Backup b;
  b.id = q.getColumn(0).getInt64();
  b.instance_id = q.getColumn(1).getInt64();
  b.instance_name = q.getColumn(2).getString();
  b.status = StatusFromColumn(q.getColumn(3).getString());
  b.paths = JsonToStrings(q.getColumn(4).getString(), "backups.paths_json");
  b.note = q.getColumn(5).getString();
  b.file_path = q.getColumn(6).getString();
  b.size_bytes = ColU64(q.getColumn(7));
  b.sha256 = q.getColumn(8).getString();
  b.entries = ColU64(q.getColumn(9));
  b.progress_bytes = ColU64(q.getColumn(10));
  b.error_message = q.getColumn(11).getString();
  b.warnings = JsonToStrings(q.getColumn(12).getString(), "backups.warnings_json");
  b.created_by = q.getColumn(13).getInt64();
  b.created_by_name = q.getColumn(14).getString();
  if (!q.getColumn(15).isNull()) b.schedule_id = q.getColumn(15).getInt64();
  b.created_at = q.getColumn(16).getInt64();
  b.started_at = q.getColumn(17).getInt64();
  b.completed_at = q.getColumn(18).getInt64();
  b.excludes = JsonToStrings(q.getColumn(19).getString(), "backups.excludes_json");
  b.exclude_presets = JsonToStrings(q.getColumn(20).getString(), "backups.exclude_presets_json");
  b.strict = q.getColumn(21).getInt() != 0;
  b.databases_captured = ColU64(q.getColumn(22));
  b.databases_raw = ColU64(q.getColumn(23));
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
int BindBackupMutable(SQLite::Statement& q, const Backup& b) {
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

Result<Backup> SqliteStore::CreateBackup(const Backup& backup) {
  return Run("create backup", [&] {
    Backup b = backup;
    b.created_at = OrNow(b.created_at);
    SQLite::Statement q(*db_,
                        "INSERT INTO backups (instance_id, instance_name, status, paths_json, note, file_path, "
                        "size_bytes, sha256, entries, progress_bytes, error_message, warnings_json, created_by, "
                        "created_by_name, schedule_id, started_at, completed_at, excludes_json, "
                        "exclude_presets_json, strict, databases_captured, databases_raw, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    BindFrom(q, BindBackupMutable(q, b), b.created_at);
    ExecChecked(q, ScheduleRef(b.schedule_id));
    b.id = db_->getLastInsertRowid();
    return b;
  });
}

Result<Backup> SqliteStore::GetBackup(Id id) {
  return Run("get backup", [&] {
    return QueryOne(*db_, Select(kBackupColumns, "FROM backups WHERE id = ?"), ReadBackup, NotFound("backup", id),
                    id);
  });
}

Result<std::vector<Backup>> SqliteStore::ListBackups(const BackupFilter& filter, int64_t* total) {
  return RunRead("list backups", [&] {
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
    SQLite::Transaction snapshot(*reader_);  // the count and the page from one snapshot
    if (total) {
      auto count = reader_statements_.Get("SELECT COUNT(*) FROM backups" + c.where);
      BindAll(*count, c.params);
      count->executeStep();
      *total = count->getColumn(0).getInt64();
    }
    auto page = reader_statements_.Get(
        Select(kBackupColumns, "FROM backups" + c.where + " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"));
    c.params.emplace_back(int64_t{filter.limit});
    c.params.emplace_back(int64_t{filter.offset});
    BindAll(*page, c.params);
    return ReadAll(*page, ReadBackup);
  });
}

Status SqliteStore::UpdateBackup(const Backup& backup) {
  return Run("update backup", [&] {
    SQLite::Statement q(*db_, std::string("UPDATE backups SET ") + kBackupMutableAssignments + " WHERE id = ?");
    BindFrom(q, BindBackupMutable(q, backup), backup.id);
    if (ExecChecked(q, ScheduleRef(backup.schedule_id)) == 0) Fail(NotFound("backup", backup.id));
  });
}

Status SqliteStore::UpdateBackupProgress(Id id, uint64_t progress_bytes) {
  return Run("update backup progress", [&] {
    ExecOne(*db_, "UPDATE backups SET progress_bytes = ? WHERE id = ?", NotFound("backup", id), U64(progress_bytes),
            id);
  });
}

Status SqliteStore::DeleteBackup(Id id) {
  return Run("delete backup",
             [&] { ExecOne(*db_, "DELETE FROM backups WHERE id = ?", NotFound("backup", id), id); });
}

Result<std::vector<Backup>> SqliteStore::ListUnfinishedBackups() {
  return Run("list unfinished backups", [&] {
    return QueryAll(*db_, Select(kBackupColumns, "FROM backups WHERE status IN ('queued', 'running') ORDER BY id"),
                    ReadBackup);
  });
}

Result<std::vector<Backup>> SqliteStore::ListCompletedBackups(Id instance_id) {
  return Run("list completed backups", [&] {
    return QueryAll(*db_,
                    Select(kBackupColumns,
                           "FROM backups WHERE instance_id = ? AND status = 'completed' "
                           "ORDER BY created_at DESC, id DESC"),
                    ReadBackup, instance_id);
  });
}

// Two index seeks per instance (backups_by_instance), whatever the number of
// backups; portable SQL (SQLite and PostgreSQL): correlated scalar subqueries
// with ORDER BY ... LIMIT 1, combined by UNION.
Result<std::vector<LatestBackups>> SqliteStore::ListLatestBackups() {
  return RunRead("list latest backups", [&] {
    std::vector<Backup> rows = QueryAll(
        *reader_statements_.Get(Select(kBackupColumns,
               "FROM backups WHERE id IN ("
               " SELECT (SELECT x.id FROM backups x WHERE x.instance_id = i.id"
               "         ORDER BY x.created_at DESC, x.id DESC LIMIT 1) FROM instances i"
               " UNION"
               " SELECT (SELECT x.id FROM backups x WHERE x.instance_id = i.id AND x.status = 'completed'"
               "         ORDER BY x.created_at DESC, x.id DESC LIMIT 1) FROM instances i)")),
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

}  // namespace clawback::controller::store::sqlite
