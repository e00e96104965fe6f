// Transfers: the controller's backup and restore jobs.
//
// A backup streams an agent's tar+zstd output straight to
// <backups_dir>/<instance>/<instance>-<id>-<UTC yyyymmdd-hhmmss>.tar.zst.partial,
// checks the agent's trailers (status, byte count, SHA-256) against what
// arrived, fsyncs, stores per-block digests beside it (<file>.blocks),
// renames to the final name, fsyncs the directory, and only then marks the
// record `completed`. Any failure marks it `failed` with a message a user can
// act on and removes the partial file. A restore streams the archive to the
// target's agent checking every block against its digest before sending it
// (and the whole-file SHA-256 before the last block), so no unverified byte
// reaches the agent; archives without block digests, and small ones, are
// checked whole before the agent is contacted.
//
// Each transfer's TLS I/O runs blocking on its worker thread, many records
// per wake-up; disk writes, hashing and progress records run on a second
// thread per transfer (see background_archive_writer.h,
// verified_archive_reader.h).
//
// Scheduling: at most `max_concurrent` transfers run at once across all
// instances and at most one per instance; others wait `queued` in FIFO order.
// A transfer fails when no byte moves for `stall_timeout` (never a total
// duration limit). Threads: transfers run on an internal pool; all methods are
// thread-safe and return quickly (they never wait for a transfer).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller {

class Store;
class AgentConnector;
class Clock;

class ArchiveProvider;
namespace storage {
class ArchiveStorage;
}

// Checks a just-received format 2 archive's index and stores it beside the
// archive (controller/browse IndexWrittenArchive): (written .partial path,
// final archive path, entries the agent reported, archive sha256).
using ArchiveIndexer = std::function<Status(const std::string&, const std::string&, uint64_t, const std::string&)>;
// Indexes a format 2 archive already published to object storage and
// stores its ".index" beside it (controller/browse IndexStoredArchive):
// (archive name, entries the agent reported, its digests).
struct BlockDigests;
using StoredArchiveIndexer = std::function<Status(const std::string&, uint64_t, const BlockDigests&)>;
// Opens the selected paths ("home/claworc/x" archive names) of a completed
// backup as a verified .tar.zst stream (controller/browse SubtreeArchive).
using SelectionOpener =
    std::function<Result<std::unique_ptr<ArchiveProvider>>(const Backup&, const std::vector<std::string>&)>;

// Several controller replicas on one store (issue 18). Every transfer record
// names the replica that owns it and a lease the owner renews every
// `heartbeat`; a transfer starts only after the store granted it a slot
// (Store::ClaimTransfer), so `max_concurrent` and one-transfer-per-instance
// hold across replicas. Each replica also sweeps, every `heartbeat`, for
// transfers of replicas that stopped: queued backups and restores whose
// owner's lease expired (or was released by a clean stop) are adopted and
// run here, each by one replica; running ones are marked failed
// ("interrupted: controller replica <id> stopped") and their unfinished
// archive discarded. An empty `id` is the single-controller mode of old: no
// claims, no leases, no sweeps, and Shutdown fails what is queued.
struct TransferReplica {
  std::string id;                                // ReplicaIdentity::id
  std::chrono::seconds lease_ttl{10};
  std::chrono::milliseconds heartbeat{2000};
  std::chrono::milliseconds claim_retry{500};    // how often a job waiting for a slot asks again
  const Clock* clock = nullptr;                  // lease times; null: the system clock
};

struct TransferSettings {
  std::string backups_dir;                       // CLAWORC_BACKUPS_PATH or <data>/backups
  // Where archives are kept (controller/storage); when null, the local
  // directory `backups_dir` (MakeTransferService fills it in).
  std::shared_ptr<storage::ArchiveStorage> archives;
  int max_concurrent = 4;                        // global cap
  std::chrono::seconds stall_timeout{60};
  std::chrono::milliseconds progress_interval{500};  // how often progress hits the store
  // Format 2 archives are indexed before they are published; without an
  // indexer they are stored unindexed (browsing builds the index later).
  ArchiveIndexer index_archive;
  // The same for archives on object storage (no staged local file): run
  // after the upload completed and before the record says completed.
  StoredArchiveIndexer index_stored_archive;
  // Needed for restores with `paths`; without it they fail (Unavailable).
  SelectionOpener open_selection;
  TransferReplica replica;  // several controllers on one store; empty id: the only one
};

struct BackupRequest {
  Instance instance;
  std::vector<std::string> paths;   // already resolved by ResolveBackupPaths
  std::vector<std::string> excludes;         // custom globs (shared/exclude_rules.h)
  std::vector<std::string> exclude_presets;  // preset names, expanded when the job runs
  bool strict = false;              // the agent fails the backup on a database it cannot capture
  std::string note;
  Id created_by = 0;
  std::string created_by_name;
  std::optional<Id> schedule_id;
};

struct RestoreRequest {
  Backup backup;                    // must be completed
  Instance target;
  Id created_by = 0;
  std::string created_by_name;
  bool quiesce = true;              // ask the target agent to run its quiesce hooks
  // Archive names ("home/claworc/x") of the files and directories to restore,
  // already checked against the backup's index; empty: the whole backup.
  std::vector<std::string> paths;
  bool dry_run = false;             // preview: the agent compares and reports, writing nothing
};

