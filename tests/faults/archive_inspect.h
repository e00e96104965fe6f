// Reads a stored backup the way an operator would check it by hand: the
// whole tar+zstd file decompressed and every entry (header and data) read
// with libarchive, independently of the agent's and controller's code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shared/status.h"

namespace clawback::testing {

struct ArchiveListing {
  std::vector<std::string> names;  // entry names in archive order
  uint64_t data_bytes = 0;         // file content bytes read
};

// Decompresses `path` (zstd, any number of frames) and reads every tar entry
// through to its end. Corruption or truncation anywhere is an error.
Result<ArchiveListing> ListTarZstd(const std::string& path);

// The entry names a backup of `abs_paths` (e.g. {"/home/claworc"}) under the
// container `root` should hold, walked from the filesystem: each requested
// path, its parent directories and everything below it (without following
// symlinks), named relative to the container root ("home/claworc/x").
std::vector<std::string> ExpectedEntries(const std::string& root, const std::vector<std::string>& abs_paths,
                                         bool include_parents);

}  // namespace clawback::testing
