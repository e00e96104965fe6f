// Who this controller process is among the replicas sharing one store
// (issue 18): a random id made at every start, the host's name, and the id
// the previous process in the same data directory used.
//
// The id owns leases and transfers in the store; a restart is a new
// replica. previous_id is how a restarted replica recognises its own
// unfinished transfers at once (they cannot still be running: the data
// dir's process lock says the previous process is gone) instead of waiting
// for their leases to expire. Every replica has its own data directory.
#pragma once

#include <string>

#include "shared/status.h"

namespace clawback::controller {

struct ReplicaIdentity {
  std::string id;           // 16 hex digits from OpenSSL's RAND_bytes
  std::string hostname;     // gethostname(), for people reading /healthz and logs
  std::string previous_id;  // "" on the data dir's first start

  // "<id>@<hostname>": how logs and error messages name a replica.
  std::string Display() const { return id + "@" + hostname; }

  // Makes a new identity and records its id in <data_dir>/replica-id
  // (atomically, mode 0600), reading the previous one from there first.
  // The caller must hold the data dir's process lock. IoError when the file
  // cannot be written; Internal when the random generator fails.
  static Result<ReplicaIdentity> StartInDataDir(const std::string& data_dir);
};

}  // namespace clawback::controller
