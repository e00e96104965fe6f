// Status::Code <-> HTTP status: the one wire mapping between clawback's
// servers (the controller's REST API, the agent) and its clients (the CLI,
// the controller's agent client), in both directions (modelled on gRPC's
// src/core/lib/transport/status_conversion.h).
//
//   server: response status = HttpStatusForCode(status.code()), and the JSON
//           error body carries "code": Status::CodeName(status.code());
//   client: Status(CodeForHttpStatus(response status, body's "code"), message).
//
// Several codes share an HTTP status (409 is Conflict, AlreadyExists,
// FailedPrecondition and Canceled), so a client recovers the exact code only
// from the body's "code"; without it, it gets the one code that stands for
// that HTTP status. docs/api.md and docs/agent-protocol.md list the mapping.
// Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "shared/status.h"

namespace clawback {

// The HTTP status a server answers with for `code`:
//   kOk 200, kInvalidArgument 400, kUnauthenticated 401, kPermissionDenied 403,
//   kNotFound 404, kConflict/kAlreadyExists/kFailedPrecondition/kCanceled 409,
//   kCorruption 422, kResourceExhausted 429, kIoError/kInternal 500,
//   kUnavailable 503, kDeadlineExceeded 504.
int HttpStatusForCode(Status::Code code);

// The code a client reports for an HTTP answer that is not 2xx. `code_name`
// is the "code" member of the JSON error body, empty when absent: a known
// name other than "ok" wins. Otherwise the HTTP status decides, including the
// wire-level statuses servers send on their own (405/415/416 bad request,
// 413/431 too large, 412 failed precondition, 502 unavailable, 507 disk
// full): other 4xx are kFailedPrecondition, anything else kInternal.
Status::Code CodeForHttpStatus(int http_status, std::string_view code_name = {});

// The code whose Status::CodeName() is `name`; nullopt for an unknown name.
std::optional<Status::Code> CodeFromName(std::string_view name);

}  // namespace clawback
