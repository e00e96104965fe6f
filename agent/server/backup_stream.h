// ServeBackup: one accepted backup on the calling thread, over a handed-over
// stream. Writes the response header, then the archive as HTTP chunks framed
// inside the compressor's own output buffer (ChunkSink's headroom) and
// written straight to TLS, then the trailers that make it whole.
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
#include "agent/server/transfer_stream.h"

namespace clawback::agent {

struct BackupStreamResult {
  Result<BackupSummary> backup = Status::Internal("backup not run");  // the engine's outcome
  Status wire;              // OK once the final chunk went out (with status ok or error)
  uint64_t bytes_out = 0;   // bytes written on the wire (headers, framing, trailers included)
};

BackupStreamResult ServeBackup(TransferStream& io, const BackupOptions& options,
                               const std::vector<std::string>& paths, unsigned http_version);

}  // namespace clawback::agent
