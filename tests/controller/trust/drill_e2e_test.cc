// Restore drills over a real `clawback serve` and real agents (mTLS on
// loopback): a good backup's drill passes with its entries counted and leaves
// nothing in the agent's --drill-dir; a backup holding a corrupt SQLite
// database fails naming the file (and raises drill.failed); an agent without
// --drill-dir refuses; another instance's agent can do the drill; only admins
// start drills; --drill-every-days drills the newest backup on its own.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/webhook_receiver.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DrillE2eTest : public E2eTest {
 protected:
  // An agent's --drill-dir (created empty) and its flags.
  std::vector<std::string> DrillArgs(const std::string& name) {
    const std::string dir = stack_->tmp().Sub("drill-" + name);
    fs::create_directories(dir);
    drill_dirs_[name] = dir;
    return {"--drill-dir", dir};
  }

  json WaitDrilled(int64_t backup_id) {
    json b;
    EXPECT_TRUE(WaitFor([&] {
      b = stack_->GetBackup(backup_id);
      return b["drill"].is_object() && b["drill"]["status"] != "running";
    }, 60s)) << "drill never finished: " << b.dump();
    return b["drill"];
  }

  PlainResponse StartDrill(int64_t backup_id, const json& body = json::object()) {
    return stack_->Call("POST", "/api/v1/backups/" + std::to_string(backup_id) + "/drill", body);
  }

  // A SQLite database with a few hundred pages, then garbage written over
  // pages 3-4 (its header stays valid, so it still looks like a database).
  static void WriteCorruptDatabase(const std::string& path) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA page_size=4096; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);"
                           "CREATE INDEX t_v ON t(v);"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<3000) "
                           "INSERT INTO t(v) SELECT randomblob(200) FROM n;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 2);
    std::string garbage(8192, '\xA5');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }

  std::map<std::string, std::string> drill_dirs_;
};

TEST_F(DrillE2eTest, GoodBackupPassesAndLeavesNoScratchFiles) {
  StartStack();
  ASSERT_FALSE(HasFailure());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")), DrillArgs("alpha"));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());

  PlainResponse started = StartDrill(b["id"]);
  ASSERT_EQ(started.status, 202) << started.Describe();
  EXPECT_EQ(started.Json()["drill"].value("status", ""), "running") << started.body;
  json d = WaitDrilled(b["id"]);
  EXPECT_EQ(d.value("status", ""), "passed") << d.dump() << stack_->Logs();
  EXPECT_TRUE(d["error"].is_null()) << d.dump();
  EXPECT_GT(d.value("entries", 0), 0) << d.dump();
  EXPECT_GT(d.value("bytes", 0), 0) << d.dump();
  EXPECT_TRUE(d["duration_s"].is_number()) << d.dump();
  EXPECT_EQ(d.value("instance", ""), "alpha") << d.dump();
  EXPECT_TRUE(d.value("index", false)) << "every file compared with the archive's index " << d.dump();
  EXPECT_GT(d.value("files_checked", 0), 0) << d.dump();
  EXPECT_TRUE(fs::is_empty(drill_dirs_["alpha"])) << "the scratch tree is removed";
  EXPECT_EQ(stack_->GetInstance(alpha["id"])["protection"]["last_drill"].value("status", ""), "passed");

  PlainResponse audit = stack_->Call("GET", "/api/v1/audit?action=backup.drilled");
  ASSERT_FALSE(audit.Json()["events"].empty()) << audit.body;
  EXPECT_EQ(audit.Json()["events"][0].value("outcome", ""), "ok") << audit.body;
  EXPECT_FALSE(stack_->Call("GET", "/api/v1/audit?action=backup.drill").Json()["events"].empty());
}

