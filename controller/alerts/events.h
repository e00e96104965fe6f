// Alert events (docs/api.md "Webhooks"): their names and the JSON body a
// webhook receives, {"event", "time", "instance", "backup", "detail"}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/store/model.h"

namespace clawback::controller {

inline constexpr std::string_view kEventBackupFailed = "backup.failed";
inline constexpr std::string_view kEventBackupCompleted = "backup.completed";
inline constexpr std::string_view kEventRestoreFailed = "restore.failed";
inline constexpr std::string_view kEventVerifyFailed = "verify.failed";
inline constexpr std::string_view kEventDrillFailed = "drill.failed";
inline constexpr std::string_view kEventScheduleMissed = "schedule.missed";
inline constexpr std::string_view kEventInstanceUnprotected = "instance.unprotected";
inline constexpr std::string_view kEventTest = "webhook.test";  // only by the test endpoint

// The events a webhook may subscribe to (all above but webhook.test).
const std::vector<std::string>& SubscribableEvents();
bool IsSubscribableEvent(std::string_view name);

struct AlertEvent {
  std::string name;
  UnixTime time = 0;
  std::optional<Id> instance_id;
  std::string instance_name;       // "" when none
  std::optional<Backup> backup;    // summarized in the body
  nlohmann::json detail = nlohmann::json::object();
};

// The exact body bytes sent (and signed).
std::string EventBody(const AlertEvent& event);

}  // namespace clawback::controller
