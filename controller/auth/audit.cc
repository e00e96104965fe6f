#include "controller/auth/audit.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "shared/log.h"

namespace clawback::controller::auth {
namespace {

constexpr std::array<std::string_view, 9> kSecretWords = {
    "password", "secret", "token", "hash", "cookie", "key", "csrf", "authorization", "credential",
};

bool IsSecretKey(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view w : kSecretWords) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

// Bounded so one request cannot bloat the log.
std::string Clip(std::string_view s, size_t max = 512) {
  return std::string(s.substr(0, std::min(s.size(), max)));
}

}  // namespace

nlohmann::json AuditLog::Redact(const nlohmann::json& detail) {
  if (detail.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = detail.begin(); it != detail.end(); ++it) {
      out[it.key()] = IsSecretKey(it.key()) ? nlohmann::json("[redacted]") : Redact(it.value());
    }
    return out;
  }
  if (detail.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : detail) out.push_back(Redact(v));
    return out;
  }
  return detail;
}

std::string AuditLog::Outcome(const Status& status) {
  if (status.ok()) return "ok";
  switch (status.code()) {
    case Status::Code::kUnauthenticated:
    case Status::Code::kPermissionDenied:
    case Status::Code::kNotFound:
    case Status::Code::kResourceExhausted:
      return "denied: " + status.message();
    default:
      return "failed: " + status.message();
  }
}

void AuditLog::Record(const Principal* actor, std::string_view source, std::string_view action,
                      std::string_view target, std::string_view outcome, const nlohmann::json& detail) {
  if (actor == nullptr) {
    Append(0, "anonymous", source, action, target, outcome, detail);
  } else {
    Append(actor->user.id, actor->user.username, source, action, target, outcome, detail);
  }
}

void AuditLog::RecordSystem(std::string_view actor, std::string_view action, std::string_view target,
                            std::string_view outcome, const nlohmann::json& detail) {
  Append(0, actor, "", action, target, outcome, detail);
}

void AuditLog::Append(Id actor_id, std::string_view actor, std::string_view source, std::string_view action,
                      std::string_view target, std::string_view outcome, const nlohmann::json& detail) {
  AuditEvent e;
  e.at = clock_.Now();
  e.actor_id = actor_id;
  e.actor = Clip(actor, 128);
  e.source = Clip(source, 128);
  e.action = Clip(action, 64);
  e.target = Clip(target, 256);
  e.outcome = Clip(outcome);
  nlohmann::json redacted = Redact(detail.is_object() ? detail : nlohmann::json{{"value", detail}});
  e.detail_json = redacted.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Status s = store_.AppendAudit(e);
  if (!s.ok()) {
    log::Error("audit event not recorded",
               {{"action", e.action}, {"target", e.target}, {"actor", e.actor}, {"error", s.message()}});
  }
}

}  // namespace clawback::controller::auth