// Called when a transfer reaches a final state (audit log, retention, metrics).
struct TransferObserver {
  std::function<void(const Backup&)> on_backup_finished;
  std::function<void(const Restore&)> on_restore_finished;
};

class TransferService {
 public:
  virtual ~TransferService() = default;

  // Records a `queued` backup and schedules it. Conflict when the instance
  // already has a backup or restore queued or running and `skip_if_busy`;
  // InvalidArgument naming a bad exclude pattern or unknown preset.
  virtual Result<Backup> StartBackup(const BackupRequest& request, bool skip_if_busy = false) = 0;
  // Records a `queued` restore. Conflict (409) when the target does not
  // answer a live probe (2 s), Corruption when the archive file is missing;
  // the SHA-256 checks happen in the job, before any byte is sent.
  virtual Result<Restore> StartRestore(const RestoreRequest& request) = 0;
  // Cancels a queued or running backup: it ends `canceled`, its partial file
  // removed. FailedPrecondition when already final.
  virtual Status CancelBackup(Id backup_id) = 0;
  // Live bytes received so far for a running backup (also persisted every
  // progress_interval); nullopt when not running.
  virtual std::optional<uint64_t> LiveProgress(Id backup_id) const = 0;
  // True when the instance has a transfer queued or running.
  virtual bool IsBusy(Id instance_id) const = 0;
  virtual int RunningCount() const = 0;
  virtual int QueuedCount() const = 0;
  // Stops accepting work, cancels running transfers (they end `failed:
  // controller shutting down`; a restore cut off mid-stream says its target
  // may be partly restored) and joins the pool. Queued transfers that have
  // not started are handed over (Store::ReleaseQueuedTransfers) for another
  // replica, or this data dir's next start, to adopt and run; with an empty
  // replica id they are failed `controller shutting down` instead.
  virtual void Shutdown() = 0;
};

// Removes what an unfinished backup may have left in the archive storage:
// its .partial file, and a final file published but never recorded as
// completed (a crash between the rename and the record), each with its
// .blocks and .index sidecars (and their .partial files). Missing files are
// fine. (An object store aborts the backup's multipart upload here.)
Status DiscardUnfinishedArchive(const std::string& backups_dir, const Backup& backup);

// Transfers FailAbandonedTransfers marked failed, as now stored.
struct AbandonedTransfers {
  std::vector<Backup> backups;
  std::vector<Restore> restores;
};

// Marks `failed` every running backup and restore whose owner is gone: its
// lease expired by `now` (Store::FailAbandonedTransfer decides, so a
// transfer its owner renews in time is left alone) or its owner is
// `previous_life` (this data dir's previous process). Queued ones with an
// owner are left for a live replica to adopt (they never reached an
// agent). A row without owner (from before replicas, or created a moment
// ago and not yet assigned), queued or running, fails once it is a minute
// old. The error is
// "interrupted: controller restarted" for the caller's previous life and
// rows without owner, "interrupted: controller replica <id> stopped" for
// another replica's. Each failed backup's unfinished archive is discarded.
// Keeps going past errors; returns the first with what it did.
// `discard` removes a failed backup's unfinished archive
// (DiscardUnfinishedArchive).
using DiscardArchive = std::function<Status(const Backup&)>;
AbandonedTransfers FailAbandonedTransfers(Store& store, const DiscardArchive& discard, UnixTime now,
                                          const std::string& previous_life, Status* first_error);

// At startup, before serving: FailAbandonedTransfers, hands the previous
// life's queued transfers over at once (Store::ReleaseQueuedTransfers: the
// new life's first heartbeat adopts and runs them), then removes *.partial
// files that belong to no unfinished backup (another replica's live
// partials stay) and archives no record owns (RemoveOrphanArchives). With
// one controller per store every unfinished row is the previous life's or
// has no owner, so every running one fails, as before replicas existed,
// and every queued one runs.
Status RecoverInterruptedTransfers(Store& store, const std::string& backups_dir, UnixTime now,
                                   const std::string& previous_life);

// The same for any archive storage. Local: as above. Object storage: the
// objects of failed backups are deleted, and every multipart upload under
// the prefix that belongs to no unfinished backup is aborted (those of live
// replicas' transfers stay); storage errors are logged, not returned, so a
// bucket that is down does not keep the service from starting.
Status RecoverInterruptedTransfers(Store& store, storage::ArchiveStorage& archives, UnixTime now,
                                   const std::string& previous_life);
// DiscardUnfinishedArchive on any storage (object storage: the objects of an
// archive published but not recorded).
Status DiscardUnfinishedArchive(storage::ArchiveStorage& archives, const Backup& backup);
// Aborts the interrupted writes (multipart uploads, .partial files) of
// archives that no unfinished backup owns; `removed` gets the count.
Status AbortUnownedArchiveWrites(Store& store, storage::ArchiveStorage& archives, int* removed);

std::unique_ptr<TransferService> MakeTransferService(Store& store, AgentConnector& agents,
                                                     TransferSettings settings, TransferObserver observer);

}  // namespace clawback::controller
