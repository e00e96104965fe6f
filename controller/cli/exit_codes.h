// The one place that turns a Status into the CLI's exit code (cli.h):
// 0 ok, 1 runtime/server failure, 2 bad usage or bad input, 3 not signed in
// or forbidden, 4 not found, 5 conflict with the current state.
#pragma once

#include "shared/status.h"

namespace clawback::controller::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitAuth = 3;
inline constexpr int kExitNotFound = 4;
inline constexpr int kExitConflict = 5;

int ExitCodeFor(const Status& status);

}  // namespace clawback::controller::cli
