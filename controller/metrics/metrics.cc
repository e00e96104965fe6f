#include "controller/metrics/metrics.h"

#include <map>
#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace clawback::controller {

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Counter>& backups =
      prometheus::BuildCounter().Name("clawback_backups_total").Help("Backups that reached a final state, by status").Register(*registry);
  prometheus::Family<prometheus::Counter>& restores =
      prometheus::BuildCounter().Name("clawback_restores_total").Help("Restores that reached a final state, by status").Register(*registry);
  prometheus::Counter& bytes_written =
      prometheus::BuildCounter()
          .Name("clawback_backup_bytes_written_total")
          .Help("Archive bytes written by completed backups")
          .Register(*registry)
          .Add({});
  prometheus::Histogram& duration =
      prometheus::BuildHistogram()
          .Name("clawback_backup_duration_seconds")
          .Help("Time from start to final state of backups that ran")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400});
  prometheus::Gauge& running =
      prometheus::BuildGauge().Name("clawback_transfers_running").Help("Backups and restores running now").Register(*registry).Add({});
  prometheus::Gauge& queued =
      prometheus::BuildGauge().Name("clawback_transfers_queued").Help("Backups and restores waiting to run").Register(*registry).Add({});
  prometheus::Family<prometheus::Gauge>& last_success =
      prometheus::BuildGauge()
          .Name("clawback_last_successful_backup_timestamp_seconds")
          .Help("Completion time (Unix seconds) of each instance's latest completed backup")
          .Register(*registry);

  std::mutex mu;
  std::map<std::string, prometheus::Gauge*> last_success_by_instance;  // guarded by mu

  void SetLastSuccess(const std::string& instance, UnixTime at) {
    std::lock_guard lock(mu);
    prometheus::Gauge*& gauge = last_success_by_instance[instance];
    if (gauge == nullptr) gauge = &last_success.Add({{"instance", instance}});
    if (static_cast<double>(at) > gauge->Value()) gauge->Set(static_cast<double>(at));
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::OnBackupFinished(const Backup& backup) {
  impl_->backups.Add({{"status", std::string(BackupStatusName(backup.status))}}).Increment();
  if (backup.started_at > 0 && backup.completed_at >= backup.started_at) {
    impl_->duration.Observe(static_cast<double>(backup.completed_at - backup.started_at));
  }
  if (backup.status == BackupStatus::kCompleted) {
    impl_->bytes_written.Increment(static_cast<double>(backup.size_bytes));
    impl_->SetLastSuccess(backup.instance_name, backup.completed_at);
  }
}

void Metrics::OnRestoreFinished(const Restore& restore) {
  impl_->restores.Add({{"status", std::string(BackupStatusName(restore.status))}}).Increment();
}

void Metrics::SetTransfers(int running, int queued) {
  impl_->running.Set(running);
  impl_->queued.Set(queued);
}

void Metrics::RecordLastSuccess(const std::string& instance_name, UnixTime completed_at) {
  impl_->SetLastSuccess(instance_name, completed_at);
}

void Metrics::ForgetInstance(const std::string& instance_name) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->last_success_by_instance.find(instance_name);
  if (it == impl_->last_success_by_instance.end()) return;
  impl_->last_success.Remove(it->second);
  impl_->last_success_by_instance.erase(it);
}

std::string Metrics::Render() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace clawback::controller
