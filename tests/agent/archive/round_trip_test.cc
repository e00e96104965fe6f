// Backup -> restore round trips on real trees, checked against the source, and
// the same archive extracted by GNU tar.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <tuple>
#include <thread>

#include <gtest/gtest.h>

#include "agent/archive/archive_stream.h"
#include "archive_test_util.h"

namespace clawback::agent {
namespace {

using testing::DiffTrees;
using testing::MakeDirs;
using testing::ReadFile;
using testing::Snapshot;
using testing::StringSink;
using testing::StringSource;
using testing::TempDir;
using testing::WriteFile;

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "claworc:x:1000:1000::/home/claworc:/bin/bash\n"
    "other:x:1001:1001::/home/other:/bin/sh\n";
const char kGroup[] =
    "root:x:0:\n"
    "claworc:x:1000:\n"
    "others:x:1002:other\n";

void SetTimes(const std::string& path, long sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// A home directory with every kind of entry the engine must keep.
void BuildHome(const std::string& root, bool xattrs) {
  MakeDirs(root + "/etc");
  WriteFile(root + "/etc/passwd", kPasswd);
  WriteFile(root + "/etc/group", kGroup);
  const std::string h = root + "/home/claworc";
  MakeDirs(h + "/empty/nested/deeper");
  MakeDirs(h + "/docs");
  WriteFile(h + "/empty.txt", "");
  WriteFile(h + "/small.txt", "hello clawback\n");
  WriteFile(h + "/docs/random.bin", testing::RandomBytes(3 << 20, 7));
  WriteFile(h + "/docs/log.txt", testing::SemiCompressibleBytes(1 << 20, 3));
  WriteFile(h + "/name with spaces.txt", "spaces");
  WriteFile(h + "/\xc3\xbcn\xc3\xaf c\xc3\xb6""d\xc3\xa9 \xe2\x9c\x93.txt", "unicode");
  WriteFile(h + "/line\nbreak.txt", "newline in name");
  WriteFile(h + "/raw-\xff\xfe-bytes", "not utf-8");
  WriteFile(h + "/setuid-tool", "#!/bin/sh\n", 04755);
  WriteFile(h + "/secret", "s3cr3t", 0600);
  MakeDirs(h + "/sticky");
  chmod((h + "/sticky").c_str(), 01777);
  MakeDirs(h + "/setgid-dir");
  chmod((h + "/setgid-dir").c_str(), 02775);

  // Sparse: 16 MiB with two 4 KiB islands of data.
  {
    int fd = open((h + "/sparse.img").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    std::string island(4096, 'S');
    ASSERT_EQ(pwrite(fd, island.data(), island.size(), 0), 4096);
    ASSERT_EQ(pwrite(fd, island.data(), island.size(), 8 << 20), 4096);
    ASSERT_EQ(ftruncate(fd, 16 << 20), 0);
    close(fd);
  }

  ASSERT_EQ(symlink("small.txt", (h + "/rel-link").c_str()), 0);
  ASSERT_EQ(symlink("/etc/passwd", (h + "/abs-link").c_str()), 0);
  ASSERT_EQ(symlink("does/not/exist", (h + "/dangling").c_str()), 0);
  ASSERT_EQ(link((h + "/small.txt").c_str(), (h + "/docs/hard-small").c_str()), 0);
  ASSERT_EQ(link((h + "/docs/random.bin").c_str(), (h + "/hard-random").c_str()), 0);

  ASSERT_EQ(lchown((h + "/small.txt").c_str(), 1000, 1000), 0);
  ASSERT_EQ(lchown((h + "/docs").c_str(), 1000, 1000), 0);
  ASSERT_EQ(lchown((h + "/secret").c_str(), 1001, 1002), 0);
  ASSERT_EQ(lchown((h + "/empty.txt").c_str(), 4242, 4343), 0);  // no passwd entry
  ASSERT_EQ(lchown((h + "/rel-link").c_str(), 1000, 1000), 0);
  ASSERT_EQ(lchown((h + "/setuid-tool").c_str(), 0, 0), 0);
  chmod((h + "/setuid-tool").c_str(), 04755);  // chown clears setuid

  if (xattrs) ASSERT_EQ(setxattr((h + "/small.txt").c_str(), "user.clawback", "1", 1, 0), 0);

  // Times last, deepest first, so creating children does not touch them.
  auto snap = Snapshot(h);
  long t = 1600000000;
  for (auto it = snap.rbegin(); it != snap.rend(); ++it) {
    std::string p = it->first.empty() ? h : h + "/" + it->first;
    SetTimes(p, t++, 123456789);
  }
}

Result<BackupSummary> Backup(const std::string& root, const std::vector<std::string>& paths, std::string* out,
                             int threads = 2) {
  BackupOptions options;
  options.root = root;
  options.threads = threads;
  StringSink sink;
  Result<BackupSummary> r = WriteBackup(options, paths, sink);
  *out = std::move(sink.data);
  return r;
}

Result<RestoreSummary> Restore(const std::string& root, const std::string& archive) {
  RestoreOptions options;
  options.root = root;
  StringSource source(archive, 100000);
  return ExtractRestore(options, source);
}

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "archive tests run as root (chown, setuid bits)";
    xattrs_ = testing::XattrsSupported(tmp_.path());
    MakeDirs(src_);
    BuildHome(src_, xattrs_);
  }
  TempDir tmp_;
  std::string src_ = tmp_ / "src";
  bool xattrs_ = false;
};

TEST_F(RoundTripTest, HomeRestoresIntoEmptyRootIdentically) {
  std::string archive;
  Result<BackupSummary> backup = Backup(src_, {"/home/claworc"}, &archive);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  EXPECT_TRUE(backup->warnings.empty()) << backup->warnings.front();
  EXPECT_EQ(backup->bytes_sent, archive.size());
  EXPECT_EQ(backup->sha256.size(), 64u);
  // home/claworc itself, 5 directories below it, 12 regular files, 3
  // symlinks and 2 hard links (parents of a requested path are not archived).
  EXPECT_EQ(backup->entries, 23u);
  EXPECT_GE(backup->bytes_read, (4u << 20));

  std::string dst = tmp_ / "dst";
  MakeDirs(dst);
  Result<RestoreSummary> restore = Restore(dst, archive);
  ASSERT_TRUE(restore.ok()) << restore.status().ToString();
  EXPECT_TRUE(restore->skipped.empty()) << restore->skipped.front().path << ": " << restore->skipped.front().reason;
  EXPECT_TRUE(restore->warnings.empty()) << restore->warnings.front();
  EXPECT_EQ(restore->entries_written, backup->entries);

  auto expected = Snapshot(src_ + "/home/claworc");
  auto actual = Snapshot(dst + "/home/claworc");
  EXPECT_EQ(DiffTrees(expected, actual, xattrs_), "");

  // Holes stay holes when the filesystem reports them.
  const auto& src_sparse = expected.at("sparse.img");
  if (src_sparse.blocks * 512 < (1 << 20)) EXPECT_LT(actual.at("sparse.img").blocks * 512, 1 << 20);
}

TEST_F(RoundTripTest, RestoreReplacesExistingFilesAtomically) {
  std::string archive;
  ASSERT_TRUE(Backup(src_, {"/home/claworc"}, &archive).ok());
  std::string dst = tmp_ / "dst";
  MakeDirs(dst + "/home/claworc/docs");
  WriteFile(dst + "/home/claworc/small.txt", "old content that is longer than the new one");
  // An existing symlink where the archive has a regular file is replaced, not followed.
  WriteFile(tmp_ / "outside.txt", "untouched");
  ASSERT_EQ(symlink((tmp_ / "outside.txt").c_str(), (dst + "/home/claworc/secret").c_str()), 0);
  Result<RestoreSummary> restore = Restore(dst, archive);
  ASSERT_TRUE(restore.ok()) << restore.status().ToString();
  EXPECT_EQ(ReadFile(dst + "/home/claworc/small.txt"), "hello clawback\n");
  EXPECT_EQ(ReadFile(dst + "/home/claworc/secret"), "s3cr3t");
  EXPECT_EQ(ReadFile(tmp_ / "outside.txt"), "untouched");
  EXPECT_EQ(DiffTrees(Snapshot(src_ + "/home/claworc"), Snapshot(dst + "/home/claworc"), xattrs_), "");
}

TEST_F(RoundTripTest, FullRootSkipsSystemDirectories) {
  for (const char* dir : {"proc/1", "sys/kernel", "dev/pts", "tmp/junk", "run/lock"}) {
    MakeDirs(src_ + "/" + dir);
    WriteFile(src_ + "/" + dir + "/file", "system");
  }
  MakeDirs(src_ + "/var/tmp");  // not excluded: only top-level /tmp is
  WriteFile(src_ + "/var/tmp/keep", "keep");
  WriteFile(src_ + "/tmpfile", "not a system dir");

  std::string archive;
  Result<BackupSummary> backup = Backup(src_, {"/"}, &archive);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  std::string dst = tmp_ / "dst";
  MakeDirs(dst);
  Result<RestoreSummary> restore = Restore(dst, archive);
  ASSERT_TRUE(restore.ok()) << restore.status().ToString();
  EXPECT_TRUE(restore->skipped.empty()) << restore->skipped.front().path << ": " << restore->skipped.front().reason;
  for (const char* dir : {"proc", "sys", "dev", "tmp", "run"}) {
    struct stat st;
    EXPECT_NE(lstat((dst + "/" + dir).c_str(), &st), 0) << dir << " was archived";
  }
  EXPECT_EQ(ReadFile(dst + "/var/tmp/keep"), "keep");
  EXPECT_EQ(ReadFile(dst + "/tmpfile"), "not a system dir");
  EXPECT_EQ(DiffTrees(Snapshot(src_ + "/home"), Snapshot(dst + "/home"), xattrs_), "");
}

TEST_F(RoundTripTest, RestoreMapsOwnersByNameOfTargetRoot) {
  std::string archive;
  ASSERT_TRUE(Backup(src_, {"/home/claworc"}, &archive).ok());
  std::string dst = tmp_ / "dst";
  MakeDirs(dst + "/etc");
  // In the target container "claworc" is uid 2000 and "others" gid 3000.
  WriteFile(dst + "/etc/passwd", "claworc:x:2000:2000::/home/claworc:/bin/sh\n");
  WriteFile(dst + "/etc/group", "claworc:x:2000:\nothers:x:3000:\n");
  ASSERT_TRUE(Restore(dst, archive).ok());
  struct stat st;
  ASSERT_EQ(lstat((dst + "/home/claworc/small.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 2000u);
  EXPECT_EQ(st.st_gid, 2000u);
  ASSERT_EQ(lstat((dst + "/home/claworc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1001u);  // "other" unknown there: numeric fallback
  EXPECT_EQ(st.st_gid, 3000u);
  ASSERT_EQ(lstat((dst + "/home/claworc/empty.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4343u);
}

TEST_F(RoundTripTest, GnuTarExtractsTheSameTree) {
  std::string archive;
  ASSERT_TRUE(Backup(src_, {"/home/claworc"}, &archive).ok());
  std::string file = tmp_ / "backup.tar.zst";
  WriteFile(file, archive);
  std::string dst = tmp_ / "gnu";
  MakeDirs(dst);
  std::string output;
  int rc = testing::RunProcess({"tar", "--zstd", "-xpf", file, "-C", dst, "--numeric-owner", "--xattrs",
                                "--xattrs-include=user.*"},
                               &output);
  ASSERT_EQ(rc, 0) << output;
  EXPECT_EQ(DiffTrees(Snapshot(src_ + "/home/claworc"), Snapshot(dst + "/home/claworc"), xattrs_), "") << output;
}

TEST_F(RoundTripTest, ConcurrentBackupsProduceCorrectArchives) {
  std::string other = tmp_ / "src2";
  MakeDirs(other);
  BuildHome(other, false);
  WriteFile(other + "/home/claworc/only-in-second", "2");
  std::string a1, a2;
  Result<BackupSummary> r1 = Status::Internal("not run"), r2 = Status::Internal("not run");
  std::thread t1([&] { r1 = Backup(src_, {"/home/claworc"}, &a1); });
  std::thread t2([&] { r2 = Backup(other, {"/home/claworc"}, &a2); });
  t1.join();
  t2.join();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  std::string d1 = tmp_ / "d1", d2 = tmp_ / "d2";
  MakeDirs(d1);
  MakeDirs(d2);
  std::thread t3([&] { ASSERT_TRUE(Restore(d1, a1).ok()); });
  std::thread t4([&] { ASSERT_TRUE(Restore(d2, a2).ok()); });
  t3.join();
  t4.join();
  EXPECT_EQ(DiffTrees(Snapshot(src_ + "/home/claworc"), Snapshot(d1 + "/home/claworc"), xattrs_), "");
  EXPECT_EQ(DiffTrees(Snapshot(other + "/home/claworc"), Snapshot(d2 + "/home/claworc"), false), "");
}

TEST_F(RoundTripTest, CheckBackupPathsExist) {
  BackupOptions options;
  options.root = src_;
  EXPECT_TRUE(CheckBackupPathsExist(options, {"/home/claworc", "/etc/passwd", "/"}).ok());
  Status missing = CheckBackupPathsExist(options, {"/home/claworc", "/etc/nginx"});
  EXPECT_EQ(missing.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(missing.message(), "path does not exist: /etc/nginx");
  // A symlinked parent is resolved inside the root, never on the host: the
  // root has no /etc/shadow, the host does.
  ASSERT_EQ(symlink("/etc", (src_ + "/hostetc").c_str()), 0);
  EXPECT_TRUE(CheckBackupPathsExist(options, {"/hostetc/passwd"}).ok());
  ASSERT_EQ(access("/etc/shadow", F_OK), 0);
  Status shadow = CheckBackupPathsExist(options, {"/hostetc/shadow"});
  EXPECT_EQ(shadow.message(), "path does not exist: /hostetc/shadow");
  // Through a symlink into an excluded system dir of the root: refused.
  MakeDirs(src_ + "/run/lock");
  MakeDirs(src_ + "/var");
  ASSERT_EQ(symlink("../run", (src_ + "/var/run").c_str()), 0);
  Status run = CheckBackupPathsExist(options, {"/var/run/lock"});
  EXPECT_EQ(run.message(),
            "path is inside an excluded system directory: /var/run/lock (resolves into the excluded system "
            "directory "
            "/run)");
  // A symlink loop ends with an error, not a hang.
  ASSERT_EQ(symlink("loop2", (src_ + "/loop1").c_str()), 0);
  ASSERT_EQ(symlink("loop1", (src_ + "/loop2").c_str()), 0);
  EXPECT_EQ(CheckBackupPathsExist(options, {"/loop1/x"}).message(), "too many symlinks resolving /loop1/x");
}

TEST_F(RoundTripTest, VanishingAndShrinkingFilesAreWarnings) {
  const std::string h = src_ + "/home/claworc/churn";
  MakeDirs(h);
  // Read first (sorted): 48 MiB of incompressible data, so the sink is
  // called while this file is still being read.
  WriteFile(h + "/a-shrinks", testing::RandomBytes(48 << 20, 11));
  WriteFile(h + "/z-vanishes", "gone soon");
  BackupOptions options;
  options.root = src_;
  options.threads = 2;
  StringSink sink;
  sink.on_write = [&](size_t index) {
    if (index == 0) {
      ASSERT_EQ(truncate((h + "/a-shrinks").c_str(), 1000), 0);
      ASSERT_EQ(unlink((h + "/z-vanishes").c_str()), 0);
    }
  };
  Result<BackupSummary> backup = WriteBackup(options, {"/home/claworc/churn"}, sink);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  std::string all;
  for (const auto& w : backup->warnings) all += w + "\n";
  EXPECT_NE(all.find("shrank while being read (padded with zeros): /home/claworc/churn/a-shrinks"),
            std::string::npos) << all;
  EXPECT_NE(all.find("vanished while being read: /home/claworc/churn/z-vanishes"), std::string::npos) << all;

  // The archive is still whole: the shrunk file keeps its archived size.
  std::string dst = tmp_ / "dst";
  MakeDirs(dst);
  Result<RestoreSummary> restore = Restore(dst, sink.data);
  ASSERT_TRUE(restore.ok()) << restore.status().ToString();
  struct stat st;
  ASSERT_EQ(stat((dst + "/home/claworc/churn/a-shrinks").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 48 << 20);
}

TEST_F(RoundTripTest, FailingSinkFailsTheBackup) {
  BackupOptions options;
  options.root = src_;
  testing::FailingSink sink(1);
  Result<BackupSummary> backup = WriteBackup(options, {"/home/claworc"}, sink);
  ASSERT_FALSE(backup.ok());
  EXPECT_EQ(backup.status().code(), Status::Code::kUnavailable) << backup.status().ToString();
}

TEST_F(RoundTripTest, CancelStopsTheBackup) {
  std::atomic<bool> cancel{true};
  BackupOptions options;
  options.root = src_;
  options.cancel = &cancel;
  StringSink sink;
  Result<BackupSummary> backup = WriteBackup(options, {"/home/claworc"}, sink);
  ASSERT_FALSE(backup.ok());
  EXPECT_EQ(backup.status().code(), Status::Code::kCanceled);
  EXPECT_TRUE(sink.data.empty());
}

}  // namespace
}  // namespace clawback::agent

namespace clawback::agent {
namespace {

// The kernel's POSIX ACL xattr form: version 2, then {tag u16, perm u16, id u32}.
std::string AclXattr(std::initializer_list<std::tuple<uint16_t, uint16_t, uint32_t>> entries) {
  std::string out("\x02\x00\x00\x00", 4);
  for (const auto& [tag, perm, id] : entries) {
    for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((tag >> (8 * i)) & 0xff));
    for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((perm >> (8 * i)) & 0xff));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
  }
  return out;
}

std::string GetXattr(const std::string& path, const char* name) {
  char buf[4096];
  ssize_t n = getxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

TEST_F(RoundTripTest, AccessAndDefaultAclsAreRestored) {
  constexpr uint32_t kNone = 0xffffffffu;
  const std::string src = tmp_ / "acl-src";
  const std::string file = src + "/home/claworc/shared.txt";
  const std::string dir = src + "/home/claworc/team";
  MakeDirs(dir);
  WriteFile(file, "shared", 0640);
  const std::string access = AclXattr({{0x01, 6, kNone}, {0x02, 4, 1000}, {0x04, 4, kNone}, {0x10, 4, kNone},
                                       {0x20, 0, kNone}});
  const std::string defaults = AclXattr({{0x01, 7, kNone}, {0x02, 7, 1000}, {0x04, 5, kNone}, {0x10, 7, kNone},
                                         {0x20, 5, kNone}});
  if (setxattr(file.c_str(), "system.posix_acl_access", access.data(), access.size(), 0) != 0)
    GTEST_SKIP() << "no POSIX ACLs on " << tmp_.path() << ": " << std::strerror(errno);
  ASSERT_EQ(setxattr(dir.c_str(), "system.posix_acl_default", defaults.data(), defaults.size(), 0), 0);

  std::string archive;
  Result<BackupSummary> backup = Backup(src, {"/home/claworc"}, &archive);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  const std::string dst = tmp_ / "acl-dst";
  MakeDirs(dst);
  Result<RestoreSummary> restore = Restore(dst, archive);
  ASSERT_TRUE(restore.ok()) << restore.status().ToString();
  EXPECT_TRUE(restore->warnings.empty()) << restore->warnings.front();
  EXPECT_EQ(GetXattr(dst + "/home/claworc/shared.txt", "system.posix_acl_access"),
            GetXattr(file, "system.posix_acl_access"));
  EXPECT_EQ(GetXattr(dst + "/home/claworc/team", "system.posix_acl_default"),
            GetXattr(dir, "system.posix_acl_default"));
  EXPECT_FALSE(GetXattr(dst + "/home/claworc/team", "system.posix_acl_default").empty());
}

}  // namespace
}  // namespace clawback::agent
