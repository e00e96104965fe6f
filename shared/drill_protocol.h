// The restore-drill endpoint of the agent protocol (docs/protocol.md
// "Restore drills"): POST /v1/drill with an archive body, exactly like
// POST /v1/restore, but the agent extracts into a scratch directory of its
// own configuration (--drill-dir), checks the result and removes it. The
// answer is JSON: 200 {"status": "ok", "entries", "bytes", "duration_ms",
// "files_checked", "databases_checked", "index", "mismatches": []}, or an
// error status with {"error", "code", the same counts, "mismatches":
// [{"path", "problem"}]}. Kept apart from protocol.h while that file is
// being reworked on another branch; both ends include it.
#pragma once

#include <string_view>

namespace clawback::protocol {

inline constexpr std::string_view kDrillPath = "/v1/drill";

}  // namespace clawback::protocol
