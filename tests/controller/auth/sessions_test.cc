// Sessions and API tokens through the real router and a real store file:
// sessions expire (absolute and idle, on the FakeClock), are revoked on a
// password change (the caller's own session survives; every other session of
// the user stops at once), API tokens are listed without their secret,
// revocation works on the very next request, and the database file holds
// only hashes of cookies and tokens.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "controller/auth/tokens.h"
#include "tests/controller/auth/auth_stack.h"

namespace clawback::controller::testing {
namespace {

constexpr char kBobPassword[] = "bob-password-123";
constexpr char kBobNewPassword[] = "bob-new-password-456";

int Me(AuthStack& stack, const Credentials& who) { return stack.Call(who, "GET", "/api/v1/auth/me").status; }

TEST(SessionTest, LoginSetsAHardenedCookieAndMeReturnsTheCsrfToken) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Signin s = stack.Login("bob", kBobPassword);
  ASSERT_EQ(s.reply.status, 200) << s.reply.Describe();
  const std::string cookie = s.reply.Header("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Max-Age=43200"), std::string::npos) << cookie;
  EXPECT_EQ(s.reply.Header("Cache-Control"), "no-store");
  EXPECT_EQ(s.session.cookie.size(), 43u);
  EXPECT_FALSE(s.reply.json["user"].contains("password_hash"));
  Reply me = stack.Call(s.session, "GET", "/api/v1/auth/me");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.json["csrf_token"], s.session.csrf);
  EXPECT_EQ(me.json["user"]["username"], "bob");
}

TEST(SessionTest, SessionsEndTwelveHoursAfterSignIn) {
  AuthStack stack;
  Signin s = stack.Login("admin", AuthStack::kAdminPassword);
  ASSERT_EQ(s.reply.status, 200);
  stack.clock().Advance(12 * 3600 - 1);
  EXPECT_EQ(Me(stack, s.session), 200);
  stack.clock().Advance(1);
  Reply expired = stack.Call(s.session, "GET", "/api/v1/auth/me");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.json["error"], "session expired; sign in again");
  // Gone for good: the clock going back does not revive it.
  stack.clock().Advance(-3600);
  EXPECT_EQ(Me(stack, s.session), 401);
}

TEST(SessionTest, IdleSessionsEnd) {
  StackOptions options;
  options.sessions.idle_ttl_seconds = 30 * 60;
  AuthStack stack(options);
  Signin s = stack.Login("admin", AuthStack::kAdminPassword);
  ASSERT_EQ(s.reply.status, 200);
  // Used every 29 minutes: stays alive well past the idle limit.
  for (int i = 0; i < 4; ++i) {
    stack.clock().Advance(29 * 60);
    EXPECT_EQ(Me(stack, s.session), 200) << i;
  }
  stack.clock().Advance(30 * 60);
  EXPECT_EQ(Me(stack, s.session), 401);
}

TEST(SessionTest, LogoutEndsTheSession) {
  AuthStack stack;
  Signin s = stack.Login("admin", AuthStack::kAdminPassword);
  Reply out = stack.Call(s.session, "POST", "/api/v1/auth/logout");
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(out.Header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Me(stack, s.session), 401);
}

TEST(SessionTest, CookieMutationsNeedTheCsrfToken) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Signin s = stack.Login("bob", kBobPassword);
  Credentials no_csrf = s.session;
  no_csrf.csrf.clear();
  Reply r = stack.Call(no_csrf, "PUT", "/api/v1/auth/password",
                       {{"current_password", kBobPassword}, {"new_password", kBobNewPassword}});
  EXPECT_EQ(r.status, 403) << r.Describe();
  Credentials wrong = s.session;
  wrong.csrf = std::string(43, 'A');
  EXPECT_EQ(stack.Call(wrong, "POST", "/api/v1/auth/tokens", {{"name", "x"}}).status, 403);
  // Nothing changed: the old password still works, no token was made.
  EXPECT_EQ(stack.Login("bob", kBobPassword).reply.status, 200);
  EXPECT_TRUE(stack.Call(s.session, "GET", "/api/v1/auth/tokens").json["tokens"].empty());
}

