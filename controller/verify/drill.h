// Restore drills: proving a backup restores. The stored archive streams to an
// agent (the backup's own instance, or another one an admin names) exactly
// as a restore streams it — every block checked against its digest before it
// is sent, the whole-file SHA-256 before the last — but to POST /v1/drill
// (shared/drill_protocol.h): the agent extracts into a scratch directory of
// its own configuration, checks every file against the archive's index and
// every SQLite database with integrity_check, removes the tree and answers
// with entries, bytes, time and mismatches. The outcome is the backup's
// BackupCheck of kind drill (running -> passed | failed).
//
// At most `max_concurrent` drills run at once (own worker threads, not the
// transfer queue: a drill touches no live path, so it never blocks an
// instance's backups; the agent's own transfer cap still applies). One
// drill per backup at a time. Thread-safe; `on_finished` runs on a worker.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "controller/store/model.h"
#include "controller/store/trust_model.h"
#include "controller/storage/archive_storage.h"
#include "shared/status.h"

namespace clawback::controller {

class Store;
class AgentConnector;

struct DrillSettings {
  std::string backups_dir;
  // Where archives are kept; when set, used instead of backups_dir.
  std::shared_ptr<storage::ArchiveStorage> archives;
  int max_concurrent = 1;                 // --drill-concurrency
  std::chrono::seconds stall_timeout{60};
  std::string replica_id;                 // recorded as each check's owner ("" : none)
};

class DrillService {
 public:
  virtual ~DrillService() = default;
  // Records the drill `running` and queues it. FailedPrecondition unless the
  // backup is completed; Conflict when one is already queued or running for
  // it; Unavailable once shutting down.
  virtual Result<BackupCheck> Start(const Backup& backup, const Instance& target) = 0;
  virtual bool Active(Id backup_id) const = 0;
  virtual void Shutdown() = 0;
};

std::unique_ptr<DrillService> MakeDrillService(
    Store& store, AgentConnector& agents, DrillSettings settings,
    std::function<void(const Backup&, const Instance&, const BackupCheck&)> on_finished);

}  // namespace clawback::controller
