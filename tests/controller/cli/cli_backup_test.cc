// `clawback backup ...` against a real controller and real agents: create
// --wait, list/show --json, download (byte-identical to the stored archive,
// sha256 checked, resumed with a Range request after an interruption or a
// truncated file, a corrupt partial file refused, a missing archive a runtime
// failure), cancel, delete, and restore --to another instance --wait.
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/controller/cli/cli_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

class CliBackupTest : public CliTest {};

TEST_F(CliBackupTest, CreateWaitListShowAndDownloadVerified) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());

  // --wait off a terminal: plain lines, no carriage returns, a summary on stdout.
  CliResult created =
      Cli({"backup", "create", "alpha", "--path", "HOME", "--note", "from the cli", "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  EXPECT_NE(created.out.find("completed"), std::string::npos) << created.out;
  EXPECT_EQ(created.err.find('\r'), std::string::npos) << "no progress bar off a terminal: " << created.err;

  json second = CliJson({"backup", "create", "alpha", "-p", "/etc/app", "--wait"});
  EXPECT_EQ(second.value("status", ""), "completed") << second.dump();
  EXPECT_EQ(second["paths"], json::array({"/etc/app"})) << second.dump();

  json list = CliJson({"backup", "list"});
  ASSERT_EQ(list.value("total", 0), 2) << list.dump();
  json first = list["backups"][1];  // newest first
  EXPECT_EQ(first.value("note", ""), "from the cli");
  EXPECT_EQ(first.value("status", ""), "completed");
  EXPECT_EQ(first["paths"], json::array({"/home/claworc"}));
  EXPECT_EQ(CliJson({"backup", "list", "--instance", "alpha", "--status", "completed"}).value("total", 0), 2);
  EXPECT_EQ(CliJson({"backup", "list", "--instance", "alpha", "--status", "failed"}).value("total", -1), 0);

  const int64_t id = first["id"].get<int64_t>();
  json shown = CliJson({"backup", "show", std::to_string(id)});
  json record = stack_->GetBackup(id);
  EXPECT_EQ(shown, record);
  CliResult human = Cli({"backup", "show", std::to_string(id)});
  EXPECT_EQ(human.exit_code, 0) << human.Describe();
  EXPECT_NE(human.out.find(record.value("sha256", "?")), std::string::npos) << human.out;

  // Download: byte-identical to the stored archive, its sha256 the record's.
  const std::string stored = StoredFile(record);
  const std::string target = stack_->tmp().Sub("alpha.tar.zst");
  json got = CliJson({"backup", "download", std::to_string(id), "-o", target});
  EXPECT_EQ(got.value("sha256", ""), record.value("sha256", "?")) << got.dump();
  EXPECT_EQ(got.value("resumed_from", -1), 0) << got.dump();
  ASSERT_TRUE(fs::is_regular_file(target));
  EXPECT_TRUE(ReadFile(target) == ReadFile(stored)) << "download differs from the stored archive";
  EXPECT_EQ(Sha256OfFile(target), record.value("sha256", "?"));
  EXPECT_FALSE(fs::exists(target + ".partial"));

  // Into a directory: the backup's own file name.
  const std::string dir = stack_->tmp().Sub("downloads");
  fs::create_directories(dir);
  CliResult into_dir = Cli({"backup", "download", std::to_string(id), "-o", dir});
  ASSERT_EQ(into_dir.exit_code, 0) << into_dir.Describe();
  EXPECT_TRUE(ReadFile(dir + "/" + record.value("file_name", "?")) == ReadFile(stored));

  // An existing file is kept unless --force.
  ExpectOneLineError(Cli({"backup", "download", std::to_string(id), "-o", target}), 5, "--force");
  CliResult forced = Cli({"backup", "download", std::to_string(id), "-o", target, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.Describe();
  EXPECT_TRUE(ReadFile(target) == ReadFile(stored));
}

// The server answers a missing archive with code "corruption" (HTTP 422): the
// CLI reads that code and exits 1 (runtime failure), not 5 (conflict), for
// both the download and the restore of that backup.
TEST_F(CliBackupTest, ArchiveGoneFromTheControllerIsARuntimeFailure) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(b.value("status", ""), "completed") << b.dump();
  const std::string id = std::to_string(b["id"].get<int64_t>());
  ASSERT_TRUE(fs::remove(StoredFile(stack_->GetBackup(b["id"].get<int64_t>()))));

  const std::string target = stack_->tmp().Sub("gone.tar.zst");
  ExpectOneLineError(Cli({"backup", "download", id, "-o", target}), 1, "missing");
  EXPECT_FALSE(fs::exists(target));
  ExpectOneLineError(Cli({"backup", "restore", id, "--to", "alpha", "--wait"}), 1, "missing");
}

TEST_F(CliBackupTest, InterruptedDownloadResumesWithARangeRequestAndVerifies) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeRootWithRandomFile(stack_->tmp().Sub("root-alpha"), 8u << 20));
  ASSERT_FALSE(HasFailure());
  json record = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const std::string id = std::to_string(record["id"].get<int64_t>());
  const std::string stored_bytes = ReadFile(StoredFile(record));
  const uint64_t size = stored_bytes.size();
  ASSERT_GT(size, 8u << 20);

  // 1. The CLI is cut off mid-stream (RLIMIT_FSIZE: writes fail like a full
  // disk): it exits non-zero with one line and keeps what it had.
  const std::string target = stack_->tmp().Sub("cut.tar.zst");
  const uint64_t limit = 3u << 20;
  CliRunOptions cut;
  cut.fsize_limit = limit;
  CliResult interrupted = Cli({"backup", "download", id, "-o", target}, cut);
  ExpectOneLineError(interrupted, 1, "resume");
  EXPECT_FALSE(fs::exists(target)) << "no file under the final name until verified";
  ASSERT_TRUE(fs::exists(target + ".partial"));
  EXPECT_EQ(fs::file_size(target + ".partial"), limit);

  // The same command again continues where it stopped.
  json resumed = CliJson({"backup", "download", id, "-o", target});
  EXPECT_EQ(resumed.value("resumed_from", uint64_t{0}), limit) << resumed.dump();
  EXPECT_EQ(resumed.value("sha256", ""), record.value("sha256", "?"));
  EXPECT_TRUE(ReadFile(target) == stored_bytes) << "resumed download differs from the stored archive";
  EXPECT_FALSE(fs::exists(target + ".partial"));

  // 2. A partial file truncated at an arbitrary byte resumes from there; the
  // human output says so.
  const std::string target2 = stack_->tmp().Sub("truncated.tar.zst");
  const uint64_t half = size / 2 + 7;
  { std::ofstream(target2 + ".partial", std::ios::binary) << stored_bytes.substr(0, half); }
  CliResult plain = Cli({"backup", "download", id, "-o", target2});
  ASSERT_EQ(plain.exit_code, 0) << plain.Describe();
  EXPECT_NE(plain.out.find("resumed at byte " + std::to_string(half)), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("sha256 verified"), std::string::npos) << plain.out;
  EXPECT_TRUE(ReadFile(target2) == stored_bytes);

  // 3. A partial file whose bytes are wrong fails the checksum: refused,
  // removed, and the next run downloads it whole.
  const std::string target3 = stack_->tmp().Sub("corrupt.tar.zst");
  std::string bad = stored_bytes.substr(0, half);
  bad[half / 2] = static_cast<char>(bad[half / 2] ^ 0x5a);
  { std::ofstream(target3 + ".partial", std::ios::binary) << bad; }
  CliResult refused = Cli({"backup", "download", id, "-o", target3});
  ExpectOneLineError(refused, 1, "checksum mismatch");
  EXPECT_FALSE(fs::exists(target3));
  EXPECT_FALSE(fs::exists(target3 + ".partial"));
  json fresh = CliJson({"backup", "download", id, "-o", target3});
  EXPECT_EQ(fresh.value("resumed_from", uint64_t{1}), 0u) << fresh.dump();
  EXPECT_TRUE(ReadFile(target3) == stored_bytes);
}

