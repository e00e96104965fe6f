// Verification jobs: re-reading a stored archive on request or on a
// schedule and recording the outcome on the backup (BackupCheck kind
// verify: running -> passed | failed, with the error naming the problem).
// The checks themselves are archive_verifier.h.
//
// Verifications run on their own worker threads (`workers`, default 1), never
// on a transfer slot, so they cannot hold up a backup or restore in the
// transfer queue. They are paced at `bytes_per_second` and wait while
// `should_pause` says the transfer machinery is saturated (every transfer
// slot busy), so they never compete with backups for the disk at full speed.
// One verification per backup at a time; others queue FIFO.
//
// Thread-safe; methods return quickly. `on_finished` runs on a worker thread
// after the final record is stored (audit, webhooks, metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "controller/store/model.h"
#include "controller/store/trust_model.h"
#include "controller/storage/archive_storage.h"
#include "shared/status.h"

namespace clawback::controller {

class Store;

struct VerificationSettings {
  std::string backups_dir;          // canonical; records name archives relative to it
  // Where archives are kept; when set, used instead of backups_dir
  // (object storage: ranged reads).
  std::shared_ptr<storage::ArchiveStorage> archives;
  uint64_t bytes_per_second = 0;    // 0: unlimited
  int workers = 1;
  std::string replica_id;           // recorded as each check's owner ("" : none)
};

struct VerificationHooks {
  std::function<bool()> should_pause;  // null: never pause
  std::function<void(const Backup&, const BackupCheck&)> on_finished;
};

class VerificationService {
 public:
  virtual ~VerificationService() = default;
  // Records the backup's verification as `running` and queues it.
  // FailedPrecondition unless the backup is completed; Conflict when it is
  // already queued or running; Unavailable once shutting down.
  virtual Result<BackupCheck> Start(const Backup& backup) = 0;
  virtual bool Active(Id backup_id) const = 0;
  virtual int QueuedOrRunning() const = 0;
  // Cancels running passes (they end failed "controller shutting down"),
  // fails queued ones the same way, joins the workers. Idempotent.
  virtual void Shutdown() = 0;
};

std::unique_ptr<VerificationService> MakeVerificationService(Store& store, VerificationSettings settings,
                                                             VerificationHooks hooks);

}  // namespace clawback::controller
