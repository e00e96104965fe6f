// extract_tool ROOT [walk|openat2|auto] < archive.tar.zst
//
// Test-only: runs the agent's restore engine (ExtractRestore) on stdin into
// ROOT, with nothing else in the process (no TLS, no server threads), so a
// syscall trace of it shows exactly what the extraction costs per entry
// (restore_syscalls_test.sh). Prints the summary counts; exit 1 on failure.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "agent/archive/archive_stream.h"

namespace {

class StdinSource : public clawback::agent::ChunkSource {
 public:
  clawback::Result<size_t> Read(void* buf, size_t capacity) override {
    for (;;) {
      ssize_t n = ::read(0, buf, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return clawback::Status::IoError("reading stdin");
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: extract_tool ROOT [walk|openat2|auto] < archive.tar.zst\n");
    return 2;
  }
  clawback::agent::RestoreOptions options;
  options.root = argv[1];
  if (argc > 2 && !clawback::agent::ParseResolution(argv[2], &options.resolution)) {
    std::fprintf(stderr, "unknown resolution %s\n", argv[2]);
    return 2;
  }
  StdinSource source;
  auto result = clawback::agent::ExtractRestore(options, source);
  if (!result.ok()) {
    std::fprintf(stderr, "restore failed: %s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf("entries_written=%llu bytes_written=%llu skipped=%zu warnings=%zu\n",
              static_cast<unsigned long long>(result->entries_written),
              static_cast<unsigned long long>(result->bytes_written), result->skipped.size(),
              result->warnings.size());
  return 0;
}
