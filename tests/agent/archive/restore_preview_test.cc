// Restore dry run (RestoreOptions::dry_run, restore_preview.h): on a prepared
// target the preview's create / replace / unchanged counts equal what the
// disk shows (computed here from the trees) and what a real restore then
// reports; the preview writes nothing (tree and mtimes identical before and
// after); a hostile archive in dry-run mode touches nothing inside or out.
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "agent/archive/entry_filter.h"
#include "archive_test_util.h"

namespace clawback::agent {
namespace {

using testing::MakeDirs;
using testing::Snapshot;
using testing::StringSink;
using testing::StringSource;
using testing::TarSpec;
using testing::TempDir;
using testing::WriteFile;

Result<RestoreSummary> RunRestore(const std::string& root, const std::string& archive, bool dry_run,
                           Resolution resolution = Resolution::kAuto) {
  RestoreOptions options;
  options.root = root;
  options.dry_run = dry_run;
  options.resolution = resolution;
  StringSource source(archive, 70000);
  return ExtractRestore(options, source);
}

std::set<std::string> Names(const ChangeList& list) { return {list.first.begin(), list.first.end()}; }

class RestorePreviewTest : public ::testing::TestWithParam<Resolution> {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u);
    const std::string h = src_ + "/home/claworc";
    MakeDirs(h + "/dir");
    MakeDirs(h + "/newdir/sub");
    WriteFile(h + "/same.txt", "identical");
    WriteFile(h + "/same-big.bin", testing::RandomBytes(700 << 10, 4));
    WriteFile(h + "/changed-bytes.txt", "version 2");
    WriteFile(h + "/changed-size.txt", "longer in the archive");
    WriteFile(h + "/missing.txt", "new");
    WriteFile(h + "/newdir/sub/deep.txt", "deep");
    WriteFile(h + "/dir/in-dir.txt", "x");
    WriteFile(h + "/was-dir", "a file where the target has an empty dir");
    ASSERT_EQ(symlink("same.txt", (h + "/link-same").c_str()), 0);
    ASSERT_EQ(symlink("same.txt", (h + "/link-changed").c_str()), 0);
    ASSERT_EQ(link((h + "/same.txt").c_str(), (h + "/hard").c_str()), 0);
    chmod((h + "/dir").c_str(), 0755);
    StringSink sink;
    BackupOptions backup;
    backup.root = src_;
    backup.threads = 2;
    Result<BackupSummary> s = WriteBackup(backup, {"/home/claworc"}, sink);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    archive_ = std::move(sink.data);

    // The target: an older state of the same home.
    const std::string t = dst_ + "/home/claworc";
    MakeDirs(t + "/dir");
    chmod((t + "/dir").c_str(), 0700);  // mode differs: replace
    WriteFile(t + "/same.txt", "identical");
    WriteFile(t + "/same-big.bin", testing::RandomBytes(700 << 10, 4));
    WriteFile(t + "/changed-bytes.txt", "version 1");
    WriteFile(t + "/changed-size.txt", "short");
    WriteFile(t + "/dir/in-dir.txt", "x");
    MakeDirs(t + "/was-dir");
    ASSERT_EQ(symlink("same.txt", (t + "/link-same").c_str()), 0);
    ASSERT_EQ(symlink("other.txt", (t + "/link-changed").c_str()), 0);
    ASSERT_EQ(link((t + "/same.txt").c_str(), (t + "/hard").c_str()), 0);
    WriteFile(t + "/not-in-archive.txt", "stays");
    chmod(t.c_str(), 0755);
    chmod((src_ + "/home/claworc").c_str(), 0755);
  }

  void RemoveTreeForTest() { testing::RemoveTree(dst_ + "/home/claworc"); }

  TempDir tmp_;
  std::string src_ = tmp_ / "src";
  std::string dst_ = tmp_ / "dst";
  std::string archive_;
};

