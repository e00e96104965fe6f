// Prometheus metrics for the controller, served as text at /metrics.
//
//   clawback_backups_total{status}                        counter (completed|failed|canceled)
//   clawback_backup_bytes_written_total                   counter (archive bytes of completed backups)
//   clawback_backup_duration_seconds                      histogram (started -> final, finished backups)
//   clawback_restores_total{status}                       counter
//   clawback_transfers_running / clawback_transfers_queued gauges
//   clawback_last_successful_backup_timestamp_seconds{instance} gauge
//
// Wire OnBackupFinished/OnRestoreFinished to the TransferObserver, call
// SetTransfers (e.g. from the /metrics handler, with the service's counts)
// and RecordLastSuccess at startup from the store. Thread-safe: the
// prometheus-cpp metrics are; `mu_` in the implementation guards the
// per-instance gauge map. The implementation (prometheus-cpp) stays out of
// this header.
#pragma once

#include <memory>
#include <string>

#include "controller/store/model.h"

namespace clawback::controller {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A backup reached a final state (completed, failed or canceled).
  void OnBackupFinished(const Backup& backup);
  void OnRestoreFinished(const Restore& restore);
  void SetTransfers(int running, int queued);
  // Sets the last-success gauge without counting a backup (startup seeding).
  void RecordLastSuccess(const std::string& instance_name, UnixTime completed_at);
  // Drops the per-instance series of a removed instance.
  void ForgetInstance(const std::string& instance_name);

  // Prometheus text exposition format (version 0.0.4).
  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clawback::controller
