// SqliteStore: backup schedules (table schedules). A schedule's definition
// is edited by UpdateSchedule; its run state (last_slot, last_run_at,
// last_result) only by RecordScheduleFired and RecordScheduleResult, and
// last_slot only ever advances, which makes firing exactly-once.
#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kScheduleColumns =
    "id, name, all_instances, instance_ids_json, cron, timezone, paths_json, note, enabled, keep_last, "
    "keep_hourly, keep_daily, keep_weekly, keep_monthly, created_by, created_at, last_slot, last_run_at, "
    "last_result, excludes_json, exclude_presets_json, strict, verify_after_backup";

Schedule ReadSchedule(SQLite::Statement& q) {
  Schedule s;
  s.id = q.getColumn(0).getInt64();
  s.name = q.getColumn(1).getString();
  s.all_instances = q.getColumn(2).getInt() != 0;
  s.instance_ids = JsonToIds(q.getColumn(3).getString(), "schedules.instance_ids_json");
  s.cron = q.getColumn(4).getString();
  s.timezone = q.getColumn(5).getString();
  s.paths = JsonToStrings(q.getColumn(6).getString(), "schedules.paths_json");
  s.note = q.getColumn(7).getString();
  s.enabled = q.getColumn(8).getInt() != 0;
  s.retention.keep_last = q.getColumn(9).getInt();
  s.retention.keep_hourly = q.getColumn(10).getInt();
  s.retention.keep_daily = q.getColumn(11).getInt();
  s.retention.keep_weekly = q.getColumn(12).getInt();
  s.retention.keep_monthly = q.getColumn(13).getInt();
  s.created_by = q.getColumn(14).getInt64();
  s.created_at = q.getColumn(15).getInt64();
  s.last_slot = q.getColumn(16).getInt64();
  s.last_run_at = q.getColumn(17).getInt64();
  s.last_result = q.getColumn(18).getString();
  s.excludes = JsonToStrings(q.getColumn(19).getString(), "schedules.excludes_json");
  s.exclude_presets = JsonToStrings(q.getColumn(20).getString(), "schedules.exclude_presets_json");
  s.strict = q.getColumn(21).getInt() != 0;
  s.verify_after_backup = q.getColumn(22).getInt() != 0;
  return s;
}

// The schedule's definition, in the order BindScheduleDefinition binds it;
// the run state is left out so an edit can never move last_slot back.
constexpr const char* kScheduleDefinitionAssignments =
    "name = ?, all_instances = ?, instance_ids_json = ?, cron = ?, timezone = ?, paths_json = ?, note = ?, "
    "enabled = ?, keep_last = ?, keep_hourly = ?, keep_daily = ?, keep_weekly = ?, keep_monthly = ?, "
    "created_by = ?, excludes_json = ?, exclude_presets_json = ?, strict = ?, verify_after_backup = ?";

// Binds from parameter 1; returns the next index.
int BindScheduleDefinition(SQLite::Statement& q, const Schedule& s) {
  const RetentionPolicy& keep = s.retention;
  return BindFrom(q, 1, s.name, s.all_instances, IdsToJson(s.instance_ids), s.cron, s.timezone,
                  StringsToJson(s.paths), s.note, s.enabled, keep.keep_last, keep.keep_hourly, keep.keep_daily,
                  keep.keep_weekly, keep.keep_monthly, s.created_by, StringsToJson(s.excludes),
                  StringsToJson(s.exclude_presets), s.strict, s.verify_after_backup);
}

Schedule LoadSchedule(SQLite::Database& db, Id id) {
  return QueryOne(db, Select(kScheduleColumns, "FROM schedules WHERE id = ?"), ReadSchedule,
                  NotFound("schedule", id), id);
}

}  // namespace

Result<Schedule> SqliteStore::CreateSchedule(const Schedule& schedule) {
  return Run("create schedule", [&] {
    Schedule s = schedule;
    s.created_at = OrNow(s.created_at);
    SQLite::Statement q(*db_,
                        "INSERT INTO schedules (name, all_instances, instance_ids_json, cron, timezone, paths_json, "
                        "note, enabled, keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, created_by, "
                        "excludes_json, exclude_presets_json, strict, verify_after_backup, created_at, last_slot, last_run_at, "
                        "last_result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    BindFrom(q, BindScheduleDefinition(q, s), s.created_at, s.last_slot, s.last_run_at, s.last_result);
    q.exec();
    s.id = db_->getLastInsertRowid();
    return s;
  });
}

Result<Schedule> SqliteStore::GetSchedule(Id id) {
  return Run("get schedule", [&] { return LoadSchedule(*db_, id); });
}

Result<std::vector<Schedule>> SqliteStore::ListSchedules() {
  return Run("list schedules", [&] {
    return QueryAll(*db_, Select(kScheduleColumns, "FROM schedules ORDER BY id"), ReadSchedule);
  });
}

Status SqliteStore::UpdateSchedule(const Schedule& schedule) {
  return Run("update schedule", [&] {
    SQLite::Statement q(*db_, std::string("UPDATE schedules SET ") + kScheduleDefinitionAssignments + " WHERE id = ?");
    BindFrom(q, BindScheduleDefinition(q, schedule), schedule.id);
    if (q.exec() == 0) Fail(NotFound("schedule", schedule.id));
  });
}

Status SqliteStore::DeleteSchedule(Id id) {
  return Run("delete schedule", [&] {
    // Its backups keep existing with schedule_id NULL (ON DELETE SET NULL).
    ExecOne(*db_, "DELETE FROM schedules WHERE id = ?", NotFound("schedule", id), id);
  });
}

Status SqliteStore::RecordScheduleFired(Id id, UnixTime slot, UnixTime ran_at, const std::string& result) {
  return Run("record schedule run", [&] {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    int changed = Exec(*db_,
                       "UPDATE schedules SET last_slot = ?, last_run_at = ?, last_result = ? "
                       "WHERE id = ? AND last_slot < ?",
                       slot, ran_at, result, id, slot);
    if (changed == 0) {
      Schedule s = LoadSchedule(*db_, id);  // NotFound when missing
      Fail(Status::FailedPrecondition("schedule " + std::to_string(id) + ": slot " + std::to_string(slot) +
                                      " already handled (last slot " + std::to_string(s.last_slot) + ")"));
    }
    tx.commit();
  });
}

Status SqliteStore::RecordScheduleResult(Id id, UnixTime ran_at, const std::string& result) {
  return Run("record schedule result", [&] {
    ExecOne(*db_, "UPDATE schedules SET last_run_at = ?, last_result = ? WHERE id = ?", NotFound("schedule", id),
            ran_at, result, id);
  });
}

}  // namespace clawback::controller::store::sqlite
