#include "controller/api/handler_support.h"

#include <charconv>

#include "controller/api/http_errors.h"
#include "controller/auth/audit.h"
#include "controller/store/store.h"

namespace clawback::controller::api {

HttpResponse JsonResponse(int status, const Json& body) { return JsonTextResponse(status, Dump(body)); }

HttpResponse JsonTextResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
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

std::optional<ByteRange> ParseRange(std::string_view header, uint64_t size) {
  constexpr std::string_view kPrefix = "bytes=";
  if (header.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view spec = header.substr(kPrefix.size());
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view t, uint64_t* out) {
    if (t.empty()) return false;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
    return ec == std::errc() && p == t.data() + t.size();
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last N bytes
    uint64_t n = 0;
    if (!number(b, &n) || n == 0 || size == 0) return std::nullopt;
    n = std::min(n, size);
    return ByteRange{size - n, n};
  }
  if (!number(a, &first) || first >= size) return std::nullopt;
  last = size - 1;
  if (!b.empty()) {
    if (!number(b, &last) || last < first) return std::nullopt;
    last = std::min(last, size - 1);
  }
  return ByteRange{first, last - first + 1};
}

HttpResponse RangeNotSatisfiable(const std::string& range_header, uint64_t size, std::string_view what) {
  HttpResponse r = ErrorResponse(Status::InvalidArgument("range not satisfiable: " + range_header + " (" +
                                                         std::string(what) + " is " + std::to_string(size) +
                                                         " bytes)"),
                                 {}, 416);
  r.AddHeader("Content-Range", "bytes */" + std::to_string(size));
  return r;
}

}  // namespace clawback::controller::api
