// JSON of verification and drill results on backups (private to
// controller/api): {"status", "at", "duration_s", "error", ...counts}.
#pragma once

#include <optional>
#include <vector>

#include "controller/api/json_codec.h"
#include "controller/store/trust_model.h"

namespace clawback::controller::api {

struct ApiContext;

Json CheckJson(const BackupCheck& check);
Json CheckJson(const std::optional<BackupCheck>& check);  // null when absent

// Adds "verification" and "drill" (objects or null) to each backup object in
// `backups` (each has "id"). A store failure leaves them null.
void AttachChecks(ApiContext& ctx, std::vector<Json*> backups);

}  // namespace clawback::controller::api
