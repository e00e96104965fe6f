// JSON of verification and drill results on backups (private to
// controller/api): {"status", "at", "duration_s", "error", ...counts}.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/api/json_codec.h"
#include "controller/store/trust_model.h"
#include "controller/verify/protection.h"

namespace clawback::controller::api {

struct ApiContext;

// {"state", "reason", "last_good_backup": {id, completed_at, age_s} | null,
// "last_verification": {backup_id, ...CheckJson} | null, "last_drill": ...,
// "unprotected_after_s"} of one instance (controller/verify/protection.h);
// null when the store fails or the context has no trust settings.
Json ProtectionJson(ApiContext& ctx, const Instance& instance);
// The same from an assessment already made at `now`.
Json ProtectionJson(ApiContext& ctx, const InstanceProtection& p, UnixTime now);
// The same bytes written into a streamed body (json_text.h), with the
// context's setting given: UnprotectedAfter(ctx).
void WriteProtection(JsonText& w, const InstanceProtection& p, UnixTime now, int64_t unprotected_after_s);
// --unprotected-after in seconds (two days without trust settings).
int64_t UnprotectedAfter(ApiContext& ctx);

// The protection of each of `instances` by id (AssessFleetProtection with the
// context's settings): two store queries, whatever the number of instances.
Result<std::map<Id, InstanceProtection>> FleetProtectionOf(ApiContext& ctx, const std::vector<Instance>& instances,
                                                           UnixTime now);

// Prometheus text lines of every instance's protection (appended to /metrics).
std::string ProtectionMetricsText(ApiContext& ctx);

// Adds "verification" and "drill" (objects or null) to each backup object in
// `backups` (each has "id"). A store failure leaves them null.
void AttachChecks(ApiContext& ctx, std::vector<Json*> backups);

// The newest checks of each of `backup_ids` (one store query), and the ones
// of one backup among them (pointers into `checks`).
Result<std::vector<BackupCheck>> ChecksOf(ApiContext& ctx, const std::vector<Id>& backup_ids);
BackupChecks ChecksFor(const std::vector<BackupCheck>& checks, Id backup_id);

}  // namespace clawback::controller::api
