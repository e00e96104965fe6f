// Parsers behind DefaultCompressionThreads (archive_stream.h), exposed for
// tests. Pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace clawback::agent {

// cgroup v2 cpu.max ("max 100000" or "150000 100000"): the CPU limit rounded
// up, or nullopt when unlimited or malformed.
std::optional<int> CpusFromCgroupV2CpuMax(std::string_view cpu_max);

// cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us file contents: the CPU limit
// rounded up, or nullopt when unlimited (-1) or malformed.
std::optional<int> CpusFromCgroupV1Quota(std::string_view quota_us, std::string_view period_us);

}  // namespace clawback::agent
