// A format 2 archive's own index, checked and turned into a catalog
// (private to controller/browse; the backup job calls it through
// IndexFormat2Archive in browse.h).
//
// Reads the seek table and the index frame through `read_at` (ranged reads:
// a local file or verified blocks), and checks what docs/archive-format.md
// requires: the seek table accounts for every byte, the index's entry count
// equals `expected_entries` and its tar_size the table's, entry offsets
// strictly increase and lie within the tar stream, each entry's frame is the
// frame holding its offset. Anything else is Corruption saying what. Writes
// "<catalog>.partial" and renames it (the caller fsyncs the directory).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "shared/seek_table.h"
#include "shared/status.h"

namespace clawback::controller::browse {

// NotFound when the archive has no seek table (format 1).
Status ImportArchiveIndex(uint64_t file_size, const seek_table::ReadAtFn& read_at,
                          std::optional<uint64_t> expected_entries, const std::string& archive_sha256,
                          const std::string& catalog_path);

}  // namespace clawback::controller::browse
