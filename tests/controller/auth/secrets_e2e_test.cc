// No secret leaks: a real `clawback serve` process, driven through a scripted
// session (sign-ins good and bad, user creation, password reset and change,
// API tokens created, used and revoked, sign-out), with its log captured.
// Afterwards the passwords, the stored password hashes and their salts, the
// session cookies, the CSRF tokens and the API tokens (and the hashes stored
// for them) must appear in no log line, and in no API response except the one
// that handed that very secret out (the login response's cookie and CSRF
// token, the token-creation response's secret, /auth/me's CSRF token).
#include <SQLiteCpp/SQLiteCpp.h>
#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/controller_stack.h"

namespace clawback::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr char kAdminPassword[] = "Adm1n-secret-Pw-7781";
constexpr char kWrongPassword[] = "Wr0ng-guess-Pw-5512";
constexpr char kBobFirst[] = "B0b-first-Pw-1029";
constexpr char kBobReset[] = "B0b-reset-Pw-3847";
constexpr char kBobOwn[] = "B0b-own-Pw-5566";

struct Recorded {
  std::string what;   // "POST /api/v1/auth/login"
  std::string text;   // headers and body
  std::set<std::string> issued;  // secrets this response hands out by design
};

class Script {
 public:
  explicit Script(uint16_t port) : port_(port) {}

  PlainResponse Do(const std::string& method, const std::string& target, const json& body,
                   std::vector<std::pair<std::string, std::string>> headers) {
    PlainResponse r = Send(port_, method, target, body, std::move(headers));
    Recorded rec{method + " " + target + " -> " + std::to_string(r.status), "", {}};
    for (const auto& [k, v] : r.headers) rec.text += k + ": " + v + "\n";
    rec.text += r.body;
    log_.push_back(std::move(rec));
    return r;
  }
  void Issued(const std::string& secret) { log_.back().issued.insert(secret); }
  const std::vector<Recorded>& responses() const { return log_; }

 private:
  uint16_t port_;
  std::vector<Recorded> log_;
};