TEST_F(CliBackupTest, CancelAWaitingBackupAndDeleteBackups) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json slow = AddInstance("slow", BigRoot(), SlowAgentArgs());
  ASSERT_FALSE(HasFailure());

  // `backup create --wait` in the background; cancel it from another CLI run.
  std::string waiter_dir = stack_->tmp().Sub("cli-runs-waiter");
  fs::create_directories(waiter_dir);
  CliRunner waiter(ClawbackBinary(), cli_->home(), waiter_dir);
  CliResult waited;
  std::thread background([&] { waited = waiter.Run({"backup", "create", "slow", "--wait"}); });

  int64_t id = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        json list = stack_->Call("GET", "/api/v1/backups").Json();
        if (!list.is_object() || list["backups"].empty()) return false;
        id = list["backups"][0].value("id", int64_t{-1});
        return true;
      },
      30s));
  if (id > 0) WaitStreaming(id, "slow");
  CliResult canceled = Cli({"backup", "cancel", std::to_string(id)});
  background.join();
  ASSERT_GT(id, 0);
  EXPECT_EQ(canceled.exit_code, 0) << canceled.Describe();
  bool ok = false;
  json b = stack_->WaitBackupFinal(id, 60s, &ok);
  EXPECT_EQ(b.value("status", ""), "canceled") << b.dump();
  // The waiting CLI failed with the reason as its last line.
  EXPECT_NE(waited.exit_code, 0) << waited.Describe();
  ASSERT_FALSE(waited.ErrLines().empty()) << waited.Describe();
  EXPECT_EQ(waited.ErrLines().back().rfind("clawback: backup " + std::to_string(id) + " canceled", 0), 0u)
      << waited.Describe();
  ExpectOneLineError(Cli({"backup", "cancel", std::to_string(id)}), 5, "");

  // delete: the record and (for a completed one) the file go.
  CliResult deleted = Cli({"backup", "delete", std::to_string(id)});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.Describe();
  ExpectOneLineError(Cli({"backup", "show", std::to_string(id)}), 4, "not found");

  json small = AddInstance("small", MakeSmallRoot(stack_->tmp().Sub("root-small")));
  ASSERT_FALSE(HasFailure());
  json done = CliJson({"backup", "create", "small", "--wait"});
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump();
  const std::string stored = StoredFile(done);
  ASSERT_TRUE(fs::exists(stored));
  CliResult rm = Cli({"backup", "delete", std::to_string(done["id"].get<int64_t>())});
  EXPECT_EQ(rm.exit_code, 0) << rm.Describe();
  EXPECT_FALSE(fs::exists(stored));
  EXPECT_EQ(CliJson({"backup", "list"}).value("total", -1), 0);
  ExpectOneLineError(Cli({"backup", "delete", std::to_string(done["id"].get<int64_t>())}), 4, "not found");
}

