#include "controller/api/handler_support.h"

#include <charconv>

#include "controller/api/http_errors.h"
#include "controller/auth/audit.h"
#include "controller/store/store.h"

namespace clawback::controller::api {

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = Dump(body);
  return r;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

namespace {
// "name: must be a string" -> "name": a lower-case identifier before ": ".
std::string FieldOf(std::string_view message) {
  size_t colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 40) return {};
  for (char c : message.substr(0, colon)) {
    if (!((c >= 'a' && c <= 'z') || c == '_' || c == '.')) return {};
  }
  return std::string(message.substr(0, colon));
}
}  // namespace

HttpResponse Fail(const Status& status, std::string_view field) {
  std::string f(field);
  if (f.empty() && status.code() == Status::Code::kInvalidArgument) f = FieldOf(status.message());
  HttpResponse r = ErrorResponse(status, f);
  return r;
}

Result<Id> ParseId(std::string_view text, std::string_view field) {
  Id v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) {
    return Status::InvalidArgument(std::string(field) + ": must be a positive integer id");
  }
  return v;
}

Result<Id> PathId(const Call& call, const std::string& name, std::string_view noun) {
  auto it = call.params.find(name);
  std::string text = it == call.params.end() ? std::string() : it->second;
  auto id = ParseId(text, name);
  if (!id.ok()) return Status::NotFound(std::string(noun) + " " + text + " not found");
  return *id;
}

Result<Page> ReadPage(const HttpRequest& request, int default_limit) {
  Page page;
  page.limit = default_limit;
  if (auto v = request.Query("limit")) {
    int n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > 500) {
      return Status::InvalidArgument("limit: must be an integer from 1 to 500");
    }
    page.limit = n;
  }
  if (auto v = request.Query("offset")) {
    int n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n < 0) {
      return Status::InvalidArgument("offset: must be a non-negative integer");
    }
    page.offset = n;
  }
  return page;
}

Status Missing(const Status& st, std::string_view noun, Id id) {
  if (st.code() == Status::Code::kNotFound) return Status::NotFound(std::string(noun) + " " + std::to_string(id) + " not found");
  return st;
}

Resolver ResolveInstanceParam() {
  return [](ApiContext& ctx, Call& call) -> Result<auth::ResourceRef> {
    auto id = PathId(call, "id", "instance");
    if (!id.ok()) return id.status();
    auto instance = ctx.store.GetInstance(*id);
    if (!instance.ok()) return Missing(instance.status(), "instance", *id);
    call.instance = *instance;
    return auth::ResourceRef::Instance(instance->id);
  };
}

Resolver ResolveBackupParam() {
  return [](ApiContext& ctx, Call& call) -> Result<auth::ResourceRef> {
    auto id = PathId(call, "id", "backup");
    if (!id.ok()) return id.status();
    auto backup = ctx.store.GetBackup(*id);
    if (!backup.ok()) return Missing(backup.status(), "backup", *id);
    call.backup = *backup;
    return auth::ResourceRef::Backup(backup->id, backup->instance_id);
  };
}

void AuditCall(ApiContext& ctx, const Call& call, std::string_view action, std::string_view target,
               const Status& status, const Json& detail) {
  ctx.audit.Record(call.caller(), call.source(), action, target, auth::AuditLog::Outcome(status), detail);
}

}  // namespace clawback::controller::api
