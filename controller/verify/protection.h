// An instance's protection: how recently it had a good (completed) backup
// and whether the checks of its backups pass. States, worst first:
//   unprotected  no completed backup younger than `unprotected_after_s`
//   failing      its newest backup attempt failed, or the newest verification
//                or restore drill of its backups failed
//   stale        its newest completed backup is older than half of
//                `unprotected_after_s` (it will soon be unprotected)
//   protected    otherwise
// Read from the store on demand (the instances API, the fleet summary,
// /metrics); nothing is cached. Thread-safe as the store is. For many
// instances at once use AssessFleetProtection: two store queries in all,
// never one per instance.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/model.h"
#include "controller/store/trust_model.h"
#include "shared/status.h"

namespace clawback::controller {

class Store;

struct InstanceProtection {
  Id instance_id = 0;
  std::string instance_name;
  std::string state;                    // protected | stale | failing | unprotected
  std::string reason;                   // why, for people
  std::optional<Backup> last_good;      // newest completed backup
  std::optional<Backup> latest;         // newest backup of any status
  std::optional<BackupCheck> last_verification;  // newest verification of any of its backups
  std::optional<BackupCheck> last_drill;         // newest drill of any of its backups
};

Result<InstanceProtection> AssessProtection(Store& store, const Instance& instance, int64_t unprotected_after_s,
                                            UnixTime now);

// The same for each of `instances`, keyed by instance id (every one present),
// from Store::ListLatestBackups and Store::ListLatestChecks.
Result<std::map<Id, InstanceProtection>> AssessFleetProtection(Store& store, const std::vector<Instance>& instances,
                                                               int64_t unprotected_after_s, UnixTime now);

}  // namespace clawback::controller
