// Hostile archives: nothing may be written outside the restore root, every
// refused entry is reported with a reason, and the good entries still land.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "agent/archive/entry_filter.h"
#include "archive_test_util.h"

namespace clawback::agent {
namespace {

using testing::MakeDirs;
using testing::ReadFile;
using testing::Snapshot;
using testing::StringSource;
using testing::TarSpec;
using testing::TempDir;
using testing::WriteFile;

// Run on both ways the writer resolves paths below the root (beneath.h).
class HostileArchiveTest : public ::testing::TestWithParam<Resolution> {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u);
    // outer/ holds the root and bait files the archive tries to reach.
    MakeDirs(outer_ + "/root/home/claworc");
    WriteFile(outer_ + "/bait.txt", "original");
    MakeDirs(outer_ + "/etc");
    WriteFile(outer_ + "/etc/passwd", "outer passwd");
  }

  // Snapshot of outer/ without root/.
  testing::TreeSnapshot Outside() {
    testing::TreeSnapshot s = Snapshot(outer_);
    for (auto it = s.begin(); it != s.end();) {
      if (it->first == "root" || it->first.rfind("root/", 0) == 0)
        it = s.erase(it);
      else
        ++it;
    }
    return s;
  }

  Result<RestoreSummary> Restore(const std::vector<TarSpec>& entries, bool allow_devices = false) {
    RestoreOptions options;
    options.root = root_;
    options.allow_devices = allow_devices;
    options.resolution = GetParam();
    StringSource source(testing::BuildTarZstd(entries));
    return ExtractRestore(options, source);
  }

  static std::string ReasonFor(const RestoreSummary& s, const std::string& path) {
    // Summaries carry printable (escaped, length-capped) names.
    for (const auto& e : s.skipped)
      if (e.path == PrintableEntryName(path)) return e.reason;
    return "";
  }

  TempDir tmp_;
  std::string outer_ = tmp_ / "outer";
  std::string root_ = outer_ + "/root";
};

