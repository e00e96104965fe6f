#include "agent/archive/cpu_budget.h"

#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "agent/archive/pseudo_fs.h"

namespace clawback::agent {
namespace {

TEST(CpuBudgetTest, CgroupV2CpuMax) {
  EXPECT_EQ(CpusFromCgroupV2CpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV2CpuMax("200000 100000\n"), 2);
  EXPECT_EQ(CpusFromCgroupV2CpuMax("150000 100000"), 2);
  EXPECT_EQ(CpusFromCgroupV2CpuMax("50000 100000"), 1);
  EXPECT_EQ(CpusFromCgroupV2CpuMax(""), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV2CpuMax("garbage"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV2CpuMax("100000 0"), std::nullopt);
}

TEST(CpuBudgetTest, CgroupV1Quota) {
  EXPECT_EQ(CpusFromCgroupV1Quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CpusFromCgroupV1Quota("300000\n", "100000\n"), 3);
  EXPECT_EQ(CpusFromCgroupV1Quota("", ""), std::nullopt);
}

TEST(CpuBudgetTest, DefaultIsWithinAffinity) {
  int n = DefaultCompressionThreads();
  EXPECT_GE(n, 1);
  EXPECT_LE(n, 64);
}

TEST(PseudoFsTest, Types) {
  EXPECT_TRUE(IsPseudoFilesystemType(0x9fa0));       // proc
  EXPECT_TRUE(IsPseudoFilesystemType(0x62656572));   // sysfs
  EXPECT_TRUE(IsPseudoFilesystemType(0x63677270));   // cgroup2
  EXPECT_FALSE(IsPseudoFilesystemType(0x01021994));  // tmpfs: real data
  EXPECT_FALSE(IsPseudoFilesystemType(0xef53));      // ext4
  EXPECT_FALSE(IsPseudoFilesystemType(0x794c7630));  // overlayfs
  EXPECT_FALSE(IsPseudoFilesystemType(0x58465342));  // xfs
}

}  // namespace
}  // namespace clawback::agent
