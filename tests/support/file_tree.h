// Generated directory trees and tree comparison for backup/restore tests.
#pragma once

#include <cstdint>
#include <string>

namespace clawback::testing {

struct TreeSpec {
  int dirs = 8;                 // subdirectories, two levels deep
  int small_files = 120;        // spread over the dirs, 0..8 KiB, text-like
  uint64_t big_file_bytes = 2u << 20;  // one semi-compressible file (0 = none)
  uint64_t random_file_bytes = 0;      // one incompressible file (0 = none)
  bool special = true;          // symlinks, an empty dir, odd modes, a hard link, a non-ASCII name
};

// Creates the tree under `dir` (created if missing). Deterministic for a spec.
void GenerateTree(const std::string& dir, const TreeSpec& spec);

// Compares two trees: types, modes, sizes, contents, symlink targets and
// owners. Returns "" when equal, else a description of the first differences.
std::string CompareTrees(const std::string& a, const std::string& b);

// Lowercase hex SHA-256 of a file's contents ("" when unreadable).
std::string Sha256OfFile(const std::string& path);

}  // namespace clawback::testing
