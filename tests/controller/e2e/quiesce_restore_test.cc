// Restores through `clawback serve` into a real agent that has quiesce hooks
// (its --hooks file, as the OpenClaw image ships one): the user's "quiesce"
// reaches the agent as ?quiesce=0|1, and the restore record says whether the
// agent quiesced (its pre-restore hook ran and succeeded).
#include <filesystem>
#include <fstream>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class QuiesceRestoreE2eTest : public E2eTest {};

TEST_F(QuiesceRestoreE2eTest, RestoreRecordsWhetherTheAgentQuiesced) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  const std::string root_a = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  json alpha = AddInstance("alpha", root_a);
  ASSERT_FALSE(HasFailure());

  // beta's agent: hooks that log their name and what the target held then.
  const std::string beta_root = stack_->tmp().Sub("root-beta");
  fs::create_directories(beta_root);
  const std::string hook_log = stack_->tmp().Sub("hooks.log");
  const std::string hooks_file = stack_->tmp().Sub("hooks.json");
  auto logging = [&](const std::string& name) {
    return json::array({"/bin/sh", "-c", "echo " + name + " >> '" + hook_log + "'"});
  };
  std::ofstream(hooks_file) << json{{"pre-restore", logging("pre-restore")}, {"post-restore", logging("post-restore")}}
                                   .dump();
  json beta = AddInstance("beta", beta_root, {"--hooks", hooks_file});
  ASSERT_FALSE(HasFailure());

  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const std::string restore_path = "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()) + "/restore";

  // Default: quiesced.
  PlainResponse started = stack_->CreateRestore(b["id"].get<int64_t>(), beta["id"]);
  ASSERT_EQ(started.status, 202) << started.Describe();
  bool ok = false;
  json r = stack_->WaitRestoreFinal(started.Json()["id"].get<int64_t>(), 90s, &ok);
  ASSERT_TRUE(ok) << r.dump();
  ASSERT_EQ(r.value("status", ""), "completed") << r.dump();
  EXPECT_EQ(r["quiesce"], true);
  EXPECT_EQ(r["quiesced"], true);
  EXPECT_EQ(ReadWholeFile(hook_log), "pre-restore\npost-restore\n");
  EXPECT_EQ(CompareTrees(root_a + "/home/claworc", beta_root + "/home/claworc"), "");

  // Switched off by the user: the agent runs no hook, the record says so.
  started = stack_->Call("POST", restore_path, json{{"instance_id", beta["id"]}, {"quiesce", false}});
  ASSERT_EQ(started.status, 202) << started.Describe();
  const int64_t unquiesced_id = started.Json()["id"].get<int64_t>();
  r = stack_->WaitRestoreFinal(unquiesced_id, 90s, &ok);
  ASSERT_TRUE(ok) << r.dump();
  ASSERT_EQ(r.value("status", ""), "completed") << r.dump();
  EXPECT_EQ(r["quiesce"], false);
  EXPECT_EQ(r["quiesced"], false);
  EXPECT_EQ(ReadWholeFile(hook_log), "pre-restore\npost-restore\n");
  // The record survives a controller restart as it was (stored, not derived).
  stack_->KillController();
  ASSERT_TRUE(stack_->StartController().ok());
  json again = stack_->Call("GET", "/api/v1/restores/" + std::to_string(unquiesced_id)).Json();
  EXPECT_EQ(again["quiesce"], false);
  EXPECT_EQ(again["quiesced"], false);

  // An agent without hooks: asked, but nothing to quiesce with.
  started = stack_->CreateRestore(b["id"].get<int64_t>(), alpha["id"]);
  ASSERT_EQ(started.status, 202) << started.Describe();
  r = stack_->WaitRestoreFinal(started.Json()["id"].get<int64_t>(), 90s, &ok);
  ASSERT_EQ(r.value("status", ""), "completed") << r.dump();
  EXPECT_EQ(r["quiesce"], true);
  EXPECT_EQ(r["quiesced"], false);

  // "quiesce" must be a boolean; a request can name no command.
  PlainResponse bad = stack_->Call("POST", restore_path, json{{"instance_id", beta["id"]}, {"quiesce", "yes"}});
  EXPECT_EQ(bad.status, 400) << bad.Describe();
  EXPECT_EQ(ReadWholeFile(hook_log), "pre-restore\npost-restore\n");
}

}  // namespace
}  // namespace clawback::testing
