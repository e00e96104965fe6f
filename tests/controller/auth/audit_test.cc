// The audit log through the real router and a real store file: sign-ins
// (and failed ones), user changes and permission grants, instance changes and
// token changes each leave a row with actor, client address, action, target
// and outcome; GET /api/v1/audit is admin-only, filters by actor, action,
// instance and time range, and pages; there is no way to change or delete a
// row, through the API or in SQLite itself. (Backup and restore rows need a
// real agent: audit_e2e_test.cc.)
#include <SQLiteCpp/SQLiteCpp.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/controller/auth/auth_stack.h"

namespace clawback::controller::testing {
namespace {

std::string Id(const Json& j) { return std::to_string(j["id"].get<int64_t>()); }

class AuditTest : public ::testing::Test {
 protected:
  // Events matching `query` (all pages of at most 500).
  Json Events(const std::string& query = "") {
    Reply r = stack_.Call(stack_.admin(), "GET", "/api/v1/audit?limit=500" + (query.empty() ? "" : "&" + query));
    EXPECT_EQ(r.status, 200) << r.Describe();
    return r.json["events"];
  }
  // The newest event with `action` and `target`; fails the test when none.
  Json Find(const std::string& action, const std::string& target) {
    for (const Json& e : Events("action=" + action)) {
      if (e["target"] == target) return e;
    }
    ADD_FAILURE() << "no audit event " << action << " " << target << " in " << Events().dump(1);
    return Json::object();
  }

