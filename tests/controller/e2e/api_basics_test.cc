// The REST API's front door, against a real `clawback serve`: anonymous and
// badly authenticated requests are refused with 401, cookie mutations without
// the CSRF token with 403, and invalid backup paths with 400 and a JSON error
// before any record exists.
#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {
namespace {

class ApiBasicsE2eTest : public E2eTest {};

TEST_F(ApiBasicsE2eTest, HealthNeedsNoAuthAndMetricsAnAdmin) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  PlainResponse health = stack_->CallAnonymous("GET", "/healthz");
  ASSERT_EQ(health.status, 200) << health.Describe();
  EXPECT_EQ(health.Json().value("status", ""), "ok") << health.Describe();
  PlainResponse metrics = stack_->Call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_EQ(stack_->CallAnonymous("GET", "/metrics").status, 401);
}

TEST_F(ApiBasicsE2eTest, AnonymousAndBadTokenRequestsAreUnauthorized) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  struct Case {
    const char* method;
    const char* path;
    json body;
  };
  const Case cases[] = {
      {"GET", "/api/v1/instances", nullptr},
      {"GET", "/api/v1/backups", nullptr},
      {"GET", "/api/v1/auth/me", nullptr},
      {"POST", "/api/v1/instances", json{{"name", "x"}, {"agent_url", "https://127.0.0.1:1"}}},
      {"POST", "/api/v1/instances/1/backups", json::object()},
      {"GET", "/api/v1/backups/1/download", nullptr},
      {"POST", "/api/v1/backups/1/restore", json{{"instance_id", 1}}},
      {"POST", "/api/v1/auth/tokens", json{{"name", "sneaky"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path);
    PlainResponse anon = stack_->CallAnonymous(c.method, c.path, c.body);
    EXPECT_EQ(anon.status, 401) << anon.Describe();
    EXPECT_FALSE(anon.Json().value("error", "").empty()) << anon.Describe();
    PlainResponse bad =
        stack_->CallAnonymous(c.method, c.path, c.body, {{"Authorization", "Bearer not-a-token"}});
    EXPECT_EQ(bad.status, 401) << bad.Describe();
  }
  // Nothing was created.
  EXPECT_EQ(stack_->Call("GET", "/api/v1/instances").Json().value("instances", json::array()).size(), 0u);
}

TEST_F(ApiBasicsE2eTest, CookieMutationWithoutCsrfTokenIsForbidden) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  PlainResponse login = stack_->CallAnonymous(
      "POST", "/api/v1/auth/login", json{{"username", "admin"}, {"password", E2eStack::kAdminPassword}});
  ASSERT_EQ(login.status, 200) << login.Describe();
  std::string cookie = login.headers["set-cookie"];
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  cookie = cookie.substr(0, cookie.find(';'));
  const json body{{"name", "csrf-victim"}, {"agent_url", "https://127.0.0.1:1"}};
  PlainResponse no_csrf = stack_->CallAnonymous("POST", "/api/v1/instances", body, {{"Cookie", cookie}});
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.Describe();
  PlainResponse wrong = stack_->CallAnonymous("POST", "/api/v1/instances", body,
                                              {{"Cookie", cookie}, {"X-CSRF-Token", "wrong"}});
  EXPECT_EQ(wrong.status, 403) << wrong.Describe();
  EXPECT_EQ(stack_->Call("GET", "/api/v1/instances").Json().value("instances", json::array()).size(), 0u);

  PlainResponse with_csrf =
      stack_->CallAnonymous("POST", "/api/v1/instances", body,
                            {{"Cookie", cookie}, {"X-CSRF-Token", login.Json().value("csrf_token", "")}});
  EXPECT_EQ(with_csrf.status, 201) << with_csrf.Describe();
  PlainResponse bad_login =
      stack_->CallAnonymous("POST", "/api/v1/auth/login", json{{"username", "admin"}, {"password", "wrong"}});
  EXPECT_EQ(bad_login.status, 401) << bad_login.Describe();
}

TEST_F(ApiBasicsE2eTest, InvalidBackupPathsAreRejectedBeforeAnyRecord) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  const std::string url = "/api/v1/instances/" + std::to_string(alpha["id"].get<int64_t>()) + "/backups";
  struct Case {
    json paths;
    const char* named;  // the error message names this
  };
  const Case cases[] = {
      {json::array({"etc/nginx"}), "etc/nginx"},
      {json::array({"/home/claworc/../../etc"}), ".."},
      {json::array({"HOME", "relative/too"}), "relative/too"},
      {json::array({"/proc/1"}), "/proc"},
      {json::array({""}), ""},
      {json::array({42}), ""},
      {json("HOME"), ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("paths " + c.paths.dump());
    PlainResponse res = stack_->Call("POST", url, json{{"paths", c.paths}});
    EXPECT_EQ(res.status, 400) << res.Describe();
    json err = res.Json();
    ASSERT_TRUE(err.is_object()) << res.Describe();
    EXPECT_EQ(err.value("code", ""), "invalid_argument") << res.Describe();
    EXPECT_NE(err.value("error", "").find(c.named), std::string::npos) << res.Describe();
    EXPECT_FALSE(err.value("error", "").empty()) << res.Describe();
  }
  PlainResponse listed = stack_->Call("GET", url);
  EXPECT_EQ(listed.Json().value("total", -1), 0) << "no backup record was created: " << listed.Describe();
  EXPECT_EQ(stack_->Call("GET", "/api/v1/backups").Json().value("total", -1), 0);
  EXPECT_EQ(InstanceFiles("alpha"), std::vector<std::string>{});

  // A backup of an unknown instance is 404, not 400 or 500.
  PlainResponse unknown = stack_->Call("POST", "/api/v1/instances/999999/backups", json::object());
  EXPECT_EQ(unknown.status, 404) << unknown.Describe();
}

// A path that does not exist on the instance is bad input too: the request
// is answered 400 (the controller asks the agent before it records anything),
// not accepted and then failed.
// Syntax is checked before anything starts (above); existence is the agent's
// to judge when the backup runs, since the controller never reads instance
// filesystems (docs/api.md). The backup is then `failed` naming the path, and
// no archive is left.
TEST_F(ApiBasicsE2eTest, NonexistentBackupPathFailsNamingThePath) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  const std::string url = "/api/v1/instances/" + std::to_string(alpha["id"].get<int64_t>()) + "/backups";
  PlainResponse res =
      stack_->Call("POST", url, json{{"paths", json::array({"/home/claworc/definitely-missing"})}});
  ASSERT_EQ(res.status, 202) << res.Describe();
  bool ok = false;
  json b = stack_->WaitBackupFinal(res.Json()["id"].get<int64_t>(), std::chrono::seconds(30), &ok);
  ASSERT_TRUE(ok) << b.dump();
  EXPECT_EQ(b["status"], "failed") << b.dump();
  EXPECT_NE(b.value("error_message", "").find("path does not exist: /home/claworc/definitely-missing"),
            std::string::npos)
      << b.dump();
  EXPECT_TRUE(E2eStack::FilesUnder(stack_->backups_dir()).empty()) << "no archive or partial is left";
}

}  // namespace
}  // namespace clawback::testing
