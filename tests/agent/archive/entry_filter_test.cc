#include "agent/archive/entry_filter.h"

#include <gtest/gtest.h>

namespace clawback::agent {
namespace {

struct Case {
  std::string name;
  EntryType type;
  bool hardlink;
  std::string target;
  bool allow_devices;
  bool allowed;
  std::string path;          // expected when allowed
  std::string reason_part;   // expected substring when refused
};

TEST(EntryFilterTest, Table) {
  const Case cases[] = {
      {"home/claworc/a.txt", EntryType::kRegular, false, "", false, true, "/home/claworc/a.txt", ""},
      {"./home/claworc/a.txt", EntryType::kRegular, false, "", false, true, "/home/claworc/a.txt", ""},
      {"home/claworc/dir/", EntryType::kDirectory, false, "", false, true, "/home/claworc/dir", ""},
      {".", EntryType::kDirectory, false, "", false, true, "/", ""},
      {"./", EntryType::kDirectory, false, "", false, true, "/", ""},
      {".", EntryType::kSymlink, false, "", false, false, "", "root itself"},
      {".", EntryType::kRegular, false, "", false, false, "", "root itself"},
      {"home/claworc/l", EntryType::kSymlink, false, "", false, true, "/home/claworc/l", ""},
      {"/etc/passwd", EntryType::kRegular, false, "", false, false, "", "absolute"},
      {"../etc/passwd", EntryType::kRegular, false, "", false, false, "", ".."},
      {"home/../../x", EntryType::kRegular, false, "", false, false, "", ".."},
      {"home/..", EntryType::kDirectory, false, "", false, false, "", ".."},
      {"", EntryType::kRegular, false, "", false, false, "", "empty"},
      {std::string("home/a\0b", 8), EntryType::kRegular, false, "", false, false, "", "NUL"},
      {"tmp/x", EntryType::kRegular, false, "", false, false, "", "excluded"},
      {"proc", EntryType::kDirectory, false, "", false, false, "", "excluded"},
      {"dev/null", EntryType::kCharDevice, false, "", true, false, "", "excluded"},
      {"run/lock/x", EntryType::kRegular, false, "", false, false, "", "excluded"},
      {"sys/x", EntryType::kRegular, false, "", false, false, "", "excluded"},
      {"tmpfile", EntryType::kRegular, false, "", false, true, "/tmpfile", ""},
      {"var/tmp/x", EntryType::kRegular, false, "", false, true, "/var/tmp/x", ""},
      {"home/n", EntryType::kCharDevice, false, "", false, false, "", "device"},
      {"home/n", EntryType::kBlockDevice, false, "", false, false, "", "device"},
      {"home/n", EntryType::kCharDevice, false, "", true, true, "/home/n", ""},
      {"home/p", EntryType::kFifo, false, "", false, false, "", "FIFO"},
      {"home/p", EntryType::kFifo, false, "", true, true, "/home/p", ""},
      {"home/s", EntryType::kSocket, false, "", true, false, "", "socket"},
      {"home/u", EntryType::kUnknown, false, "", true, false, "", "unsupported"},
      {"home/h", EntryType::kRegular, true, "home/a", false, true, "/home/h", ""},
      {"home/h", EntryType::kRegular, true, "/etc/shadow", false, false, "", "hard link target"},
      {"home/h", EntryType::kRegular, true, "../../x", false, false, "", "hard link target"},
      {"home/h", EntryType::kRegular, true, "tmp/x", false, false, "", "hard link target"},
      {"home/h", EntryType::kRegular, true, ".", false, false, "", "root"},
      {"home/h", EntryType::kRegular, true, "", false, false, "", "hard link target"},
      {"home/" + std::string(5000, 'x'), EntryType::kRegular, false, "", false, false, "", "longer"},
      {"home/" + std::string(4080, 'x'), EntryType::kRegular, false, "", false, false, "", "too long"},
  };
  for (const Case& c : cases) {
    EntryCandidate cand;
    cand.name = c.name;
    cand.type = c.type;
    cand.is_hardlink = c.hardlink;
    cand.hardlink_name = c.target;
    cand.allow_devices = c.allow_devices;
    cand.root_length = 20;
    EntryDecision d = DecideEntry(cand);
    SCOPED_TRACE(PrintableEntryName(c.name));
    EXPECT_EQ(d.allowed, c.allowed) << d.reason;
    if (c.allowed) {
      EXPECT_EQ(d.path, c.path);
      EXPECT_TRUE(d.reason.empty());
      if (c.hardlink) EXPECT_EQ(d.hardlink_path, "/" + c.target);
    } else {
      EXPECT_NE(d.reason.find(c.reason_part), std::string::npos) << d.reason;
      EXPECT_TRUE(d.path.empty());
    }
  }
}

TEST(EntryFilterTest, PrintableEntryName) {
  EXPECT_EQ(PrintableEntryName("home/a b"), "home/a b");
  EXPECT_EQ(PrintableEntryName("a\nb"), "a\\x0ab");
  EXPECT_EQ(PrintableEntryName("a\\b"), "a\\x5cb");
  EXPECT_EQ(PrintableEntryName("\xc3\xbc"), "\xc3\xbc");
  EXPECT_EQ(PrintableEntryName(std::string(3000, 'a')).size(), 1027u);
}

TEST(EntryFilterTest, JoinRoot) {
  EXPECT_EQ(JoinRoot("/r", "/a/b"), "/r/a/b");
  EXPECT_EQ(JoinRoot("/r", "/"), "/r");
  EXPECT_EQ(JoinRoot("/", "/a"), "/a");
  EXPECT_EQ(JoinRoot("/", "/"), "/");
}

}  // namespace
}  // namespace clawback::agent
