#include "controller/cli/exit_codes.h"

namespace clawback::controller::cli {

int ExitCodeFor(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
      return kExitUsage;
    case Code::kUnauthenticated:
    case Code::kPermissionDenied:
      return kExitAuth;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kConflict:
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      return kExitConflict;
    case Code::kResourceExhausted:
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kCanceled:
    case Code::kCorruption:
    case Code::kIoError:
    case Code::kInternal:
      return kExitRuntime;
  }
  return kExitRuntime;
}

}  // namespace clawback::controller::cli
