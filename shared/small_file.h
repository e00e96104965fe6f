// Whole-file reads and atomic replacement of small files: sidecars of an
// archive (.blocks, .index) and the catalogs cached from object storage.
//
// WriteFileAtomically writes `bytes` to "<path>.partial" (mode 0600), fsyncs
// it and renames it over `path`, so a reader sees the old file or the whole
// new one, never a torn one; the .partial is removed on any failure. It does
// not fsync the directory: a caller publishing several files together does
// that once. Disk full (ENOSPC, EDQUOT, EFBIG) is ResourceExhausted "disk full while
// writing <path>.partial".
//
// ReadSmallFile returns the file's bytes: NotFound when it does not exist,
// Corruption when it is larger than `max_bytes` (a sidecar that big was not
// written by us), IoError otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace clawback {

Status WriteFileAtomically(const std::string& path, std::string_view bytes);

Result<std::string> ReadSmallFile(const std::string& path, uint64_t max_bytes);

}  // namespace clawback
