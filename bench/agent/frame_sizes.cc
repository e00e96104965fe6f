// Frame size tuning for the seekable compressor (not a test): backs up a tree
// with WriteBackup for each "min:max" frame input pair (KiB) given, into a
// sink that only counts, and prints archive bytes, data frames, index bytes
// and wall time. bench/agent/run.sh prints the ratio against the baseline;
// this picks the frame sizes (figures in bench/README.md).
//   bench_frame_sizes ROOT PATH THREADS MIN_KIB:MAX_KIB...
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/archive/archive_stream.h"

namespace {
class CountingSink : public clawback::agent::ChunkSink {
 public:
  clawback::Status Write(char*, size_t size) override {
    bytes += size;
    return clawback::Status::Ok();
  }
  uint64_t bytes = 0;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s ROOT PATH THREADS MIN_KIB:MAX_KIB...\n", argv[0]);
    return 2;
  }
  for (int i = 4; i < argc; ++i) {
    std::string arg = argv[i];
    size_t colon = arg.find(':');
    clawback::agent::BackupOptions options;
    options.root = argv[1];
    options.threads = std::atoi(argv[3]);
    options.min_frame_input = std::stoul(arg.substr(0, colon)) << 10;
    options.max_frame_input = std::stoul(arg.substr(colon + 1)) << 10;
    CountingSink sink;
    auto start = std::chrono::steady_clock::now();
    auto r = clawback::agent::WriteBackup(options, {argv[2]}, sink);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) {
      std::fprintf(stderr, "%s: %s\n", arg.c_str(), r.status().ToString().c_str());
      return 1;
    }
    std::printf("frames %-12s bytes %llu frames %llu entries %llu index_bytes %llu (%.1f B/entry) tar %llu wall %.2f s\n",
                arg.c_str(), (unsigned long long)r->bytes_sent, (unsigned long long)r->frames,
                (unsigned long long)r->entries, (unsigned long long)r->index_bytes,
                r->entries ? double(r->index_bytes) / double(r->entries) : 0.0, (unsigned long long)r->tar_bytes, secs);
  }
  return 0;
}
