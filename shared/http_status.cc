#include "shared/http_status.h"

namespace clawback {

int HttpStatusForCode(Status::Code code) {
  using C = Status::Code;
  switch (code) {
    case C::kOk:
      return 200;
    case C::kInvalidArgument:
      return 400;
    case C::kUnauthenticated:
      return 401;
    case C::kPermissionDenied:
      return 403;
    case C::kNotFound:
      return 404;
    case C::kConflict:
    case C::kAlreadyExists:
    case C::kFailedPrecondition:
    case C::kCanceled:
      return 409;
    // The request was well-formed but its content (an archive) is not.
    case C::kCorruption:
      return 422;
    // Rate limits and disk full alike: the body's message says which.
    case C::kResourceExhausted:
      return 429;
    case C::kIoError:
    case C::kInternal:
      return 500;
    case C::kUnavailable:
      return 503;
    case C::kDeadlineExceeded:
      return 504;
  }
  return 500;
}

std::optional<Status::Code> CodeFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Status::Code::kInternal); ++i) {
    auto code = static_cast<Status::Code>(i);
    if (Status::CodeName(code) == name) return code;
  }
  return std::nullopt;
}

Status::Code CodeForHttpStatus(int http_status, std::string_view code_name) {
  using C = Status::Code;
  if (std::optional<C> named = CodeFromName(code_name); named && *named != C::kOk) return *named;
  switch (http_status) {
    case 400:
    case 405:
    case 415:
    case 416:
      return C::kInvalidArgument;
    case 401:
      return C::kUnauthenticated;
    case 403:
      return C::kPermissionDenied;
    case 404:
      return C::kNotFound;
    case 409:
      return C::kConflict;
    case 412:
      return C::kFailedPrecondition;
    case 413:
    case 429:
    case 431:
    case 507:
      return C::kResourceExhausted;
    case 422:
      return C::kCorruption;
    case 502:
    case 503:
      return C::kUnavailable;
    case 504:
      return C::kDeadlineExceeded;
  }
  return http_status >= 400 && http_status < 500 ? C::kFailedPrecondition : C::kInternal;
}

}  // namespace clawback
