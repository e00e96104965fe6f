// ServeDrill: one accepted restore drill (POST /v1/drill) on the calling
// thread, over a handed-over stream whose request header has been read.
//
// The archive is extracted exactly as a restore would extract it, but into a
// fresh directory made under the agent's own --drill-dir (never a path from
// the request, never the container root), through IndexCapture so the
// archive's index frame is kept. Then CheckDrillTree compares the tree with
// the index and runs SQLite's integrity check on every database; the scratch
// tree is removed whatever happened, and the answer (shared/drill_protocol.h)
// reports entries, bytes, time and every mismatch. A drill with mismatches
// answers 422 (Corruption) naming them. No quiesce hooks run: nothing live is
// touched. Private to agent/server.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "agent/archive/archive_stream.h"
#include "agent/server/transfer_stream.h"

namespace clawback::agent {

struct DrillOptions {
  std::string drill_dir;                      // --drill-dir (absolute, exists)
  Resolution resolution = Resolution::kAuto;
  const std::atomic<bool>* cancel = nullptr;
};

struct DrillUploadResult {
  Status status = Status::Internal("drill not run");
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t mismatches = 0;
  int http_status = 0;   // 0: no response was written (upload broken)
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

DrillUploadResult ServeDrill(TransferStream& io,
                             boost::beast::http::request_parser<boost::beast::http::empty_body>&& header,
                             boost::beast::flat_buffer buffer, const DrillOptions& options, bool expect_continue,
                             unsigned http_version);

}  // namespace clawback::agent
