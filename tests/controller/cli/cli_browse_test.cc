// `clawback backup ls|cat|get|diff` and `backup restore --path` against a
// real controller and real agents: listings, raw bytes on stdout identical
// to the source file, a directory saved as a .tar.zst that GNU tar extracts
// to the source subtree, a diff, a partial restore, and one-line errors for
// paths that are not in the backup or are malformed.
#include <filesystem>
#include <fstream>

#include "tests/controller/cli/cli_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

class CliBrowseTest : public CliTest {};

TEST_F(CliBrowseTest, LsCatGetDiffAndPartialRestore) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  const std::string root = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  const auto [alpha, beta, beta_root] = AddAlphaAndEmptyBeta(root);
  ASSERT_FALSE(HasFailure());
  json first = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(first.value("status", ""), "completed") << first.dump();
  const std::string id = std::to_string(first["id"].get<int64_t>());

  // ls: a table, and --json with every entry.
  CliResult ls = Cli({"backup", "ls", id, "/home/claworc/bin"});
  ASSERT_EQ(ls.exit_code, 0) << ls.Describe();
  EXPECT_NE(ls.out.find("tool.sh"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("tool-hardlink.sh"), std::string::npos) << ls.out;
  json listed = CliJson({"backup", "ls", id, "/home/claworc"});
  size_t want = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root + "/home/claworc")) ++want;
  EXPECT_EQ(listed["entries"].size(), want) << listed.dump();

  // cat: the raw bytes.
  CliResult cat = Cli({"backup", "cat", id, "/home/claworc/logs/app.log"});
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_TRUE(cat.out == ReadFile(root + "/home/claworc/logs/app.log")) << "cat output differs";

  // get: a file, and a directory as .tar.zst.
  const std::string out_file = stack_->tmp().Sub("tool.sh");
  CliResult got = Cli({"backup", "get", id, "/home/claworc/bin/tool.sh", "-o", out_file});
  ASSERT_EQ(got.exit_code, 0) << got.Describe();
  EXPECT_EQ(ReadFile(out_file), ReadFile(root + "/home/claworc/bin/tool.sh"));
  const std::string out_tar = stack_->tmp().Sub("bin.tar.zst");
  CliResult dir = Cli({"backup", "get", id, "/home/claworc/bin", "-o", out_tar});
  ASSERT_EQ(dir.exit_code, 0) << dir.Describe();
  const std::string x = stack_->tmp().Sub("x");
  fs::create_directories(x);
  ProcessOutput tar = RunProcess({"tar", "--zstd", "-xpf", out_tar, "-C", x});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  EXPECT_EQ(CompareTrees(root + "/home/claworc/bin", x + "/home/claworc/bin"), "");

  // Errors: one line each.
  ExpectOneLineError(Cli({"backup", "cat", id, "/home/claworc/nope"}), 4, "not in the backup");
  ExpectOneLineError(Cli({"backup", "ls", id, "/home/../etc"}), 2, "..");
  ExpectOneLineError(Cli({"backup", "get", id, "/home/claworc/nope", "-o", stack_->tmp().Sub("nope")}), 4,
                     "not in the backup");
  EXPECT_FALSE(fs::exists(stack_->tmp().Sub("nope"))) << "no file written for a failed get";
  EXPECT_FALSE(fs::exists(stack_->tmp().Sub("nope.partial")));

  // diff against a second backup.
  std::ofstream(root + "/home/claworc/new.txt") << "new\n";
  json second = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(second.value("status", ""), "completed");
  CliResult diff = Cli({"backup", "diff", std::to_string(second["id"].get<int64_t>()), id});
  ASSERT_EQ(diff.exit_code, 0) << diff.Describe();
  EXPECT_NE(diff.out.find("+ /home/claworc/new.txt"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("1 added"), std::string::npos) << diff.out;

  // Partial restore of one directory.
  CliResult restored = Cli({"backup", "restore", id, "--to", "beta", "--path", "/home/claworc/bin", "--wait"});
  ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
  EXPECT_EQ(CompareTrees(root + "/home/claworc/bin", beta_root + "/home/claworc/bin"), "");
  std::vector<std::string> top;
  for (const auto& e : fs::directory_iterator(beta_root + "/home/claworc")) top.push_back(e.path().filename().string());
  EXPECT_EQ(top, std::vector<std::string>{"bin"});
  ExpectOneLineError(Cli({"backup", "restore", id, "--to", "beta", "--path", "/home/claworc/nope"}), 2,
                     "not in backup");
}

}  // namespace
}  // namespace clawback::testing