TEST_F(CliBackupTest, RestoreToAnotherInstanceWaitsAndTreesMatch) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  const std::string root_a = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  const auto [alpha, beta, root_b] = AddAlphaAndEmptyBeta(root_a);
  ASSERT_FALSE(HasFailure());

  json b = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(b.value("status", ""), "completed") << b.dump();
  const std::string id = std::to_string(b["id"].get<int64_t>());

  CliResult restored = Cli({"backup", "restore", id, "--to", "beta", "--wait"});
  ASSERT_EQ(restored.exit_code, 0) << restored.Describe();
  EXPECT_NE(restored.out.find("completed"), std::string::npos) << restored.out;
  EXPECT_EQ(CompareTrees(root_a + "/home/claworc", root_b + "/home/claworc"), "");

  // By id, with --json: the Restore record.
  json again =
      CliJson({"backup", "restore", id, "--to", std::to_string(beta["id"].get<int64_t>()), "--wait"});
  EXPECT_EQ(again.value("status", ""), "completed") << again.dump();
  EXPECT_EQ(again.value("target_instance_name", ""), "beta") << again.dump();

  // Without --wait: queued, and it completes.
  json queued = CliJson({"backup", "restore", id, "--to", "beta"});
  ASSERT_TRUE(queued.contains("id")) << queued.dump();
  bool ok = false;
  json r = stack_->WaitRestoreFinal(queued["id"].get<int64_t>(), 60s, &ok);
  EXPECT_EQ(r.value("status", ""), "completed") << r.dump();

  // A target that is not running: 409 as one line, exit 5.
  stack_->KillAgent("beta");
  stack_->WaitInstance(
      beta["id"].get<int64_t>(), [](const json& i) { return i.value("status", "") != "running"; }, 30s, &ok);
  ASSERT_TRUE(ok);
  ExpectOneLineError(Cli({"backup", "restore", id, "--to", "beta", "--wait"}), 5, "not running");
}

// --no-quiesce reaches the target agent, whose own hooks then do not run, and
// --wait ends saying whether the restore was quiesced.
TEST_F(CliBackupTest, RestoreSaysWhetherItWasQuiescedAndNoQuiesceSkipsTheHooks) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  const std::string hook_log = stack_->tmp().Sub("hooks.log");
  const std::string hooks_file = stack_->tmp().Sub("hooks.json");
  auto logging = [&](const std::string& name) {
    return json::array({"/bin/sh", "-c", "echo " + name + " >> '" + hook_log + "'"});
  };
  std::ofstream(hooks_file) << json{{"pre-restore", logging("pre-restore")}, {"post-restore", logging("post-restore")}}
                                   .dump();
  const std::string root_b = stack_->tmp().Sub("root-beta");
  fs::create_directories(root_b);
  json beta = AddInstance("beta", root_b, {"--hooks", hooks_file});
  ASSERT_FALSE(HasFailure());
  json b = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(b.value("status", ""), "completed") << b.dump();
  const std::string id = std::to_string(b["id"].get<int64_t>());

  CliResult skipped = Cli({"backup", "restore", id, "--to", "beta", "--wait", "--no-quiesce"});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.Describe();
  EXPECT_NE(skipped.out.find("not quiesced (--no-quiesce)"), std::string::npos) << skipped.out;
  EXPECT_EQ(ReadWholeFile(hook_log), "");

  CliResult quiesced = Cli({"backup", "restore", id, "--to", "beta", "--wait"});
  ASSERT_EQ(quiesced.exit_code, 0) << quiesced.Describe();
  EXPECT_NE(quiesced.out.find("quiesced by the agent's hooks"), std::string::npos) << quiesced.out;
  EXPECT_EQ(ReadWholeFile(hook_log), "pre-restore\npost-restore\n");
  json record = CliJson({"backup", "restore", id, "--to", "beta", "--wait", "--no-quiesce"});
  EXPECT_EQ(record["quiesce"], false) << record.dump();
  EXPECT_EQ(record["quiesced"], false) << record.dump();
}

}  // namespace
}  // namespace clawback::testing
