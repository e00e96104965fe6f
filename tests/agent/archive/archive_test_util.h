// Helpers for the archive engine tests: temp roots, in-memory sinks/sources,
// tree snapshots for comparison, hostile archive building, subprocesses.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/archive/archive_stream.h"

namespace clawback::agent::testing {

// A fresh directory under $TMPDIR (default /tmp), removed recursively on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void RemoveTree(const std::string& path);
void MakeDirs(const std::string& path, mode_t mode = 0755);
void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644);
std::string ReadFile(const std::string& path);
std::string RandomBytes(size_t size, unsigned seed);
// Text-like bytes that compress about 3-4x.
std::string SemiCompressibleBytes(size_t size, unsigned seed);

// Collects everything written into memory.
class StringSink : public ChunkSink {
 public:
  Status Write(char* data, size_t size) override;
  std::string data;
  size_t writes = 0;
  std::function<void(size_t write_index)> on_write;  // runs before the bytes are kept
};

// Fails every write after `fail_after` successful ones.
class FailingSink : public ChunkSink {
 public:
  explicit FailingSink(size_t fail_after) : fail_after_(fail_after) {}
  Status Write(char* data, size_t size) override;

 private:
  size_t fail_after_;
  size_t writes_ = 0;
};

// Serves `data` in chunks of at most `chunk` bytes; optionally fails with
// `error` once `fail_at` bytes have been served.
class StringSource : public ChunkSource {
 public:
  explicit StringSource(std::string data, size_t chunk = 65536) : data_(std::move(data)), chunk_(chunk) {}
  Result<size_t> Read(void* buf, size_t capacity) override;
  void FailAt(size_t offset, Status error) {
    fail_at_ = offset;
    error_ = std::move(error);
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
  size_t fail_at_ = static_cast<size_t>(-1);
  Status error_;
};

// Everything comparable about one filesystem entry.
struct EntrySnapshot {
  char type = '?';  // f d l c b p s
  unsigned mode = 0;
  unsigned uid = 0, gid = 0;
  long long mtime_sec = 0, mtime_nsec = 0;
  long long size = 0;
  std::string content;       // regular files
  std::string link_target;   // symlinks
  std::string hardlink_to;   // first path (sorted) sharing the inode, if any other
  std::map<std::string, std::string> xattrs;  // user.* only
  long long blocks = 0;
};

// Relative path ("" for the top) -> entry, without following symlinks.
using TreeSnapshot = std::map<std::string, EntrySnapshot>;
TreeSnapshot Snapshot(const std::string& dir);

// Human-readable differences, empty when equal. `check_symlink_mtime` and
// `check_xattrs` relax what some extractors cannot restore.
std::string DiffTrees(const TreeSnapshot& expected, const TreeSnapshot& actual, bool check_xattrs = true);

// Runs argv (no shell); returns the exit status, stderr/stdout captured into *output.
int RunProcess(const std::vector<std::string>& argv, std::string* output);

bool XattrsSupported(const std::string& dir);

// Test-name suffix for suites run on both restore resolutions ("Openat2",
// "ComponentWalk"), for INSTANTIATE_TEST_SUITE_P.
std::string ResolutionName(Resolution resolution);

// Builds an uncompressed pax tar in memory from entry specs, then zstd-compresses it.
struct TarSpec {
  std::string name;
  char type = 'f';          // f d l h(hardlink) c b p s
  std::string content;      // regular file data (also written for 'h' when force_size)
  std::string link;         // symlink target or hardlink target
  unsigned mode = 0644;
  long long size_override = -1;  // header size if >= 0
};
std::string BuildTarZstd(const std::vector<TarSpec>& entries);
std::string ZstdCompress(const std::string& raw);

}  // namespace clawback::agent::testing