  AuthStack stack_;
};

TEST_F(AuditTest, EveryAdministrativeActionLeavesARowWithActorAndAddress) {
  Credentials admin = stack_.admin();
  admin.remote = "203.0.113.5:41000";
  auto call = [&](const std::string& method, const std::string& path, const Json& body = nullptr) {
    Reply r = stack_.Call(admin, method, path, body);
    EXPECT_LT(r.status, 300) << method << " " << path << " -> " << r.Describe();
    return r.json;
  };
  Json web = call("POST", "/api/v1/instances", {{"name", "web-1"}, {"agent_url", "https://127.0.0.1:1"}});
  call("PATCH", "/api/v1/instances/" + Id(web), {{"agent_url", "https://127.0.0.1:2"}});
  call("POST", "/api/v1/instances/" + Id(web) + "/bundle");
  Json bob = call("POST", "/api/v1/users",
                  {{"username", "bob"}, {"password", "bob-password-123"}, {"instance_ids", Json::array({web["id"]})}});
  call("PATCH", "/api/v1/users/" + Id(bob), {{"can_create_instances", true}});
  call("PATCH", "/api/v1/users/" + Id(bob), {{"role", "admin"}});
  call("PATCH", "/api/v1/users/" + Id(bob), {{"role", "user"}, {"password", "bob-reset-password-1"}});
  call("PUT", "/api/v1/users/" + Id(bob) + "/instances", {{"instance_ids", Json::array()}});
  Json token = call("POST", "/api/v1/auth/tokens", {{"name", "spare"}});
  call("DELETE", "/api/v1/auth/tokens/" + Id(token["token"]));
  call("DELETE", "/api/v1/users/" + Id(bob));
  call("DELETE", "/api/v1/instances/" + Id(web));

  struct Expect {
    std::string action, target;
  };
  const std::vector<Expect> expected = {
      {"instance.register", "instance:web-1"}, {"instance.change", "instance:web-1"},
      {"instance.bundle", "instance:web-1"},   {"user.create", "user:bob"},
      {"user.change", "user:bob"},             {"user.instances", "user:bob"},
      {"auth.token.create", "token:" + Id(token["token"])},
      {"auth.token.revoke", "token:" + Id(token["token"])},
      {"user.delete", "user:bob"},             {"instance.remove", "instance:web-1"},
  };
  for (const Expect& x : expected) {
    Json e = Find(x.action, x.target);
    EXPECT_EQ(e["actor"], "admin") << x.action;
    EXPECT_EQ(e["source"], "203.0.113.5") << x.action;
    EXPECT_EQ(e["outcome"], "ok") << x.action;
    EXPECT_EQ(e["at"], "2027-01-15T08:00:00Z") << x.action;
  }
  // Permission grants say what was granted.
  Json created = Find("user.create", "user:bob");
  EXPECT_EQ(created["detail"]["role"], "user");
  EXPECT_EQ(created["detail"]["instance_ids"], Json::array({web["id"]}));
  EXPECT_EQ(created["detail"]["can_create_instances"], false);
  std::vector<Json> changes;
  for (const Json& e : Events("action=user.change")) changes.push_back(e["detail"]);
  ASSERT_EQ(changes.size(), 3u);  // newest first
  EXPECT_EQ(changes[2], Json({{"can_create_instances", true}}));
  EXPECT_EQ(changes[1], Json({{"role", "admin"}}));
  EXPECT_EQ(changes[0]["role"], "user");
  EXPECT_EQ(Find("user.instances", "user:bob")["detail"]["instance_ids"], Json::array());
  // A password reset is recorded, the password is not.
  for (const Json& e : Events()) EXPECT_EQ(e.dump().find("bob-reset-password-1"), std::string::npos) << e.dump();
}

TEST_F(AuditTest, SignInsFailedSignInsAndPasswordChangesAreRecorded) {
  stack_.CreateUser("bob", "bob-password-123");
  stack_.Login("bob", "wrong-password", "198.51.100.20:1");
  Signin ok = stack_.Login("bob", "bob-password-123", "198.51.100.21:1");
  ASSERT_EQ(ok.reply.status, 200);
  stack_.Call(ok.session, "PUT", "/api/v1/auth/password",
              {{"current_password", "bob-password-123"}, {"new_password", "bob-password-456"}});
  stack_.Call(ok.session, "POST", "/api/v1/auth/logout");

  Json logins = Events("action=auth.login&actor=bob");
  ASSERT_EQ(logins.size(), 1u);
  EXPECT_EQ(logins[0]["source"], "198.51.100.21");
  EXPECT_EQ(logins[0]["outcome"], "ok");
  EXPECT_EQ(logins[0]["target"], "user:bob");
  Json failed = Events("action=auth.login&actor=anonymous");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["source"], "198.51.100.20");
  EXPECT_EQ(failed[0]["target"], "user:bob");
  EXPECT_EQ(failed[0]["outcome"], "denied: invalid username or password");
  EXPECT_EQ(Find("auth.password", "user:bob")["actor"], "bob");
  EXPECT_EQ(Find("auth.logout", "user:bob")["source"], "198.51.100.21");
}

TEST_F(AuditTest, FiltersByActorActionInstanceAndTimeAndPages) {
  Json web1 = stack_.RegisterInstance("web-1");   // t0
  stack_.clock().Advance(3600);
  Json web2 = stack_.RegisterInstance("web-2");   // t0 + 1h
  stack_.clock().Advance(3600);
  Json bob = stack_.CreateUser("bob", "bob-password-123", "user", false, {web2["id"]});  // t0 + 2h
  stack_.clock().Advance(3600);
  stack_.Call(stack_.admin(), "PATCH", "/api/v1/instances/" + Id(web1), {{"agent_url", "https://127.0.0.1:3"}});

  // instance: by name or id; includes grants of it (user.create with its id).
  auto actions = [](const Json& events) {
    std::vector<std::string> out;
    for (const Json& e : events) out.push_back(e["action"]);
    return out;
  };
  EXPECT_EQ(actions(Events("instance=web-1")), (std::vector<std::string>{"instance.change", "instance.register"}));
  EXPECT_EQ(actions(Events("instance=" + Id(web2))), (std::vector<std::string>{"user.create", "instance.register"}));
  EXPECT_TRUE(Events("instance=web-9").empty());
  // time range, inclusive at both ends
  EXPECT_EQ(actions(Events("since=2027-01-15T09:00:00Z&until=2027-01-15T10:00:00Z")),
            (std::vector<std::string>{"user.create", "instance.register"}));
  EXPECT_EQ(Events("since=2027-01-15T11:00:01Z").size(), 0u);
  EXPECT_EQ(actions(Events("until=1800000000&action=instance.register")),
            (std::vector<std::string>{"instance.register"}));
  // actor
  EXPECT_EQ(Events("actor=admin&action=instance.register").size(), 2u);
  EXPECT_TRUE(Events("actor=bob").empty());

  // Paging: newest first, total counts every match.
  Reply all = stack_.Call(stack_.admin(), "GET", "/api/v1/audit");
  const int64_t total = all.json["total"];
  ASSERT_GE(total, 6);
  EXPECT_EQ(all.json["limit"], 100);
  std::vector<int64_t> ids;
  for (int offset = 0; offset < total; offset += 2) {
    Reply page = stack_.Call(stack_.admin(), "GET", "/api/v1/audit?limit=2&offset=" + std::to_string(offset));
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.json["total"], total);
    EXPECT_EQ(page.json["offset"], offset);
    for (const Json& e : page.json["events"]) ids.push_back(e["id"]);
  }
  ASSERT_EQ(static_cast<int64_t>(ids.size()), total);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i - 1], ids[i]) << "newest first, no repeats";
  Reply inst_page = stack_.Call(stack_.admin(), "GET", "/api/v1/audit?instance=web-2&limit=1&offset=1");
  EXPECT_EQ(inst_page.json["total"], 2);
  ASSERT_EQ(inst_page.json["events"].size(), 1u);
  EXPECT_EQ(inst_page.json["events"][0]["action"], "instance.register");

  // Bad filters are 400 naming the field.
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"since=yesterday", "since"}, {"until=2027-13-01T00:00:00Z", "until"},
           {"since=2027-01-16T00:00:00Z&until=2027-01-15T00:00:00Z", "until"}, {"limit=0", "limit"},
           {"limit=501", "limit"}, {"offset=-1", "offset"}}) {
    Reply r = stack_.Call(stack_.admin(), "GET", "/api/v1/audit?" + query);
    EXPECT_EQ(r.status, 400) << query << " -> " << r.Describe();
    EXPECT_EQ(r.json.value("field", ""), field) << query;
  }
  (void)bob;
}