TEST_F(DrillE2eTest, CorruptDatabaseFailsNamingTheFileAndAlerts) {
  StartStack();
  ASSERT_FALSE(HasFailure());
  WebhookReceiver receiver;
  ASSERT_EQ(stack_->Call("POST", "/api/v1/webhooks",
                         json{{"url", receiver.Url()}, {"secret", "drill-secret-0123456789"}, {"events", {"drill.failed"}}})
                .status,
            201);
  const std::string root = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  WriteCorruptDatabase(root + "/home/claworc/app.db");
  ASSERT_FALSE(HasFailure());
  json alpha = AddInstance("alpha", root, DrillArgs("alpha"));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());

  ASSERT_EQ(StartDrill(b["id"]).status, 202);
  json d = WaitDrilled(b["id"]);
  EXPECT_EQ(d.value("status", ""), "failed") << d.dump();
  EXPECT_NE(d.value("error", "").find("home/claworc/app.db"), std::string::npos) << d.dump();
  EXPECT_NE(d.value("error", "").find("integrity_check"), std::string::npos) << d.dump();
  EXPECT_TRUE(fs::is_empty(drill_dirs_["alpha"])) << "the scratch tree is removed after a failure too";
  ASSERT_TRUE(receiver.WaitForRequests(1, 10s));
  json event = json::parse(receiver.Requests()[0].body);
  EXPECT_EQ(event.value("event", ""), "drill.failed");
  EXPECT_EQ(event["backup"]["id"], b["id"]);
  EXPECT_EQ(stack_->GetInstance(alpha["id"])["protection"].value("state", ""), "failing");
}

TEST_F(DrillE2eTest, AgentWithoutDrillDirRefusesAndAnotherAgentCanDrill) {
  StartStack();
  ASSERT_FALSE(HasFailure());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("root-beta")), DrillArgs("beta"));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());

  ASSERT_EQ(StartDrill(b["id"]).status, 202);
  json refused = WaitDrilled(b["id"]);
  EXPECT_EQ(refused.value("status", ""), "failed") << refused.dump();
  EXPECT_NE(refused.value("error", "").find("--drill-dir"), std::string::npos) << refused.dump();

  PlainResponse on_beta = StartDrill(b["id"], json{{"instance_id", beta["id"]}});
  ASSERT_EQ(on_beta.status, 202) << on_beta.Describe();
  json d = WaitDrilled(b["id"]);
  EXPECT_EQ(d.value("status", ""), "passed") << d.dump();
  EXPECT_EQ(d.value("instance", ""), "beta") << d.dump();
  EXPECT_TRUE(fs::is_empty(drill_dirs_["beta"]));

  EXPECT_EQ(StartDrill(b["id"], json{{"instance_id", 999}}).status, 404);
  EXPECT_EQ(StartDrill(b["id"], json{{"instance_id", "x"}}).status, 400);
  EXPECT_EQ(StartDrill(999).status, 404);
}

TEST_F(DrillE2eTest, OnlyAdminsStartDrillsAndUsersSeeOwnResults) {
  StartStack();
  ASSERT_FALSE(HasFailure());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")), DrillArgs("alpha"));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const uint16_t port = stack_->controller()->port();
  ASSERT_EQ(stack_->Call("POST", "/api/v1/users",
                         json{{"username", "ops"}, {"password", "ops-password-123"}, {"instance_ids", {alpha["id"]}}})
                .status,
            201);
  const auto ops = BearerHeaders(MintToken(port, "ops", "ops-password-123"));
  const std::string path = "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()) + "/drill";
  EXPECT_EQ(Send(port, "POST", path, json::object(), ops).status, 403);
  EXPECT_EQ(Send(port, "POST", "/api/v1/backups/999/drill", json::object(), ops).status, 403);
  ASSERT_EQ(StartDrill(b["id"]).status, 202);
  WaitDrilled(b["id"]);
  PlainResponse seen = Send(port, "GET", "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()), nullptr, ops);
  ASSERT_EQ(seen.status, 200) << seen.Describe();
  EXPECT_EQ(seen.Json()["drill"].value("status", ""), "passed") << seen.body;
}

TEST_F(DrillE2eTest, ScheduledDrillRunsOnItsOwn) {
  StackOptions options;
  options.controller_args = {"--drill-every-days", "7", "--trust-scan-interval", "1"};
  StartStack(options);
  ASSERT_FALSE(HasFailure());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")), DrillArgs("alpha"));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  json d = WaitDrilled(b["id"]);
  EXPECT_EQ(d.value("status", ""), "passed") << d.dump();
  // Once: the next scans see a drill younger than 7 days.
  std::this_thread::sleep_for(3s);
  PlainResponse audit = stack_->Call("GET", "/api/v1/audit?action=backup.drilled");
  EXPECT_EQ(audit.Json()["events"].size(), 1u) << audit.body;
}

}  // namespace
}  // namespace clawback::testing