TEST(SecretsE2eTest, NoResponseAndNoLogLineCarriesASecret) {
  TempDir tmp("clawback-auth-secrets-");
  ControllerOptions o;
  o.binary = ClawbackBinary();
  o.work_dir = tmp.path();
  o.data_dir = tmp.Sub("data");
  o.admin_password = kAdminPassword;
  auto controller = ControllerProcess::Start(o);
  ASSERT_TRUE(controller.ok()) << controller.status().ToString();
  const uint16_t port = (*controller)->port();
  ASSERT_TRUE(WaitFor([&] { return Send(port, "GET", "/healthz").status == 200; }, 15s));

  Script s(port);
  std::vector<std::string> secrets = {kAdminPassword, kWrongPassword, kBobFirst, kBobReset, kBobOwn};
  auto login = [&](const std::string& user, const std::string& password) {
    PlainResponse r = s.Do("POST", "/api/v1/auth/login", {{"username", user}, {"password", password}}, {});
    WebSession ws = SessionFrom(r);
    if (!ws.cookie.empty()) {
      s.Issued(ws.cookie);
      s.Issued(ws.csrf);
      secrets.push_back(ws.cookie);
      secrets.push_back(ws.csrf);
    }
    return ws;
  };

  // Failed sign-ins: a wrong password for a real user, and an unknown user.
  EXPECT_EQ(s.Do("POST", "/api/v1/auth/login", {{"username", "admin"}, {"password", kWrongPassword}}, {}).status, 401);
  EXPECT_EQ(s.Do("POST", "/api/v1/auth/login", {{"username", "mallory"}, {"password", kWrongPassword}}, {}).status,
            401);
  WebSession admin = login("admin", kAdminPassword);
  ASSERT_FALSE(admin.cookie.empty());
  EXPECT_EQ(s.Do("GET", "/api/v1/auth/me", nullptr, SessionHeaders(admin)).status, 200);
  s.Issued(admin.csrf);

  PlainResponse bob = s.Do("POST", "/api/v1/users", {{"username", "bob"}, {"password", kBobFirst}},
                           SessionHeaders(admin));
  ASSERT_EQ(bob.status, 201) << bob.Describe();
  const std::string bob_path = "/api/v1/users/" + std::to_string(bob.Json()["id"].get<int64_t>());
  EXPECT_EQ(s.Do("PATCH", bob_path, {{"password", kBobReset}}, SessionHeaders(admin)).status, 200);
  EXPECT_EQ(s.Do("POST", "/api/v1/auth/login", {{"username", "bob"}, {"password", kBobFirst}}, {}).status, 401);
  WebSession bob_web = login("bob", kBobReset);
  ASSERT_FALSE(bob_web.cookie.empty());

  std::vector<std::string> tokens;
  for (const char* name : {"laptop", "ci"}) {
    PlainResponse t = s.Do("POST", "/api/v1/auth/tokens", {{"name", name}}, SessionHeaders(bob_web));
    ASSERT_EQ(t.status, 201) << t.Describe();
    tokens.push_back(t.Json()["secret"]);
    for (const std::string& form : {tokens.back(), tokens.back().substr(4)}) {  // with and without "cbk_"
      s.Issued(form);
      secrets.push_back(form);
    }
  }
  PlainResponse listed = s.Do("GET", "/api/v1/auth/tokens", nullptr, BearerHeaders(tokens[1]));
  ASSERT_EQ(listed.status, 200);
  const int64_t laptop_id = listed.Json()["tokens"][0]["id"];
  EXPECT_EQ(s.Do("DELETE", "/api/v1/auth/tokens/" + std::to_string(laptop_id), nullptr, BearerHeaders(tokens[1])).status,
            204);
  EXPECT_EQ(s.Do("GET", "/api/v1/auth/me", nullptr, BearerHeaders(tokens[0])).status, 401);
  EXPECT_EQ(s.Do("PUT", "/api/v1/auth/password", {{"current_password", kWrongPassword}, {"new_password", kBobOwn}},
                 SessionHeaders(bob_web))
                .status,
            400);
  EXPECT_EQ(s.Do("PUT", "/api/v1/auth/password", {{"current_password", kBobReset}, {"new_password", kBobOwn}},
                 SessionHeaders(bob_web))
                .status,
            204);
  EXPECT_EQ(s.Do("GET", "/api/v1/auth/me", nullptr, BearerHeaders(tokens[1])).status, 200);
  for (const char* path : {"/api/v1/users", "/api/v1/audit?limit=500", "/api/v1/auth/tokens"}) {
    EXPECT_EQ(s.Do("GET", path, nullptr, SessionHeaders(admin)).status, 200) << path;
  }
  EXPECT_EQ(s.Do("GET", bob_path, nullptr, SessionHeaders(admin)).status, 200);
  EXPECT_EQ(s.Do("POST", "/api/v1/auth/logout", nullptr, SessionHeaders(bob_web)).status, 204);
  EXPECT_EQ(s.Do("POST", "/api/v1/auth/logout", nullptr, SessionHeaders(admin)).status, 204);

  // Stop the controller so its log is complete, then collect what it stored.
  (*controller)->Signal(SIGTERM);
  EXPECT_TRUE((*controller)->WaitExit(30s).has_value());
  {
    SQLite::Database db(o.data_dir + "/clawback.db", SQLite::OPEN_READONLY);
    SQLite::Statement users(db, "SELECT password_hash FROM users");
    while (users.executeStep()) {
      const std::string stored = users.getColumn(0).getString();
      secrets.push_back(stored);
      // "scrypt$N$r$p$<salt>$<hash>": the salt and the hash on their own too.
      size_t hash_at = stored.rfind('$');
      size_t salt_at = stored.rfind('$', hash_at - 1);
      secrets.push_back(stored.substr(hash_at + 1));
      secrets.push_back(stored.substr(salt_at + 1, hash_at - salt_at - 1));
    }
    SQLite::Statement hashes(db, "SELECT token_hash FROM api_tokens UNION ALL SELECT token_hash FROM sessions");
    while (hashes.executeStep()) secrets.push_back(hashes.getColumn(0).getString());
  }

  const std::string log = (*controller)->Log();
  ASSERT_NE(log.find("clawback serving"), std::string::npos) << log;
  for (const std::string& secret : secrets) {
    ASSERT_GE(secret.size(), 8u);
    EXPECT_EQ(log.find(secret), std::string::npos) << "secret in the controller log: " << secret;
  }
  EXPECT_EQ(log.find("scrypt$"), std::string::npos);
  ASSERT_GE(s.responses().size(), 20u);
  for (const Recorded& r : s.responses()) {
    EXPECT_EQ(r.text.find("scrypt$"), std::string::npos) << r.what;
    for (const std::string& secret : secrets) {
      if (r.issued.count(secret)) continue;
      EXPECT_EQ(r.text.find(secret), std::string::npos) << r.what << " carries " << secret << ":\n" << r.text;
    }
  }
}

}  // namespace
}  // namespace clawback::testing
