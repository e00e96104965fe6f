// `clawback backup create|show` and `schedule create|update|run` with
// --exclude, --exclude-preset and --strict, against a real controller and real
// agents: the record carries what was asked for, the stored archive (listed by
// GNU tar) leaves out exactly those files, `backup show` prints excludes,
// database counts and warnings, schedules pass theirs to the backups they
// fire, and bad patterns or presets are one-line errors naming them.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/controller/cli/cli_fixture.h"
#include "tests/support/agent_process.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

class CliExcludesTest : public CliTest {
 protected:
  // A small root plus OpenClaw-like logs and a build directory.
  static std::string MakeOpenClawRoot(const std::string& dir) {
    MakeSmallRoot(dir);
    for (const char* rel :
         {".openclaw/openclaw.json", ".openclaw/logs/gateway.log", ".openclaw/agents/main/sessions/run.log",
          ".openclaw/agents/main/sessions/sessions.json", "work/build/out.bin", "work/src/main.c"}) {
      fs::path p = fs::path(dir) / "home/claworc" / rel;
      fs::create_directories(p.parent_path());
      std::ofstream(p) << rel << "\n";
    }
    return dir;
  }

  static std::set<std::string> Listing(const std::string& archive) {
    ProcessOutput tar = RunProcess({"tar", "--zstd", "-tf", archive});
    EXPECT_EQ(tar.exit_code, 0) << tar.output;
    std::set<std::string> names;
    std::istringstream lines(tar.output);
    std::string line;
    while (std::getline(lines, line)) {
      while (!line.empty() && line.back() == '/') line.pop_back();
      names.insert(line);
    }
    return names;
  }
};

