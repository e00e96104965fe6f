#include "tests/controller/cli/cli_fixture.h"

#include <filesystem>

#include "tests/support/file_tree.h"

namespace clawback::testing {

namespace fs = std::filesystem;

void CliTest::StartCli(StackOptions options) {
  ASSERT_NO_FATAL_FAILURE(StartStack(std::move(options)));
  std::string home = stack_->tmp().Sub("home");
  fs::create_directories(home);
  std::string work = stack_->tmp().Sub("cli-runs");
  fs::create_directories(work);
  cli_ = std::make_unique<CliRunner>(ClawbackBinary(), home, work);
}

std::string CliTest::server_url() const {
  return "http://127.0.0.1:" + std::to_string(stack_->controller()->port());
}

void CliTest::Login() {
  CliRunOptions in;
  in.stdin_text = std::string(E2eStack::kAdminPassword) + "\n";
  CliResult r = Cli({"login", "--server", server_url(), "--username", "admin", "--password-stdin"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
}

CliResult CliTest::Cli(const std::vector<std::string>& args, const CliRunOptions& options) {
  return cli_->Run(args, options);
}

nlohmann::json CliTest::CliJson(std::vector<std::string> args, const CliRunOptions& options) {
  args.insert(args.begin(), "--json");
  CliResult r = Cli(args, options);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  nlohmann::json j = r.Json();
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON: " << r.Describe();
  return j;
}

void CliTest::ExpectOneLineError(const CliResult& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << r.Describe();
  EXPECT_EQ(r.out, "") << r.Describe();
  std::vector<std::string> lines = r.ErrLines();
  ASSERT_EQ(lines.size(), 1u) << "exactly one line on stderr: " << r.Describe();
  EXPECT_EQ(lines[0].rfind("clawback: ", 0), 0u) << r.Describe();
  EXPECT_TRUE(ContainsNoCase(lines[0], needle)) << "'" << needle << "' in: " << lines[0];
  EXPECT_EQ(r.err.back(), '\n') << r.Describe();
}

std::string CliTest::MakeRootWithRandomFile(const std::string& dir, uint64_t bytes) {
  TreeSpec spec;
  spec.dirs = 2;
  spec.small_files = 10;
  spec.big_file_bytes = 0;
  spec.random_file_bytes = bytes;
  spec.special = false;
  GenerateTree(dir + "/home/claworc", spec);
  return dir;
}

}  // namespace clawback::testing