TEST_P(RestorePreviewTest, CountsMatchTheDiskAndTheRealRestore) {
  const testing::TreeSnapshot before = Snapshot(dst_);
  Result<RestoreSummary> preview = RunRestore(dst_, archive_, true, GetParam());
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  const testing::TreeSnapshot after_preview = Snapshot(dst_);
  EXPECT_EQ(testing::DiffTrees(before, after_preview), "") << "the preview wrote something";
  EXPECT_EQ(preview->entries_written, 0u);
  EXPECT_EQ(preview->bytes_written, 0u);
  EXPECT_TRUE(preview->skipped.empty());

  // What the disk shows, from the two trees: missing -> create, identical
  // (type, size+content / target / mode) -> unchanged, else replace.
  const testing::TreeSnapshot source = Snapshot(src_ + "/home/claworc");
  const testing::TreeSnapshot target = Snapshot(dst_ + "/home/claworc");
  std::set<std::string> create, replace, unchanged;
  for (const auto& [rel, s] : source) {
    const std::string name = rel.empty() ? "home/claworc" : "home/claworc/" + rel;
    auto t = target.find(rel);
    if (t == target.end()) {
      create.insert(name);
      continue;
    }
    const testing::EntrySnapshot& d = t->second;
    bool same = s.type == d.type;
    if (same && s.type == 'f') same = s.content == d.content;
    if (same && s.type == 'l') same = s.link_target == d.link_target;
    if (same && s.type == 'd') same = (s.mode & 07777) == (d.mode & 07777);
    (same ? unchanged : replace).insert(name);
  }
  // "home" itself is in the archive as the parent? Only if backed up; it is not.
  EXPECT_EQ(preview->changes.create.count, create.size());
  EXPECT_EQ(preview->changes.replace.count, replace.size());
  EXPECT_EQ(preview->changes.unchanged.count, unchanged.size());
  EXPECT_EQ(Names(preview->changes.create), create);
  EXPECT_EQ(Names(preview->changes.replace), replace);
  EXPECT_EQ(Names(preview->changes.unchanged), unchanged);
  EXPECT_EQ(preview->entries, create.size() + replace.size() + unchanged.size());
  EXPECT_EQ(unchanged.count("home/claworc/same-big.bin"), 1u);
  EXPECT_EQ(unchanged.count("home/claworc/hard"), 1u);
  EXPECT_EQ(replace.count("home/claworc/changed-bytes.txt"), 1u);
  EXPECT_EQ(create.count("home/claworc/newdir/sub/deep.txt"), 1u);

  Result<RestoreSummary> real = RunRestore(dst_, archive_, false, GetParam());
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_EQ(real->changes.create.count, preview->changes.create.count);
  EXPECT_EQ(real->changes.replace.count, preview->changes.replace.count + preview->changes.unchanged.count);
  EXPECT_EQ(real->entries_written, preview->entries);
  EXPECT_TRUE(real->skipped.empty());
  // And after it, a preview finds everything unchanged.
  Result<RestoreSummary> again = RunRestore(dst_, archive_, true, GetParam());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->changes.create.count, 0u);
  EXPECT_EQ(again->changes.replace.count, 0u) << ::testing::PrintToString(again->changes.replace.first);
  EXPECT_EQ(again->changes.unchanged.count, preview->entries);
}

TEST_P(RestorePreviewTest, SkipsWhatTheRealRestoreSkips) {
  // A symlink where a parent directory is needed, and a non-empty directory
  // where a file goes: both are refused the same way by preview and restore.
  const std::string t = dst_ + "/home/claworc";
  RemoveTreeForTest();
  MakeDirs(t);
  MakeDirs(tmp_ / "elsewhere");
  ASSERT_EQ(symlink((tmp_ / "elsewhere").c_str(), (t + "/newdir").c_str()), 0);
  MakeDirs(t + "/was-dir/child");
  std::vector<TarSpec> entries = {
      {"home/claworc/newdir/sub/deep.txt", 'f', "deep"},
      {"home/claworc/was-dir", 'f', "file"},
      {"home/claworc/ok.txt", 'f', "ok"},
  };
  const std::string archive = testing::BuildTarZstd(entries);
  const testing::TreeSnapshot before = Snapshot(tmp_.path());
  Result<RestoreSummary> preview = RunRestore(dst_, archive, true, GetParam());
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  EXPECT_EQ(testing::DiffTrees(before, Snapshot(tmp_.path())), "");
  Result<RestoreSummary> real = RunRestore(dst_, archive, false, GetParam());
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  ASSERT_EQ(preview->skipped.size(), 2u);
  ASSERT_EQ(real->skipped.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(preview->skipped[i].path, real->skipped[i].path);
    EXPECT_EQ(preview->skipped[i].reason, real->skipped[i].reason);
  }
  EXPECT_EQ(preview->changes.create.count, 1u);
  EXPECT_EQ(real->changes.create.count, 1u);
}

TEST_P(RestorePreviewTest, HostileArchiveInDryRunTouchesNothing) {
  MakeDirs(tmp_ / "etc");
  WriteFile(tmp_ / "bait.txt", "original");
  std::vector<TarSpec> entries = {
      {"../bait.txt", 'f', "pwned"},
      {"/etc/passwd", 'f', "pwned"},
      {"home/claworc/link", 'l', "", tmp_.path()},
      {"home/claworc/link/bait.txt", 'f', "pwned"},
      {"home/claworc/up", 'l', "", "../../.."},
      {"home/claworc/up/bait.txt", 'f', "pwned"},
      {"home/claworc/hard", 'h', "", "../bait.txt"},
      {"home/claworc/dev", 'c', ""},
      {"proc/self/x", 'f', "pwned"},
      {"home/claworc/big-liar", 'f', "short", "", 0644, 1 << 20},
  };
  const std::string archive = testing::BuildTarZstd(entries);
  const testing::TreeSnapshot before = Snapshot(tmp_.path());
  Result<RestoreSummary> preview = RunRestore(dst_, archive, true, GetParam());
  // A lying size makes the stream corrupt; either way nothing was touched.
  EXPECT_EQ(testing::DiffTrees(before, Snapshot(tmp_.path())), "");
  if (preview.ok()) EXPECT_GE(preview->skipped.size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(BothResolutions, RestorePreviewTest,
                         ::testing::Values(Resolution::kOpenat2, Resolution::kComponentWalk),
                         [](const ::testing::TestParamInfo<Resolution>& info) {
                           return testing::ResolutionName(info.param);
                         });

}  // namespace
}  // namespace clawback::agent
