// The controller's persistent state, behind one interface so a PostgreSQL
// implementation can replace SQLite without touching handlers or jobs.
//
// Records are plain structs (model.h). Every method is atomic on its own and
// thread-safe: implementations serialize access internally. Methods return
// NotFound for a missing id, AlreadyExists for a unique-key clash, IoError or
// Internal when the database fails. Nothing here checks permissions: that is
// controller/auth's job, done before a handler calls the store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/lease_model.h"
#include "controller/store/model.h"
#include "controller/store/trust_model.h"
#include "shared/status.h"

namespace clawback::controller {

struct BackupFilter {
  std::optional<Id> instance_id;
  std::optional<std::string> instance_name;
  std::optional<BackupStatus> status;
  std::optional<Id> schedule_id;
  // When set, only backups of these instances (a regular user's assignments).
  std::optional<std::vector<Id>> visible_instances;
  int limit = 50;   // 1..500
  int offset = 0;
};

// The newest backups of one registered instance (Store::ListLatestBackups).
struct LatestBackups {
  Id instance_id = 0;
  std::optional<Backup> latest;     // newest of any status (created_at, then id)
  std::optional<Backup> last_good;  // newest completed
};

// The checks of one kind of one instance's completed backups
// (Store::ListLatestChecks).
struct LatestCheck {
  Id instance_id = 0;
  CheckKind kind = CheckKind::kVerify;
  std::optional<BackupCheck> newest;  // newest finished (passed/failed): greatest at, then backup_id
  bool running = false;               // one of them is running now
};

struct AuditFilter {
  std::optional<std::string> actor;
  std::optional<std::string> action;       // exact, e.g. "backup.create"
  std::optional<UnixTime> since;
  std::optional<UnixTime> until;
  int limit = 100;
  int offset = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- users, sessions, API tokens -------------------------------------
  virtual Result<User> CreateUser(const User& user) = 0;  // id/created_at assigned
  virtual Result<User> GetUser(Id id) = 0;
  virtual Result<User> GetUserByName(const std::string& username) = 0;
  virtual Result<std::vector<User>> ListUsers() = 0;
  // All fields but id/created_at. Refuses (FailedPrecondition) to demote the
  // last admin; AlreadyExists when renamed onto another user's name.
  virtual Status UpdateUser(const User& user) = 0;
  // Deletes the user, their sessions, tokens and assignments. Refuses
  // (FailedPrecondition) to delete the last admin.
  virtual Status DeleteUser(Id id) = 0;
  virtual Result<int> CountAdmins() = 0;

  virtual Status SetUserInstances(Id user_id, const std::vector<Id>& instance_ids) = 0;
  virtual Result<std::vector<Id>> GetUserInstances(Id user_id) = 0;

  virtual Status CreateSession(const Session& session) = 0;
  virtual Result<Session> GetSession(const std::string& token_hash) = 0;
  virtual Status DeleteSession(const std::string& token_hash) = 0;
  virtual Status DeleteUserSessions(Id user_id) = 0;
  virtual Status DeleteExpiredSessions(UnixTime now) = 0;
  // Records that the session was used at `now` (idle expiry). The default
  // does nothing, for test doubles that do not track idleness.
  virtual Status TouchSession(const std::string& token_hash, UnixTime now) { return Status::Ok(); }

  virtual Result<ApiToken> CreateApiToken(const ApiToken& token) = 0;
  virtual Result<ApiToken> GetApiTokenByHash(const std::string& token_hash) = 0;
  virtual Result<std::vector<ApiToken>> ListApiTokens(Id user_id) = 0;
  virtual Status RevokeApiToken(Id user_id, Id token_id) = 0;
  // Revokes every token of the user (a password reset by an admin).
  virtual Status RevokeUserApiTokens(Id user_id) = 0;
  virtual Status TouchApiToken(Id token_id, UnixTime now) = 0;

  // --- instances --------------------------------------------------------
  virtual Result<Instance> CreateInstance(const Instance& instance) = 0;
  virtual Result<Instance> GetInstance(Id id) = 0;
  virtual Result<Instance> GetInstanceByName(const std::string& name) = 0;
  virtual Result<std::vector<Instance>> ListInstances() = 0;
  virtual Status UpdateInstance(const Instance& instance) = 0;
  // Deletes the instance record and its assignments. Backups keep their
  // instance_name and stay listable by admins.
  virtual Status DeleteInstance(Id id) = 0;

  // --- backups ----------------------------------------------------------
  virtual Result<Backup> CreateBackup(const Backup& backup) = 0;  // id assigned
  virtual Result<Backup> GetBackup(Id id) = 0;
  // Newest first. `total` receives the count before limit/offset.
  virtual Result<std::vector<Backup>> ListBackups(const BackupFilter& filter, int64_t* total) = 0;
  virtual Status UpdateBackup(const Backup& backup) = 0;
  virtual Status UpdateBackupProgress(Id id, uint64_t progress_bytes) = 0;
  virtual Status DeleteBackup(Id id) = 0;
  // Backups in queued/running state (crash recovery at startup).
  virtual Result<std::vector<Backup>> ListUnfinishedBackups() = 0;
  // Completed backups of one instance, newest first (retention, dashboard card).
  virtual Result<std::vector<Backup>> ListCompletedBackups(Id instance_id) = 0;
  // For every registered instance with at least one backup, its newest
  // backup and its newest completed one, in one statement (the instance list,
  // fleet protection, /metrics: never a query per instance). No order.
  virtual Result<std::vector<LatestBackups>> ListLatestBackups() = 0;

