// `clawback schedule ...`: the whole life of a schedule against a real
// controller (create, list, show by name and id, update only what was
// given, disable/enable, run now with real agents, delete keeping the
// backups), and `schedule next` offline across DST transitions.
#include <filesystem>

#include "tests/controller/cli/cli_fixture.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

class CliScheduleTest : public CliTest {};

TEST_F(CliScheduleTest, CreateListShowUpdateEnableDisableRunDelete) {
  ASSERT_NO_FATAL_FAILURE(StartCli());
  ASSERT_NO_FATAL_FAILURE(Login());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("root-beta")));
  ASSERT_FALSE(HasFailure());

  json s = CliJson({"schedule",    "create",     "--name",       "nightly",
                    "-i",          "alpha",      "-i",           std::to_string(beta["id"].get<int64_t>()),
                    "--cron",      "30 2 * * *", "--tz",         "Europe/Berlin",
                    "--keep-last", "2",          "--keep-daily", "7",
                    "--path",      "HOME",       "--note",       "nightly run"});
  ASSERT_TRUE(s.contains("id")) << s.dump();
  const std::string id = std::to_string(s["id"].get<int64_t>());
  EXPECT_EQ(s["instance_ids"], json::array({alpha["id"], beta["id"]})) << s.dump();
  EXPECT_EQ(s.value("all_instances", true), false);
  EXPECT_EQ(s.value("timezone", ""), "Europe/Berlin");
  EXPECT_EQ(s.value("enabled", false), true);
  EXPECT_EQ(s["retention"].value("keep_last", 0), 2) << s.dump();
  EXPECT_EQ(s["retention"].value("keep_daily", 0), 7) << s.dump();
  EXPECT_EQ(s.value("note", ""), "nightly run");
  ASSERT_EQ(s["next_runs"].size(), 5u) << s.dump();
  // 02:30 in Berlin is 01:30Z in winter or 00:30Z in summer.
  const std::string first_utc = s["next_runs"][0].value("utc", "");
  EXPECT_TRUE(first_utc.find("T01:30:00Z") != std::string::npos ||
              first_utc.find("T00:30:00Z") != std::string::npos)
      << first_utc;
  EXPECT_NE(s["next_runs"][0].value("local", "").find("T02:30:00+0"), std::string::npos) << s.dump();

  json list = CliJson({"schedule", "list"});
  ASSERT_EQ(list["schedules"].size(), 1u) << list.dump();
  EXPECT_EQ(list["schedules"][0].value("name", ""), "nightly");
  CliResult table = Cli({"schedule", "list"});
  EXPECT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_NE(table.out.find("alpha,beta"), std::string::npos) << table.out;

  json by_name = CliJson({"schedule", "show", "nightly"});
  json by_id = CliJson({"schedule", "show", id});
  EXPECT_EQ(by_name.value("id", int64_t{0}), s["id"].get<int64_t>());
  EXPECT_EQ(by_id.value("name", ""), "nightly");
  CliResult human = Cli({"schedule", "show", "nightly"});
  EXPECT_EQ(human.exit_code, 0) << human.Describe();
  EXPECT_NE(human.out.find("At 02:30 every day"), std::string::npos) << human.out;

  // update changes only the flags given.
  json updated = CliJson({"schedule", "update", "nightly", "--cron", "0 4 * * 1-5", "--keep-last", "5"});
  EXPECT_EQ(updated.value("cron", ""), "0 4 * * 1-5") << updated.dump();
  EXPECT_EQ(updated.value("timezone", ""), "Europe/Berlin") << "untouched: " << updated.dump();
  EXPECT_EQ(updated["retention"].value("keep_last", 0), 5);
  EXPECT_EQ(updated["retention"].value("keep_daily", 0), 7) << "untouched: " << updated.dump();
  EXPECT_EQ(updated["instance_ids"], s["instance_ids"]);
  EXPECT_EQ(updated.value("note", ""), "nightly run");
  json renamed = CliJson({"schedule", "update", id, "--name", "weekdays", "--all-instances"});
  EXPECT_EQ(renamed.value("name", ""), "weekdays");
  EXPECT_EQ(renamed.value("all_instances", false), true) << renamed.dump();

  EXPECT_EQ(CliJson({"schedule", "disable", "weekdays"}).value("enabled", true), false);
  EXPECT_EQ(CliJson({"schedule", "show", id}).value("enabled", true), false);
  CliResult disabled_list = Cli({"schedule", "list"});
  EXPECT_NE(disabled_list.out.find("(disabled)"), std::string::npos) << disabled_list.out;
  EXPECT_EQ(CliJson({"schedule", "enable", id}).value("enabled", false), true);

  // run now: one backup per instance, linked to the schedule, completed.
  json run = CliJson({"schedule", "run", "weekdays"});
  ASSERT_TRUE(run["backups"].is_array()) << run.dump();
  ASSERT_EQ(run["backups"].size(), 2u) << run.dump();
  for (const auto& backup_id : run["backups"]) {
    bool ok = false;
    json b = stack_->WaitBackupFinal(backup_id.get<int64_t>(), 60s, &ok);
    EXPECT_EQ(b.value("status", ""), "completed") << b.dump();
    EXPECT_EQ(b["schedule_id"], s["id"]) << b.dump();
  }
  EXPECT_EQ(CliJson({"backup", "list", "--schedule", id}).value("total", 0), 2);
  EXPECT_NE(CliJson({"schedule", "show", id}).value("last_result", "").find("2"), std::string::npos);

  // delete keeps the backups.
  CliResult deleted = Cli({"schedule", "delete", "weekdays"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.Describe();
  EXPECT_TRUE(CliJson({"schedule", "list"})["schedules"].empty());
  ExpectOneLineError(Cli({"schedule", "show", "weekdays"}), 4, "no schedule named weekdays");
  EXPECT_EQ(CliJson({"backup", "list"}).value("total", 0), 2);
}

struct NextCase {
  std::string expr, zone, after;
  std::vector<std::pair<std::string, std::string>> runs;  // {utc, local}
};

// Offline: no server, no config file, no token.
TEST_F(CliScheduleTest, NextPreviewsFireTimesAcrossDstWithoutAServer) {
  TempDir home("clawback-cli-home-");
  TempDir work("clawback-cli-work-");
  CliRunner offline(ClawbackBinary(), home.path(), work.path());

  const std::vector<NextCase> cases = {
      // Berlin springs forward at 02:00 on 2026-03-29: 02:30 does not exist
      // and fires once at 03:00 CEST.
      {"30 2 * * *",
       "Europe/Berlin",
       "2026-03-27T12:00:00Z",
       {{"2026-03-28T01:30:00Z", "2026-03-28T02:30:00+01:00"},
        {"2026-03-29T01:00:00Z", "2026-03-29T03:00:00+02:00"},
        {"2026-03-30T00:30:00Z", "2026-03-30T02:30:00+02:00"}}},
      // Berlin falls back at 03:00 on 2026-10-25: 02:30 happens twice and
      // fires once, at the first.
      {"30 2 * * *",
       "Europe/Berlin",
       "2026-10-24T12:00:00Z",
       {{"2026-10-25T00:30:00Z", "2026-10-25T02:30:00+02:00"},
        {"2026-10-26T01:30:00Z", "2026-10-26T02:30:00+01:00"}}},
      // New York falls back on 2026-11-01; hourly at :30 around it.
      {"30 * * * *",
       "America/New_York",
       "2026-11-01T04:45:00Z",
       {{"2026-11-01T05:30:00Z", "2026-11-01T01:30:00-04:00"},
        {"2026-11-01T07:30:00Z", "2026-11-01T02:30:00-05:00"}}},
      // Macros and day/month names.
      {"@monthly",
       "UTC",
       "2026-01-15T00:00:00Z",
       {{"2026-02-01T00:00:00Z", "2026-02-01T00:00:00+00:00"},
        {"2026-03-01T00:00:00Z", "2026-03-01T00:00:00+00:00"}}},
      {"0 9 * jan mon",
       "Asia/Tokyo",
       "2026-01-01T00:00:00Z",
       {{"2026-01-05T00:00:00Z", "2026-01-05T09:00:00+09:00"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr + " in " + c.zone + " after " + c.after);
    CliResult r = offline.Run({"--json", "schedule", "next", c.expr, "--tz", c.zone, "--after", c.after, "-n",
                               std::to_string(c.runs.size())});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    json j = r.Json();
    ASSERT_TRUE(j.is_object()) << r.Describe();
    EXPECT_EQ(j.value("timezone", ""), c.zone);
    EXPECT_FALSE(j.value("description", "").empty());
    ASSERT_EQ(j["next_runs"].size(), c.runs.size()) << j.dump();
    for (size_t i = 0; i < c.runs.size(); ++i) {
      EXPECT_EQ(j["next_runs"][i].value("utc", ""), c.runs[i].first) << i;
      EXPECT_EQ(j["next_runs"][i].value("local", ""), c.runs[i].second) << i;
    }
  }

  // The table: a description line, then one row per run; -n picks how many.
  CliResult table = offline.Run({"schedule", "next", "30 2 * * *", "--tz", "Europe/Berlin", "--after",
                                 "2026-03-27T12:00:00Z", "-n", "3"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_EQ(table.out,
            "At 02:30 every day (Europe/Berlin)\n"
            "UTC                   LOCAL\n"
            "2026-03-28T01:30:00Z  2026-03-28T02:30:00+01:00\n"
            "2026-03-29T01:00:00Z  2026-03-29T03:00:00+02:00\n"
            "2026-03-30T00:30:00Z  2026-03-30T02:30:00+02:00\n");
  CliResult many = offline.Run({"--json", "schedule", "next", "@hourly", "-n", "24"});
  ASSERT_EQ(many.exit_code, 0) << many.Describe();
  EXPECT_EQ(many.Json()["next_runs"].size(), 24u);
  EXPECT_FALSE(fs::exists(offline.config_path())) << "schedule next touches no config";
}

}  // namespace
}  // namespace clawback::testing
