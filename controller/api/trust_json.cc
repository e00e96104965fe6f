#include "controller/api/trust_json.h"

#include <map>

#include "controller/api/api.h"
#include "controller/store/store.h"

namespace clawback::controller::api {

Json CheckJson(const BackupCheck& c) {
  Json j = {{"status", std::string(CheckStatusName(c.status))},
            {"at", TimeJson(c.at)},
            {"duration_s", c.duration_s},
            {"error", c.error.empty() ? Json(nullptr) : Json(c.error)}};
  Json detail = Json::parse(c.detail_json, nullptr, false);
  if (detail.is_object()) {
    for (auto& [k, v] : detail.items()) {
      if (!j.contains(k)) j[k] = v;
    }
  }
  return j;
}

Json CheckJson(const std::optional<BackupCheck>& check) { return check ? CheckJson(*check) : Json(nullptr); }

void AttachChecks(ApiContext& ctx, std::vector<Json*> backups) {
  std::vector<Id> ids;
  for (Json* b : backups) {
    (*b)["verification"] = nullptr;
    (*b)["drill"] = nullptr;
    ids.push_back(b->value("id", Id{0}));
  }
  auto checks = ctx.store.ListBackupChecks(ids);
  if (!checks.ok()) return;
  std::map<std::pair<Id, CheckKind>, const BackupCheck*> by;
  for (const BackupCheck& c : *checks) by[{c.backup_id, c.kind}] = &c;
  for (Json* b : backups) {
    const Id id = b->value("id", Id{0});
    if (auto it = by.find({id, CheckKind::kVerify}); it != by.end()) (*b)["verification"] = CheckJson(*it->second);
    if (auto it = by.find({id, CheckKind::kDrill}); it != by.end()) (*b)["drill"] = CheckJson(*it->second);
  }
}

}  // namespace clawback::controller::api