  // --- restores ---------------------------------------------------------
  virtual Result<Restore> CreateRestore(const Restore& restore) = 0;
  virtual Result<Restore> GetRestore(Id id) = 0;
  virtual Result<std::vector<Restore>> ListRestores(std::optional<Id> backup_id, int limit) = 0;
  virtual Status UpdateRestore(const Restore& restore) = 0;
  virtual Result<std::vector<Restore>> ListUnfinishedRestores() = 0;

  // --- schedules --------------------------------------------------------
  virtual Result<Schedule> CreateSchedule(const Schedule& schedule) = 0;
  virtual Result<Schedule> GetSchedule(Id id) = 0;
  virtual Result<std::vector<Schedule>> ListSchedules() = 0;
  virtual Status UpdateSchedule(const Schedule& schedule) = 0;
  // Deletes the schedule; its backups keep existing with schedule_id unset.
  virtual Status DeleteSchedule(Id id) = 0;
  // Records that `slot` (a scheduled fire time) was handled, with its result.
  // Only advances: a slot not later than the stored one returns
  // FailedPrecondition, which makes firing exactly-once across restarts.
  virtual Status RecordScheduleFired(Id id, UnixTime slot, UnixTime ran_at, const std::string& result) = 0;
  // Sets last_run_at/last_result only (never last_slot): the scheduler's
  // summary once a fired slot's backups are started, and run-now results.
  // NotFound for a missing schedule.
  virtual Status RecordScheduleResult(Id id, UnixTime ran_at, const std::string& result) {
    return Status::Internal("RecordScheduleResult is not implemented by this store");
  }

  // --- audit log (append-only) -------------------------------------------
  virtual Status AppendAudit(const AuditEvent& event) = 0;
  virtual Result<std::vector<AuditEvent>> ListAudit(const AuditFilter& filter, int64_t* total) = 0;

  // --- backup checks, webhooks (trust_model.h; sqlite_trust.cc) ----------
  // The defaults fail, for test doubles that do not keep these records.
  // Replaces the backup's check of check.kind (one per backup and kind).
  virtual Status PutBackupCheck(const BackupCheck& check) { return Unimplemented("PutBackupCheck"); }
  // The checks recorded for these backups (any kind), in no order.
  virtual Result<std::vector<BackupCheck>> ListBackupChecks(const std::vector<Id>& backup_ids) {
    return Unimplemented("ListBackupChecks");
  }
  // Per instance and kind, over the checks of the instance's completed
  // backups: the newest finished one and whether one is running, in one
  // statement. Only (instance, kind) pairs that have checks; no order.
  virtual Result<std::vector<LatestCheck>> ListLatestChecks() { return Unimplemented("ListLatestChecks"); }
  // At startup: every check still `running` that no live replica runs
  // becomes `failed` with `error`: one without owner, one owned by
  // `previous_life` (this data dir's previous process), or one whose owner
  // holds no live replica lease (ReplicaLeaseName, expires_at >= now).
  // Checks of replicas that still renew their lease are left alone.
  virtual Status FailRunningChecks(UnixTime now, const std::string& error, const std::string& previous_life) {
    return Unimplemented("FailRunningChecks");
  }
  virtual Result<Webhook> CreateWebhook(const Webhook& hook) { return Unimplemented("CreateWebhook"); }
  virtual Result<Webhook> GetWebhook(Id id) { return Unimplemented("GetWebhook"); }
  virtual Result<std::vector<Webhook>> ListWebhooks() { return Unimplemented("ListWebhooks"); }
  virtual Status UpdateWebhook(const Webhook& hook) { return Unimplemented("UpdateWebhook"); }
  virtual Status DeleteWebhook(Id id) { return Unimplemented("DeleteWebhook"); }  // and its deliveries
  virtual Result<WebhookDelivery> CreateWebhookDelivery(const WebhookDelivery& d) {
    return Unimplemented("CreateWebhookDelivery");
  }
  virtual Status UpdateWebhookDelivery(const WebhookDelivery& d) { return Unimplemented("UpdateWebhookDelivery"); }
  // Newest first.
  virtual Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(Id webhook_id, int limit) {
    return Unimplemented("ListWebhookDeliveries");
  }

