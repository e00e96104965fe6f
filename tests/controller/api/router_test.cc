// The router and the permission matrix, in process: every endpoint of
// docs/api.md called as anonymous, admin, an assigned user with and without
// can_create_instances, and an unassigned user, with the exact status code;
// after each denial the store is unchanged. Real SQLite store, real auth,
// real transfer service and scheduler; the agent connector is a fake (no
// agent is needed: denied requests must never reach one).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/pki/certificate_authority.h"
#include "tests/controller/api/api_services.h"

namespace clawback::controller::api {
namespace {

using nlohmann::json;

// Every instance is "running"; transfers fail as if the agent were gone
// (testing::UnreachableAgents).
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = testing::ApiServices::Open(dir_, clock_, agents_);
    ASSERT_NE(api_, nullptr);

    web1_ = MakeInstance("web-1");
    web2_ = MakeInstance("web-2");
    admin_ = MakeUser("root", Role::kAdmin, false, {});
    restorer_ = MakeUser("restorer", Role::kUser, true, {web1_, web2_});
    assigned_ = MakeUser("assigned", Role::kUser, false, {web1_});
    stranger_ = MakeUser("stranger", Role::kUser, true, {});

    // A completed backup of web-1 with its file, for download and restore.
    std::string file = api_->backups_dir() + "/web-1-1.tar.zst";
    ASSERT_TRUE(pki::WriteFileAtomic(file, "0123456789", 0600).ok());
    Backup b;
    b.instance_id = web1_;
    b.instance_name = "web-1";
    b.status = BackupStatus::kCompleted;
    b.paths = {"/home/claworc"};
    b.file_path = file;
    b.size_bytes = 10;
    b.sha256 = "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882";
    b.created_at = 1;
    backup_ = api_->store().CreateBackup(b)->id;
  }

  Id MakeInstance(const std::string& name) {
    Instance i;
    i.name = name;
    i.agent_url = "https://127.0.0.1:1";
    return api_->store().CreateInstance(i)->id;
  }

  std::string MakeUser(const std::string& name, Role role, bool can_create, std::vector<Id> instances) {
    auto u = api_->users().Create({name, "password-" + name + "-123", role, can_create, instances});
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    auto p = api_->sessions().AuthenticateBearer(MakeToken(u->id));
    return p.ok() ? token_ : "";
  }

  std::string MakeToken(Id user_id) {
    auth::Principal p;
    p.user = *api_->store().GetUser(user_id);
    auto t = api_->sessions().CreateApiToken(p, "test");
    token_ = t->secret;
    return token_;
  }

  HttpResponse Call(const std::string& token, const std::string& method, const std::string& target,
                    const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = ParseQueryString(target.substr(q + 1));
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    if (!body.empty()) {
      req.body = body;
      req.headers["content-type"] = "application/json";
    }
    req.remote = "127.0.0.1:5000";
    return api_->Handle(req);
  }

  // Everything a denied request must leave alone (the audit log aside).
  std::string Snapshot() {
    json s;
    int64_t total = 0;
    BackupFilter all;
    all.limit = 500;
    // Results held in locals: a range-for over *Result() would dangle.
    auto backups = api_->store().ListBackups(all, &total);
    for (const Backup& b : *backups) s["backups"].push_back({b.id, BackupStatusName(b.status)});
    auto instances = api_->store().ListInstances();
    for (const Instance& i : *instances) s["instances"].push_back({i.id, i.name, i.agent_url});
    auto users = api_->store().ListUsers();
    for (const User& u : *users) {
      s["users"].push_back({u.id, RoleName(u.role), u.can_create_instances, *api_->store().GetUserInstances(u.id)});
    }
    auto restores = api_->store().ListRestores(std::nullopt, 500);
    for (const Restore& r : *restores) s["restores"].push_back(r.id);
    auto schedules = api_->store().ListSchedules();
    for (const Schedule& sc : *schedules) s["schedules"].push_back({sc.id, sc.cron});
    for (auto& e : std::filesystem::recursive_directory_iterator(api_->backups_dir())) s["files"].push_back(e.path().string());
    return s.dump();
  }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  testing::UnreachableAgents agents_;
  std::unique_ptr<testing::ApiServices> api_;
  Id web1_ = 0, web2_ = 0, backup_ = 0;
  std::string token_, admin_, restorer_, assigned_, stranger_;
};

