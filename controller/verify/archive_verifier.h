// Verifies a stored archive end to end, in one sequential pass over the file
// (controller/verify's engine; the service around it is verification.h).
//
// What "verified" means, in the order the checks meet the bytes:
//   1. the file is exactly the record's size (a shorter file is "truncated");
//   2. each block of the file matches its line in "<archive>.blocks" when the
//      sidecar exists and describes this archive (block_digests.h), and the
//      whole file matches the record's SHA-256;
//   3. every zstd frame decodes (content checksums checked where present);
//      skippable frames are allowed, and the archive index frame (magic
//      0x184D2A5B, docs/archive-format.md "archive format 2") is captured;
//   4. every tar entry is read with libarchive, content included, and
//      nothing but zero padding follows the end-of-archive blocks;
//   5. where the archive carries an index, its entries match the tar
//      entries one for one (path, type, size, content SHA-256), its entry
//      count and tar_size match what was read.
// The first failure ends the pass with Corruption naming what is wrong and
// where ("sha256 mismatch in block 3 (bytes 3145728-4194303)", "zstd frame 2
// at byte 812: ...", "tar entry 17 (home/x/db.sqlite): ...").
//
// Pacing: `bytes_per_second` (0 = unlimited) caps the read rate; while
// `should_pause` returns true the pass waits (it is polled between blocks).
// `cancel` (optional) ends the pass with Canceled. Blocking; thread-
// compatible (one pass per call, no shared state).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "controller/storage/archive_storage.h"
#include "shared/status.h"

namespace clawback::controller {

struct BlockDigests;

struct VerifyPacing {
  uint64_t bytes_per_second = 0;           // 0: unlimited
  std::function<bool()> should_pause;      // null: never pauses
  const std::atomic<bool>* cancel = nullptr;
};

struct VerifyReport {
  uint64_t archive_bytes = 0;     // compressed bytes read
  uint64_t tar_bytes = 0;         // decompressed bytes
  uint64_t frames = 0;            // zstd data frames
  uint64_t skippable_frames = 0;
  uint64_t entries = 0;           // tar entries
  bool block_digests = false;     // checked against .blocks
  bool index = false;             // an index frame was found and checked
};

// `expected_size`/`expected_sha256` are the backup record's; `digests` the
// archive's .blocks (nullopt when there is none or it does not match).
Result<VerifyReport> VerifyArchive(const std::string& path, uint64_t expected_size,
                                   const std::string& expected_sha256, const std::optional<BlockDigests>& digests,
                                   const VerifyPacing& pacing);
// The same over an archive opened from its storage (controller/storage):
// ranged reads, so a bucket's archive is verified without a local copy.
Result<VerifyReport> VerifyArchive(std::unique_ptr<storage::ArchiveReader> archive, uint64_t expected_size,
                                   const std::string& expected_sha256, const std::optional<BlockDigests>& digests,
                                   const VerifyPacing& pacing);

}  // namespace clawback::controller