  // --- replicas: leases and transfer ownership (lease_model.h; sqlite_leases.cc)
  // Several controllers may share one store; these are how they agree. Times
  // are the caller's clock. The defaults fail, for test doubles.
  //
  // Takes or renews the lease `name` for `holder` until `expires_at`: succeeds
  // (true) when nobody holds it, the holder's lease expired (expires_at <
  // now), or `holder` holds it already; false when another holder's lease is
  // live. One conditional upsert, so two replicas racing for an expired lease
  // cannot both win.
  virtual Result<bool> AcquireLease(const std::string& name, const std::string& holder, UnixTime now,
                                    UnixTime expires_at) {
    return Unimplemented("AcquireLease");
  }
  // Gives the lease up if `holder` holds it (a clean stop: the next replica
  // takes over at once instead of after the time to live). Not holding it is
  // not an error.
  virtual Status ReleaseLease(const std::string& name, const std::string& holder) {
    return Unimplemented("ReleaseLease");
  }
  // The lease as stored (possibly expired); NotFound when never taken.
  virtual Result<Lease> GetLease(const std::string& name) { return Unimplemented("GetLease"); }
  // Deletes the leases whose name starts with `name_prefix` and whose
  // expires_at is before `expired_before` (released ones, expires_at 0,
  // included); returns how many went. The prefix is taken literally:
  // InvalidArgument when it is empty or holds '%', '_' or a backslash.
  virtual Result<int64_t> DeleteExpiredLeases(const std::string& name_prefix, UnixTime expired_before) {
    return Unimplemented("DeleteExpiredLeases");
  }

  // Sets the owner and lease of a queued or running transfer (done right
  // after creating it). NotFound for a missing record, FailedPrecondition
  // when it is already final.
  virtual Status AssignTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime lease_until) {
    return Unimplemented("AssignTransfer");
  }
  // Moves a queued transfer to `running`, owned by `owner` until
  // `lease_until`, if fewer than `max_running` transfers (backups and
  // restores of every replica) are running with a live lease (lease_until >=
  // now) and no other live running transfer touches the same instance. The
  // check and the update are one serialized write transaction, so replicas
  // claiming at once never exceed the cap. NotFound for a missing record.
  virtual Result<ClaimOutcome> ClaimTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                             UnixTime lease_until, int max_running) {
    return Unimplemented("ClaimTransfer");
  }
  // Extends to `lease_until` the lease of every queued or running transfer
  // `owner` holds; returns the ones it touched (a transfer missing from the
  // answer was finished by someone else: canceled, or failed by a survivor).
  virtual Result<TransferIds> RenewTransferLeases(const std::string& owner, UnixTime lease_until) {
    return Unimplemented("RenewTransferLeases");
  }
  // Takes over a transfer that is still `queued` (it never reached an agent)
  // from an owner whose lease expired (lease_until < now): sets owner and
  // lease_until; true when it did. The adopter then runs it as its own, so
  // a backup queued by a replica that died is run, not lost. False when the
  // record is final, running, or its lease is live. NotFound when missing.
  virtual Result<bool> AdoptQueuedTransfer(TransferKind kind, Id id, const std::string& owner, UnixTime now,
                                           UnixTime lease_until) {
    return Unimplemented("AdoptQueuedTransfer");
  }
  // Hands back every transfer `owner` holds that is still `queued` (a clean
  // stop, or a restart for its previous life): lease_until becomes 0, owner
  // stays, so any live replica adopts it (AdoptQueuedTransfer) at its next
  // heartbeat instead of it being failed. Running transfers are untouched.
  // Returns how many were released. InvalidArgument for an empty owner.
  virtual Result<int64_t> ReleaseQueuedTransfers(const std::string& owner) {
    return Unimplemented("ReleaseQueuedTransfers");
  }
  // Every queued or running transfer with its owner and lease, by kind then id.
  virtual Result<std::vector<TransferLease>> ListTransferLeases() { return Unimplemented("ListTransferLeases"); }
  // Marks a queued or running transfer `failed` with `error` (completed_at
  // = now; a backup also loses file_path, size and sha256) only if its lease
  // expired (lease_until < now) or `owner_gone` is its owner (a previous
  // life of the caller's process: its lease may still look live). True when
  // it did; false when the record is final or live (its owner renewed in
  // time). NotFound for a missing record.
  virtual Result<bool> FailAbandonedTransfer(TransferKind kind, Id id, UnixTime now, const std::string& owner_gone,
                                             const std::string& error) {
    return Unimplemented("FailAbandonedTransfer");
  }
  // Records a backup's final state (as UpdateBackup) only while `owner`
  // still owns it unfinished (status queued or running, owner = `owner`):
  // a replica cut off from the store past its lease must not overwrite what
  // a survivor recorded meanwhile. True when written; false when the record
  // is final already or another replica's. NotFound for a missing record.
  virtual Result<bool> FinishOwnedBackup(const Backup& backup, const std::string& owner) {
    return Unimplemented("FinishOwnedBackup");
  }

 private:
  static Status Unimplemented(const char* what) {
    return Status::Internal(std::string(what) + " is not implemented by this store");
  }
};

// Opens (creating if needed) the SQLite database at `path`, enables WAL and
// foreign keys, and applies numbered schema migrations in one transaction
// each. Fails with a clear message when the file is locked, read-only or from
// a newer schema version.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace clawback::controller
