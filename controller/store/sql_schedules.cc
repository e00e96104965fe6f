// SqlStore: backup schedules (table schedules). A schedule's definition
// is edited by UpdateSchedule; its run state (last_slot, last_run_at,
// last_result) only by RecordScheduleFired and RecordScheduleResult, and
// last_slot only ever advances, which makes firing exactly-once.
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kScheduleColumns =
    "id, name, all_instances, instance_ids_json, cron, timezone, paths_json, note, enabled, keep_last, "
    "keep_hourly, keep_daily, keep_weekly, keep_monthly, created_by, created_at, last_slot, last_run_at, "
    "last_result, excludes_json, exclude_presets_json, strict, verify_after_backup";

Schedule ReadSchedule(const Statement& q) {
  Schedule s;
  s.id = q.Int64(0);
  s.name = q.Text(1);
  s.all_instances = q.Int(2) != 0;
  s.instance_ids = JsonToIds(q.Text(3), "schedules.instance_ids_json");
  s.cron = q.Text(4);
  s.timezone = q.Text(5);
  s.paths = JsonToStrings(q.Text(6), "schedules.paths_json");
  s.note = q.Text(7);
  s.enabled = q.Int(8) != 0;
  s.retention.keep_last = q.Int(9);
  s.retention.keep_hourly = q.Int(10);
  s.retention.keep_daily = q.Int(11);
  s.retention.keep_weekly = q.Int(12);
  s.retention.keep_monthly = q.Int(13);
  s.created_by = q.Int64(14);
  s.created_at = q.Int64(15);
  s.last_slot = q.Int64(16);
  s.last_run_at = q.Int64(17);
  s.last_result = q.Text(18);
  s.excludes = JsonToStrings(q.Text(19), "schedules.excludes_json");
  s.exclude_presets = JsonToStrings(q.Text(20), "schedules.exclude_presets_json");
  s.strict = q.Int(21) != 0;
  s.verify_after_backup = q.Int(22) != 0;
  return s;
}

// The schedule's definition, in the order BindScheduleDefinition binds it;
// the run state is left out so an edit can never move last_slot back.
constexpr const char* kScheduleDefinitionAssignments =
    "name = ?, all_instances = ?, instance_ids_json = ?, cron = ?, timezone = ?, paths_json = ?, note = ?, "
    "enabled = ?, keep_last = ?, keep_hourly = ?, keep_daily = ?, keep_weekly = ?, keep_monthly = ?, "
    "created_by = ?, excludes_json = ?, exclude_presets_json = ?, strict = ?, verify_after_backup = ?";

// Binds from parameter 1; returns the next index.
int BindScheduleDefinition(Statement& q, const Schedule& s) {
  const RetentionPolicy& keep = s.retention;
  return BindFrom(q, 1, s.name, s.all_instances, IdsToJson(s.instance_ids), s.cron, s.timezone,
                  StringsToJson(s.paths), s.note, s.enabled, keep.keep_last, keep.keep_hourly, keep.keep_daily,
                  keep.keep_weekly, keep.keep_monthly, s.created_by, StringsToJson(s.excludes),
                  StringsToJson(s.exclude_presets), s.strict, s.verify_after_backup);
}

Schedule LoadSchedule(Connection& db, Id id) {
  return QueryOne(db, Select(kScheduleColumns, "FROM schedules WHERE id = ?"), ReadSchedule,
                  NotFound("schedule", id), id);
}

}  // namespace

Result<Schedule> SqlStore::CreateSchedule(const Schedule& schedule) {
  return Run("create schedule", [&](Connection& db) {
    Schedule s = schedule;
    s.created_at = OrNow(s.created_at);
    auto q = db.Prepare(
                        "INSERT INTO schedules (name, all_instances, instance_ids_json, cron, timezone, paths_json, "
                        "note, enabled, keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, created_by, "
                        "excludes_json, exclude_presets_json, strict, verify_after_backup, created_at, last_slot, last_run_at, "
                        "last_result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    BindFrom(*q, BindScheduleDefinition(*q, s), s.created_at, s.last_slot, s.last_run_at, s.last_result);
    s.id = InsertReturningId(*q, {});
    return s;
  });
}

Result<Schedule> SqlStore::GetSchedule(Id id) {
  return Run("get schedule", [&](Connection& db) { return LoadSchedule(db, id); });
}

Result<std::vector<Schedule>> SqlStore::ListSchedules() {
  return Run("list schedules", [&](Connection& db) {
    return QueryAll(db, Select(kScheduleColumns, "FROM schedules ORDER BY id"), ReadSchedule);
  });
}

Status SqlStore::UpdateSchedule(const Schedule& schedule) {
  return Run("update schedule", [&](Connection& db) {
    auto q = db.Prepare(std::string("UPDATE schedules SET ") + kScheduleDefinitionAssignments + " WHERE id = ?");
    BindFrom(*q, BindScheduleDefinition(*q, schedule), schedule.id);
    if (q->Execute() == 0) Fail(NotFound("schedule", schedule.id));
  });
}

Status SqlStore::DeleteSchedule(Id id) {
  return Run("delete schedule", [&](Connection& db) {
    // Its backups keep existing with schedule_id NULL (ON DELETE SET NULL).
    ExecOne(db, "DELETE FROM schedules WHERE id = ?", NotFound("schedule", id), id);
  });
}

Status SqlStore::RecordScheduleFired(Id id, UnixTime slot, UnixTime ran_at, const std::string& result) {
  return Run("record schedule run", [&](Connection& db) {
    Transaction tx(db);
    int64_t changed = Exec(db,
                       "UPDATE schedules SET last_slot = ?, last_run_at = ?, last_result = ? "
                       "WHERE id = ? AND last_slot < ?",
                       slot, ran_at, result, id, slot);
    if (changed == 0) {
      Schedule s = LoadSchedule(db, id);  // NotFound when missing
      Fail(Status::FailedPrecondition("schedule " + std::to_string(id) + ": slot " + std::to_string(slot) +
                                      " already handled (last slot " + std::to_string(s.last_slot) + ")"));
    }
    tx.Commit();
  });
}

Status SqlStore::RecordScheduleResult(Id id, UnixTime ran_at, const std::string& result) {
  return Run("record schedule result", [&](Connection& db) {
    ExecOne(db, "UPDATE schedules SET last_run_at = ?, last_result = ? WHERE id = ?", NotFound("schedule", id),
            ran_at, result, id);
  });
}

}  // namespace clawback::controller::store::sql
