// Sign-in hardening through the real router and a real store file: failed
// sign-ins are limited per username and per client address (5 per 15
// minutes), a correct password is refused during a lockout, the lockout ends
// exactly when Retry-After said, and the client address ignores the port
// (IPv4 and IPv6). Time moves only on the FakeClock.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/controller/auth/auth_stack.h"

namespace clawback::controller::testing {
namespace {

constexpr char kBobPassword[] = "bob-password-123";

class SignInTest : public ::testing::Test {
 protected:
  void SetUp() override { stack_.CreateUser("bob", kBobPassword); }

  int LoginStatus(const std::string& user, const std::string& password, const std::string& remote) {
    return stack_.Login(user, password, remote).reply.status;
  }

  AuthStack stack_;
};

TEST_F(SignInTest, WrongPasswordAndUnknownUserGiveTheSameAnswer) {
  Signin wrong = stack_.Login("bob", "not-the-password", "10.0.0.1:1");
  Signin unknown = stack_.Login("nobody", "not-the-password", "10.0.0.2:1");
  ASSERT_EQ(wrong.reply.status, 401);
  ASSERT_EQ(unknown.reply.status, 401);
  EXPECT_EQ(wrong.reply.json, unknown.reply.json);
  EXPECT_EQ(wrong.reply.json["error"], "invalid username or password");
  EXPECT_EQ(wrong.reply.Header("Set-Cookie"), "");
}

TEST_F(SignInTest, FailuresForOneUsernameFromManyAddressesLockThatUsername) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(LoginStatus("bob", "wrong-password", "10.1.0." + std::to_string(i) + ":4000"), 401) << i;
  }
  // The right password, from an address that never failed: refused.
  Signin locked = stack_.Login("bob", kBobPassword, "10.9.9.9:4000");
  ASSERT_EQ(locked.reply.status, 429) << locked.reply.Describe();
  EXPECT_EQ(locked.reply.json["code"], "resource_exhausted");
  EXPECT_EQ(locked.reply.Header("Retry-After"), std::to_string(15 * 60));
  EXPECT_EQ(locked.reply.Header("Set-Cookie"), "");
  // Other accounts are not affected.
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "10.9.9.9:4001"), 200);
}

TEST_F(SignInTest, FailuresFromOneAddressLockThatAddressForEveryUsername) {
  // Password spraying: one guess each for five names, from one address.
  for (const char* name : {"alice", "bob", "carol", "dave", "erin"}) {
    EXPECT_EQ(LoginStatus(name, "Summer2027!", "192.0.2.7:5000"), 401) << name;
  }
  Signin locked = stack_.Login("admin", AuthStack::kAdminPassword, "192.0.2.7:5001");
  ASSERT_EQ(locked.reply.status, 429) << locked.reply.Describe();
  EXPECT_FALSE(locked.reply.Header("Retry-After").empty());
  // The same account from another address is fine.
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "192.0.2.8:5000"), 200);
}

TEST_F(SignInTest, LockoutEndsWhenRetryAfterSays) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(LoginStatus("bob", "wrong-password", "10.2.0.1:4000"), 401);
    stack_.clock().Advance(60);  // failures one minute apart
  }
  // Failures at 0, 1, 2, 3, 4 minutes; now is 5 minutes. The lockout lasts
  // until the oldest leaves the 15-minute window: 10 more minutes.
  Signin locked = stack_.Login("bob", kBobPassword, "10.2.0.2:4000");
  ASSERT_EQ(locked.reply.status, 429);
  const int64_t wait = std::stoll(locked.reply.Header("Retry-After"));
  EXPECT_EQ(wait, 15 * 60 - 5 * 60);
  stack_.clock().Advance(wait - 1);
  EXPECT_EQ(LoginStatus("bob", kBobPassword, "10.2.0.2:4000"), 429) << "still locked one second early";
  stack_.clock().Advance(1);
  EXPECT_EQ(LoginStatus("bob", kBobPassword, "10.2.0.2:4000"), 200);
}

