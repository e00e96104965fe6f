// Scheduler: fires due slots, runs schedules on demand, applies retention.
//
// Exactly-once across crashes: a slot is persisted with
// Store::RecordScheduleFired BEFORE any backup of it is started, and the store
// refuses a slot that is not later than the recorded one. A crash between the
// record and the starts therefore loses that slot (its backups never start,
// and the next slot fires normally) rather than running it twice. Losing one
// run is visible (last_result says "firing", no backups carry the slot) and
// bounded; doubling would race a second full backup of every instance.
#include "controller/scheduler/scheduler.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "controller/clock.h"
#include "controller/jobs/backup_removal.h"
#include "controller/jobs/transfers.h"
#include "controller/scheduler/cron.h"
#include "controller/scheduler/fire_times.h"
#include "controller/scheduler/retention.h"
#include "controller/store/store.h"
#include "shared/log.h"
#include "shared/path_rules.h"

namespace clawback::controller {

Status ValidateSchedule(const Schedule& schedule) {
  if (schedule.name.empty()) return Status::InvalidArgument("name: must not be empty");
  if (schedule.name.size() > 100) return Status::InvalidArgument("name: longer than 100 characters");
  auto cron = ParseCron(schedule.cron);
  if (!cron.ok()) return cron.status();
  CLAWBACK_RETURN_IF_ERROR(ValidateTimeZone(schedule.timezone));
  auto paths = ResolveBackupPaths(schedule.paths);
  if (!paths.ok()) return paths.status().WithContext("paths");
  CLAWBACK_RETURN_IF_ERROR(ValidateRetention(schedule.retention));
  if (!schedule.all_instances && schedule.instance_ids.empty()) {
    return Status::InvalidArgument("instance_ids: select at least one instance, or all_instances");
  }
  return Status::Ok();
}

Result<std::vector<UnixTime>> NextRunTimes(const std::string& cron, const std::string& timezone,
                                           UnixTime after, int count) {
  auto parsed = ParseCron(cron);
  if (!parsed.ok()) return parsed.status();
  return FireTimesAfter(*parsed, timezone, after, count);
}

Result<std::string> DescribeCron(const std::string& cron) {
  auto parsed = ParseCron(cron);
  if (!parsed.ok()) return parsed.status();
  return DescribeCronExpr(*parsed);
}

void Scheduler::OnBackupFinished(const Backup& backup) {
  if (backup.status != BackupStatus::kCompleted || !backup.schedule_id) return;
  auto deleted = ApplyRetention(*backup.schedule_id, backup.instance_id);
  if (!deleted.ok() && deleted.status().code() != Status::Code::kNotFound) {
    log::Error("retention failed", {{"schedule_id", *backup.schedule_id},
                                    {"instance_id", backup.instance_id},
                                    {"error", deleted.status().message()}});
  }
}

namespace {

std::string DisplayTime(const std::string& zone, UnixTime t) {
  auto text = FormatLocalRfc3339(zone, t);
  return text.ok() ? *text : std::to_string(t);
}

std::string Duration(int64_t seconds) {
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

std::string Summarize(const ScheduleRun& run) {
  std::string out = "started " + std::to_string(run.started_backups.size()) +
                    (run.started_backups.size() == 1 ? " backup" : " backups");
  if (!run.skipped.empty()) {
    out += "; skipped " + std::to_string(run.skipped.size()) + ": ";
    for (size_t i = 0; i < run.skipped.size(); ++i) {
      if (i > 0) out += "; ";
      out += run.skipped[i];
    }
  }
  return out;
}

class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(Store& store, TransferService& transfers, const Clock& clock, SchedulerSettings settings)
      : store_(store), transfers_(transfers), clock_(clock), settings_(settings) {}
  ~SchedulerImpl() override { Stop(); }

  void Tick() override {
    if (!Leading()) return;
    std::lock_guard lock(fire_mu_);
    auto schedules = store_.ListSchedules();
    if (!schedules.ok()) {
      log::Error("scheduler: cannot list schedules", {{"error", schedules.status().message()}});
      return;
    }
    const UnixTime now = clock_.Now();
    for (const Schedule& schedule : *schedules) {
      // Leadership may end mid-tick; RecordScheduleFired still guards a slot.
      if (schedule.enabled && Leading()) TickOne(schedule, now);
    }
  }

  Result<ScheduleRun> RunNow(Id schedule_id) override {
    std::lock_guard lock(fire_mu_);
    auto schedule = store_.GetSchedule(schedule_id);
    if (!schedule.ok()) return schedule.status();
    const UnixTime now = clock_.Now();
    ScheduleRun run = StartBackups(*schedule, now);
    run.summary = "run now: " + run.summary;
    RecordResult(schedule_id, now, run.summary);
    return run;
  }

  Result<std::vector<Id>> ApplyRetention(Id schedule_id, Id instance_id) override {
    std::lock_guard lock(retention_mu_);
    auto schedule = store_.GetSchedule(schedule_id);
    if (!schedule.ok()) return schedule.status();
    std::vector<Id> deleted;
    if (schedule->retention.empty()) return deleted;
    auto completed = store_.ListCompletedBackups(instance_id);
    if (!completed.ok()) return completed.status();

    std::optional<Id> newest;
    const Backup* newest_backup = nullptr;
    std::vector<Backup> candidates;
    for (const Backup& b : *completed) {
      if (b.status != BackupStatus::kCompleted) continue;
      if (!newest_backup || b.created_at > newest_backup->created_at ||
          (b.created_at == newest_backup->created_at && b.id > newest_backup->id)) {
        newest_backup = &b;
      }
      if (b.schedule_id == schedule_id && b.instance_id == instance_id) candidates.push_back(b);
    }
    if (newest_backup) newest = newest_backup->id;

    auto verdicts = DecideRetention(schedule->retention, schedule_id, std::move(candidates), newest,
                                    schedule->timezone);
    if (!verdicts.ok()) return verdicts.status();
    for (const RetentionVerdict& v : *verdicts) {
      if (v.keep) continue;
      Status st = Prune(*schedule, v.backup);
      if (st.ok()) {
        deleted.push_back(v.backup.id);
      } else {
        log::Error("retention: prune failed", {{"backup_id", v.backup.id}, {"error", st.message()}});
      }
    }
    return deleted;
  }

  void Start() override {
    std::lock_guard lock(loop_mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
  }

  void Stop() override {
    {
      std::lock_guard lock(loop_mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  bool Leading() const { return !settings_.is_leader || settings_.is_leader(); }

  void Loop() {
    std::unique_lock lock(loop_mu_);
    while (!stop_) {
      lock.unlock();
      Tick();
      // The singleton background work (verification policy, drills,
      // protection alerts) follows the schedule: leader only.
      if (settings_.on_tick && Leading()) settings_.on_tick(clock_.Now());
      lock.lock();
      wake_.wait_for(lock, settings_.tick_interval, [this] { return stop_; });
    }
  }

  // Requires fire_mu_.
  void TickOne(const Schedule& schedule, UnixTime now) {
    auto cron = ParseCron(schedule.cron);
    if (!cron.ok()) {
      WarnOnce(schedule, cron.status());
      return;
    }
    // A fresh schedule starts from its creation: it never fires for the past.
    const UnixTime baseline = schedule.last_slot != 0 ? schedule.last_slot : schedule.created_at;
    if (now <= baseline) return;
    auto due = LatestFireTime(*cron, schedule.timezone, baseline, now);
    if (!due.ok()) {
      WarnOnce(schedule, due.status());
      return;
    }
    if (!due->has_value()) return;
    const UnixTime slot = **due;
    const std::string slot_text = DisplayTime(schedule.timezone, slot);

    if (now - slot > settings_.catch_up_grace.count()) {
      std::string result = "missed slot " + slot_text +
                           " (controller was down beyond the grace window of " +
                           Duration(settings_.catch_up_grace.count()) + ")";
      Status st = store_.RecordScheduleFired(schedule.id, slot, now, result);
      if (!st.ok()) {
        if (st.code() != Status::Code::kFailedPrecondition) {
          log::Error("scheduler: cannot record missed slot", {{"schedule_id", schedule.id}, {"error", st.message()}});
        }
        return;
      }
      log::Warn("scheduler: missed slot", {{"schedule_id", schedule.id}, {"schedule", schedule.name},
                                          {"slot", slot_text}});
      Audit(schedule, "schedule.fire", "missed", {{"slot", slot}, {"result", result}});
      if (settings_.on_missed) settings_.on_missed(schedule, result);
      return;
    }

    // Persist first: see the exactly-once note at the top of this file.
    Status st = store_.RecordScheduleFired(schedule.id, slot, now, "firing slot " + slot_text);
    if (!st.ok()) {
      // FailedPrecondition: the slot was already handled (another scheduler
      // instance or a stale read). Either way, do not start anything.
      if (st.code() != Status::Code::kFailedPrecondition) {
        log::Error("scheduler: cannot record slot", {{"schedule_id", schedule.id}, {"error", st.message()}});
      }
      return;
    }
    ScheduleRun run = StartBackups(schedule, slot);
    run.summary = "slot " + slot_text + ": " + run.summary;
    if (now - slot >= 60) run.summary += " (caught up " + Duration(now - slot) + " late)";
    RecordResult(schedule.id, now, run.summary);
    log::Info("scheduler: fired", {{"schedule_id", schedule.id}, {"schedule", schedule.name},
                                   {"slot", slot_text}, {"started", run.started_backups.size()},
                                   {"skipped", run.skipped.size()}});
    Audit(schedule, "schedule.fire", "ok",
          {{"slot", slot}, {"backups", run.started_backups}, {"skipped", run.skipped}});
  }

  // Resolves the instances at firing time and starts one backup each.
  ScheduleRun StartBackups(const Schedule& schedule, UnixTime slot) {
    ScheduleRun run;
    run.slot = slot;
    auto paths = ResolveBackupPaths(schedule.paths);
    if (!paths.ok()) {
      run.summary = "failed: paths: " + paths.status().message();
      return run;
    }
    std::vector<Instance> instances;
    if (schedule.all_instances) {
      auto all = store_.ListInstances();
      if (!all.ok()) {
        run.summary = "failed: cannot list instances: " + all.status().message();
        return run;
      }
      instances = std::move(*all);
    } else {
      for (Id id : schedule.instance_ids) {
        auto instance = store_.GetInstance(id);
        if (instance.ok()) {
          instances.push_back(std::move(*instance));
        } else if (instance.status().code() == Status::Code::kNotFound) {
          run.skipped.push_back("instance " + std::to_string(id) + ": skipped, it no longer exists");
        } else {
          run.skipped.push_back("instance " + std::to_string(id) + ": skipped, " + instance.status().message());
        }
      }
    }
    for (const Instance& instance : instances) {
      BackupRequest request;
      request.instance = instance;
      request.paths = *paths;
      request.excludes = schedule.excludes;
      request.exclude_presets = schedule.exclude_presets;
      request.strict = schedule.strict;
      request.note = schedule.note;
      request.created_by = 0;
      request.created_by_name = "schedule:" + schedule.name;
      request.schedule_id = schedule.id;
      auto backup = transfers_.StartBackup(request, /*skip_if_busy=*/true);
      if (backup.ok()) {
        run.started_backups.push_back(backup->id);
      } else if (backup.status().code() == Status::Code::kConflict) {
        run.skipped.push_back(instance.name + ": skipped, a transfer is already queued or running");
      } else {
        run.skipped.push_back(instance.name + ": failed to start: " + backup.status().message());
      }
    }
    run.summary = Summarize(run);
    return run;
  }

  // Stores last_result/last_run_at; never touches last_slot.
  void RecordResult(Id schedule_id, UnixTime now, const std::string& summary) {
    Status st = store_.RecordScheduleResult(schedule_id, now, summary);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {  // NotFound: deleted meanwhile
      log::Error("scheduler: cannot store result", {{"schedule_id", schedule_id}, {"error", st.message()}});
    }
  }

  // Removes the record, then the archive (RemoveBackup); audits the prune.
  Status Prune(const Schedule& schedule, const Backup& backup) {
    nlohmann::json detail = {{"schedule_id", schedule.id}, {"schedule", schedule.name},
                             {"instance", backup.instance_name}, {"file", backup.file_path}};
    Status st = settings_.archives ? RemoveBackup(store_, *settings_.archives, backup)
                                   : RemoveBackup(store_, settings_.backups_dir, backup);
    if (!st.ok() && st.code() != Status::Code::kNotFound) {
      Audit(schedule, "backup.prune", "failed: " + st.message(), detail, backup.id);
      return st;
    }
    log::Info("retention: pruned backup", {{"backup_id", backup.id}, {"schedule", schedule.name},
                                           {"instance", backup.instance_name}});
    Audit(schedule, "backup.prune", "ok", detail, backup.id);
    return Status::Ok();
  }

  void Audit(const Schedule& schedule, const std::string& action, const std::string& outcome,
             const nlohmann::json& detail, std::optional<Id> backup_id = std::nullopt) {
    AuditEvent event;
    event.at = clock_.Now();
    event.actor_id = 0;
    event.actor = "scheduler";
    event.action = action;
    event.target = backup_id ? "backup:" + std::to_string(*backup_id) : "schedule:" + schedule.name;
    event.outcome = outcome;
    event.detail_json = detail.dump();
    Status st = store_.AppendAudit(event);
    if (!st.ok()) log::Error("scheduler: cannot append audit event", {{"error", st.message()}});
  }

  // Requires fire_mu_. A stored schedule that no longer parses (edited in the
  // database, or a zone removed from tzdata) is reported once, not every tick.
  void WarnOnce(const Schedule& schedule, const Status& status) {
    std::string key = schedule.cron + "|" + schedule.timezone;
    auto it = warned_.find(schedule.id);
    if (it != warned_.end() && it->second == key) return;
    warned_[schedule.id] = key;
    log::Error("scheduler: schedule cannot be evaluated",
               {{"schedule_id", schedule.id}, {"schedule", schedule.name}, {"error", status.message()}});
  }

  Store& store_;
  TransferService& transfers_;
  const Clock& clock_;
  const SchedulerSettings settings_;

  std::mutex fire_mu_;                 // serializes Tick and RunNow
  std::map<Id, std::string> warned_;   // guarded by fire_mu_
  std::mutex retention_mu_;            // serializes ApplyRetention (separate: may run from a transfer thread)

  std::mutex loop_mu_;                 // guards stop_ and thread_ start
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Scheduler> MakeScheduler(Store& store, TransferService& transfers, const Clock& clock,
                                         SchedulerSettings settings) {
  return std::make_unique<SchedulerImpl>(store, transfers, clock, settings);
}

}  // namespace clawback::controller
