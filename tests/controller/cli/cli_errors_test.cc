// Every CLI error is one line on stderr and a non-zero exit code from the one
// mapping in controller/cli/exit_codes.h (1 runtime/server, 2 usage or bad
// input, 3 not signed in or forbidden, 4 not found, 5 conflict), with
// nothing on stdout - against a real controller, and with it gone. Also:
// every command's --help works offline.
#include <filesystem>

#include "tests/controller/cli/cli_fixture.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class CliErrorsTest : public CliTest {};

struct ErrorCase {
  std::vector<std::string> args;
  int exit_code;
  std::string needle;
};

TEST_F(CliErrorsTest, EachErrorIsOneLineAndANonZeroExit) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());

  const std::vector<ErrorCase> cases = {
      // bad token (a flag beats the saved one)
      {{"--token", "cbk_bogus", "instance", "list"}, 3, "token"},
      {{"--token", "cbk_bogus", "backup", "list", "--json"}, 3, "token"},
      // unknown instance, by name and by id
      {{"instance", "show", "nope"}, 4, "no instance named nope"},
      {{"instance", "show", "999"}, 4, "no instance named 999"},
      {{"instance", "rm", "nope"}, 4, "no instance named nope"},
      {{"instance", "bundle", "nope", "--out", "/tmp/never-written"}, 4, "no instance named nope"},
      {{"backup", "create", "nope", "--wait"}, 4, "no instance named nope"},
      {{"backup", "list", "--instance", "nope"}, 4, "nope"},
      {{"backup", "restore", "1", "--to", "nope"}, 4, "no instance named nope"},
      {{"schedule", "create", "--name", "s", "-i", "nope", "--cron", "@daily"}, 4, "no instance named nope"},
      // unknown backup or schedule
      {{"backup", "show", "999"}, 4, "not found"},
      {{"backup", "download", "999"}, 4, "not found"},
      {{"schedule", "run", "nope"}, 4, "no schedule named nope"},
      // bad cron field, bad zone: offline and by the server, naming the field
      {{"schedule", "next", "61 * * * *"}, 2, "minute"},
      {{"schedule", "next", "* * * * * *"}, 2, "cron"},
      {{"schedule", "next", "0 2 * * *", "--tz", "Mars/Olympus"}, 2, "Mars/Olympus"},
      {{"schedule", "create", "--name", "s", "-i", "alpha", "--cron", "0 25 * * *"}, 2, "hour"},
      {{"schedule", "create", "--name", "s", "-i", "alpha", "--cron", "0 2 * * *", "--tz", "Nowhere/X"},
       2,
       "timezone"},
      {{"schedule", "create", "--name", "s", "-i", "alpha"}, 2, "--cron"},
      // bad input the server refuses
      {{"backup", "create", "alpha", "--path", "relative/path"}, 2, "absolute"},
      {{"instance", "add", "Bad_Name", "--agent-url", "https://127.0.0.1:1"}, 2, "name"},
      // usage
      {{"backup", "show"}, 2, "clawback backup show --help"},
      {{"backup"}, 2, "subcommand"},
      {{"backup", "frobnicate"}, 2, "frobnicate"},
      {{"frobnicate"}, 2, "unknown command frobnicate"},
      {{"backup", "list", "--status", "weird"}, 2, "weird"},
      {{"--server", "ftp://example", "instance", "list"}, 2, "http://"},
      {{"--server", "http://127.0.0.1:", "instance", "list"}, 2, "port"},
  };
  for (const auto& c : cases) {
    std::string line;
    for (const auto& a : c.args) line += " " + a;
    SCOPED_TRACE("clawback" + line);
    ExpectOneLineError(Cli(c.args), c.exit_code, c.needle);
  }

  // Not signed in: a fresh HOME has no config.
  TempDir other_home("clawback-cli-home-");
  CliRunOptions no_config;
  no_config.env["HOME"] = other_home.path();
  ExpectOneLineError(Cli({"instance", "list"}, no_config), 2, "no server");
  no_config.env["CLAWBACK_SERVER"] = server_url();
  ExpectOneLineError(Cli({"instance", "list"}, no_config), 3, "not signed in");

  // A failed backup under --wait: exit 1, the agent's reason as the last line.
  CliResult failed = Cli({"backup", "create", "alpha", "--path", "/home/claworc/missing", "--wait"});
  EXPECT_EQ(failed.exit_code, 1) << failed.Describe();
  ASSERT_FALSE(failed.ErrLines().empty());
  EXPECT_TRUE(ContainsNoCase(failed.ErrLines().back(), "does not exist")) << failed.Describe();
  EXPECT_EQ(failed.ErrLines().back().rfind("clawback: backup ", 0), 0u) << failed.Describe();

  // Server down.
  stack_->KillController();
  ExpectOneLineError(Cli({"instance", "list"}), 1, "cannot connect");
  ExpectOneLineError(Cli({"--json", "backup", "create", "alpha", "--wait"}), 1, "cannot connect");
  ExpectOneLineError(Cli({"backup", "download", "1"}), 1, "cannot connect");
}

TEST_F(CliErrorsTest, EveryCommandHasHelp) {
  TempDir home("clawback-cli-home-");
  TempDir work("clawback-cli-work-");
  CliRunner offline(ClawbackBinary(), home.path(), work.path());

  CliResult top = offline.Run({"--help"});
  EXPECT_EQ(top.exit_code, 0) << top.Describe();
  for (const char* noun :
       {"login", "instance", "backup", "schedule", "serve", "pki", "--server", "--token", "--json"}) {
    EXPECT_NE(top.out.find(noun), std::string::npos) << noun << " in\n" << top.out;
  }
  const std::vector<std::vector<std::string>> commands = {
      {"login"},
      {"logout"},
      {"whoami"},
      {"instance"},
      {"instance", "add"},
      {"instance", "list"},
      {"instance", "show"},
      {"instance", "update"},
      {"instance", "rm"},
      {"instance", "bundle"},
      {"backup"},
      {"backup", "create"},
      {"backup", "list"},
      {"backup", "show"},
      {"backup", "download"},
      {"backup", "delete"},
      {"backup", "cancel"},
      {"backup", "restore"},
      {"schedule"},
      {"schedule", "create"},
      {"schedule", "list"},
      {"schedule", "show"},
      {"schedule", "update"},
      {"schedule", "enable"},
      {"schedule", "disable"},
      {"schedule", "delete"},
      {"schedule", "run"},
      {"schedule", "next"},
  };
  for (auto args : commands) {
    std::string path = "clawback";
    for (const auto& a : args) path += " " + a;
    SCOPED_TRACE(path);
    args.push_back("--help");
    CliResult r = offline.Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_NE(r.out.find("Usage: " + path), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
  }
  CliResult create = offline.Run({"backup", "create", "--help"});
  for (const char* flag : {"--path", "--note", "--wait"}) EXPECT_NE(create.out.find(flag), std::string::npos);
  CliResult restore = offline.Run({"backup", "restore", "--help"});
  EXPECT_NE(restore.out.find("--to"), std::string::npos);
  CliResult login = offline.Run({"login", "--help"});
  EXPECT_NE(login.out.find("--password-stdin"), std::string::npos);
}

}  // namespace
}  // namespace clawback::testing