TEST_P(HostileArchiveTest, RefusesEscapesAndKeepsGoodEntries) {
  const std::string outer_abs = outer_;
  std::vector<TarSpec> entries = {
      {"home/claworc/good-before.txt", 'f', "good"},
      {"../bait.txt", 'f', "pwned"},
      {"home/../../bait.txt", 'f', "pwned"},
      {"/etc/passwd", 'f', "pwned"},
      {outer_abs + "/bait.txt", 'f', "pwned"},
      // Symlink, then write through it.
      {"home/claworc/link", 'l', "", "/etc"},
      {"home/claworc/link/passwd", 'f', "pwned"},
      {"home/claworc/up", 'l', "", "../../.."},
      {"home/claworc/up/bait.txt", 'f', "pwned"},
      {"home/claworc/out", 'l', "", outer_abs},
      {"home/claworc/out/bait.txt", 'f', "pwned"},
      {"home/claworc/out/newfile", 'f', "pwned"},
      // Hard links to outside, directly and through a symlink.
      {"home/claworc/shadow", 'h', "", "/etc/shadow"},
      {"home/claworc/hl-up", 'h', "", "../../x"},
      {"home/claworc/hl-through", 'h', "", "home/claworc/out/bait.txt"},
      // Hard link to a symlink carrying data: must not write through it.
      {"home/claworc/hl-data", 'h', "pwned", "home/claworc/out"},
      // System dirs.
      {"tmp/x", 'f', "tmp"},
      {"proc/self/mem", 'f', "proc"},
      {"dev/sda", 'f', "dev"},
      // Devices and FIFOs.
      {"home/claworc/null", 'c', ""},
      {"home/claworc/loop0", 'b', ""},
      {"home/claworc/fifo", 'p', ""},
      // Names: too long overall, too long a component, NUL-free but empty.
      {"home/claworc/" + std::string(5000, 'a'), 'f', "long"},
      {"home/claworc/" + std::string(300, 'b'), 'f', "long component"},
      {"home/claworc/good-after.txt", 'f', "good too"},
  };
  auto before = Outside();
  Result<RestoreSummary> r = Restore(entries);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(testing::DiffTrees(before, Outside()), "") << "something outside the root changed";
  EXPECT_EQ(ReadFile(outer_ + "/bait.txt"), "original");
  EXPECT_EQ(ReadFile(outer_ + "/etc/passwd"), "outer passwd");

  EXPECT_EQ(ReadFile(root_ + "/home/claworc/good-before.txt"), "good");
  EXPECT_EQ(ReadFile(root_ + "/home/claworc/good-after.txt"), "good too");

  const RestoreSummary& s = *r;
  for (const char* refused : {"../bait.txt", "home/../../bait.txt", "/etc/passwd", "home/claworc/link/passwd",
                              "home/claworc/up/bait.txt", "home/claworc/out/bait.txt", "home/claworc/out/newfile",
                              "home/claworc/shadow", "home/claworc/hl-up", "home/claworc/hl-through", "tmp/x",
                              "proc/self/mem", "dev/sda", "home/claworc/null", "home/claworc/loop0",
                              "home/claworc/fifo"}) {
    EXPECT_NE(ReasonFor(s, refused), "") << refused << " was not reported as skipped";
  }
  EXPECT_NE(ReasonFor(s, outer_abs + "/bait.txt"), "");
  EXPECT_NE(ReasonFor(s, "home/claworc/" + std::string(5000, 'a')), "");
  EXPECT_NE(ReasonFor(s, "home/claworc/" + std::string(300, 'b')), "");
  EXPECT_NE(ReasonFor(s, "home/claworc/link/passwd").find("symlink"), std::string::npos)
      << ReasonFor(s, "home/claworc/link/passwd");
  EXPECT_EQ(ReasonFor(s, "home/claworc/link/passwd").find(root_), std::string::npos)
      << "reasons name container paths, not host paths";
  EXPECT_NE(ReasonFor(s, "home/claworc/null").find("device"), std::string::npos);

  // The hard link to the symlink exists (a link to the symlink itself) or was
  // refused; either way the data went nowhere.
  struct stat st;
  if (lstat((root_ + "/home/claworc/hl-data").c_str(), &st) == 0) EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_P(HostileArchiveTest, DevicesAndFifosOnlyWhenAllowed) {
  Result<RestoreSummary> r = Restore({{"home/claworc/fifo", 'p', ""}, {"home/claworc/null", 'c', ""}}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->skipped.empty());
  struct stat st;
  ASSERT_EQ(lstat((root_ + "/home/claworc/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(lstat((root_ + "/home/claworc/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_P(HostileArchiveTest, ExistingSymlinkInTargetIsNotFollowed) {
  // The target container already has a symlink pointing outside the root.
  ASSERT_EQ(symlink(outer_.c_str(), (root_ + "/home/claworc/planted").c_str()), 0);
  auto before = Outside();
  Result<RestoreSummary> r = Restore({{"home/claworc/planted/bait.txt", 'f', "pwned"},
                                      {"home/claworc/planted/new/deep.txt", 'f', "pwned"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->skipped.size(), 2u);
  EXPECT_EQ(testing::DiffTrees(before, Outside()), "");
}

TEST_P(HostileArchiveTest, RootEntryMustBeADirectory) {
  // (A regular-file entry named "./" would be read back by libarchive as a
  // directory, as tar readers do for names ending in '/', so "." is used.)
  Result<RestoreSummary> r = Restore({{".", 'l', "", "/"}, {".", 'f', "x"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries_written, 0u);
  struct stat st;
  ASSERT_EQ(lstat(root_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

INSTANTIATE_TEST_SUITE_P(BothResolutions, HostileArchiveTest,
                         ::testing::Values(Resolution::kOpenat2, Resolution::kComponentWalk),
                         [](const ::testing::TestParamInfo<Resolution>& info) {
                           return testing::ResolutionName(info.param);
                         });

}  // namespace
}  // namespace clawback::agent
