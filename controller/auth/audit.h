// Who did what, when, from where, with what outcome: one append-only record
// per security-relevant action (sign-ins, user and instance changes, backups,
// restores, downloads, schedule edits), kept in the store's audit_events.
//
// Secrets never reach the log: detail objects are redacted recursively (any
// key that names a password, secret, token, hash, cookie, key or CSRF value
// becomes "[redacted]"), and principals are reduced to id and username.
//
// Record never fails the caller's action: an audit write that fails is
// reported on the error log. Thread-safe (the store serializes).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "controller/auth/authorizer.h"
#include "controller/clock.h"
#include "controller/store/store.h"

namespace clawback::controller::auth {

class AuditLog {
 public:
  AuditLog(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // `actor` null = anonymous. `action` like "backup.create", `target` like
  // "backup:12", `outcome` "ok", "denied: ..." or "failed: ..." (see Outcome).
  void Record(const Principal* actor, std::string_view source, std::string_view action, std::string_view target,
              std::string_view outcome, const nlohmann::json& detail = nlohmann::json::object());

  // For actions the controller takes itself: actor "scheduler", "system".
  void RecordSystem(std::string_view actor, std::string_view action, std::string_view target,
                    std::string_view outcome, const nlohmann::json& detail = nlohmann::json::object());

  // "ok"; "denied: <message>" for Unauthenticated/PermissionDenied/NotFound
  // and rate limits; "failed: <message>" otherwise.
  static std::string Outcome(const Status& status);

  // A copy of `detail` with secret-bearing keys replaced by "[redacted]".
  static nlohmann::json Redact(const nlohmann::json& detail);

 private:
  void Append(Id actor_id, std::string_view actor, std::string_view source, std::string_view action,
              std::string_view target, std::string_view outcome, const nlohmann::json& detail);

  Store& store_;
  const Clock& clock_;
};

}  // namespace clawback::controller::auth
