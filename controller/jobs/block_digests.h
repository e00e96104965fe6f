// Per-block SHA-256 digests of a stored archive (private to controller/jobs).
//
// When a backup is written the controller records, beside the whole-file
// SHA-256, one digest per kBlockSize bytes of the archive, in a sidecar file
// "<archive>.blocks" (format in docs/archive-format.md, "Block digests"). A
// restore then checks each block just before it is sent, so no unverified
// byte reaches an agent and no serial whole-file pass delays the first byte.
// This file owns the sidecar's name and format in both directions.
//
// Archives written before this (no sidecar), or whose sidecar does not match
// the record, are verified by a whole-file pass before sending, as before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/jobs/archive_file.h"
#include "shared/status.h"

namespace clawback::controller {

struct BlockDigests {
  static constexpr uint64_t kBlockSize = 1024 * 1024;

  uint64_t block_size = kBlockSize;
  uint64_t size = 0;                // archive bytes
  std::string sha256;               // whole archive, lowercase hex
  std::vector<std::string> blocks;  // lowercase hex, one per block, in order

  // Number of blocks an archive of `size` bytes has.
  uint64_t ExpectedBlocks() const { return block_size == 0 ? 0 : (size + block_size - 1) / block_size; }
};

// "<archive path>.blocks"
std::string BlockDigestsPath(const std::string& archive_path);

// Text form (see the header comment) and back. Parse fails with Corruption
// on anything malformed or inconsistent (block count vs size).
std::string EncodeBlockDigests(const BlockDigests& digests);
Result<BlockDigests> ParseBlockDigests(const std::string& text);

// Writes the sidecar of `archive_path` durably: "<sidecar>.partial", fsync,
// rename (the caller fsyncs the directory once for both renames).
Status WriteBlockDigests(const std::string& archive_path, const BlockDigests& digests);
// Reads and parses the sidecar; NotFound when there is none.
Result<BlockDigests> ReadBlockDigests(const std::string& archive_path);

// Computes block digests and the whole-file digest of bytes appended in
// order. Thread-compatible (one owner).
class BlockDigester {
 public:
  void Update(const char* data, size_t size);
  // Ends the last (partial) block; returns everything.
  BlockDigests Finish();

 private:
  Sha256 whole_;
  std::unique_ptr<Sha256> block_ = std::make_unique<Sha256>();
  uint64_t in_block_ = 0;
  BlockDigests out_;
};

}  // namespace clawback::controller
