// The real `clawback` CLI binary against a real `clawback serve`: user
// create|list|show|update|delete|assign|unassign|passwd and audit (filters,
// --json), as an admin and as a regular user. Every failure prints exactly
// one line "clawback: <message>" and exits non-zero with the documented code
// (2 bad input, 3 not allowed, 4 not found, 5 conflict).
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {
namespace {

using json = nlohmann::json;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class CliUsersTest : public E2eTest {
 protected:
  void SetUp() override {
    StartStack();
    server_ = "http://127.0.0.1:" + std::to_string(stack_->controller()->port());
    ASSERT_TRUE(stack_->RegisterInstance("web-1", "https://127.0.0.1:1").ok());
    ASSERT_TRUE(stack_->RegisterInstance("web-2", "https://127.0.0.1:1").ok());
    ProcessOutput in = Login("admin", E2eStack::kAdminPassword);
    ASSERT_EQ(in.exit_code, 0) << in.output;
  }

  // Each user has their own config dir (their saved token).
  std::map<std::string, std::string> Env(const std::string& as, std::map<std::string, std::string> extra = {}) {
    std::string home = stack_->tmp().Sub("home-" + as);
    std::filesystem::create_directories(home);
    extra["HOME"] = home;
    extra["XDG_CONFIG_HOME"] = home + "/.config";
    extra["CLAWBACK_SERVER"] = server_;
    if (!extra.count("CLAWBACK_PASSWORD")) extra["CLAWBACK_PASSWORD"] = "";
    extra["CLAWBACK_NEW_PASSWORD"] = extra.count("CLAWBACK_NEW_PASSWORD") ? extra["CLAWBACK_NEW_PASSWORD"] : "";
    extra["CLAWBACK_TOKEN"] = "";
    return extra;
  }

  ProcessOutput Run(const std::string& as, std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), ClawbackBinary());
    return RunWithEnv(args, Env(as, std::move(env)));
  }
  ProcessOutput Admin(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return Run("admin", std::move(args), std::move(env));
  }
  ProcessOutput Login(const std::string& user, const std::string& password) {
    return Run(user, {"login", "--username", user}, {{"CLAWBACK_PASSWORD", password}});
  }
  json Json(const ProcessOutput& out) { return json::parse(out.output, nullptr, false); }

  // A failed command: the exit code and exactly one "clawback: ..." line.
  void ExpectError(const ProcessOutput& out, int code, const std::string& message) {
    EXPECT_EQ(out.exit_code, code) << out.output;
    std::vector<std::string> lines = Lines(out.output);
    ASSERT_EQ(lines.size(), 1u) << out.output;
    EXPECT_EQ(lines[0].rfind("clawback: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(message), std::string::npos) << lines[0];
  }

  std::string server_;
};

TEST_F(CliUsersTest, UserLifecycle) {
  ProcessOutput created = Admin({"user", "create", "bob", "--instance", "web-1"}, {{"CLAWBACK_PASSWORD", "bob-password-123"}});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find("User bob created"), std::string::npos) << created.output;
  EXPECT_EQ(created.output.find("bob-password-123"), std::string::npos);

  ProcessOutput list = Admin({"user", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("USERNAME"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("bob"), std::string::npos) << list.output;
  json users = Json(Admin({"--json", "user", "list"}));
  ASSERT_TRUE(users.is_object()) << users;
  ASSERT_EQ(users["users"].size(), 2u);
  EXPECT_EQ(users.dump().find("password"), std::string::npos);

  json bob = Json(Admin({"user", "show", "bob", "--json"}));
  ASSERT_TRUE(bob.is_object());
  EXPECT_EQ(bob["role"], "user");
  EXPECT_EQ(bob["can_create_instances"], false);
  EXPECT_EQ(bob["instance_ids"].size(), 1u);
  ProcessOutput shown = Admin({"user", "show", std::to_string(bob["id"].get<int64_t>())});
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.output.find("username:"), std::string::npos) << shown.output;

  EXPECT_EQ(Admin({"user", "update", "bob", "--can-create-instances", "true", "--role", "admin"}).exit_code, 0);
  bob = Json(Admin({"--json", "user", "show", "bob"}));
  EXPECT_EQ(bob["role"], "admin");
  EXPECT_EQ(bob["can_create_instances"], true);
  EXPECT_EQ(Admin({"user", "update", "bob", "--role", "user"}).exit_code, 0);

  ProcessOutput assigned = Admin({"user", "assign", "bob", "web-2"});
  EXPECT_EQ(assigned.exit_code, 0) << assigned.output;
  EXPECT_EQ(Json(Admin({"--json", "user", "show", "bob"}))["instance_ids"].size(), 2u);
  EXPECT_EQ(Admin({"user", "unassign", "bob", "web-1"}).exit_code, 0);
  bob = Json(Admin({"--json", "user", "show", "bob"}));
  ASSERT_EQ(bob["instance_ids"].size(), 1u);

  // Admin password reset, then bob signs in with it and changes his own.
  ProcessOutput reset = Admin({"user", "passwd", "bob"}, {{"CLAWBACK_NEW_PASSWORD", "bob-reset-password-1"}});
  ASSERT_EQ(reset.exit_code, 0) << reset.output;
  ExpectError(Login("bob", "bob-password-123"), 3, "invalid username or password");
  ASSERT_EQ(Login("bob", "bob-reset-password-1").exit_code, 0);
  ExpectError(Run("bob", {"user", "passwd"},
                  {{"CLAWBACK_PASSWORD", "not-the-password"}, {"CLAWBACK_NEW_PASSWORD", "bob-own-password-2"}}),
              2, "current_password");
  ProcessOutput own = Run("bob", {"user", "passwd"},
                          {{"CLAWBACK_PASSWORD", "bob-reset-password-1"}, {"CLAWBACK_NEW_PASSWORD", "bob-own-password-2"}});
  ASSERT_EQ(own.exit_code, 0) << own.output;
  EXPECT_EQ(Login("bob", "bob-own-password-2").exit_code, 0);

  // bob is not an admin.
  ExpectError(Run("bob", {"user", "list"}), 3, "admin role");
  ExpectError(Run("bob", {"user", "passwd", "admin"}, {{"CLAWBACK_NEW_PASSWORD", "taken-over-123"}}), 3, "admin role");
  ExpectError(Run("bob", {"audit"}), 3, "admin role");

  ProcessOutput removed = Admin({"user", "delete", "bob"});
  EXPECT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_NE(removed.output.find("User bob deleted"), std::string::npos);
  ExpectError(Run("bob", {"whoami"}), 3, "invalid API token");
  EXPECT_EQ(Json(Admin({"--json", "user", "list"}))["users"].size(), 1u);
}

TEST_F(CliUsersTest, ErrorsAreOneLineWithTheRightExitCode) {
  ASSERT_EQ(Admin({"user", "create", "bob"}, {{"CLAWBACK_PASSWORD", "bob-password-123"}}).exit_code, 0);
  ExpectError(Admin({"user", "create", "bob"}, {{"CLAWBACK_PASSWORD", "bob-password-123"}}), 5, "already exists");
  ExpectError(Admin({"user", "create", "Bob"}, {{"CLAWBACK_PASSWORD", "bob-password-123"}}), 2, "username");
  ExpectError(Admin({"user", "create", "carol"}, {{"CLAWBACK_PASSWORD", "short"}}), 2, "at least 8 characters");
  ExpectError(Admin({"user", "create", "carol"}), 2, "no password");
  ExpectError(Admin({"user", "show", "nobody"}), 4, "no user named nobody");
  ExpectError(Admin({"user", "assign", "bob", "web-9"}), 4, "web-9");
  ExpectError(Admin({"user", "update", "bob"}), 2, "nothing to change");
  ExpectError(Admin({"user", "update", "bob", "--role", "root"}), 2, "role");
  ExpectError(Admin({"user", "delete", "admin"}), 5, "cannot delete \"admin\": it is the last admin");
  ExpectError(Admin({"user", "update", "admin", "--role", "user"}), 5, "it is the last admin");
  ExpectError(Admin({"user", "frobnicate"}), 2, "");
  ExpectError(Admin({"audit", "--since", "yesterday"}), 2, "since");
  ExpectError(Admin({"audit", "--limit", "0"}), 2, "");
  ExpectError(Run("stranger", {"user", "list"}), 3, "not signed in");
}

TEST_F(CliUsersTest, AuditWithFiltersAndJson) {
  ASSERT_EQ(Admin({"user", "create", "bob", "-i", "web-2"}, {{"CLAWBACK_PASSWORD", "bob-password-123"}}).exit_code, 0);
  ASSERT_EQ(Admin({"user", "update", "bob", "--can-create-instances", "true"}).exit_code, 0);
  ExpectError(Login("bob", "wrong-password-1"), 3, "invalid username or password");

  ProcessOutput table = Admin({"audit"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  for (const char* needle : {"ACTION", "user.create", "user.change", "auth.login", "127.0.0.1", "user:bob"}) {
    EXPECT_NE(table.output.find(needle), std::string::npos) << needle << " in\n" << table.output;
  }

  json created = Json(Admin({"--json", "audit", "--actor", "admin", "--action", "user.create"}));
  ASSERT_TRUE(created.is_object()) << created;
  ASSERT_EQ(created["total"], 1);
  EXPECT_EQ(created["events"][0]["target"], "user:bob");
  EXPECT_EQ(created["events"][0]["source"], "127.0.0.1");

  json failed = Json(Admin({"audit", "--json", "--actor", "anonymous", "--action", "auth.login"}));
  ASSERT_EQ(failed["total"], 1);
  EXPECT_EQ(failed["events"][0]["outcome"], "denied: invalid username or password");

  json web2 = Json(Admin({"--json", "audit", "--instance", "web-2"}));
  std::vector<std::string> actions;
  for (const json& e : web2["events"]) actions.push_back(e["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"user.create", "instance.register"}));

  json recent = Json(Admin({"--json", "audit", "--since", "1h", "--until", "2100-01-01T00:00:00Z"}));
  EXPECT_GE(recent["total"].get<int>(), 5);
  EXPECT_TRUE(Json(Admin({"--json", "audit", "--until", "2000-01-01T00:00:00Z"}))["events"].empty());

  json page = Json(Admin({"--json", "audit", "-n", "2", "--offset", "1"}));
  EXPECT_EQ(page["events"].size(), 2u);
  EXPECT_EQ(page["limit"], 2);
  EXPECT_EQ(page["offset"], 1);
  EXPECT_GT(page["total"].get<int>(), 3);
  ProcessOutput paged = Admin({"audit", "-n", "1"});
  EXPECT_NE(paged.output.find("use --offset 1 for more"), std::string::npos) << paged.output;
  ProcessOutput none = Admin({"audit", "--actor", "nobody"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_NE(none.output.find("No audit events match."), std::string::npos) << none.output;
}

TEST_F(CliUsersTest, HelpListsTheVerbs) {
  ProcessOutput help = Admin({"user", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.output;
  for (const char* verb : {"create", "list", "show", "update", "delete", "assign", "unassign", "passwd"}) {
    EXPECT_NE(help.output.find(verb), std::string::npos) << verb << " in\n" << help.output;
  }
  ProcessOutput audit = Admin({"audit", "--help"});
  for (const char* flag : {"--actor", "--action", "--instance", "--since", "--until", "--limit", "--offset"}) {
    EXPECT_NE(audit.output.find(flag), std::string::npos) << flag;
  }
}

// Issue 13: admins list and revoke any user's API tokens from the CLI; the
// CLI's own login token may create tokens, the ones it creates may not.
TEST_F(CliUsersTest, AdminsListAndRevokeAnyUsersTokens) {
  ASSERT_EQ(Admin({"user", "create", "bob"}, {{"CLAWBACK_PASSWORD", "bob-password-123"}}).exit_code, 0);
  ASSERT_EQ(Login("bob", "bob-password-123").exit_code, 0);
  ProcessOutput minted = Run("bob", {"--json", "token", "create", "ci"});
  ASSERT_EQ(minted.exit_code, 0) << minted.output;
  const std::string ci_secret = Json(minted).value("secret", "");
  ASSERT_FALSE(ci_secret.empty()) << minted.output;
  // The minted token cannot mint again.
  ExpectError(Run("bob", {"--token", ci_secret, "token", "create", "more"}), 3, "cannot create tokens");

  ProcessOutput listed = Admin({"--json", "user", "tokens", "bob"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  json tokens = Json(listed)["tokens"];
  ASSERT_EQ(tokens.size(), 2u) << listed.output;
  int64_t ci_id = 0;
  for (const json& t : tokens) {
    if (t.value("name", "") == "ci") ci_id = t.value("id", int64_t{0});
    else EXPECT_TRUE(t.value("can_create_tokens", false)) << "the login token";
  }
  ASSERT_NE(ci_id, 0);
  ProcessOutput table = Admin({"user", "tokens", "bob"});
  EXPECT_NE(table.output.find("ci"), std::string::npos) << table.output;

  ExpectError(Run("bob", {"user", "tokens", "bob"}), 3, "admin");
  ProcessOutput revoked = Admin({"user", "revoke-token", "bob", std::to_string(ci_id)});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.output;
  ExpectError(Run("bob", {"--token", ci_secret, "whoami"}), 3, "revoked");
  ExpectError(Admin({"user", "revoke-token", "bob", "999999"}), 4, "not found");

  // A reset by the admin revokes bob's saved login token too.
  ProcessOutput reset = Admin({"user", "passwd", "bob"}, {{"CLAWBACK_NEW_PASSWORD", "bob-reset-password-9"}});
  ASSERT_EQ(reset.exit_code, 0) << reset.output;
  EXPECT_NE(reset.output.find("API tokens revoked"), std::string::npos) << reset.output;
  ExpectError(Run("bob", {"whoami"}), 3, "revoked");
}

}  // namespace
}  // namespace clawback::testing
