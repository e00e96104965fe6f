#include "shared/path_rules.h"

#include <gtest/gtest.h>

namespace clawback {
namespace {

struct ResolveCase {
  std::vector<std::string> input;
  std::vector<std::string> want;  // empty when an error is expected
  std::string error_part;         // substring of the error message
};

TEST(ResolveBackupPaths, Table) {
  const ResolveCase cases[] = {
      {{}, {"/home/claworc"}, ""},
      {{"HOME"}, {"/home/claworc"}, ""},
      {{"Homebrew"}, {"/home/linuxbrew/.linuxbrew"}, ""},
      {{"/"}, {"/"}, ""},
      {{"/", "HOME", "/etc/nginx"}, {"/"}, ""},  // nested paths collapse into "/"
      {{"/etc/nginx/", "//etc//nginx/./"}, {"/etc/nginx"}, ""},
      {{"/home/claworc/work", "HOME"}, {"/home/claworc"}, ""},
      {{"/home/claworcx", "HOME"}, {"/home/claworc", "/home/claworcx"}, ""},
      {{"/etc/nginx", "/srv"}, {"/etc/nginx", "/srv"}, ""},
      {{"etc/nginx"}, {}, "path must be absolute: etc/nginx"},
      {{"home"}, {}, "path must be absolute: home"},
      {{""}, {}, "path is empty"},
      {{"/etc/../root"}, {}, "'..'"},
      {{"/.."}, {}, "'..'"},
      {{std::string("/etc/a\0b", 8)}, {}, "NUL byte: /etc/a\\x00b"},
      {{"/proc"}, {}, "excluded system directory: /proc"},
      {{"/proc/1/root"}, {}, "excluded system directory: /proc/1/root"},
      {{"/sys/"}, {}, "excluded system directory: /sys"},
      {{"/dev/sda"}, {}, "excluded"},
      {{"/tmp"}, {}, "excluded"},
      {{"/run/secrets"}, {}, "excluded"},
      {{"/runner"}, {"/runner"}, ""},  // a prefix of an excluded name is not excluded
      {{"/" + std::string(5000, 'a')}, {}, "longer than 4096"},
      {{"home"}, {}, "absolute"},  // aliases are case-sensitive
  };
  for (const auto& c : cases) {
    auto got = ResolveBackupPaths(c.input);
    if (c.want.empty()) {
      ASSERT_FALSE(got.ok()) << "input[0]=" << (c.input.empty() ? "" : c.input[0]);
      EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument);
      EXPECT_NE(got.status().message().find(c.error_part), std::string::npos) << got.status().message();
    } else {
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(ResolveBackupPaths, TooManyPaths) {
  std::vector<std::string> many(65, "/srv");
  EXPECT_FALSE(ResolveBackupPaths(many).ok());
}

TEST(ArchiveNameToPath, Table) {
  struct Case {
    std::string name;
    std::string want;  // empty = refused
  } cases[] = {
      {"home/claworc/a.txt", "/home/claworc/a.txt"},
      {"./home/claworc/a.txt", "/home/claworc/a.txt"},
      {"home//claworc/./a", "/home/claworc/a"},
      {".", "/"},
      {"./", "/"},
      {"home/claworc/", "/home/claworc"},
      {"/etc/passwd", ""},
      {"../etc/passwd", ""},
      {"home/../../etc/passwd", ""},
      {"home/claworc/..", ""},
      {"", ""},
      {"proc/self/mem", ""},
      {"dev/sda", ""},
      {"tmp/x", ""},
      {std::string("home/a\0b", 8), ""},
  };
  for (const auto& c : cases) {
    auto got = ArchiveNameToPath(c.name);
    if (c.want.empty()) {
      EXPECT_FALSE(got.ok()) << c.name;
    } else {
      ASSERT_TRUE(got.ok()) << c.name << ": " << got.status().ToString();
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(PathToArchiveName, RoundTrips) {
  EXPECT_EQ(PathToArchiveName("/home/claworc/x"), "home/claworc/x");
  EXPECT_EQ(PathToArchiveName("/"), ".");
  for (std::string p : {"/home/claworc/x", "/etc/nginx", "/"}) {
    EXPECT_EQ(*ArchiveNameToPath(PathToArchiveName(p)), p);
  }
}

}  // namespace
}  // namespace clawback
