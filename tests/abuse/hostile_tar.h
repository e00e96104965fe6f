// Crafted tar+zstd archives for the restore abuse tests, built with
// libarchive's pax writer and compressed with zstd as they are written, so a
// multi-GiB entry of zeros (a zstd bomb) costs only its compressed size here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace clawback::testing {

struct TarEntry {
  enum class Type { kFile, kDir, kSymlink, kHardlink, kCharDevice, kBlockDevice, kFifo, kSocket };
  std::string name;
  Type type = Type::kFile;
  std::string content;          // file data
  uint64_t zero_bytes = 0;      // appended as zeros (streamed, never held in memory)
  std::string link;             // symlink target / hardlink target
  unsigned mode = 0644;
  std::map<std::string, std::string> xattrs;  // pax SCHILY.xattr.* records
};

// The archive as the agent would receive it: pax tar, zstd-compressed.
std::string BuildTarZstd(const std::vector<TarEntry>& entries, int zstd_level = 3);

// A zstd frame whose header claims a 2 GiB window (windowLog 31): a decoder
// that honoured it would allocate that much.
std::string HugeWindowFrame();

}  // namespace clawback::testing
