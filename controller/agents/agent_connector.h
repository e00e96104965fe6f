// How the controller talks to agents: mTLS client connections that check the
// agent's certificate carries spiffe://claworc/instance/<that instance's name>,
// so one agent can never stand in for another instance.
//
// Also owns the background prober that keeps each instance's status
// (`running` / `unreachable` / `unknown`, with a reason) without probing on
// every API request. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller {

struct InstanceHealth {
  std::string status = "unknown";   // "running" | "unreachable" | "unknown"
  std::string reason;               // empty when running
  std::string agent_version;
  UnixTime checked_at = 0;
};

// Receives a backup stream as it arrives, in buffers it lends: the transfer
// thread reads the network straight into Buffer(), then Commit()s the bytes
// it put there, so hashing and disk writes can run on another thread while
// the next bytes arrive. Buffer() may block until a buffer is free. Either
// returning non-OK aborts the transfer (e.g. the disk is full).
class ArchiveReceiver {
 public:
  virtual ~ArchiveReceiver() = default;
  virtual Result<std::span<char>> Buffer() = 0;
  // The first `size` bytes of the last Buffer() are the stream's next bytes.
  virtual Status Commit(size_t size) = 0;
};

// What the agent's trailers said at the end of a whole stream.
struct StreamSummary {
  uint64_t entries = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_sent = 0;
  std::string sha256;
  uint64_t databases_captured = 0;  // Clawback-Databases
  uint64_t databases_raw = 0;       // Clawback-Databases-Raw
  std::vector<std::string> warnings;
  int archive_format = 1;                    // Clawback-Archive-Format (absent: 1)
  std::optional<uint64_t> index_entries;     // Clawback-Index-Entries (format 2)
};

// What a backup asks the agent for (the POST /v1/backup body).
struct AgentBackupRequest {
  std::vector<std::string> paths;     // resolved by ResolveBackupPaths
  std::vector<std::string> excludes;  // globs with presets expanded (ExpandExcludes)
  bool strict = false;                // the agent fails the stream on a database it cannot capture
};

// Supplies the archive for a restore, in order, in verified pieces: Next()
// returns bytes that have already been checked (nothing unverified is ever
// handed out); they stay valid until the next call. An empty span means the
// whole archive was handed out and checked. An error (Corruption for a
// digest mismatch) stops the restore before the bad bytes are sent.
// TotalSize() is nullopt for a stream whose length is not known up front (a
// selection re-encoded as it goes): it is then sent chunked.
class ArchiveProvider {
 public:
  virtual ~ArchiveProvider() = default;
  virtual std::optional<uint64_t> TotalSize() const = 0;
  virtual Result<std::span<const char>> Next() = 0;
};

struct AgentRestoreResult {
  uint64_t entries_written = 0;
  uint64_t bytes_written = 0;
  std::string skipped_json = "[]";
  std::vector<std::string> warnings;
  bool quiesced = false;  // the agent's pre-restore hook ran and succeeded
  // The agent's "changes" summary ({"create":{"count",...},"replace":...}),
  // as JSON text; "" when it sent none.
  std::string changes_json;
  bool dry_run = false;     // the agent answered a preview (wrote nothing)
  std::string answer_json;  // the agent's whole answer (drills read their counts from it)
};

// How a restore is asked of the agent (query parameters of POST /v1/restore).
struct AgentRestoreOptions {
  bool quiesce = true;   // let the agent run its restore hooks
  bool dry_run = false;  // compare with the target and report, writing nothing
};

class AgentConnector {
 public:
  virtual ~AgentConnector() = default;

  // Probes one instance now (GET /v1/info over mTLS, identity checked),
  // within the default probe timeout (5 s).
  virtual InstanceHealth Probe(const Instance& instance) = 0;
  // The same with a caller's timeout for every step (connect, handshake,
  // answer), e.g. a live check while a user waits for an answer.
  virtual InstanceHealth ProbeWithin(const Instance& instance, std::chrono::milliseconds timeout) = 0;
  // Last known health from the background prober (or "unknown").
  virtual InstanceHealth Health(Id instance_id) const = 0;
  // Starts/stops the background prober over store instances every `interval`.
  virtual void StartProber(std::function<std::vector<Instance>()> list_instances,
                           std::chrono::seconds interval) = 0;
  virtual void StopProber() = 0;

  // POST /v1/backup; calls receiver.OnData for every chunk; on a whole stream
  // returns the trailers. Unavailable (unreachable), Unauthenticated (identity
  // mismatch), InvalidArgument (agent said 400: path missing ...), Corruption
  // (stream cut, no final chunk), DeadlineExceeded (no byte for
  // stall_timeout), Canceled (cancel flag set), FailedPrecondition (the agent
  // ended the stream with Clawback-Status: error, e.g. `strict` and a database
  // it could not capture; the message carries its Clawback-Error).
  virtual Result<StreamSummary> Backup(const Instance& instance, const AgentBackupRequest& request,
                                       ArchiveReceiver& receiver, const std::atomic<bool>& cancel,
                                       std::chrono::seconds stall_timeout) = 0;
  // POST /v1/restore?quiesce=0|1[&dry_run=1] with the provider's bytes;
  // returns the agent's summary. `quiesce` lets the agent run its own
  // restore hooks; `dry_run` asks for a preview that writes nothing.
  // on_progress(bytes sent so far) runs on the transfer thread after each
  // write: keep it cheap (store an atomic; persist elsewhere).
  virtual Result<AgentRestoreResult> Restore(const Instance& instance, ArchiveProvider& provider,
                                             const AgentRestoreOptions& options,
                                             const std::atomic<bool>& cancel,
                                             std::chrono::seconds stall_timeout,
                                             std::function<void(uint64_t)> on_progress) = 0;
  // POST /v1/drill (shared/drill_protocol.h) with the provider's bytes: the
  // agent extracts into its own scratch directory, checks and removes it.
  // Errors as for Restore; a drill that found mismatches is Corruption
  // naming them (the agent's 422).
  virtual Result<AgentRestoreResult> Drill(const Instance& instance, ArchiveProvider& provider,
                                           const std::atomic<bool>& cancel, std::chrono::seconds stall_timeout) {
    return Status::Internal("restore drills are not implemented by this connector");
  }
};

struct AgentClientFiles {
  std::string ca_file, cert_file, key_file;   // <data>/pki/{ca,controller}.{crt,key}
};

// Loads the controller's client identity. Fails with a clear message when the
// files are missing or the certificate lacks spiffe://claworc/controller.
Result<std::unique_ptr<AgentConnector>> MakeAgentConnector(const AgentClientFiles& files);

}  // namespace clawback::controller
