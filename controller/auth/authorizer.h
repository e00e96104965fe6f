// THE one place where clawback decides whether a caller may do something.
// Every API endpoint names its Action and the resource it touches, and calls
// Authorize before doing any work; listing endpoints filter with
// VisibleInstances. The rules (docs/api.md "Permissions"):
//
//   anonymous                          -> Unauthenticated (401)
//   admin                              -> allowed
//   user, admin-only action            -> PermissionDenied (403)
//   user, instance the user is not assigned
//                                      -> NotFound (404) "<noun> <id> not found",
//                                         the same answer as for a missing
//                                         record, so it never hints existence
//   bearer token without can_create_tokens, creating an API token
//                                      -> PermissionDenied (403), admins too
//   user, restore                      -> both the backup's instance and the
//                                         target must be assigned (else 404 for
//                                         the unseen one), then the user needs
//                                         can_create_instances (else 403)
//
// Stateless and thread-safe: all inputs come in the Principal and the
// ResourceRef, which callers build from the store before authorizing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller::auth {

// Who is calling, as established by SessionManager::Authenticate.
struct Principal {
  User user;                          // password_hash always empty
  bool via_session = false;           // cookie session (needs CSRF) vs bearer token
  std::string session_token_hash;     // cookie sessions: the session's key in the store
  std::string csrf_token;             // cookie sessions only
  std::optional<Id> api_token_id;     // bearer tokens only
  std::vector<Id> assigned_instances; // sorted; meaningful for role user

  bool token_can_create_tokens = false; // bearer tokens only: created with that right

  bool is_admin() const { return user.role == Role::kAdmin; }
};

enum class Action {
  // instances
  kListInstances,     // GET /instances (filtered)
  kViewInstance,      // GET /instances/{id}
  kRegisterInstance,  // POST /instances                     admin
  kChangeInstance,    // PATCH /instances/{id}               admin
  kRemoveInstance,    // DELETE /instances/{id}              admin
  kIssueBundle,       // POST /instances/{id}/bundle         admin
  // backups
  kListBackups,       // GET /backups, /instances/{id}/backups (filtered; the latter also needs kViewInstance)
  kViewBackup,        // GET /backups/{id}
  kCreateBackup,      // POST /instances/{id}/backups
  kCancelBackup,      // POST /backups/{id}/cancel
  kDownloadBackup,    // GET /backups/{id}/download
  kDeleteBackup,      // DELETE /backups/{id}
  // restores
  kRestore,           // POST /backups/{id}/restore
  kListRestores,      // GET /restores (filtered)
  kViewRestore,       // GET /restores/{id}
  // trust: verification, drills, alerts, fleet protection
  kVerifyBackup,      // POST /backups/{id}/verify
  kDrillBackup,       // POST /backups/{id}/drill               admin
  kManageWebhooks,    // /webhooks/**                           admin
  kViewFleet,         // GET /fleet/protection (summary)        admin
  // administration
  kManageSchedules,   // /backup-schedules/**                admin
  kManageUsers,       // /users/**                           admin
  kViewAudit,         // GET /audit                          admin
  kViewMetrics,       // GET /metrics (without the scrape token) admin
  // any signed-in user
  kSelf,              // /auth/me, logout, own password, own API tokens (list, revoke)
  kCreateApiToken,    // POST /auth/tokens: a session, or a token created with can_create_tokens
  kCronPreview,       // GET /cron/preview
};

// Every Action, for table-driven tests and docs.
const std::vector<Action>& AllActions();
std::string_view ActionName(Action action);  // "backup.create", ...

// The records an action touches, each with the instance it belongs to.
struct ResourceRef {
  struct Item {
    std::string noun;  // "instance", "backup", "restore": used in 404 messages
    Id id = 0;
    Id instance_id = 0;
  };
  std::vector<Item> items;

  static ResourceRef None() { return {}; }
  static ResourceRef Instance(Id instance_id) { return {{{"instance", instance_id, instance_id}}}; }
  static ResourceRef Backup(Id backup_id, Id instance_id) { return {{{"backup", backup_id, instance_id}}}; }
  // Creating a restore of `backup_id` (of `source_instance`) into `target_instance`.
  static ResourceRef RestoreInto(Id backup_id, Id source_instance, Id target_instance) {
    return {{{"backup", backup_id, source_instance}, {"instance", target_instance, target_instance}}};
  }
  // An existing restore: visible with access to both its source and target.
  static ResourceRef Restore(Id restore_id, Id source_instance, Id target_instance) {
    return {{{"restore", restore_id, source_instance}, {"restore", restore_id, target_instance}}};
  }
};

// OK or the denial described above. `principal` null means anonymous.
// An instance-scoped action given no ResourceRef items is refused with
// Internal (a handler bug fails closed).
Status Authorize(const Principal* principal, Action action, const ResourceRef& resource = ResourceRef::None());

// nullopt for admins (everything), else the assigned instance ids; for
// filtering lists (BackupFilter::visible_instances and the like).
std::optional<std::vector<Id>> VisibleInstances(const Principal& principal);
bool CanSeeInstance(const Principal& principal, Id instance_id);

// Cookie sessions must echo their CSRF token in X-CSRF-Token on every
// request but GET/HEAD/OPTIONS; bearer tokens need none. PermissionDenied
// ("missing or invalid CSRF token") otherwise. Constant-time comparison.
Status CheckCsrf(const Principal& principal, std::string_view method, std::string_view csrf_header);

}  // namespace clawback::controller::auth