TEST_F(AuditTest, OnlyAdminsReadIt) {
  stack_.CreateUser("bob", "bob-password-123");
  Credentials bob = stack_.TokenFor("bob", "bob-password-123");
  EXPECT_EQ(stack_.Call(bob, "GET", "/api/v1/audit").status, 403);
  EXPECT_EQ(stack_.Call(bob, "GET", "/api/v1/audit?actor=bob").status, 403);
  EXPECT_EQ(stack_.Anonymous("GET", "/api/v1/audit").status, 401);
}

TEST_F(AuditTest, NoApiChangesOrDeletesAuditRows) {
  stack_.RegisterInstance("web-1");
  const Json before = Events();
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    Reply r = stack_.Call(stack_.admin(), method, "/api/v1/audit", Json::object());
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.Header("Allow"), "GET, HEAD") << method;
  }
  const std::string one = "/api/v1/audit/" + Id(before[0]);
  for (const char* method : {"GET", "PUT", "PATCH", "DELETE"}) {
    EXPECT_EQ(stack_.Call(stack_.admin(), method, one, Json::object()).status, 404) << method;
  }
  EXPECT_EQ(Events(), before);
}

TEST_F(AuditTest, SqliteRefusesToUpdateOrDeleteAuditRows) {
  stack_.RegisterInstance("web-1");
  const Json before = Events();
  ASSERT_FALSE(before.empty());
  // A second connection straight to the file, as an intruder with SQL would have.
  SQLite::Database db(stack_.db_path(), SQLite::OPEN_READWRITE);
  db.setBusyTimeout(5000);
  for (const char* sql : {"UPDATE audit_events SET actor = 'nobody'",
                          "UPDATE audit_events SET outcome = 'ok' WHERE id = 1",
                          "DELETE FROM audit_events", "DELETE FROM audit_events WHERE id = 1"}) {
    try {
      db.exec(sql);
      ADD_FAILURE() << sql << " succeeded";
    } catch (const SQLite::Exception& e) {
      EXPECT_NE(std::string(e.what()).find("audit log is append-only"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM audit_events").getInt64(), static_cast<int64_t>(before.size()));
  EXPECT_EQ(Events(), before);
}

}  // namespace
}  // namespace clawback::controller::testing
