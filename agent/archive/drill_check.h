// Restore drills on the agent (shared/drill_protocol.h): what is checked
// after an archive was extracted into a scratch directory.
//
// IndexCapture wraps the upload's ChunkSource: it passes every byte through
// unchanged and follows the zstd frame layout as it goes (frame headers,
// block headers, checksums; nothing is decompressed twice), keeping the
// payload of the archive index frame (skippable magic 0x184D2A5B,
// docs/archive-format.md "archive format 2") when the archive has one.
//
// CheckDrillTree then compares the extracted tree with that index (every
// `file` entry's size and SHA-256, entries the extraction skipped left out)
// and runs PRAGMA integrity_check on every file that starts with the SQLite
// header, read-only. Each problem is a DrillMismatch naming the entry.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/archive/archive_stream.h"
#include "shared/status.h"

namespace clawback::agent {

class IndexCapture final : public ChunkSource {
 public:
  explicit IndexCapture(ChunkSource& inner) : inner_(inner) {}
  Result<size_t> Read(void* buf, size_t capacity) override;
  // The index frame's payload ("CBINDEX1" + zstd frame), if one passed.
  const std::optional<std::string>& index_payload() const { return index_; }

 private:
  void Scan(const unsigned char* p, size_t n);

  ChunkSource& inner_;
  // Frame walker: bytes still to skip in the current item, and what the
  // next header to collect is.
  enum class Want { kMagic, kSkippableSize, kFrameHeaderDescriptor, kFrameHeaderRest, kBlockHeader, kChecksum };
  Want want_ = Want::kMagic;
  std::string header_;         // header bytes collected so far
  size_t header_need_ = 4;
  uint64_t skip_ = 0;          // content bytes to pass over
  bool capturing_ = false;     // the skipped bytes belong to the index frame
  bool checksum_ = false;      // current frame has a content checksum
  bool last_block_ = false;
  bool lost_ = false;          // the layout stopped making sense: give up capturing
  std::optional<std::string> index_;
};

struct DrillMismatch {
  std::string path;     // entry name as archived
  std::string problem;  // "sha256 differs from the index", "integrity_check: ..."
};

struct DrillTreeReport {
  uint64_t files_checked = 0;      // compared with the index
  uint64_t databases_checked = 0;  // integrity_check run
  bool index = false;              // an index was found and used
  std::vector<DrillMismatch> mismatches;
};

// Databases are opened read-write (a WAL-mode image needs its -shm): the
// scratch copy is thrown away afterwards.
// `scratch` is the directory the archive was extracted into (entries at
// scratch/<name>); `skipped` the entry names extraction did not write.
Result<DrillTreeReport> CheckDrillTree(const std::string& scratch, const std::optional<std::string>& index_payload,
                                       const std::set<std::string>& skipped);

}  // namespace clawback::agent
