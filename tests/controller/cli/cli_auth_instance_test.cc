// `clawback login` and `clawback instance ...` against a real controller:
// the token lands in a 0600 config file and is used from there (with the
// documented precedence flag > environment > file); instances are added,
// listed, shown by name and by id, removed, and their bundles verify against
// the CA with the instance's SPIFFE identity - and really serve an agent.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/controller/cli/cli_fixture.h"
#include "tests/support/agent_process.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

class CliAuthInstanceTest : public CliTest {};

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST_F(CliAuthInstanceTest, LoginSavesATokenInAPrivateConfigFileThatLaterCommandsUse) {
  ASSERT_NO_FATAL_FAILURE(StartCli());

  // A wrong password: one line, exit 3, no config file.
  CliRunOptions wrong;
  wrong.stdin_text = "not-the-password\n";
  ExpectOneLineError(Cli({"login", "--server", server_url(), "-u", "admin", "--password-stdin"}, wrong), 3,
                     "");
  EXPECT_FALSE(fs::exists(cli_->config_path()));
  // Not interactive and no --password-stdin: says how to give it.
  ExpectOneLineError(Cli({"login", "--server", server_url(), "-u", "admin"}), 2, "--password-stdin");

  CliRunOptions in;
  in.stdin_text = std::string(E2eStack::kAdminPassword) + "\n";
  CliResult login = Cli({"login", "--server", server_url(), "-u", "admin", "--password-stdin"}, in);
  ASSERT_EQ(login.exit_code, 0) << login.Describe();
  EXPECT_NE(login.out.find(cli_->config_path()), std::string::npos) << login.out;

  const std::string config = cli_->config_path();
  ASSERT_TRUE(fs::is_regular_file(config)) << config;
  EXPECT_EQ(ModeOf(config), 0600u);
  EXPECT_EQ(ModeOf(fs::path(config).parent_path().string()), 0700u);
  json saved = json::parse(ReadFile(config), nullptr, false);
  ASSERT_TRUE(saved.is_object()) << ReadFile(config);
  EXPECT_EQ(saved.value("server", ""), server_url());
  EXPECT_EQ(saved.value("username", ""), "admin");
  const std::string token = saved.value("token", "");
  EXPECT_FALSE(token.empty());
  EXPECT_EQ(ReadFile(config).find(E2eStack::kAdminPassword), std::string::npos)
      << "the password is not stored";

  // Later commands need neither --server nor --token.
  json me = CliJson({"whoami"});
  EXPECT_EQ(me["user"].value("username", ""), "admin") << me.dump();
  // The token is a real API token of the server.
  PlainResponse direct =
      stack_->CallAnonymous("GET", "/api/v1/auth/me", nullptr, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(direct.status, 200) << direct.Describe();

  // Precedence: the environment beats the file, a flag beats the environment.
  CliRunOptions bad_env;
  bad_env.env["CLAWBACK_TOKEN"] = "cbk_not-a-real-token";
  ExpectOneLineError(Cli({"instance", "list"}, bad_env), 3, "token");
  CliResult flag_wins = Cli({"--token", token, "instance", "list"}, bad_env);
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.Describe();
  // The saved token is never sent to another server named by a flag.
  ExpectOneLineError(Cli({"--server", "http://127.0.0.1:1", "instance", "list"}), 3, "not signed in");

  // logout revokes the token on the server and forgets it.
  CliResult logout = Cli({"logout"});
  EXPECT_EQ(logout.exit_code, 0) << logout.Describe();
  EXPECT_EQ(ModeOf(config), 0600u);
  EXPECT_FALSE(json::parse(ReadFile(config)).contains("token")) << ReadFile(config);
  direct = stack_->CallAnonymous("GET", "/api/v1/auth/me", nullptr, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(direct.status, 401) << direct.Describe();
  ExpectOneLineError(Cli({"instance", "list"}), 3, "not signed in");
}

// openssl(1) as an independent judge of a bundle: the certificate chains to
// the CA, carries exactly the instance's URI SAN, and matches the key.
void ExpectBundleFor(const std::string& dir, const std::string& instance) {
  ProcessOutput verify =
      RunProcess({"/usr/bin/openssl", "verify", "-CAfile", dir + "/ca.crt", dir + "/agent.crt"});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find(": OK"), std::string::npos) << verify.output;
  ProcessOutput san =
      RunProcess({"/usr/bin/openssl", "x509", "-in", dir + "/agent.crt", "-noout", "-ext", "subjectAltName"});
  EXPECT_EQ(san.exit_code, 0) << san.output;
  EXPECT_NE(san.output.find("URI:spiffe://claworc/instance/" + instance + "\n"), std::string::npos)
      << san.output;
  ProcessOutput cert_pub =
      RunProcess({"/usr/bin/openssl", "x509", "-in", dir + "/agent.crt", "-noout", "-pubkey"});
  ProcessOutput key_pub = RunProcess({"/usr/bin/openssl", "pkey", "-in", dir + "/agent.key", "-pubout"});
  EXPECT_EQ(cert_pub.exit_code, 0) << cert_pub.output;
  EXPECT_FALSE(cert_pub.output.empty());
  EXPECT_EQ(cert_pub.output, key_pub.output) << "agent.key belongs to agent.crt";
  EXPECT_EQ(ModeOf(dir + "/agent.key"), 0600u);
  EXPECT_EQ(ModeOf(dir), 0700u);
}

TEST_F(CliAuthInstanceTest, InstanceAddListShowBundleRm) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());

  CliResult added = Cli({"instance", "add", "gamma", "--agent-url", "https://127.0.0.1:1"});
  ASSERT_EQ(added.exit_code, 0) << added.Describe();
  EXPECT_NE(added.out.find("gamma"), std::string::npos) << added.out;
  json delta = CliJson({"instance", "add", "delta", "--agent-url", "https://127.0.0.1:1"});
  ASSERT_TRUE(delta.contains("id")) << delta.dump();
  ExpectOneLineError(Cli({"instance", "add", "gamma", "--agent-url", "https://127.0.0.1:2"}), 5, "exists");

  json list = CliJson({"instance", "list"});
  ASSERT_TRUE(list["instances"].is_array()) << list.dump();
  std::vector<std::string> names;
  int64_t gamma_id = 0;
  for (const auto& i : list["instances"]) {
    names.push_back(i.value("name", ""));
    if (i.value("name", "") == "gamma") gamma_id = i.value("id", int64_t{0});
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"delta", "gamma"}));
  ASSERT_GT(gamma_id, 0);
  CliResult table = Cli({"instance", "list"});
  EXPECT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_EQ(table.out.rfind("ID  NAME", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("delta"), std::string::npos) << table.out;

  // Named by name or by id, the same instance.
  json by_name = CliJson({"instance", "show", "gamma"});
  json by_id = CliJson({"instance", "show", std::to_string(gamma_id)});
  EXPECT_EQ(by_name.value("id", int64_t{0}), gamma_id);
  EXPECT_EQ(by_id.value("name", ""), "gamma");

  // The bundle from the API, and the same offline from the data dir's CA.
  const std::string bundle = stack_->tmp().Sub("bundle-gamma");
  CliResult issued = Cli({"instance", "bundle", "gamma", "--out", bundle});
  ASSERT_EQ(issued.exit_code, 0) << issued.Describe();
  ExpectBundleFor(bundle, "gamma");
  const std::string offline = stack_->tmp().Sub("bundle-offline");
  CliResult issued_offline =
      Cli({"instance", "bundle", "delta", "--out", offline, "--data-dir", stack_->data_dir()});
  ASSERT_EQ(issued_offline.exit_code, 0) << issued_offline.Describe();
  ExpectBundleFor(offline, "delta");

  // The bundle really serves gamma's agent: point gamma at it and it runs.
  AgentProcessOptions o;
  o.binary = AgentBinary();
  o.work_dir = stack_->tmp().path();
  o.root = MakeSmallRoot(stack_->tmp().Sub("root-gamma"));
  o.cert = bundle + "/agent.crt";
  o.key = bundle + "/agent.key";
  o.ca = bundle + "/ca.crt";
  auto agent = AgentProcess::Start(o);
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  CliResult updated = Cli({"instance", "update", "gamma", "--agent-url",
                           "https://127.0.0.1:" + std::to_string((*agent)->port())});
  ASSERT_EQ(updated.exit_code, 0) << updated.Describe();
  json shown;
  EXPECT_TRUE(WaitFor(
      [&] {
        shown = Cli({"--json", "instance", "show", "gamma"}).Json();
        return shown.is_object() && shown.value("status", "") == "running";
      },
      30s, 200ms))
      << shown.dump();

  // rm by name and by id; then they are gone.
  CliResult removed = Cli({"instance", "rm", "gamma"});
  EXPECT_EQ(removed.exit_code, 0) << removed.Describe();
  CliResult removed_by_id = Cli({"instance", "rm", std::to_string(delta["id"].get<int64_t>())});
  EXPECT_EQ(removed_by_id.exit_code, 0) << removed_by_id.Describe();
  EXPECT_TRUE(CliJson({"instance", "list"})["instances"].empty());
  ExpectOneLineError(Cli({"instance", "show", "gamma"}), 4, "no instance named gamma");
}

}  // namespace
}  // namespace clawback::testing
