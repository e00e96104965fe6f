// Records of the "know that backups restore" features (issue 19): the
// outcome of a backup's last verification and last restore drill, webhooks
// and their delivery log. Plain structs like model.h; JSON shapes live in
// controller/api.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/store/model.h"

namespace clawback::controller {

// What was checked: "verify" re-reads the stored archive on the controller;
// "drill" restores it into an agent's scratch directory.
enum class CheckKind { kVerify, kDrill };
std::string_view CheckKindName(CheckKind kind);  // "verify" | "drill"

enum class CheckStatus { kRunning, kPassed, kFailed };
std::string_view CheckStatusName(CheckStatus status);  // "running" | "passed" | "failed"
std::optional<CheckStatus> ParseCheckStatus(std::string_view name);

// The latest check of one kind on one backup (a new one replaces it).
struct BackupCheck {
  Id backup_id = 0;
  CheckKind kind = CheckKind::kVerify;
  CheckStatus status = CheckStatus::kRunning;
  UnixTime at = 0;             // when it started (running) or finished
  double duration_s = 0;
  std::string error;           // failed: what is wrong, naming the block/frame/entry/file
  std::string detail_json = "{}";  // counts: bytes, frames, entries, ...
  // The replica running it (ReplicaIdentity id; migration 9), "" when
  // unknown (before replicas, or a service without a replica id).
  std::string owner;
};

// A receiver of event notifications. The secret signs every body
// (X-Clawback-Signature) and never leaves the controller after creation.
struct Webhook {
  Id id = 0;
  std::string url;                  // http:// or https://
  std::string secret;               // never serialized out
  std::vector<std::string> events;  // event names (alerts/events.h)
  bool enabled = true;
  Id created_by = 0;
  UnixTime created_at = 0;
};

// One delivery of one event to one webhook, with its latest attempt.
struct WebhookDelivery {
  Id id = 0;
  Id webhook_id = 0;
  std::string event;
  std::string body;                 // the exact JSON bytes signed and sent
  UnixTime created_at = 0;
  UnixTime last_attempt_at = 0;
  int attempts = 0;
  std::string status = "pending";   // pending | delivered | failed
  int http_status = 0;              // of the last attempt (0: no response)
  std::string error;                // of the last attempt
};

}  // namespace clawback::controller
