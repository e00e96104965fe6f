// Measures one zstd parameter set the way the agent compresses (not a test):
// reads a tar stream from a file in 256 KiB pieces, compresses it with
// ZSTD_compressStream2 (level, workers, job size, overlap log) into a
// 256 KiB output buffer that is discarded, and prints one line:
//   job_mib overlap wall_s cpu_s peak_rss_mib out_bytes
// Built and run by bench/zstd/run.sh against the agent's own static libzstd.
#include <sys/resource.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

static double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: zstd_params TAR LEVEL WORKERS JOB_MIB(0=default) OVERLAP_LOG(0=default)\n");
    return 2;
  }
  FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr) return 2;
  const int level = std::atoi(argv[2]), workers = std::atoi(argv[3]);
  const double job_mib = std::atof(argv[4]);
  const int overlap = std::atoi(argv[5]);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers))) {
    std::fprintf(stderr, "libzstd without threads\n");
    return 2;
  }
  if (job_mib > 0) ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, static_cast<int>(job_mib * 1024 * 1024));
  if (overlap > 0) ZSTD_CCtx_setParameter(cctx, ZSTD_c_overlapLog, overlap);
  std::vector<char> ibuf(256 * 1024), obuf(ZSTD_CStreamOutSize() * 2);
  size_t out_bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  for (;;) {
    size_t n = std::fread(ibuf.data(), 1, ibuf.size(), in);
    ZSTD_inBuffer ib{ibuf.data(), n, 0};
    const ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      ZSTD_outBuffer ob{obuf.data(), obuf.size(), 0};
      size_t r = ZSTD_compressStream2(cctx, &ob, &ib, mode);
      if (ZSTD_isError(r)) {
        std::fprintf(stderr, "zstd: %s\n", ZSTD_getErrorName(r));
        return 1;
      }
      out_bytes += ob.pos;
      if (mode == ZSTD_e_end ? r == 0 : ib.pos == ib.size) break;
    }
    if (n == 0) break;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%g %d %.3f %.3f %.1f %zu\n", job_mib, overlap, wall, CpuSeconds() - c0, PeakRssMib(),
              out_bytes);
  ZSTD_freeCCtx(cctx);
  std::fclose(in);
  return 0;
}
