// /api/v1/backups/{id}/restore and /api/v1/restores: restoring a backup into
// an instance and following the restore.
#include "controller/api/handler_support.h"
#include "controller/api/requests.h"
#include "controller/browse/browse.h"
#include "controller/jobs/transfers.h"
#include "controller/store/store.h"
#include "shared/path_rules.h"

namespace clawback::controller::api {
namespace {

// The body is read before any record, so a malformed request gets the same
// 400 whether or not the backup exists.
Result<auth::ResourceRef> ResolveRestoreInto(ApiContext& ctx, Call& call) {
  auto body = DecodeRestoreCreate(call.body);
  if (!body.ok()) return body.error().status;
  auto id = PathId(call, "id", "backup");
  if (!id.ok()) return id.status();
  auto backup = ctx.store.GetBackup(*id);
  if (!backup.ok()) return Missing(backup.status(), "backup", *id);
  auto target = ctx.store.GetInstance(body->instance_id);
  if (!target.ok()) return Missing(target.status(), "instance", body->instance_id);
  call.backup = *backup;
  call.target = *target;
  return auth::ResourceRef::RestoreInto(backup->id, backup->instance_id, target->id);
}

// An existing restore is visible with access to its source and its target.
// A restore whose backup was deleted has no known source: admins only.
Result<Id> SourceInstanceOf(ApiContext& ctx, const Restore& r) {
  auto backup = ctx.store.GetBackup(r.backup_id);
  if (backup.ok()) return backup->instance_id;
  if (backup.status().code() == Status::Code::kNotFound) return Id{0};
  return backup.status();
}

Result<auth::ResourceRef> ResolveRestore(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "restore");
  if (!id.ok()) return id.status();
  auto restore = ctx.store.GetRestore(*id);
  if (!restore.ok()) return Missing(restore.status(), "restore", *id);
  auto source = SourceInstanceOf(ctx, *restore);
  if (!source.ok()) return source.status();
  call.restore = *restore;
  return auth::ResourceRef::Restore(restore->id, *source, restore->target_instance_id);
}

// The requested paths as archive names, each checked against the backup's
// index (400 naming the first one it does not hold). "/" selects everything.
Result<std::vector<std::string>> SelectedPaths(ApiContext& ctx, const Backup& backup,
                                               const std::vector<std::string>& requested) {
  std::vector<std::string> out;
  if (requested.empty()) return out;
  for (const std::string& p : requested) {
    if (p == "/") return std::vector<std::string>();
  }
  auto archive = browse::OpenBackupArchive(ctx.backups_dir, backup);
  if (!archive.ok()) return archive.status();
  for (const std::string& p : requested) {
    auto name = browse::CatalogPathFromQuery(p);
    if (!name.ok()) return name.status();
    auto entry = (*archive)->catalog().Lookup(*name);
    if (!entry.ok()) {
      if (entry.status().code() == Status::Code::kNotFound) {
        return Status::InvalidArgument("paths: not in backup " + std::to_string(backup.id) + ": " + PrintablePath(p));
      }
      return entry.status();
    }
    out.push_back(*name);
  }
  return out;
}

HttpResponse Start(ApiContext& ctx, Call& call) {
  RestoreRequest request;
  request.backup = *call.backup;
  request.target = *call.target;
  request.created_by = call.principal->user.id;
  request.created_by_name = call.principal->user.username;
  // Validated by ResolveRestoreInto before anything was loaded.
  auto body = DecodeRestoreCreate(call.body);
  request.quiesce = !body.ok() || body->quiesce;
  request.dry_run = body.ok() && body->dry_run;
  const std::string action = request.dry_run ? "restore.preview" : "restore.start";
  Json detail = {{"backup_id", call.backup->id},
                 {"target_instance", call.target->name},
                 {"quiesce", request.quiesce && !request.dry_run},
                 {"dry_run", request.dry_run}};
  if (body.ok() && !body->paths.empty()) detail["paths"] = body->paths;
  if (body.ok() && !body->paths.empty()) {
    Result<std::vector<std::string>> selected = Status::Ok();
    if (call.backup->status != BackupStatus::kCompleted) {
      selected = Status::FailedPrecondition("backup " + std::to_string(call.backup->id) + " is " +
                                            std::string(BackupStatusName(call.backup->status)) +
                                            "; only completed backups can be restored");
    } else {
      selected = SelectedPaths(ctx, *call.backup, body->paths);
    }
    if (!selected.ok()) {
      AuditCall(ctx, call, action, "backup:" + std::to_string(call.backup->id), selected.status(), detail);
      return Fail(selected.status());
    }
    request.paths = std::move(selected).value();
  }
  auto restore = ctx.transfers.StartRestore(request);
  const std::string target = restore.ok() ? "restore:" + std::to_string(restore->id)
                                          : "backup:" + std::to_string(call.backup->id);
  AuditCall(ctx, call, action, target, restore.status(), detail);
  if (!restore.ok()) return Fail(restore.status());
  return JsonResponse(202, {{"id", restore->id}});
}

HttpResponse List(ApiContext& ctx, Call& call) {
  std::optional<Id> backup_id;
  if (auto text = call.request.Query("backup_id"); text && !text->empty()) {
    auto id = ParseId(*text, "backup_id");
    if (!id.ok()) return Fail(id.status());
    backup_id = *id;
  }
  auto page = ReadPage(call.request, 100);
  if (!page.ok()) return Fail(page.status());
  // Filter before limiting, so a user sees up to `limit` of their own among
  // the newest 500.
  auto all = ctx.store.ListRestores(backup_id, call.principal->is_admin() ? page->limit : 500);
  if (!all.ok()) return Fail(all.status());
  Json list = Json::array();
  for (const Restore& r : *all) {
    if (static_cast<int>(list.size()) >= page->limit) break;
    auto source = SourceInstanceOf(ctx, r);
    if (!source.ok()) return Fail(source.status());
    if (auth::Authorize(call.caller(), auth::Action::kViewRestore, auth::ResourceRef::Restore(r.id, *source, r.target_instance_id)).ok()) {
      list.push_back(RestoreJson(r));
    }
  }
  return JsonResponse(200, {{"restores", list}});
}

HttpResponse Show(ApiContext& ctx, Call& call) { return JsonResponse(200, RestoreJson(*call.restore)); }

}  // namespace

std::vector<Route> RestoreRoutes() {
  using A = auth::Action;
  std::vector<Route> r;
  r.push_back({"POST", "/api/v1/backups/{id}/restore", Access::kSignedIn, A::kRestore, ResolveRestoreInto, Start,
               "Restore a completed backup into a running instance", true});
  r.push_back({"GET", "/api/v1/restores", Access::kSignedIn, A::kListRestores, nullptr, List,
               "Restores visible to you, newest first (filter: backup_id)", false});
  r.push_back({"GET", "/api/v1/restores/{id}", Access::kSignedIn, A::kViewRestore, ResolveRestore, Show,
               "One restore", false});
  return r;
}

}  // namespace clawback::controller::api
