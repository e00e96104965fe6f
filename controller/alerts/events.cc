#include "controller/alerts/events.h"

#include <algorithm>

#include "controller/clock.h"

namespace clawback::controller {

const std::vector<std::string>& SubscribableEvents() {
  static const std::vector<std::string> kAll = {
      std::string(kEventBackupFailed),  std::string(kEventBackupCompleted), std::string(kEventRestoreFailed),
      std::string(kEventVerifyFailed),  std::string(kEventDrillFailed),     std::string(kEventScheduleMissed),
      std::string(kEventInstanceUnprotected)};
  return kAll;
}

bool IsSubscribableEvent(std::string_view name) {
  const auto& all = SubscribableEvents();
  return std::find(all.begin(), all.end(), name) != all.end();
}

std::string EventBody(const AlertEvent& e) {
  nlohmann::json body = {{"event", e.name}, {"time", FormatUtcRfc3339(e.time)}};
  body["instance"] = e.instance_id ? nlohmann::json{{"id", *e.instance_id}, {"name", e.instance_name}}
                                   : nlohmann::json(nullptr);
  if (e.backup) {
    const Backup& b = *e.backup;
    body["backup"] = {{"id", b.id},
                      {"instance_id", b.instance_id},
                      {"instance_name", b.instance_name},
                      {"status", std::string(BackupStatusName(b.status))},
                      {"size_bytes", b.size_bytes},
                      {"sha256", b.sha256},
                      {"entries", b.entries},
                      {"error_message", b.error_message},
                      {"created_by", b.created_by_name},
                      {"completed_at", b.completed_at ? nlohmann::json(FormatUtcRfc3339(b.completed_at)) : nlohmann::json(nullptr)}};
  } else {
    body["backup"] = nullptr;
  }
  body["detail"] = e.detail;
  return body.dump();
}

}  // namespace clawback::controller
