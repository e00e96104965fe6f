// `clawback backup verify` against a real controller and agent: --wait
// prints the result and exits 0 for a good archive; a flipped byte makes it
// exit 1 (runtime) with the controller's message naming the block; without
// --wait it only starts; an unknown backup is not found (exit 4).
#include <filesystem>
#include <fstream>

#include "tests/controller/cli/cli_fixture.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class CliVerifyTest : public CliTest {};

TEST_F(CliVerifyTest, VerifyWaitPassesThenFailsNamingTheBlock) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(b.value("status", ""), "completed") << b.dump();
  const std::string id = std::to_string(b["id"].get<int64_t>());

  CliResult passed = Cli({"backup", "verify", id, "--wait"});
  ASSERT_EQ(passed.exit_code, 0) << passed.Describe();
  EXPECT_NE(passed.out.find("verification passed"), std::string::npos) << passed.out;
  EXPECT_NE(passed.out.find(std::to_string(b["entries"].get<int64_t>()) + " entries"), std::string::npos) << passed.out;

  json as_json = CliJson({"backup", "verify", id, "--wait"});
  EXPECT_EQ(as_json.value("status", ""), "passed") << as_json.dump();

  const std::string file = StoredFile(stack_->GetBackup(b["id"]));
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 3));
    f.put('\x01');
    f.put('\x02');
  }
  CliResult failed = Cli({"backup", "verify", id, "--wait"});
  EXPECT_EQ(failed.exit_code, 1) << failed.Describe();
  EXPECT_NE(failed.err.find("failed verification: sha256 mismatch in block 0"), std::string::npos) << failed.Describe();

  CliResult started = Cli({"backup", "verify", id});
  EXPECT_EQ(started.exit_code, 0) << started.Describe();
  EXPECT_NE(started.out.find("Verification of backup " + id + " started."), std::string::npos) << started.out;

  CliResult missing = Cli({"backup", "verify", "999", "--wait"});
  EXPECT_EQ(missing.exit_code, 4) << missing.Describe();
}

}  // namespace
}  // namespace clawback::testing