// Decision (docs/api.md): changing your own password keeps the session you
// changed it from (same cookie, same absolute expiry) and ends every other
// session of yours at once. API tokens are separate credentials and stay;
// revoke them with DELETE /auth/tokens/{id}.
TEST(SessionTest, OwnPasswordChangeRevokesTheOtherSessionsAtOnce) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Credentials token = stack.TokenFor("bob", kBobPassword);
  Signin laptop = stack.Login("bob", kBobPassword, "10.0.0.1:1");
  Signin phone = stack.Login("bob", kBobPassword, "10.0.0.2:1");
  Signin admin = stack.Login("admin", AuthStack::kAdminPassword);
  ASSERT_EQ(Me(stack, phone.session), 200);

  Reply changed = stack.Call(laptop.session, "PUT", "/api/v1/auth/password",
                             {{"current_password", kBobPassword}, {"new_password", kBobNewPassword}});
  ASSERT_EQ(changed.status, 204) << changed.Describe();

  EXPECT_EQ(Me(stack, phone.session), 401) << "another session of bob must stop working at once";
  EXPECT_EQ(Me(stack, laptop.session), 200) << "the session that changed the password survives";
  EXPECT_EQ(stack.Call(laptop.session, "POST", "/api/v1/auth/tokens", {{"name", "after"}}).status, 201)
      << "with its CSRF token";
  EXPECT_EQ(Me(stack, token), 200);
  EXPECT_EQ(Me(stack, admin.session), 200) << "other users are untouched";
  EXPECT_EQ(stack.Login("bob", kBobPassword).reply.status, 401);
  EXPECT_EQ(stack.Login("bob", kBobNewPassword).reply.status, 200);
  // The survivor keeps its original absolute expiry.
  stack.clock().Advance(12 * 3600);
  EXPECT_EQ(Me(stack, laptop.session), 401);
}

TEST(SessionTest, PasswordChangeWithATokenEndsEverySession) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Credentials token = stack.TokenFor("bob", kBobPassword);
  Signin browser = stack.Login("bob", kBobPassword);
  Reply changed = stack.Call(token, "PUT", "/api/v1/auth/password",
                             {{"current_password", kBobPassword}, {"new_password", kBobNewPassword}});
  ASSERT_EQ(changed.status, 204) << changed.Describe();
  EXPECT_EQ(Me(stack, browser.session), 401);
  EXPECT_EQ(Me(stack, token), 200);
}

TEST(SessionTest, OwnPasswordChangeRequiresTheCurrentPassword) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Signin s = stack.Login("bob", kBobPassword);
  Reply wrong = stack.Call(s.session, "PUT", "/api/v1/auth/password",
                           {{"current_password", "not-my-password"}, {"new_password", kBobNewPassword}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.json["field"], "current_password");
  Reply missing = stack.Call(s.session, "PUT", "/api/v1/auth/password", {{"new_password", kBobNewPassword}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.json["field"], "current_password");
  Reply weak = stack.Call(s.session, "PUT", "/api/v1/auth/password",
                          {{"current_password", kBobPassword}, {"new_password", "short"}});
  EXPECT_EQ(weak.status, 400);
  EXPECT_EQ(weak.json["field"], "new_password");
  EXPECT_EQ(stack.Login("bob", kBobNewPassword).reply.status, 401);
  EXPECT_EQ(stack.Login("bob", kBobPassword).reply.status, 200);
}

TEST(SessionTest, AdminPasswordResetEndsAllSessionsOfThatUser) {
  AuthStack stack;
  Json bob = stack.CreateUser("bob", kBobPassword);
  Signin one = stack.Login("bob", kBobPassword);
  Signin two = stack.Login("bob", kBobPassword);
  Reply reset = stack.Call(stack.admin(), "PATCH", "/api/v1/users/" + std::to_string(bob["id"].get<int64_t>()),
                           {{"password", kBobNewPassword}});
  ASSERT_EQ(reset.status, 200) << reset.Describe();
  EXPECT_FALSE(reset.json.contains("password"));
  EXPECT_FALSE(reset.json.contains("password_hash"));
  EXPECT_EQ(Me(stack, one.session), 401);
  EXPECT_EQ(Me(stack, two.session), 401);
  EXPECT_EQ(stack.Login("bob", kBobNewPassword).reply.status, 200);
}

TEST(TokenTest, ListShowsNoSecretAndRevocationWorksOnTheNextRequest) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Credentials bob = stack.TokenFor("bob", kBobPassword, "laptop", /*can_create_tokens=*/true);
  Reply made = stack.Call(bob, "POST", "/api/v1/auth/tokens", {{"name", "ci"}});
  ASSERT_EQ(made.status, 201) << made.Describe();
  const std::string secret = made.json["secret"];
  EXPECT_EQ(secret.rfind("cbk_", 0), 0u);
  EXPECT_EQ(made.Header("Cache-Control"), "no-store");
  const int64_t id = made.json["token"]["id"];
  Credentials ci = Credentials::Bearer(secret);

  stack.clock().Advance(120);
  ASSERT_EQ(Me(stack, ci), 200);
  Reply list = stack.Call(bob, "GET", "/api/v1/auth/tokens");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["tokens"].size(), 2u);
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  EXPECT_EQ(list.body.find(secret.substr(4)), std::string::npos);
  EXPECT_EQ(list.body.find(auth::TokenHash(secret)), std::string::npos);
  for (const Json& t : list.json["tokens"]) {
    std::set<std::string> keys;
    for (auto it = t.begin(); it != t.end(); ++it) keys.insert(it.key());
    EXPECT_EQ(keys, (std::set<std::string>{"id", "name", "created_at", "last_used_at", "revoked", "can_create_tokens"}));
    if (t["id"] == id) {
      EXPECT_EQ(t["name"], "ci");
      EXPECT_EQ(t["created_at"], "2027-01-15T08:00:00Z");
      EXPECT_EQ(t["last_used_at"], "2027-01-15T08:02:00Z");
      EXPECT_EQ(t["revoked"], false);
    }
  }

  // Someone else cannot revoke it (and learns nothing: 404).
  Credentials admin = stack.admin();
  EXPECT_EQ(stack.Call(admin, "DELETE", "/api/v1/auth/tokens/" + std::to_string(id)).status, 404);
  EXPECT_EQ(Me(stack, ci), 200);

  EXPECT_EQ(stack.Call(bob, "DELETE", "/api/v1/auth/tokens/" + std::to_string(id)).status, 204);
  Reply refused = stack.Call(ci, "GET", "/api/v1/auth/me");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.json["error"], "API token has been revoked");
  EXPECT_EQ(stack.Call(ci, "GET", "/api/v1/instances").status, 401);
  EXPECT_EQ(Me(stack, bob), 200) << "the other token still works";
  Reply after = stack.Call(bob, "GET", "/api/v1/auth/tokens");
  for (const Json& t : after.json["tokens"]) {
    if (t["id"] == id) EXPECT_EQ(t["revoked"], true);
  }
}

