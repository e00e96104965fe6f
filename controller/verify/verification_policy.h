// When verifications start on their own (TrustSettings): each backup right
// after it completes (verify_after_backup globally, or per schedule for the
// backups a schedule with verify_after_backup makes), backups whose last verification
// is older than reverify_after_days (or that never had one), and once a day
// a random sample of daily_sample_percent of all completed backups.
//
// OnBackupFinished is wired to the transfer observer; OnTick to the
// scheduler's loop (SchedulerSettings::on_tick), which calls it every few
// seconds: the scans run at most once per `scan_interval`. With a
// DrillService and drill_every_days, the same scan starts a restore drill of
// each instance's newest completed backup when none of its backups had a
// drill for that long (the service's concurrency cap applies). Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

#include "controller/store/model.h"
#include "controller/verify/trust_settings.h"

namespace clawback::controller {

class Store;
class VerificationService;
class DrillService;

class VerificationPolicy {
 public:
  VerificationPolicy(Store& store, VerificationService& verifier, DrillService* drills, TrustSettings settings,
                     std::chrono::seconds scan_interval)
      : store_(store), verifier_(verifier), drills_(drills), settings_(settings), scan_interval_(scan_interval) {}

  void OnBackupFinished(const Backup& backup);
  void OnTick(UnixTime now);

 private:
  void Reverify(UnixTime now);
  void Sample(UnixTime now);
  void Drill(UnixTime now);

  Store& store_;
  VerificationService& verifier_;
  DrillService* const drills_;  // may be null
  const TrustSettings settings_;
  const std::chrono::seconds scan_interval_;
  std::mutex mu_;             // guards the two below
  UnixTime last_scan_ = 0;
  int64_t last_sample_day_ = -1;  // UTC day number of the last daily sample
};

}  // namespace clawback::controller