// One row per endpoint: the status for anonymous, an unassigned user, an
// assigned user without can_create_instances, and the assigned restorer.
struct Row {
  std::string method, path, body;
  int anonymous, stranger, assigned, restorer;
};

TEST_F(ApiTest, PermissionMatrixDeniesAndChangesNothing) {
  const std::string b = "/api/v1/backups/" + std::to_string(backup_);
  const std::string i1 = "/api/v1/instances/" + std::to_string(web1_);
  const std::vector<Row> rows = {
      {"GET", "/api/v1/instances", "", 401, 200, 200, 200},
      {"POST", "/api/v1/instances", R"({"name":"web-9","agent_url":"https://h:1"})", 401, 403, 403, 403},
      {"GET", i1, "", 401, 404, 200, 200},
      {"PATCH", i1, R"({"agent_url":"https://h:2"})", 401, 403, 403, 403},
      {"DELETE", i1, "", 401, 403, 403, 403},
      {"POST", i1 + "/bundle", "", 401, 403, 403, 403},
      {"GET", i1 + "/backups", "", 401, 404, 200, 200},
      {"POST", i1 + "/backups", R"({"paths":["etc/bad"]})", 401, 404, 400, 400},
      {"GET", "/api/v1/backups", "", 401, 200, 200, 200},
      {"GET", b, "", 401, 404, 200, 200},
      {"GET", b + "/download", "", 401, 404, 200, 200},
      {"POST", b + "/cancel", "", 401, 404, 409, 409},
      {"DELETE", "/api/v1/backups/999", "", 401, 404, 404, 404},
      {"DELETE", b, "", 401, 404, -1, -1},  // allowed: not run here, it would change the store
      {"POST", b + "/restore", R"({"instance_id":2})", 401, 404, 404, -1},
      {"POST", b + "/restore", R"({"instance_id":1})", 401, 404, 403, -1},
      {"GET", "/api/v1/restores", "", 401, 200, 200, 200},
      {"GET", "/api/v1/restores/999", "", 401, 404, 404, 404},
      {"GET", "/api/v1/backup-schedules", "", 401, 403, 403, 403},
      {"POST", "/api/v1/backup-schedules", R"({"name":"n","all_instances":true,"cron":"@daily"})", 401, 403, 403, 403},
      {"GET", "/api/v1/backup-schedules/1", "", 401, 403, 403, 403},
      {"PUT", "/api/v1/backup-schedules/1", R"({"cron":"@daily"})", 401, 403, 403, 403},
      {"DELETE", "/api/v1/backup-schedules/1", "", 401, 403, 403, 403},
      {"POST", "/api/v1/backup-schedules/1/run", "", 401, 403, 403, 403},
      {"GET", "/api/v1/cron/preview?expr=@daily", "", 401, 200, 200, 200},
      {"GET", "/api/v1/users", "", 401, 403, 403, 403},
      {"POST", "/api/v1/users", R"({"username":"eve","password":"password-eve-123"})", 401, 403, 403, 403},
      {"GET", "/api/v1/users/1", "", 401, 403, 403, 403},
      {"GET", "/api/v1/users/999", "", 401, 403, 403, 403},
      {"PATCH", "/api/v1/users/1", R"({"role":"user"})", 401, 403, 403, 403},
      {"DELETE", "/api/v1/users/1", "", 401, 403, 403, 403},
      {"PUT", "/api/v1/users/2/instances", R"({"instance_ids":[1]})", 401, 403, 403, 403},
      {"GET", "/api/v1/audit", "", 401, 403, 403, 403},
      {"GET", "/api/v1/auth/me", "", 401, 200, 200, 200},
      {"GET", "/api/v1/auth/tokens", "", 401, 200, 200, 200},
      // A token created without can_create_tokens cannot mint more (whoever owns it).
      {"POST", "/api/v1/auth/tokens", R"({"name":"more"})", 401, 403, 403, 403},
      {"GET", "/api/v1/users/1/tokens", "", 401, 403, 403, 403},
      {"DELETE", "/api/v1/users/1/tokens/1", "", 401, 403, 403, 403},
      {"GET", "/metrics", "", 401, 403, 403, 403},
  };
  for (const Row& row : rows) {
    const std::pair<std::string, int> callers[] = {
        {"", row.anonymous}, {stranger_, row.stranger}, {assigned_, row.assigned}, {restorer_, row.restorer}};
    for (const auto& [token, want] : callers) {
      if (want < 0) continue;
      const std::string before = Snapshot();
      HttpResponse r = Call(token, row.method, row.path, row.body);
      EXPECT_EQ(r.status, want) << row.method << " " << row.path << " as " << (token.empty() ? "anonymous" : token)
                                << ": " << r.body;
      if (r.status >= 400) {
        EXPECT_EQ(Snapshot(), before) << "denied " << row.method << " " << row.path << " changed the store";
        json body = json::parse(r.body, nullptr, false);
        EXPECT_TRUE(body.contains("error") && body.contains("code")) << r.body;
      }
    }
  }
}

TEST_F(ApiTest, InvisibleIsIndistinguishableFromMissing) {
  HttpResponse hidden = Call(stranger_, "GET", "/api/v1/backups/" + std::to_string(backup_));
  HttpResponse missing = Call(stranger_, "GET", "/api/v1/backups/999");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(hidden.body)["code"], json::parse(missing.body)["code"]);
}

TEST_F(ApiTest, ListsFilterToVisibleInstances) {
  json mine = json::parse(Call(assigned_, "GET", "/api/v1/instances").body);
  ASSERT_EQ(mine["instances"].size(), 1u);
  EXPECT_EQ(mine["instances"][0]["name"], "web-1");
  EXPECT_EQ(json::parse(Call(stranger_, "GET", "/api/v1/instances").body)["instances"].size(), 0u);
  EXPECT_EQ(json::parse(Call(stranger_, "GET", "/api/v1/backups").body)["total"], 0);
  EXPECT_EQ(json::parse(Call(admin_, "GET", "/api/v1/instances").body)["instances"].size(), 2u);
}

TEST_F(ApiTest, AdminCanDoTheAdminThings) {
  EXPECT_EQ(Call(admin_, "POST", "/api/v1/instances", R"({"name":"web-3","agent_url":"https://h:1"})").status, 201);
  EXPECT_EQ(Call(admin_, "POST", "/api/v1/instances/1/bundle").status, 200);
  EXPECT_EQ(Call(admin_, "GET", "/api/v1/users").status, 200);
  EXPECT_EQ(Call(admin_, "GET", "/api/v1/audit").status, 200);
  HttpResponse s = Call(admin_, "POST", "/api/v1/backup-schedules", R"({"name":"n","all_instances":true,"cron":"@daily"})");
  EXPECT_EQ(s.status, 201) << s.body;
  EXPECT_EQ(Call(admin_, "DELETE", "/api/v1/users/1").status, 409) << "the last admin stays";
}

TEST_F(ApiTest, RoutingErrorsAreJson) {
  HttpResponse unknown = Call(admin_, "GET", "/api/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["code"], "not_found");
  HttpResponse wrong = Call(admin_, "PUT", "/api/v1/instances");
  EXPECT_EQ(wrong.status, 405);
  HttpRequest req;
  req.method = "POST";
  req.path = "/api/v1/instances";
  req.headers["authorization"] = "Bearer " + admin_;
  req.headers["content-type"] = "text/plain";
  req.body = "{}";
  EXPECT_EQ(api_->Handle(req).status, 415);
  HttpResponse bad = Call(admin_, "POST", "/api/v1/instances/1/backups", R"({"paths":["/proc/1"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["field"], "paths");
}

TEST_F(ApiTest, ExcludesPresetsAndStrictAreCheckedAndRecorded) {
  const std::string before = Snapshot();
  struct Case {
    std::string path, body, field, message;
  };
  const Case cases[] = {
      {"/api/v1/instances/1/backups", R"({"excludes":["*.log"]})", "excludes",
       "exclude pattern must be absolute (start with '/'): *.log"},
      {"/api/v1/instances/1/backups", R"({"excludes":["/a/**.log"]})", "excludes", "'**' inside a component"},
      {"/api/v1/instances/1/backups", R"({"excludes":"/a"})", "excludes", "excludes"},
      {"/api/v1/instances/1/backups", R"({"exclude_presets":["logs","videos"]})", "exclude_presets",
       "unknown exclude preset: videos (known: logs, caches)"},
      {"/api/v1/instances/1/backups", R"({"strict":"yes"})", "strict", "strict"},
      {"/api/v1/backup-schedules", R"({"name":"n","all_instances":true,"cron":"@daily","exclude_presets":["tmp"]})",
       "exclude_presets", "unknown exclude preset: tmp"},
      {"/api/v1/backup-schedules", R"({"name":"n","all_instances":true,"cron":"@daily","excludes":["/a/[x"]})",
       "excludes", "unclosed '['"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    HttpResponse r = Call(admin_, "POST", c.path, c.body);
    ASSERT_EQ(r.status, 400) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["field"], c.field) << r.body;
    EXPECT_NE(body["error"].get<std::string>().find(c.message), std::string::npos) << r.body;
  }
  EXPECT_EQ(Snapshot(), before) << "a refused request recorded something";

  // Accepted: the record keeps what was asked for (the agent is unreachable
  // here, so the backup itself fails later; its fields stay).
  HttpResponse ok = Call(admin_, "POST", "/api/v1/instances/1/backups",
                         R"({"exclude_presets":["logs"],"excludes":["/home/claworc/**/build"],"strict":true})");
  ASSERT_EQ(ok.status, 202) << ok.body;
  json made = json::parse(Call(admin_, "GET", "/api/v1/backups/" + std::to_string(json::parse(ok.body)["id"].get<int64_t>())).body);
  EXPECT_EQ(made["exclude_presets"], json::array({"logs"}));
  EXPECT_EQ(made["excludes"], json::array({"/home/claworc/**/build"}));
  EXPECT_EQ(made["strict"], true);
  EXPECT_EQ(made["databases_captured"], 0);

  HttpResponse sched = Call(admin_, "POST", "/api/v1/backup-schedules",
                            R"({"name":"n","all_instances":true,"cron":"@daily","exclude_presets":["caches"],"strict":true})");
  ASSERT_EQ(sched.status, 201) << sched.body;
  json schedule = json::parse(sched.body);
  EXPECT_EQ(schedule["exclude_presets"], json::array({"caches"}));
  EXPECT_EQ(schedule["excludes"], json::array());
  EXPECT_EQ(schedule["strict"], true);
  // PUT changes only what it names.
  HttpResponse put = Call(admin_, "PUT", "/api/v1/backup-schedules/" + std::to_string(schedule["id"].get<int64_t>()),
                          R"({"excludes":["/srv/x"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  json updated = json::parse(put.body);
  EXPECT_EQ(updated["excludes"], json::array({"/srv/x"}));
  EXPECT_EQ(updated["exclude_presets"], json::array({"caches"}));
  EXPECT_EQ(updated["strict"], true);
}

TEST_F(ApiTest, DownloadHonoursRange) {
  const std::string d = "/api/v1/backups/" + std::to_string(backup_) + "/download";
  HttpRequest req;
  req.method = "GET";
  req.path = d;
  req.headers["authorization"] = "Bearer " + admin_;
  req.headers["range"] = "bytes=4-";
  HttpResponse r = api_->Handle(req);
  EXPECT_EQ(r.status, 206);
  ASSERT_TRUE(r.file.has_value());
  EXPECT_EQ(r.file->offset, 4u);
  EXPECT_EQ(r.file->length, 6u);
  req.headers["range"] = "bytes=10-";
  EXPECT_EQ(api_->Handle(req).status, 416);
}

TEST_F(ApiTest, PublicEndpoints) {
  EXPECT_EQ(Call("", "GET", "/healthz").status, 200);
  // /metrics: an admin (or the scrape token, or --metrics-open); see the e2e suite.
  EXPECT_EQ(Call("", "GET", "/metrics").status, 401);
  EXPECT_EQ(Call(admin_, "GET", "/metrics").status, 200);
  HttpResponse doc = Call("", "GET", "/api/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  EXPECT_TRUE(json::parse(doc.body)["paths"].contains("/api/v1/backups/{id}/download"));
  HttpResponse page = Call("", "GET", "/instances/web-1");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
}

}  // namespace
}  // namespace clawback::controller::api
