#include "controller/replicas/replica_status.h"

namespace clawback::controller {
namespace {

// A Prometheus label value: backslash, double quote and newline escaped.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string ReplicaMetricsText(const ReplicaStatus& status) {
  const std::string replica = LabelValue(status.id);
  return "# HELP clawback_replica_info This controller replica (always 1).\n"
         "# TYPE clawback_replica_info gauge\n"
         "clawback_replica_info{replica=\"" + replica + "\",hostname=\"" + LabelValue(status.hostname) + "\"} 1\n"
         "# HELP clawback_replica_leader 1 when this replica holds the leader lease (fires schedules).\n"
         "# TYPE clawback_replica_leader gauge\n"
         "clawback_replica_leader{replica=\"" + replica + "\"} " + (status.leader ? "1" : "0") + "\n";
}

}  // namespace clawback::controller
