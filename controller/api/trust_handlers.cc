// Issue 19's endpoints: POST /api/v1/backups/{id}/verify (verification of a
// stored archive), /api/v1/webhooks (alerts) and /api/v1/fleet/protection
// (the admins' fleet summary). Permissions come from the route table like
// every other endpoint (auth/authorizer.h).
#include "controller/api/handler_support.h"
#include "controller/api/trust_json.h"
#include "controller/store/store.h"
#include "controller/verify/verification.h"

namespace clawback::controller::api {
namespace {

Status NotConfigured(const char* what) {
  return Status::Unavailable(std::string(what) + " is not available in this controller");
}

HttpResponse Verify(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  if (ctx.verifier == nullptr) return Fail(NotConfigured("verification"));
  auto check = ctx.verifier->Start(b);
  AuditCall(ctx, call, "backup.verify", target, check.status(), {{"instance", b.instance_name}});
  if (!check.ok()) return Fail(check.status());
  return JsonResponse(202, {{"backup_id", b.id}, {"verification", CheckJson(*check)}});
}

}  // namespace

std::vector<Route> TrustRoutes() {
  using A = auth::Action;
  auto backup = ResolveBackupParam();
  std::vector<Route> r;
  r.push_back({"POST", "/api/v1/backups/{id}/verify", Access::kSignedIn, A::kVerifyBackup, backup, Verify,
               "Verify the stored archive (SHA-256, block digests, every zstd frame and tar entry, the index)",
               false});
  return r;
}

}  // namespace clawback::controller::api
