#include "controller/api/http_errors.h"

#include <nlohmann/json.hpp>

namespace clawback::controller::api {

int HttpStatusFor(Status::Code code) {
  using C = Status::Code;
  switch (code) {
    case C::kOk: return 200;
    case C::kInvalidArgument: return 400;
    case C::kUnauthenticated: return 401;
    case C::kPermissionDenied: return 403;
    case C::kNotFound: return 404;
    case C::kConflict:
    case C::kAlreadyExists:
    case C::kFailedPrecondition:
    case C::kCanceled:
    case C::kCorruption: return 409;
    case C::kResourceExhausted: return 429;
    case C::kUnavailable: return 503;
    case C::kDeadlineExceeded: return 504;
    case C::kIoError:
    case C::kInternal: return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& status, std::string_view field, int http_status) {
  Status st = status.ok() ? Status::Internal("error response built from OK status") : status;
  HttpResponse r;
  r.status = http_status ? http_status : HttpStatusFor(st.code());
  nlohmann::json body = {{"error", st.message()}, {"code", std::string(Status::CodeName(st.code()))}};
  if (!field.empty()) body["field"] = std::string(field);
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = "application/json";
  return r;
}

std::string FieldFromMessage(std::string_view message, std::initializer_list<std::string_view> fields) {
  size_t colon = message.find(": ");
  if (colon == std::string_view::npos) return {};
  std::string_view head = message.substr(0, colon);
  for (std::string_view f : fields) {
    if (head == f) return std::string(f);
  }
  return {};
}

}  // namespace clawback::controller::api