TEST_F(SignInTest, SuccessClearsTheUsernameCountButNotTheAddressCount) {
  for (int i = 0; i < 4; ++i) EXPECT_EQ(LoginStatus("bob", "wrong-password", "10.3.0.1:1"), 401);
  EXPECT_EQ(LoginStatus("bob", kBobPassword, "10.3.0.2:1"), 200);
  // bob's budget is back to five...
  for (int i = 0; i < 4; ++i) EXPECT_EQ(LoginStatus("bob", "wrong-password", "10.3.0.3:1"), 401);
  EXPECT_EQ(LoginStatus("bob", kBobPassword, "10.3.0.4:1"), 200);
  // ...but 10.3.0.1 spent four of its five and signing in elsewhere did not
  // refill it: one more failure locks the address out.
  EXPECT_EQ(LoginStatus("carol", "wrong-password", "10.3.0.1:2"), 401);
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "10.3.0.1:3"), 429);
}

TEST_F(SignInTest, ClientAddressIgnoresThePortForIpv4AndIpv6) {
  // Every attempt on a new connection (new source port): still one address.
  const std::vector<std::string> v6 = {"::1:50001", "::1:50002", "[::1]:50003", "::1:50004", "[::1]:50005"};
  for (size_t i = 0; i < v6.size(); ++i) {
    EXPECT_EQ(LoginStatus("x" + std::to_string(i), "wrong-pass", v6[i]), 401) << v6[i];
  }
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "::1:50006"), 429);
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "[::1]:50007"), 429);
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "2001:db8::5:50008"), 200);

  for (int port = 1; port <= 5; ++port) {
    EXPECT_EQ(LoginStatus("y" + std::to_string(port), "wrong-pass", "198.51.100.4:" + std::to_string(port)), 401);
  }
  EXPECT_EQ(LoginStatus("admin", AuthStack::kAdminPassword, "198.51.100.4:6"), 429);
}

TEST_F(SignInTest, LockedOutAndFailedSignInsAreAudited) {
  for (int i = 0; i < 5; ++i) LoginStatus("bob", "wrong-password", "10.4.0.1:1");
  LoginStatus("bob", kBobPassword, "10.4.0.2:1");
  Reply audit = stack_.Call(stack_.admin(), "GET", "/api/v1/audit?action=auth.login&limit=500");
  ASSERT_EQ(audit.status, 200) << audit.Describe();
  int failed = 0, locked = 0;
  for (const Json& e : audit.json["events"]) {
    if (e["target"] != "user:bob") continue;
    EXPECT_EQ(e["actor"], "anonymous");
    std::string outcome = e["outcome"];
    if (outcome == "denied: invalid username or password") {
      ++failed;
      EXPECT_EQ(e["source"], "10.4.0.1");
    } else if (outcome.rfind("denied: too many failed sign-ins", 0) == 0) {
      ++locked;
      EXPECT_EQ(e["source"], "10.4.0.2");
    }
  }
  EXPECT_EQ(failed, 5);
  EXPECT_EQ(locked, 1);
}

TEST_F(SignInTest, WrongCurrentPasswordOnPasswordChangeCountsAsAFailure) {
  Credentials bob = stack_.TokenFor("bob", kBobPassword);
  bob.remote = "10.5.0.1:1";
  for (int i = 0; i < 5; ++i) {
    Reply r = stack_.Call(bob, "PUT", "/api/v1/auth/password",
                          {{"current_password", "guess-" + std::to_string(i)}, {"new_password", "whatever-123"}});
    EXPECT_EQ(r.status, 400) << r.Describe();
  }
  // Even the right current password is now refused, and so is signing in.
  Reply r = stack_.Call(bob, "PUT", "/api/v1/auth/password",
                        {{"current_password", kBobPassword}, {"new_password", "whatever-123"}});
  EXPECT_EQ(r.status, 429) << r.Describe();
  EXPECT_EQ(LoginStatus("bob", kBobPassword, "10.5.0.2:1"), 429);
}

}  // namespace
}  // namespace clawback::controller::testing