TEST(TokenTest, TokensOfADeletedUserStopAtOnce) {
  AuthStack stack;
  Json bob = stack.CreateUser("bob", kBobPassword);
  Credentials token = stack.TokenFor("bob", kBobPassword);
  Signin session = stack.Login("bob", kBobPassword);
  ASSERT_EQ(Me(stack, token), 200);
  ASSERT_EQ(stack.Call(stack.admin(), "DELETE", "/api/v1/users/" + std::to_string(bob["id"].get<int64_t>())).status,
            204);
  EXPECT_EQ(Me(stack, token), 401);
  EXPECT_EQ(Me(stack, session.session), 401);
}

TEST(TokenTest, RoleChangesApplyToTheNextRequest) {
  AuthStack stack;
  Json ops = stack.CreateUser("ops", "ops-password-123", "admin");
  Credentials token = stack.TokenFor("ops", "ops-password-123");
  EXPECT_EQ(stack.Call(token, "GET", "/api/v1/users").status, 200);
  ASSERT_EQ(stack.Call(stack.admin(), "PATCH", "/api/v1/users/" + std::to_string(ops["id"].get<int64_t>()),
                       {{"role", "user"}})
                .status,
            200);
  EXPECT_EQ(stack.Call(token, "GET", "/api/v1/users").status, 403);
}

TEST(StorageTest, TheDatabaseHoldsOnlyHashesOfCookiesTokensAndPasswords) {
  AuthStack stack;
  stack.CreateUser("bob", kBobPassword);
  Signin s = stack.Login("bob", kBobPassword);
  ASSERT_EQ(s.reply.status, 200);
  Reply made = stack.Call(s.session, "POST", "/api/v1/auth/tokens", {{"name", "ci"}});
  ASSERT_EQ(made.status, 201);
  const std::string secret = made.json["secret"];

  const std::string bytes = stack.DatabaseBytes();
  ASSERT_FALSE(bytes.empty());
  // The hashes are there (so we are looking at the right data)...
  EXPECT_NE(bytes.find(auth::TokenHash(s.session.cookie)), std::string::npos);
  EXPECT_NE(bytes.find(auth::TokenHash(secret)), std::string::npos);
  EXPECT_NE(bytes.find("scrypt$"), std::string::npos);
  // ...the secrets are not.
  EXPECT_EQ(bytes.find(s.session.cookie), std::string::npos) << "raw session cookie in the database";
  EXPECT_EQ(bytes.find(secret), std::string::npos) << "raw API token in the database";
  EXPECT_EQ(bytes.find(secret.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(kBobPassword), std::string::npos) << "plaintext password in the database";
  EXPECT_EQ(bytes.find(AuthStack::kAdminPassword), std::string::npos);
  // Each password has its own salt: two users with the same password get
  // different stored strings.
  stack.CreateUser("carol", kBobPassword);
  auto bob = stack.store().GetUserByName("bob");
  auto carol = stack.store().GetUserByName("carol");
  ASSERT_TRUE(bob.ok() && carol.ok());
  EXPECT_NE(bob->password_hash, carol->password_hash);
}

}  // namespace
}  // namespace clawback::controller::testing
