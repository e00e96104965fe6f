// What a replica says about itself on /healthz and /metrics, so an operator
// behind a load balancer can tell the replicas apart and see which leads.
#pragma once

#include <functional>
#include <string>

namespace clawback::controller {

struct ReplicaStatus {
  std::string id;         // ReplicaIdentity::id
  std::string hostname;
  bool leader = false;    // LeaderLease::IsLeader()
  std::string leader_id;  // the leader as last seen ("" when unknown or none)
};

// Reads the live status (the service wires it to its identity and lease).
using ReplicaStatusSource = std::function<ReplicaStatus()>;

// Prometheus text (format 0.0.4) for the replica:
//   clawback_replica_info{replica,hostname} 1
//   clawback_replica_leader{replica} 1|0
std::string ReplicaMetricsText(const ReplicaStatus& status);

}  // namespace clawback::controller