TEST_F(CliExcludesTest, BackupCreateWithPresetGlobAndStrictIsRecordedAndApplied) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeOpenClawRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());

  json done = CliJson({"backup", "create", "alpha", "--exclude-preset", "logs", "--exclude",
                       "/home/claworc/**/build", "--strict", "--wait"});
  ASSERT_EQ(done.value("status", ""), "completed") << done.dump();
  EXPECT_EQ(done["exclude_presets"], json::array({"logs"}));
  EXPECT_EQ(done["excludes"], json::array({"/home/claworc/**/build"}));
  EXPECT_EQ(done["strict"], true);
  EXPECT_EQ(done["databases_captured"], 0);
  EXPECT_EQ(done["databases_raw"], 0);
  EXPECT_TRUE(done["warnings"].is_array());

  std::set<std::string> names = Listing(StoredFile(done));
  for (const char* kept :
       {"home/claworc/.openclaw/openclaw.json", "home/claworc/.openclaw/agents/main/sessions/sessions.json",
        "home/claworc/work/src/main.c"}) {
    EXPECT_TRUE(names.count(kept)) << kept << " missing from the archive";
  }
  for (const char* gone : {"home/claworc/.openclaw/logs", "home/claworc/.openclaw/logs/gateway.log",
                           "home/claworc/.openclaw/agents/main/sessions/run.log", "home/claworc/work/build",
                           "home/claworc/work/build/out.bin"}) {
    EXPECT_FALSE(names.count(gone)) << gone << " should have been left out";
  }

  // The human view names the excludes, the database counts and the warnings.
  CliResult shown = Cli({"backup", "show", std::to_string(done["id"].get<int64_t>())});
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  EXPECT_NE(shown.out.find("presets logs; /home/claworc/**/build"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("0 captured consistently"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("strict"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("warnings"), std::string::npos) << shown.out;

  // Without flags nothing is left out and strict is off.
  json plain = CliJson({"backup", "create", "alpha", "--wait"});
  ASSERT_EQ(plain.value("status", ""), "completed") << plain.dump();
  EXPECT_EQ(plain["exclude_presets"], json::array());
  EXPECT_EQ(plain["excludes"], json::array());
  EXPECT_EQ(plain["strict"], false);
  EXPECT_TRUE(Listing(StoredFile(plain)).count("home/claworc/.openclaw/logs/gateway.log"));
}

TEST_F(CliExcludesTest, BadPatternsAndPresetsAreOneLineErrorsNamingThem) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  ExpectOneLineError(Cli({"backup", "create", "alpha", "--exclude", "*.log"}), 2,
                     "exclude pattern must be absolute (start with '/'): *.log");
  ExpectOneLineError(Cli({"backup", "create", "alpha", "--exclude", "/a/[x"}), 2, "unclosed '[': /a/[x");
  ExpectOneLineError(Cli({"backup", "create", "alpha", "--exclude-preset", "videos"}), 2,
                     "unknown exclude preset: videos (known: logs, caches)");
  ExpectOneLineError(Cli({"schedule", "create", "--name", "s", "--cron", "@daily", "--instance", "alpha",
                          "--exclude", "relative/**"}),
                     2, "exclude pattern must be absolute");
  // Nothing was recorded.
  EXPECT_EQ(CliJson({"backup", "list"}).value("total", -1), 0);
  EXPECT_EQ(CliJson({"schedule", "list"})["schedules"].size(), 0u);
}

TEST_F(CliExcludesTest, SchedulesKeepTheirExcludesAndPassThemToEveryBackupTheyFire) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeOpenClawRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());

  json created =
      CliJson({"schedule", "create", "--name", "nightly", "--cron", "0 2 * * *", "--instance", "alpha",
               "--exclude-preset", "caches", "--exclude", "/home/claworc/work/build", "--strict"});
  EXPECT_EQ(created["exclude_presets"], json::array({"caches"})) << created.dump();
  EXPECT_EQ(created["excludes"], json::array({"/home/claworc/work/build"}));
  EXPECT_EQ(created["strict"], true);
  CliResult shown = Cli({"schedule", "show", "nightly"});
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  EXPECT_NE(shown.out.find("/home/claworc/work/build"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("caches"), std::string::npos) << shown.out;

  // update changes only what it names: presets replaced, globs kept, strict off.
  json updated = CliJson({"schedule", "update", "nightly", "--exclude-preset", "logs", "--no-strict"});
  EXPECT_EQ(updated["exclude_presets"], json::array({"logs"})) << updated.dump();
  EXPECT_EQ(updated["excludes"], json::array({"/home/claworc/work/build"}));
  EXPECT_EQ(updated["strict"], false);
  EXPECT_EQ(updated["cron"], "0 2 * * *");

  // The backup it fires carries the schedule's excludes and leaves those files out.
  json run = CliJson({"schedule", "run", "nightly"});
  ASSERT_EQ(run["backups"].size(), 1u) << run.dump();
  bool ok = false;
  json fired = stack_->WaitBackupFinal(run["backups"][0].get<int64_t>(), 60s, &ok);
  ASSERT_TRUE(ok) << fired.dump();
  ASSERT_EQ(fired.value("status", ""), "completed") << fired.dump();
  EXPECT_EQ(fired["exclude_presets"], json::array({"logs"}));
  EXPECT_EQ(fired["excludes"], json::array({"/home/claworc/work/build"}));
  EXPECT_EQ(fired["strict"], false);
  std::set<std::string> names = Listing(StoredFile(fired));
  EXPECT_FALSE(names.count("home/claworc/.openclaw/logs/gateway.log"));
  EXPECT_FALSE(names.count("home/claworc/work/build/out.bin"));
  EXPECT_TRUE(names.count("home/claworc/work/src/main.c"));

  json cleared = CliJson({"schedule", "update", "nightly", "--no-excludes"});
  EXPECT_EQ(cleared["exclude_presets"], json::array()) << cleared.dump();
  EXPECT_EQ(cleared["excludes"], json::array());
  ExpectOneLineError(Cli({"schedule", "update", "nightly", "--no-excludes", "--exclude", "/x"}), 2,
                     "not both");
}

}  // namespace
}  // namespace clawback::testing
