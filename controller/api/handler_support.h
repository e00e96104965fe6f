// Small helpers the handlers share (private to controller/api): responses,
// path ids, pagination, resolvers for the common records, and auditing a
// call's outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "controller/api/http_errors.h"
#include "controller/api/json_codec.h"
#include "controller/api/router.h"

namespace clawback::controller::api {

HttpResponse JsonResponse(int status, const Json& body);
// A body already written as JSON text (json_text.h).
HttpResponse JsonTextResponse(int status, std::string body);
HttpResponse NoContent();
// ErrorResponse with `field`, or (when empty) the field a message like
// "name: must be a string" names.
HttpResponse Fail(const Status& status, std::string_view field = {});

// A positive decimal id; InvalidArgument naming `field` otherwise.
Result<Id> ParseId(std::string_view text, std::string_view field);
// The path parameter `name` as an id. A malformed id is NotFound ("<noun>
// <text> not found"): /backups/abc names no backup.
Result<Id> PathId(const Call& call, const std::string& name, std::string_view noun);

struct Page {
  int limit = 50;
  int offset = 0;
};
// ?limit=1..500&offset>=0 (400 naming the field otherwise).
Result<Page> ReadPage(const HttpRequest& request, int default_limit = 50);

// The store's NotFound for a missing record reworded as "<noun> <id> not
// found", the authorizer's answer for one the caller may not see. Other
// errors pass through.
Status Missing(const Status& status, std::string_view noun, Id id);

// Resolvers: load the record named by the {id} path parameter into the Call.
// (Admin-only routes have none: their handlers load records after Authorize,
// so a non-admin learns nothing from 404 versus 403.)
Resolver ResolveInstanceParam();   // call.instance
Resolver ResolveBackupParam();     // call.backup

// One byte range of a resource of `size` bytes.
struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};
// A Range header: "bytes=N-", "bytes=N-M" or "bytes=-S". nullopt when
// unsatisfiable or malformed (416); multiple ranges are not supported (416).
std::optional<ByteRange> ParseRange(std::string_view header, uint64_t size);
// The 416 answer for `range_header` against `size` bytes (with Content-Range).
HttpResponse RangeNotSatisfiable(const std::string& range_header, uint64_t size, std::string_view what);

// Records an audit event for the caller of `call`: outcome "ok" or
// AuditLog::Outcome(status).
void AuditCall(ApiContext& ctx, const Call& call, std::string_view action, std::string_view target,
               const Status& status, const Json& detail = Json::object());

}  // namespace clawback::controller::api
