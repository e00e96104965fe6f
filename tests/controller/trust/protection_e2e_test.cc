// Fleet protection over a real `clawback serve` and real agents: each
// instance's protection state on the instances API (protected, unprotected,
// failing after a failed verification), the admins' fleet summary, the
// per-instance Prometheus series, and what a regular user may see.
#include <filesystem>
#include <fstream>

#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ProtectionE2eTest : public E2eTest {
 protected:
  json Verified(int64_t backup_id) {
    EXPECT_EQ(stack_->Call("POST", "/api/v1/backups/" + std::to_string(backup_id) + "/verify").status, 202);
    json b;
    EXPECT_TRUE(WaitFor([&] {
      b = stack_->GetBackup(backup_id);
      return b["verification"].is_object() && b["verification"]["status"] != "running";
    }, 30s)) << b.dump();
    return b;
  }
  json Protection(int64_t instance_id) { return stack_->GetInstance(instance_id)["protection"]; }
};

TEST_F(ProtectionE2eTest, StatesSummaryMetricsAndVisibility) {
  StackOptions options;
  options.controller_args = {"--unprotected-after", "3600"};
  StartStack(options);
  ASSERT_FALSE(HasFailure());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("root-beta")));
  ASSERT_FALSE(HasFailure());
  const int64_t alpha_id = alpha["id"], beta_id = beta["id"];

  EXPECT_EQ(Protection(alpha_id).value("state", ""), "unprotected") << Protection(alpha_id).dump();
  json b = CompletedBackup(alpha_id);
  ASSERT_FALSE(HasFailure());
  Verified(b["id"]);

  json pa = Protection(alpha_id);
  EXPECT_EQ(pa.value("state", ""), "protected") << pa.dump();
  EXPECT_EQ(pa["last_good_backup"].value("id", int64_t{0}), b["id"].get<int64_t>()) << pa.dump();
  EXPECT_GE(pa["last_good_backup"].value("age_s", -1), 0) << pa.dump();
  EXPECT_EQ(pa["last_verification"].value("status", ""), "passed") << pa.dump();
  EXPECT_TRUE(pa["last_drill"].is_null()) << pa.dump();
  json pb = Protection(beta_id);
  EXPECT_EQ(pb.value("state", ""), "unprotected") << pb.dump();
  EXPECT_EQ(pb.value("reason", ""), "no completed backup") << pb.dump();

  PlainResponse fleet = stack_->Call("GET", "/api/v1/fleet/protection");
  ASSERT_EQ(fleet.status, 200) << fleet.Describe();
  EXPECT_EQ(fleet.Json()["summary"], (json{{"protected", 1}, {"stale", 0}, {"failing", 0}, {"unprotected", 1}, {"total", 2}}))
      << fleet.body;

  PlainResponse metrics = stack_->Call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.Describe();
  for (const std::string line :
       {"clawback_instance_last_good_backup_timestamp_seconds{instance=\"alpha\"} ",
        "clawback_instance_last_verification_success{instance=\"alpha\"} 1",
        "clawback_instance_protection{instance=\"beta\",state=\"unprotected\"} 1",
        "clawback_fleet_instances{state=\"protected\"} 1", "clawback_fleet_instances{state=\"unprotected\"} 1"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << "\n" << metrics.body;
  }
  EXPECT_EQ(metrics.body.find("clawback_instance_last_good_backup_timestamp_seconds{instance=\"beta\"}"),
            std::string::npos);

  // A failed verification makes alpha failing, in the API and the metrics.
  const std::string file = StoredFile(b);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x55');
    f.seekp(101);
    f.put('\x66');
  }
  json failed = Verified(b["id"]);
  ASSERT_EQ(failed["verification"].value("status", ""), "failed") << failed.dump();
  pa = Protection(alpha_id);
  EXPECT_EQ(pa.value("state", ""), "failing") << pa.dump();
  EXPECT_NE(pa.value("reason", "").find("verification of backup"), std::string::npos) << pa.dump();
  metrics = stack_->Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("clawback_instance_last_verification_success{instance=\"alpha\"} 0"), std::string::npos)
      << metrics.body;

  // A regular user sees alpha's protection only, and no fleet summary.
  const uint16_t port = stack_->controller()->port();
  ASSERT_EQ(stack_->Call("POST", "/api/v1/users",
                         json{{"username", "ops"}, {"password", "ops-password-123"}, {"instance_ids", {alpha_id}}})
                .status,
            201);
  const auto ops = BearerHeaders(MintToken(port, "ops", "ops-password-123"));
  PlainResponse seen = Send(port, "GET", "/api/v1/instances", nullptr, ops);
  ASSERT_EQ(seen.status, 200) << seen.Describe();
  ASSERT_EQ(seen.Json()["instances"].size(), 1u) << seen.body;
  EXPECT_EQ(seen.Json()["instances"][0]["protection"].value("state", ""), "failing") << seen.body;
  EXPECT_EQ(Send(port, "GET", "/api/v1/instances/" + std::to_string(beta_id), nullptr, ops).status, 404);
  EXPECT_EQ(Send(port, "GET", "/api/v1/fleet/protection", nullptr, ops).status, 403);
}

}  // namespace
}  // namespace clawback::testing
