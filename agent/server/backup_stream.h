// ServeBackup: one accepted backup on the calling thread, over a handed-over
// stream. Writes the response header, then the archive as HTTP chunks framed
// inside the compressor's own output buffer (ChunkSink's headroom) and
// written straight to TLS, then the trailers that make it whole.
//
// Quiesce: with a claimed `quiesce` scope, its pre-backup hook runs first; if
// it fails the answer is a plain JSON error (no archive byte was sent) and
// the post-backup hook still runs. Otherwise the post-backup hook runs once
// the archive is read, before the trailers (a failure there is a warning),
// and Clawback-Quiesced says whether the pre-hook ran and succeeded.
//
// A failure after the header never ends like a whole archive: a refusal the
// engine decided while the wire was healthy (FailedPrecondition, e.g.
// `strict` and a database it could not capture) ends the body with
// Clawback-Status: error and Clawback-Error; anything else (the controller
// gone, a stall, a read error, a cancel) cuts the connection without the
// final chunk. Private to agent/server.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/archive/archive_stream.h"
#include "agent/hooks/quiesce_hooks.h"
#include "agent/server/transfer_stream.h"

namespace clawback::agent {

struct BackupStreamResult {
  Result<BackupSummary> backup = Status::Internal("backup not run");  // the engine's outcome
  Status wire;              // OK once the final chunk went out (with status ok or error)
  uint64_t bytes_out = 0;   // bytes written on the wire (headers, framing, trailers included)
  bool quiesced = false;    // the pre-backup hook ran and succeeded
  bool refused_before_stream = false;  // a JSON error went out instead (failed pre-hook)
};

// `quiesce` may be null (no hooks, or the request switched them off).
BackupStreamResult ServeBackup(TransferStream& io, const BackupOptions& options,
                               const std::vector<std::string>& paths, QuiesceScope* quiesce,
                               unsigned http_version);

}  // namespace clawback::agent
