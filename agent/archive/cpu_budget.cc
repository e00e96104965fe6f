#include "agent/archive/cpu_budget.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "agent/archive/archive_stream.h"

namespace clawback::agent {
namespace {

// zstd caps workers at 200 (64 on 32-bit); more than this never helps a stream
// fed by one reader thread.
constexpr int kMaxThreads = 64;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<long long> ParseInt(std::string_view s) {
  s = Trim(s);
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int> CeilRatio(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  long long cpus = (quota + period - 1) / period;
  return static_cast<int>(std::clamp<long long>(cpus, 1, kMaxThreads));
}

std::string ReadSmallFile(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::optional<int> CpusFromCgroupV2CpuMax(std::string_view cpu_max) {
  cpu_max = Trim(cpu_max);
  size_t space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view quota = cpu_max.substr(0, space);
  if (quota == "max") return std::nullopt;
  auto q = ParseInt(quota);
  auto p = ParseInt(cpu_max.substr(space + 1));
  if (!q || !p) return std::nullopt;
  return CeilRatio(*q, *p);
}

std::optional<int> CpusFromCgroupV1Quota(std::string_view quota_us, std::string_view period_us) {
  auto q = ParseInt(quota_us);
  auto p = ParseInt(period_us);
  if (!q || !p) return std::nullopt;
  return CeilRatio(*q, *p);
}

int DefaultCompressionThreads() {
  int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);

  std::optional<int> limit = CpusFromCgroupV2CpuMax(ReadSmallFile("/sys/fs/cgroup/cpu.max"));
  if (!limit) {
    for (const char* dir : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      std::string d(dir);
      limit = CpusFromCgroupV1Quota(ReadSmallFile((d + "/cpu.cfs_quota_us").c_str()),
                                    ReadSmallFile((d + "/cpu.cfs_period_us").c_str()));
      if (limit) break;
    }
  }
  if (limit) cpus = std::min(cpus, *limit);
  return std::clamp(cpus, 1, kMaxThreads);
}

}  // namespace clawback::agent
