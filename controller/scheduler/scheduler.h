// Scheduled backups: cron expressions in an IANA time zone, firing each due
// slot exactly once (also across restarts), and per-schedule retention.
//
// Facade used by the API and by `clawback serve`. Cron parsing, time-zone
// arithmetic and retention live in their own files (cron.h, retention.h).
// Thread-safe; Tick() is what the background loop calls every few seconds and
// what tests call directly with a FakeClock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller {
namespace storage {
class ArchiveStorage;
}

class Clock;
class Store;
class TransferService;

struct ScheduleRun {
  UnixTime slot = 0;                  // the scheduled time that fired (or now for run-now)
  std::vector<Id> started_backups;
  std::vector<std::string> skipped;   // "web-1: a transfer is already running" ...
  std::string summary;                // what last_result records
};

// Validates a schedule's user-editable fields: cron (5 fields or macro),
// timezone (IANA), paths (ResolveBackupPaths), retention (non-negative),
// name (non-empty), instances (non-empty unless all_instances). The error
// names the bad field: "cron: day-of-week value 8 out of range 0-7".
Status ValidateSchedule(const Schedule& schedule);

// The next `count` fire times strictly after `after`, as UTC seconds, for a
// cron expression evaluated in `timezone`. InvalidArgument naming the field.
Result<std::vector<UnixTime>> NextRunTimes(const std::string& cron, const std::string& timezone,
                                           UnixTime after, int count);

// "At 02:00 every day" ... a plain-language reading for the dashboard/CLI.
Result<std::string> DescribeCron(const std::string& cron);

struct SchedulerSettings {
  std::chrono::seconds catch_up_grace{3600};  // missed slots within this fire one catch-up run
  std::chrono::seconds tick_interval{5};
  std::string backups_dir;  // canonical (ResolveBackupsDir): where pruned backups' archives are
  // Where archives are kept; when set it is used instead of backups_dir
  // (object storage: locked archives are skipped, see RemoveBackup).
  std::shared_ptr<storage::ArchiveStorage> archives;
  // Run on the scheduler's thread: after every Tick() of the background loop
  // (verification upkeep, protection alerts), and when a slot is recorded
  // as missed (alerts). Must return quickly. Either may be null.
  std::function<void(UnixTime now)> on_tick;
  std::function<void(const Schedule& schedule, const std::string& result)> on_missed;
  // Several replicas on one store (issue 18): Tick() fires slots, and the
  // loop calls on_tick, only while this answers true (LeaderLease::
  // IsLeader). Null: always (the only controller). RunNow is not gated.
  std::function<bool()> is_leader;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Does nothing unless settings.is_leader (when set) answers true.
  // Fires every enabled schedule whose next slot after its last_slot is due
  // at clock.Now(); several missed slots collapse into one run (only if the
  // newest missed slot is within catch_up_grace; otherwise they are recorded
  // as skipped). Busy instances are skipped with a reason.
  virtual void Tick() = 0;
  // Runs a schedule now regardless of its cron; does not move last_slot.
  virtual Result<ScheduleRun> RunNow(Id schedule_id) = 0;
  // Applies the schedule's retention to one instance's backups made by it:
  // deletes (record, then file: RemoveBackup) what no keep rule keeps, never the newest
  // completed backup of the instance, never manual or other schedules'.
  // Called after each of its backups completes. Returns deleted ids.
  virtual Result<std::vector<Id>> ApplyRetention(Id schedule_id, Id instance_id) = 0;
  // The retention hook for TransferObserver::on_backup_finished (wired in
  // main.cc): when `backup` is completed and has a schedule_id, applies that
  // schedule's retention to its instance. Other backups are ignored. Errors
  // are logged, never thrown; safe to call from any thread.
  void OnBackupFinished(const Backup& backup);
  virtual void Start() = 0;  // background thread calling Tick()
  virtual void Stop() = 0;
};

std::unique_ptr<Scheduler> MakeScheduler(Store& store, TransferService& transfers, const Clock& clock,
                                         SchedulerSettings settings);

}  // namespace clawback::controller
