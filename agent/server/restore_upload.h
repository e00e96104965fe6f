// ServeRestore: one accepted restore on the calling thread, over a
// handed-over stream whose request header has been read. The upload body
// goes from TLS straight into the extractor's source (read on its read-ahead
// thread, so decryption and decompression overlap the writes to disk): a
// Content-Length body with no copy beyond TLS's own, a chunked one through
// Beast's parser. Then the JSON summary, and the connection closes.
//
// Quiesce: with a claimed `quiesce` scope, the pre-restore hook runs before
// anything is written (and before "100 Continue"); if it fails nothing is
// extracted and the answer is its error. The post-restore hook runs once the
// extraction is over, whatever its outcome; a failure there is a warning.
//
// A body cut short or stalled fails the extraction (Corruption "stream cut
// after N bytes ...") and gets no response (there is no one to read it).
// After a failed extraction up to 16 MiB more of the body are read and
// dropped, so the controller can still read the error. Private to agent/server.
#pragma once

#include <cstdint>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "agent/archive/archive_stream.h"
#include "agent/hooks/quiesce_hooks.h"
#include "agent/server/transfer_stream.h"

namespace clawback::agent {

struct RestoreUploadResult {
  Result<RestoreSummary> restore = Status::Internal("restore not run");
  RestoreSummary partial;     // what was written when `restore` failed
  int http_status = 0;        // 0: no response was written (upload broken)
  uint64_t bytes_in = 0;      // body bytes read
  uint64_t bytes_out = 0;
  bool quiesced = false;      // the pre-restore hook ran and succeeded
};

RestoreUploadResult ServeRestore(TransferStream& io,
                                 boost::beast::http::request_parser<boost::beast::http::empty_body>&& header,
                                 boost::beast::flat_buffer buffer, const RestoreOptions& options,
                                 QuiesceScope* quiesce, bool expect_continue, unsigned http_version);

}  // namespace clawback::agent
