// Building a backup's catalog (private to controller/browse).
//
// ScanIntoCatalog reads a whole archive once, in order (every compressed
// block verified against its digest), and writes one catalog entry per tar
// entry with its header offset and the SHA-256 of each regular file's
// content; the frames table is then one frame spanning the archive. It works
// for any archive (format 1 has nothing better; a format 2 archive whose
// .index is gone can also be read from its index frame, see
// catalog_import.h). The catalog is written as "<catalog>.partial" and
// renamed; the caller fsyncs the directory.
#pragma once

#include <string>

#include "controller/browse/tar_stream.h"
#include "shared/status.h"

namespace clawback::controller::browse {

// `blocks` is the verified archive; `archive_sha256` goes into the meta.
Status ScanIntoCatalog(VerifiedBlocks& blocks, const std::string& archive_sha256, const std::string& catalog_path);

}  // namespace clawback::controller::browse
