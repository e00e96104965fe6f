#include "controller/auth/authorizer.h"

#include <algorithm>

#include "controller/auth/tokens.h"

namespace clawback::controller::auth {
namespace {

enum class Rule {
  kAnySignedIn,     // no resource; lists filter by VisibleInstances
  kAdminOnly,
  kInstanceScoped,  // every item's instance must be visible
  kRestore,         // kInstanceScoped + can_create_instances
  kMintToken,       // sessions; bearer tokens only with can_create_tokens (whatever the role)
};

Rule RuleFor(Action a) {
  switch (a) {
    case Action::kListInstances:
    case Action::kListBackups:
    case Action::kListRestores:
    case Action::kSelf:
    case Action::kCronPreview:
      return Rule::kAnySignedIn;
    case Action::kRegisterInstance:
    case Action::kChangeInstance:
    case Action::kRemoveInstance:
    case Action::kIssueBundle:
    case Action::kManageSchedules:
    case Action::kManageUsers:
    case Action::kViewAudit:
    case Action::kViewMetrics:
    case Action::kDrillBackup:
    case Action::kManageWebhooks:
    case Action::kViewFleet:
      return Rule::kAdminOnly;
    case Action::kViewInstance:
    case Action::kViewBackup:
    case Action::kCreateBackup:
    case Action::kCancelBackup:
    case Action::kDownloadBackup:
    case Action::kDeleteBackup:
    case Action::kViewRestore:
    case Action::kVerifyBackup:
      return Rule::kInstanceScoped;
    case Action::kRestore:
      return Rule::kRestore;
    case Action::kCreateApiToken:
      return Rule::kMintToken;
  }
  return Rule::kAdminOnly;  // unknown values fail closed
}

}  // namespace

const std::vector<Action>& AllActions() {
  static const std::vector<Action> kAll = {
      Action::kListInstances,  Action::kViewInstance,   Action::kRegisterInstance, Action::kChangeInstance,
      Action::kRemoveInstance, Action::kIssueBundle,    Action::kListBackups,      Action::kViewBackup,
      Action::kCreateBackup,   Action::kCancelBackup,   Action::kDownloadBackup,   Action::kDeleteBackup,
      Action::kRestore,        Action::kListRestores,   Action::kViewRestore,      Action::kManageSchedules,
      Action::kManageUsers,    Action::kViewAudit,      Action::kSelf,             Action::kCronPreview,
      Action::kCreateApiToken, Action::kViewMetrics,    Action::kVerifyBackup,     Action::kDrillBackup,
      Action::kManageWebhooks, Action::kViewFleet,
  };
  return kAll;
}

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kListInstances: return "instance.list";
    case Action::kViewInstance: return "instance.view";
    case Action::kRegisterInstance: return "instance.register";
    case Action::kChangeInstance: return "instance.change";
    case Action::kRemoveInstance: return "instance.remove";
    case Action::kIssueBundle: return "instance.bundle";
    case Action::kListBackups: return "backup.list";
    case Action::kViewBackup: return "backup.view";
    case Action::kCreateBackup: return "backup.create";
    case Action::kCancelBackup: return "backup.cancel";
    case Action::kDownloadBackup: return "backup.download";
    case Action::kDeleteBackup: return "backup.delete";
    case Action::kRestore: return "backup.restore";
    case Action::kListRestores: return "restore.list";
    case Action::kViewRestore: return "restore.view";
    case Action::kManageSchedules: return "schedule.manage";
    case Action::kManageUsers: return "user.manage";
    case Action::kViewAudit: return "audit.view";
    case Action::kSelf: return "auth.self";
    case Action::kCronPreview: return "cron.preview";
    case Action::kCreateApiToken: return "auth.token.create";
    case Action::kViewMetrics: return "metrics.view";
    case Action::kVerifyBackup: return "backup.verify";
    case Action::kDrillBackup: return "backup.drill";
    case Action::kManageWebhooks: return "webhook.manage";
    case Action::kViewFleet: return "fleet.view";
  }
  return "unknown";
}

bool CanSeeInstance(const Principal& principal, Id instance_id) {
  if (principal.is_admin()) return true;
  const auto& ids = principal.assigned_instances;
  return std::find(ids.begin(), ids.end(), instance_id) != ids.end();
}

std::optional<std::vector<Id>> VisibleInstances(const Principal& principal) {
  if (principal.is_admin()) return std::nullopt;
  return principal.assigned_instances;
}

Status Authorize(const Principal* principal, Action action, const ResourceRef& resource) {
  if (principal == nullptr) return Status::Unauthenticated("sign in required");
  const Rule rule = RuleFor(action);
  if ((rule == Rule::kInstanceScoped || rule == Rule::kRestore) && resource.items.empty()) {
    return Status::Internal("authorization of " + std::string(ActionName(action)) + " named no resource");
  }
  // Before the admin shortcut: a stolen token must not mint more, whoever owns it.
  if (rule == Rule::kMintToken && !principal->via_session && !principal->token_can_create_tokens) {
    return Status::PermissionDenied(
        "this API token cannot create tokens: sign in with a password, or use a token created with "
        "can_create_tokens");
  }
  if (principal->is_admin()) return Status::Ok();
  switch (rule) {
    case Rule::kMintToken:
    case Rule::kAnySignedIn:
      return Status::Ok();
    case Rule::kAdminOnly:
      return Status::PermissionDenied("this action requires the admin role");
    case Rule::kInstanceScoped:
    case Rule::kRestore:
      for (const ResourceRef::Item& item : resource.items) {
        if (!CanSeeInstance(*principal, item.instance_id)) {
          return Status::NotFound(item.noun + " " + std::to_string(item.id) + " not found");
        }
      }
      if (rule == Rule::kRestore && !principal->user.can_create_instances) {
        return Status::PermissionDenied("restoring requires the Can create instances permission");
      }
      return Status::Ok();
  }
  return Status::PermissionDenied("action not allowed");
}

Status CheckCsrf(const Principal& principal, std::string_view method, std::string_view csrf_header) {
  if (!principal.via_session) return Status::Ok();
  if (method == "GET" || method == "HEAD" || method == "OPTIONS") return Status::Ok();
  if (principal.csrf_token.empty() || !ConstantTimeEquals(principal.csrf_token, csrf_header)) {
    return Status::PermissionDenied("missing or invalid CSRF token (send the X-CSRF-Token header)");
  }
  return Status::Ok();
}

}  // namespace clawback::controller::auth
