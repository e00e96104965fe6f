// The two transfer jobs (private to controller/jobs). Each runs one transfer
// to a final state on the calling worker thread, writes every state change
// to the store, and returns the final record. The service owns JobControl
// and may set its flags from any thread while the job runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "controller/jobs/transfers.h"
#include "controller/store/model.h"

namespace clawback::controller {

struct JobControl {
  std::atomic<bool> cancel{false};         // user asked to cancel, or shutdown
  std::atomic<bool> shutting_down{false};  // set with cancel by Shutdown()
  std::atomic<uint64_t> progress{0};       // bytes received (backup) or sent (restore)
  std::atomic<bool> running{false};
  // Set with cancel when the record was finished by someone else (canceled
  // on another replica, or failed by a survivor that saw this replica's
  // lease expire): the job then ends without writing its own final state.
  std::atomic<bool> finished_elsewhere{false};
};

// "<backups_dir>/<instance>/<file name>" (ArchiveRelativeName joined to the
// directory; see archive_location.h).
std::string ArchivePath(const std::string& backups_dir, const Backup& backup);

UnixTime NowUnix();

Backup RunBackupJob(Store& store, AgentConnector& agents, const TransferSettings& settings,
                    const Instance& instance, Backup backup, JobControl& control);

// OK when the target answers a probe now, within `timeout`; Conflict
// "instance web-2 is not running (unreachable: connection refused)".
Status CheckTargetLive(AgentConnector& agents, const Instance& target, std::chrono::milliseconds timeout);

// OK when the target's last known health (probed now if never probed) is
// "running"; Conflict "instance web-2 is not running (unreachable: ...)".
Status CheckTargetRunning(AgentConnector& agents, const Instance& target);

// `paths` (archive names) restores only those subtrees, re-encoded through
// settings.open_selection; empty restores the whole archive as stored.
// restore.dry_run asks the agent for a preview (no hooks, nothing written).
Restore RunRestoreJob(Store& store, AgentConnector& agents, const TransferSettings& settings,
                      const Backup& backup, const Instance& target, Restore restore,
                      const std::vector<std::string>& paths, JobControl& control);

}  // namespace clawback::controller
