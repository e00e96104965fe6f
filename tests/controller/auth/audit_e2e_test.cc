// The audit log over a real `clawback serve` with real agents over mTLS:
// a regular user's backup created, downloaded, restored (started and its
// outcome), canceled and deleted each leave their row, with the user as actor
// and the client address as source; the controller's own follow-ups
// (backup.finish, restore.finish) are recorded as "system". Filtering by
// instance finds them.
#include <string>

#include <gtest/gtest.h>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class AuditE2eTest : public E2eTest {
 protected:
  // The newest audit event with this action and target, or null.
  json Event(const std::string& action, const std::string& target) {
    PlainResponse r = stack_->Call("GET", "/api/v1/audit?limit=500&action=" + action);
    EXPECT_EQ(r.status, 200) << r.Describe();
    const json body = r.Json();  // kept: a range-for over r.Json()["events"] would dangle
    for (const json& e : body["events"]) {
      if (e["target"] == target) return e;
    }
    ADD_FAILURE() << "no audit event " << action << " " << target << " in "
                  << stack_->Call("GET", "/api/v1/audit?limit=500").body;
    return json();
  }
};

TEST_F(AuditE2eTest, BackupAndRestoreActionsAreAuditedWithActorAndAddress) {
  StartStack();
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("alpha")));
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("beta")));
  json slow = AddInstance("slow", BigRoot(), SlowAgentArgs());
  ASSERT_FALSE(HasFailure());
  const uint16_t port = stack_->controller()->port();

  PlainResponse made = stack_->Call("POST", "/api/v1/users",
                                    json{{"username", "ops"},
                                         {"password", "ops-password-123"},
                                         {"can_create_instances", true},
                                         {"instance_ids", {alpha["id"], beta["id"], slow["id"]}}});
  ASSERT_EQ(made.status, 201) << made.Describe();
  const auto ops = BearerHeaders(MintToken(port, "ops", "ops-password-123"));
  ASSERT_NE(ops[0].second, "Bearer ");

  // Backup (as ops), then wait for the controller to finish it.
  PlainResponse created = Send(port, "POST", "/api/v1/instances/" + std::to_string(alpha["id"].get<int64_t>()) +
                                                 "/backups", json::object(), ops);
  ASSERT_EQ(created.status, 202) << created.Describe();
  const int64_t backup_id = created.Json()["id"];
  bool ok = false;
  json b = stack_->WaitBackupFinal(backup_id, 90s, &ok);
  ASSERT_TRUE(ok && b["status"] == "completed") << b.dump();
  const std::string bpath = "/api/v1/backups/" + std::to_string(backup_id);

  PlainResponse dl = Send(port, "GET", bpath + "/download", nullptr, ops);
  ASSERT_EQ(dl.status, 200) << dl.Describe();
  EXPECT_EQ(dl.body.size(), b["size_bytes"].get<size_t>());

  PlainResponse restore = Send(port, "POST", bpath + "/restore", json{{"instance_id", beta["id"]}}, ops);
  ASSERT_EQ(restore.status, 202) << restore.Describe();
  const int64_t restore_id = restore.Json()["id"];
  json r = stack_->WaitRestoreFinal(restore_id, 90s, &ok);
  ASSERT_TRUE(ok && r["status"] == "completed") << r.dump();

  // A long backup canceled mid-stream.
  PlainResponse long_one = Send(port, "POST", "/api/v1/instances/" + std::to_string(slow["id"].get<int64_t>()) +
                                                  "/backups", json::object(), ops);
  ASSERT_EQ(long_one.status, 202) << long_one.Describe();
  const int64_t slow_id = long_one.Json()["id"];
  WaitStreaming(slow_id, "slow");
  PlainResponse canceled = Send(port, "POST", "/api/v1/backups/" + std::to_string(slow_id) + "/cancel", json::object(), ops);
  ASSERT_EQ(canceled.status, 200) << canceled.Describe();
  EXPECT_EQ(canceled.Json()["status"], "canceled");

  PlainResponse deleted = Send(port, "DELETE", bpath, nullptr, ops);
  ASSERT_EQ(deleted.status, 204) << deleted.Describe();

  const std::string btarget = "backup:" + std::to_string(backup_id);
  const std::string starget = "backup:" + std::to_string(slow_id);
  const std::string rtarget = "restore:" + std::to_string(restore_id);
  for (const auto& [action, target] : std::vector<std::pair<std::string, std::string>>{
           {"backup.create", btarget},   {"backup.download", btarget}, {"restore.start", rtarget},
           {"backup.create", starget},   {"backup.cancel", starget},   {"backup.delete", btarget}}) {
    json e = Event(action, target);
    EXPECT_EQ(e["actor"], "ops") << action << " " << e.dump();
    EXPECT_EQ(e["source"], "127.0.0.1") << action << " " << e.dump();
    EXPECT_EQ(e["outcome"], "ok") << action << " " << e.dump();
  }
  EXPECT_EQ(Event("backup.create", btarget)["detail"]["instance"], "alpha");
  EXPECT_EQ(Event("backup.download", btarget)["detail"]["length"], b["size_bytes"]);
  EXPECT_EQ(Event("restore.start", rtarget)["detail"]["target_instance"], "beta");
  EXPECT_EQ(Event("restore.start", rtarget)["detail"]["backup_id"], backup_id);

  // The outcomes, recorded by the controller itself.
  json finished = Event("backup.finish", btarget);
  EXPECT_EQ(finished["actor"], "system");
  EXPECT_EQ(finished["outcome"], "ok");
  json restored = Event("restore.finish", rtarget);
  EXPECT_EQ(restored["actor"], "system");
  EXPECT_EQ(restored["outcome"], "ok");
  EXPECT_EQ(restored["detail"]["target_instance"], "beta");
  EXPECT_EQ(Event("backup.finish", starget)["outcome"].get<std::string>().rfind("canceled", 0), 0u);

  // Filter by instance: alpha's story, newest first.
  PlainResponse about_alpha = stack_->Call("GET", "/api/v1/audit?instance=alpha&actor=ops");
  ASSERT_EQ(about_alpha.status, 200);
  std::vector<std::string> actions;
  const json alpha_events = about_alpha.Json();
  for (const json& e : alpha_events["events"]) actions.push_back(e["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"backup.delete", "backup.download", "backup.create"}));
  PlainResponse about_beta = stack_->Call("GET", "/api/v1/audit?instance=beta&action=restore.start");
  EXPECT_EQ(about_beta.Json()["total"], 1);

  // ops may not read the log.
  EXPECT_EQ(Send(port, "GET", "/api/v1/audit", nullptr, ops).status, 403);
}

}  // namespace
}  // namespace clawback::testing
