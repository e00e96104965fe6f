#include "agent/archive/owner_db.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "archive_test_util.h"

namespace clawback::agent {
namespace {

TEST(OwnerDbTest, ParsesPasswdAndGroup) {
  OwnerDb db = OwnerDb::Parse(
      "root:x:0:0:root:/root:/bin/bash\n"
      "# comment:x:5:5\n"
      "claworc:x:1000:1000::/home/claworc:/bin/bash\n"
      "dup:x:1000:1000::/:/bin/sh\n"          // second name for uid 1000: name maps, id keeps first
      "claworc:x:1234:1234::/:/bin/sh\n"      // second entry for a name: name keeps 1000
      "+nis::::::\n"
      "-minus:x:7:7\n"
      "bad-id:x:12a:1\n"
      "negative:x:-1:1\n"
      "huge:x:99999999999:1\n"
      "short:x\n"
      ":x:9:9\n"
      "noeol:x:42:42",
      "root:x:0:\nclaworc:x:1000:\nothers:x:1002:a,b\nbroken\n");
  EXPECT_STREQ(db.UserName(0), "root");
  EXPECT_STREQ(db.UserName(1000), "claworc");
  EXPECT_STREQ(db.UserName(42), "noeol");
  EXPECT_STREQ(db.UserName(1234), "claworc");  // getpwuid(1234) finds that line too
  EXPECT_EQ(db.UserName(5), nullptr);
  EXPECT_EQ(db.UserName(7), nullptr);
  EXPECT_EQ(db.UserName(9), nullptr);
  EXPECT_EQ(db.UserId("claworc"), 1000);
  EXPECT_EQ(db.UserId("dup"), 1000);
  EXPECT_EQ(db.UserId("bad-id"), std::nullopt);
  EXPECT_EQ(db.UserId("negative"), std::nullopt);
  EXPECT_EQ(db.UserId("huge"), std::nullopt);
  EXPECT_EQ(db.UserId("+nis"), std::nullopt);
  EXPECT_EQ(db.UserId("nobody"), std::nullopt);
  EXPECT_STREQ(db.GroupName(1002), "others");
  EXPECT_EQ(db.GroupId("others"), 1002);
  EXPECT_EQ(db.GroupId("broken"), std::nullopt);
  EXPECT_EQ(db.GroupName(5), nullptr);
}

TEST(OwnerDbTest, LoadsFromRootWithoutFollowingSymlinks) {
  testing::TempDir tmp;
  testing::MakeDirs(tmp / "a/etc");
  testing::WriteFile(tmp / "a/etc/passwd", "claworc:x:1000:1000::/:/bin/sh\n");
  testing::WriteFile(tmp / "a/etc/group", "claworc:x:1000:\n");
  OwnerDb a = OwnerDb::Load(tmp / "a");
  EXPECT_EQ(a.UserId("claworc"), 1000);
  EXPECT_EQ(a.GroupId("claworc"), 1000);

  // A container whose /etc/passwd points at a host file: not read.
  testing::MakeDirs(tmp / "b/etc");
  testing::WriteFile(tmp / "host-passwd", "hostuser:x:77:77::/:/bin/sh\n");
  ASSERT_EQ(symlink((tmp / "host-passwd").c_str(), (tmp / "b/etc/passwd").c_str()), 0);
  EXPECT_EQ(OwnerDb::Load(tmp / "b").user_count(), 0u);
  // /etc itself a symlink: not followed either.
  testing::MakeDirs(tmp / "c");
  ASSERT_EQ(symlink((tmp / "a/etc").c_str(), (tmp / "c/etc").c_str()), 0);
  EXPECT_EQ(OwnerDb::Load(tmp / "c").user_count(), 0u);
  // Missing files: empty database.
  EXPECT_EQ(OwnerDb::Load(tmp / "missing").user_count(), 0u);
}

}  // namespace
}  // namespace clawback::agent
