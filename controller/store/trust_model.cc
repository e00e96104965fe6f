#include "controller/store/trust_model.h"

namespace clawback::controller {

std::string_view CheckKindName(CheckKind kind) { return kind == CheckKind::kVerify ? "verify" : "drill"; }

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kRunning: return "running";
    case CheckStatus::kPassed: return "passed";
    case CheckStatus::kFailed: return "failed";
  }
  return "failed";
}

std::optional<CheckStatus> ParseCheckStatus(std::string_view name) {
  if (name == "running") return CheckStatus::kRunning;
  if (name == "passed") return CheckStatus::kPassed;
  if (name == "failed") return CheckStatus::kFailed;
  return std::nullopt;
}

}  // namespace clawback::controller
