// User administration through the real router and a real store file: the
// last admin can be neither deleted nor demoted (409 with a JSON message,
// nothing changed), with two admins one can go, validation names the field,
// and no user response carries a password or its hash.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/controller/auth/auth_stack.h"

namespace clawback::controller::testing {
namespace {

std::string UserPath(const Json& user) { return "/api/v1/users/" + std::to_string(user["id"].get<int64_t>()); }

std::set<std::string> Keys(const Json& j) {
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  return keys;
}

class UsersTest : public ::testing::Test {
 protected:
  Json Admin() { return stack_.Call(stack_.admin(), "GET", "/api/v1/auth/me").json["user"]; }
  AuthStack stack_;
};

TEST_F(UsersTest, TheLastAdminCannotBeDeletedOrDemoted) {
  const Json admin = Admin();
  Reply del = stack_.Call(stack_.admin(), "DELETE", UserPath(admin));
  EXPECT_EQ(del.status, 409) << del.Describe();
  EXPECT_EQ(del.json["code"], "failed_precondition");
  EXPECT_EQ(del.json["error"], "cannot delete \"admin\": it is the last admin");
  Reply demote = stack_.Call(stack_.admin(), "PATCH", UserPath(admin), {{"role", "user"}});
  EXPECT_EQ(demote.status, 409) << demote.Describe();
  EXPECT_EQ(demote.json["error"], "cannot demote \"admin\": it is the last admin");
  // A combined change is all or nothing: the grant did not happen either.
  Reply combined = stack_.Call(stack_.admin(), "PATCH", UserPath(admin),
                               {{"role", "user"}, {"can_create_instances", false}});
  EXPECT_EQ(combined.status, 409);
  Json after = stack_.Call(stack_.admin(), "GET", UserPath(admin)).json;
  EXPECT_EQ(after["role"], "admin");
  EXPECT_EQ(after["can_create_instances"], true);
  // And the refusals are audited as failures.
  Reply audit = stack_.Call(stack_.admin(), "GET", "/api/v1/audit?action=user.delete");
  ASSERT_EQ(audit.json["events"].size(), 1u);
  EXPECT_EQ(audit.json["events"][0]["outcome"], "failed: cannot delete \"admin\": it is the last admin");
}

TEST_F(UsersTest, WithTwoAdminsOneCanBeDemotedThenTheOtherIsTheLast) {
  const Json first = Admin();
  Json second = stack_.CreateUser("ops", "ops-password-123", "admin");
  Credentials ops = stack_.TokenFor("ops", "ops-password-123");

  Reply demoted = stack_.Call(ops, "PATCH", UserPath(first), {{"role", "user"}});
  ASSERT_EQ(demoted.status, 200) << demoted.Describe();
  EXPECT_EQ(demoted.json["role"], "user");
  EXPECT_EQ(stack_.Call(stack_.admin(), "GET", "/api/v1/users").status, 403) << "demotion applies at once";

  // ops is now the last admin: it can neither demote nor delete itself.
  EXPECT_EQ(stack_.Call(ops, "PATCH", UserPath(second), {{"role", "user"}}).status, 409);
  EXPECT_EQ(stack_.Call(ops, "DELETE", UserPath(second)).status, 409);
  // Promote the first again; now ops may delete itself.
  EXPECT_EQ(stack_.Call(ops, "PATCH", UserPath(first), {{"role", "admin"}}).status, 200);
  EXPECT_EQ(stack_.Call(ops, "DELETE", UserPath(second)).status, 204);
  EXPECT_EQ(stack_.Call(ops, "GET", "/api/v1/auth/me").status, 401) << "a deleted user's token is dead";
  EXPECT_EQ(stack_.Call(stack_.admin(), "GET", "/api/v1/users").status, 200);
}

TEST_F(UsersTest, CreateShowUpdateAssignDelete) {
  Json web1 = stack_.RegisterInstance("web-1");
  Json web2 = stack_.RegisterInstance("web-2");
  const int64_t w1 = web1["id"], w2 = web2["id"];
  Json bob = stack_.CreateUser("bob", "bob-password-123", "user", false, {w1});
  EXPECT_EQ(Keys(bob), (std::set<std::string>{"id", "username", "role", "can_create_instances", "instance_ids",
                                              "created_at"}));
  EXPECT_EQ(bob["instance_ids"], Json::array({w1}));

  Reply granted = stack_.Call(stack_.admin(), "PATCH", UserPath(bob), {{"can_create_instances", true}});
  ASSERT_EQ(granted.status, 200);
  EXPECT_EQ(granted.json["can_create_instances"], true);
  Reply assigned = stack_.Call(stack_.admin(), "PUT", UserPath(bob) + "/instances", {{"instance_ids", Json::array({w1, w2})}});
  ASSERT_EQ(assigned.status, 200) << assigned.Describe();
  EXPECT_EQ(assigned.json["instance_ids"], Json::array({w1, w2}));
  Credentials token = stack_.TokenFor("bob", "bob-password-123");
  EXPECT_EQ(stack_.Call(token, "GET", "/api/v1/instances").json["instances"].size(), 2u);

  Reply shown = stack_.Call(stack_.admin(), "GET", UserPath(bob));
  EXPECT_EQ(shown.json["instance_ids"], Json::array({w1, w2}));
  Reply listed = stack_.Call(stack_.admin(), "GET", "/api/v1/users");
  ASSERT_EQ(listed.json["users"].size(), 2u);
  for (const Json& u : listed.json["users"]) EXPECT_FALSE(u.contains("password_hash"));
  EXPECT_EQ(listed.body.find("scrypt"), std::string::npos);

  EXPECT_EQ(stack_.Call(stack_.admin(), "PUT", UserPath(bob) + "/instances", {{"instance_ids", Json::array()}}).status,
            200);
  EXPECT_EQ(stack_.Call(token, "GET", "/api/v1/instances").json["instances"].size(), 0u)
      << "unassignment applies at once";
  EXPECT_EQ(stack_.Call(stack_.admin(), "DELETE", UserPath(bob)).status, 204);
  EXPECT_EQ(stack_.Call(stack_.admin(), "GET", UserPath(bob)).status, 404);
}

TEST_F(UsersTest, BadInputIsRefusedNamingTheField) {
  struct Case {
    Json body;
    int status;
    std::string field;
  };
  const Case cases[] = {
      {{{"username", "Bob"}, {"password", "long-enough-1"}}, 400, "username"},
      {{{"username", "-bob"}, {"password", "long-enough-1"}}, 400, "username"},
      {{{"username", "bob"}, {"password", "short"}}, 400, "password"},
      {{{"username", "bob"}}, 400, "password"},
      {{{"username", "bob"}, {"password", "long-enough-1"}, {"role", "root"}}, 400, "role"},
      {{{"username", "bob"}, {"password", "long-enough-1"}, {"can_create_instances", "yes"}}, 400,
       "can_create_instances"},
      {{{"username", "admin"}, {"password", "long-enough-1"}}, 409, "username"},
      {{{"username", "bob"}, {"password", "long-enough-1"}, {"instance_ids", Json::array({999})}}, 404, "instance_ids"},
  };
  for (const Case& c : cases) {
    Reply r = stack_.Call(stack_.admin(), "POST", "/api/v1/users", c.body);
    EXPECT_EQ(r.status, c.status) << c.body.dump() << " -> " << r.Describe();
    EXPECT_EQ(r.json.value("field", ""), c.field) << c.body.dump() << " -> " << r.Describe();
    EXPECT_TRUE(r.json["error"].is_string());
  }
  EXPECT_EQ(stack_.Call(stack_.admin(), "GET", "/api/v1/users").json["users"].size(), 1u) << "nothing created";
  const Json admin = Admin();
  Reply weak = stack_.Call(stack_.admin(), "PATCH", UserPath(admin), {{"password", "short"}});
  EXPECT_EQ(weak.status, 400);
  EXPECT_EQ(weak.json["field"], "password");
  EXPECT_EQ(stack_.Call(stack_.admin(), "GET", "/api/v1/users/999").status, 404);
}

TEST_F(UsersTest, RegularUsersCannotManageUsers) {
  Json bob = stack_.CreateUser("bob", "bob-password-123");
  Credentials token = stack_.TokenFor("bob", "bob-password-123");
  const Json admin = Admin();
  EXPECT_EQ(stack_.Call(token, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(stack_.Call(token, "PATCH", UserPath(bob), {{"role", "admin"}}).status, 403) << "no self-promotion";
  EXPECT_EQ(stack_.Call(token, "PATCH", UserPath(bob), {{"can_create_instances", true}}).status, 403);
  EXPECT_EQ(stack_.Call(token, "PATCH", UserPath(admin), {{"password", "taken-over-123"}}).status, 403);
  EXPECT_EQ(stack_.Call(token, "DELETE", UserPath(admin)).status, 403);
  EXPECT_EQ(stack_.Call(stack_.admin(), "GET", UserPath(bob)).json["role"], "user");
  EXPECT_EQ(stack_.Login("admin", AuthStack::kAdminPassword).reply.status, 200);
}

}  // namespace
}  // namespace clawback::controller::testing
