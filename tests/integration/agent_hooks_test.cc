// Quiesce hooks (agent/hooks/quiesce_hooks.h) through real clawback-agent
// processes over mTLS: the hooks come from the agent's --hooks file and run
// around backups and restores in order; a failing or hanging pre-hook stops
// the operation before any data moves, with a JSON error; the post-hook runs
// after failed restores too; a request can switch hooks off but never name a
// command. The hooks used here are small /bin/sh scripts that append to a
// log file, so the order and the state of the files at each step are visible.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/agent_suite.h"
#include "tests/support/file_tree.h"
#include "tests/support/mtls_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAgentBinary[] = CLAWBACK_AGENT_BINARY;

std::string Home(const std::string& root) {
  return root + "/home/claworc";
}

void WriteText(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A hook that runs `script` with /bin/sh (the operator's choice of program;
// the agent itself never uses a shell).
json Sh(const std::string& script) {
  return json::array({"/bin/sh", "-c", script});
}

class AgentHooksTest : public AgentSuite {
 protected:
  static void SetUpTestSuite() { CreateAgentSuite("clawback-hooks-it-"); }

  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = tmp_->Sub(name);
    root_ = dir_ + "/root";
    hook_log_ = dir_ + "/hooks.log";
    TreeSpec spec;
    spec.small_files = 20;
    GenerateTree(Home(root_), spec);
    WriteText(Home(root_) + "/state.txt", "original\n");
  }

  // Writes `hooks` as the --hooks file and starts an agent on root_ with it.
  std::unique_ptr<AgentProcess> StartAgent(const json& hooks, const std::string& root = "") {
    const std::string file = dir_ + "/hooks.json";
    WriteText(file, hooks.dump(2));
    auto agent = AgentProcess::Start({kAgentBinary,
                                      dir_,
                                      agent_cert_.cert,
                                      agent_cert_.key,
                                      pki_->ca_cert(),
                                      root.empty() ? root_ : root,
                                      {"--hooks", file}});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }

  // A hook appending "<name>" and then `extra` (shell words) to the hook log.
  json Logging(const std::string& name, const std::string& extra = "") const {
    return Sh("echo \"" + name + extra + "\" >> '" + hook_log_ + "'");
  }

  std::string HookLog() const {
    std::ifstream in(hook_log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ClientIdentity Controller() const {
    return {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key};
  }

  HttpResponse Backup(uint16_t port, const std::string& body, const std::string& archive) {
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = body;
    r.on_body = [&out](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      return out ? Status::Ok() : Status::IoError("write failed");
    };
    auto res = SendRequest(port, Controller(), r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    out.close();
    // on_body received the body whatever the status: an error's JSON is in the file.
    if (res.ok() && res->status != 200) res->body = ReadWholeFile(archive);
    return res.ok() ? *res : HttpResponse{};
  }

  HttpResponse Restore(uint16_t port, const std::string& archive, const std::string& query = "") {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/restore" + query;
    r.upload_file = archive;
    auto res = SendRequest(port, Controller(), r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : HttpResponse{};
  }

  // An archive of HOME made by an agent without hooks, with state.txt = "restored\n".
  std::string MakeArchive() {
    const std::string src = dir_ + "/src";
    GenerateTree(Home(src), TreeSpec{});
    WriteText(Home(src) + "/state.txt", "restored\n");
    fs::create_directories(dir_ + "/src-agent");
    auto agent = AgentProcess::Start(
        {kAgentBinary, dir_ + "/src-agent", agent_cert_.cert, agent_cert_.key, pki_->ca_cert(), src, {}});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    const std::string archive = dir_ + "/home.tar.zst";
    if (!agent.ok()) return archive;
    HttpResponse res = Backup((*agent)->port(), R"({"paths":["HOME"]})", archive);
    EXPECT_EQ(res.trailers["clawback-status"], "ok") << res.body << res.error;
    return archive;
  }

  std::string dir_, root_, hook_log_;
};


std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

// The names of a tar.zst's entries.
std::string ListArchive(const std::string& archive) {
  ProcessOutput tar = RunProcess({"tar", "--zstd", "-tf", archive});
  EXPECT_EQ(tar.exit_code, 0) << tar.output;
  return tar.output;
}

TEST_F(AgentHooksTest, HooksRunInOrderAroundBackupAndRestore) {
  const std::string marker = Home(root_) + "/quiesced-marker";
  const std::string state = Home(root_) + "/state.txt";
  // pre-backup leaves a marker the archive must contain (it ran before the
  // walk); post-backup removes it. pre-restore / post-restore record what
  // state.txt held at their moment.
  auto agent = StartAgent({
      {"pre-backup", Sh("echo pre-backup >> '" + hook_log_ + "' && touch '" + marker + "'")},
      {"post-backup", Sh("echo post-backup >> '" + hook_log_ + "' && rm '" + marker + "'")},
      {"pre-restore", Sh("echo \"pre-restore $(cat '" + state + "')\" >> '" + hook_log_ + "'")},
      {"post-restore", Sh("echo \"post-restore $(cat '" + state + "')\" >> '" + hook_log_ + "'")},
  });
  ASSERT_TRUE(agent);

  const std::string archive = dir_ + "/quiesced.tar.zst";
  HttpResponse res = Backup(agent->port(), R"({"paths":["HOME"]})", archive);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.trailers["clawback-status"], "ok") << res.error;
  EXPECT_EQ(res.trailers["clawback-quiesced"], "true");
  EXPECT_NE(res.headers["trailer"].find("Clawback-Quiesced"), std::string::npos);
  EXPECT_NE(ListArchive(archive).find("home/claworc/quiesced-marker"), std::string::npos);
  EXPECT_FALSE(fs::exists(marker)) << "post-backup did not run";
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-backup", "post-backup"}));

  const std::string other = MakeArchive();
  HttpResponse restored = Restore(agent->port(), other);
  ASSERT_EQ(restored.status, 200) << restored.body;
  json summary = json::parse(restored.body);
  EXPECT_EQ(summary["quiesced"], true);
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-backup", "post-backup", "pre-restore original",
                                                        "post-restore restored"}));
  // Each hook's output and outcome is in the agent's log.
  EXPECT_TRUE(agent->WaitForLog("\"hook\":\"post-restore\"", 5s)) << agent->Log();
}

TEST_F(AgentHooksTest, HooksGetACleanEnvironmentAndTheirOutputIsLogged) {
  auto agent = StartAgent({{"pre-backup", json::array({"/usr/bin/env"})}});
  ASSERT_TRUE(agent);
  HttpResponse res = Backup(agent->port(), R"({"paths":["HOME"]})", dir_ + "/a.tar.zst");
  ASSERT_EQ(res.trailers["clawback-status"], "ok") << res.body << res.error;
  ASSERT_TRUE(agent->WaitForLog("\"msg\":\"hook ran\"", 5s)) << agent->Log();
  std::string output;
  for (const std::string& line : Lines(agent->Log())) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "hook ran") output = j.value("output", "");
  }
  // Exactly the three documented variables: nothing of the agent's own environment.
  EXPECT_EQ(output,
            "PATH=/command:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "CLAWBACK_HOOK=pre-backup\nCLAWBACK_ROOT=" +
                fs::canonical(root_).string() + "\n");
}

TEST_F(AgentHooksTest, HookOutputIsCapturedUpToALimit) {
  // 100000 bytes of output, stdout and stderr: the log keeps the first 16 KiB.
  auto agent = StartAgent({{"pre-backup", Sh("head -c 60000 /dev/zero | tr '\\0' o; head -c 40000 /dev/zero | "
                                             "tr '\\0' e >&2")}});
  ASSERT_TRUE(agent);
  HttpResponse res = Backup(agent->port(), R"({"paths":["HOME"]})", dir_ + "/a.tar.zst");
  ASSERT_EQ(res.trailers["clawback-status"], "ok") << res.body << res.error;
  ASSERT_TRUE(agent->WaitForLog("\"msg\":\"hook ran\"", 5s)) << agent->Log();
  json ran;
  for (const std::string& line : Lines(agent->Log())) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "hook ran") ran = j;
  }
  EXPECT_EQ(ran.value("output", ""), std::string(16384, 'o'));
  EXPECT_EQ(ran.value("output_dropped_bytes", 0), 100000 - 16384);
  EXPECT_EQ(ran.value("result", ""), "exited 0");
}

TEST_F(AgentHooksTest, FailingPreBackupHookAbortsBeforeAnyByte) {
  auto agent = StartAgent({
      {"pre-backup",
       Sh("echo pre-backup >> '" + hook_log_ + "'; echo 'gateway refused to stop' >&2; exit 3")},
      {"post-backup", Logging("post-backup")},
  });
  ASSERT_TRUE(agent);
  HttpResponse res = Backup(agent->port(), R"({"paths":["HOME"]})", dir_ + "/failed.tar.zst");
  EXPECT_EQ(res.status, 409) << res.body;
  EXPECT_NE(res.body.find("\"code\":\"failed_precondition\""), std::string::npos) << res.body;
  EXPECT_FALSE(res.chunked);
  json body = json::parse(res.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res.body;
  EXPECT_EQ(body["error"], "pre-backup hook failed: /bin/sh exited 3: gateway refused to stop");
  EXPECT_EQ(res.body_bytes, res.body.size()) << "only the JSON error came back";
  // The post-hook undoes whatever the failed pre-hook did.
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-backup", "post-backup"}));
}

TEST_F(AgentHooksTest, FailingPreRestoreHookRestoresNothing) {
  const std::string archive = MakeArchive();
  auto agent = StartAgent({
      {"pre-restore", Sh("echo pre-restore >> '" + hook_log_ + "'; exit 1")},
      {"post-restore", Logging("post-restore")},
  });
  ASSERT_TRUE(agent);
  const std::string before = dir_ + "/before";
  fs::copy(root_, before, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  HttpResponse res = Restore(agent->port(), archive);
  EXPECT_EQ(res.status, 409) << res.body;
  EXPECT_NE(res.body.find("\"code\":\"failed_precondition\""), std::string::npos) << res.body;
  json body = json::parse(res.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res.body;
  EXPECT_EQ(body["error"], "pre-restore hook failed: /bin/sh exited 1");
  EXPECT_EQ(body["entries_written"], 0);
  EXPECT_EQ(body["quiesced"], false);
  EXPECT_EQ(CompareTrees(before, root_), "");
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-restore", "post-restore"}));
}

TEST_F(AgentHooksTest, RestoreDryRunRunsNoHook) {
  const std::string archive = MakeArchive();
  auto agent = StartAgent({
      {"pre-restore", Logging("pre-restore")},
      {"post-restore", Logging("post-restore")},
  });
  ASSERT_TRUE(agent);
  HttpResponse res = Restore(agent->port(), archive, "?dry_run=1");
  ASSERT_EQ(res.status, 200) << res.body;
  json body = json::parse(res.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res.body;
  EXPECT_EQ(body["dry_run"], true);
  EXPECT_EQ(body["quiesced"], false);
  EXPECT_GT(body["changes"]["create"]["count"].get<uint64_t>(), 0u);
  EXPECT_EQ(HookLog(), "") << "a dry run ran a hook";
}

TEST_F(AgentHooksTest, HangingHookIsKilledWithItsProcessGroup) {
  const std::string archive = MakeArchive();
  const std::string pid_file = dir_ + "/helper.pid";
  // The hook starts a helper in its process group, then hangs.
  auto agent = StartAgent({
      {"pre-restore",
       {{"argv",
         Sh("sleep 300 & echo $! > '" + pid_file + "'; echo pre-restore >> '" + hook_log_ + "'; wait")},
        {"timeout_s", 1}}},
      {"post-restore", Logging("post-restore")},
  });
  ASSERT_TRUE(agent);
  HttpResponse res = Restore(agent->port(), archive);
  EXPECT_EQ(res.status, 504) << res.body;
  json body = json::parse(res.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res.body;
  EXPECT_EQ(body["error"], "pre-restore hook timed out after 1 s and was killed");
  EXPECT_EQ(body["entries_written"], 0);
  EXPECT_EQ(ReadWholeFile(Home(root_) + "/state.txt"), "original\n");
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-restore", "post-restore"}));
  // The helper died with the hook (gone, or a zombie waiting for its reaper).
  pid_t helper = std::stoi(ReadWholeFile(pid_file));
  auto dead = [&] {
    std::string stat = ReadWholeFile("/proc/" + std::to_string(helper) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;
  };
  for (int i = 0; i < 100 && !dead(); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(dead()) << ReadWholeFile("/proc/" + std::to_string(helper) + "/stat");
}

TEST_F(AgentHooksTest, PostRestoreHookRunsAfterAFailedRestore) {
  auto agent =
      StartAgent({{"pre-restore", Logging("pre-restore")}, {"post-restore", Logging("post-restore")}});
  ASSERT_TRUE(agent);
  const std::string garbage = dir_ + "/garbage.tar.zst";
  WriteText(garbage, std::string(64 * 1024, 'x'));
  HttpResponse res = Restore(agent->port(), garbage);
  EXPECT_GE(res.status, 400) << res.body;
  json body = json::parse(res.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res.body;
  EXPECT_TRUE(body.contains("error"));
  EXPECT_EQ(body["quiesced"], true);
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-restore", "post-restore"}));

  // An upload cut in the middle: the restore fails, the post-hook still runs.
  const std::string archive = MakeArchive();
  HttpRequest r;
  r.method = "POST";
  r.target = "/v1/restore";
  r.upload_file = archive;
  r.cut_upload_after = fs::file_size(archive) / 2;
  auto cut = SendRequest(agent->port(), Controller(), r);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  ASSERT_TRUE(agent->WaitForLog("\"hook\":\"post-restore\"", 20s));
  for (int i = 0; i < 200 && Lines(HookLog()).size() < 4; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Lines(HookLog()),
            (std::vector<std::string>{"pre-restore", "post-restore", "pre-restore", "post-restore"}));
}

TEST_F(AgentHooksTest, ARequestCannotNameACommand) {
  const std::string pwned = dir_ + "/pwned";
  auto agent = StartAgent({{"pre-backup", Logging("pre-backup")}, {"pre-restore", Logging("pre-restore")}});
  ASSERT_TRUE(agent);
  const std::string command = json::array({"/usr/bin/touch", pwned}).dump();
  for (const std::string& body : {R"({"paths":["HOME"],"hooks":{"pre-backup":)" + command + "}}",
                                  R"({"paths":["HOME"],"command":)" + command + "}",
                                  R"({"paths":["HOME"],"pre-backup":)" + command + "}",
                                  std::string(R"({"paths":["HOME"],"quiesce":"/usr/bin/touch"})")}) {
    SCOPED_TRACE(body);
    HttpResponse res = Backup(agent->port(), body, dir_ + "/x.tar.zst");
    EXPECT_EQ(res.status, 400) << res.body;
    EXPECT_TRUE(json::parse(res.body, nullptr, false).contains("error")) << res.body;
  }
  const std::string archive = MakeArchive();
  for (const std::string& query :
       {std::string("?pre-restore=/usr/bin/touch"), std::string("?quiesce=1&command=x"),
        std::string("?quiesce=/usr/bin/touch")}) {
    SCOPED_TRACE(query);
    HttpResponse res = Restore(agent->port(), archive, query);
    EXPECT_EQ(res.status, 400) << res.body;
  }
  EXPECT_FALSE(fs::exists(pwned));
  EXPECT_EQ(HookLog(), "");
  EXPECT_EQ(ReadWholeFile(Home(root_) + "/state.txt"), "original\n");
}

TEST_F(AgentHooksTest, QuiesceOffRunsNoHooks) {
  auto agent = StartAgent({{"pre-backup", Logging("pre-backup")},
                           {"post-backup", Logging("post-backup")},
                           {"pre-restore", Logging("pre-restore")},
                           {"post-restore", Logging("post-restore")}});
  ASSERT_TRUE(agent);
  HttpResponse res = Backup(agent->port(), R"({"paths":["HOME"],"quiesce":false})", dir_ + "/a.tar.zst");
  EXPECT_EQ(res.trailers["clawback-status"], "ok") << res.body << res.error;
  EXPECT_EQ(res.trailers["clawback-quiesced"], "false");
  const std::string archive = MakeArchive();
  HttpResponse restored = Restore(agent->port(), archive, "?quiesce=0");
  ASSERT_EQ(restored.status, 200) << restored.body;
  EXPECT_EQ(json::parse(restored.body)["quiesced"], false);
  EXPECT_EQ(ReadWholeFile(Home(root_) + "/state.txt"), "restored\n");
  EXPECT_EQ(HookLog(), "");

  // The default is on: the same requests without the switch run them.
  res = Backup(agent->port(), R"({"paths":["HOME"],"quiesce":true})", dir_ + "/b.tar.zst");
  EXPECT_EQ(res.trailers["clawback-quiesced"], "true");
  restored = Restore(agent->port(), archive, "?quiesce=1");
  EXPECT_EQ(json::parse(restored.body)["quiesced"], true);
  EXPECT_EQ(Lines(HookLog()),
            (std::vector<std::string>{"pre-backup", "post-backup", "pre-restore", "post-restore"}));
}

TEST_F(AgentHooksTest, OneQuiescedOperationAtATime) {
  const std::string go = dir_ + "/go";
  // pre-restore holds the hooks until the test creates `go`.
  auto agent = StartAgent({{"pre-restore", Sh("echo pre-restore >> '" + hook_log_ + "'; while [ ! -e '" + go +
                                              "' ]; do sleep 0.05; done")},
                           {"post-restore", Logging("post-restore")},
                           {"pre-backup", Logging("pre-backup")}});
  ASSERT_TRUE(agent);
  const std::string archive = MakeArchive();
  auto restore = std::async(std::launch::async, [&] { return Restore(agent->port(), archive); });
  for (int i = 0; i < 400 && HookLog().empty(); ++i) std::this_thread::sleep_for(25ms);
  ASSERT_EQ(HookLog(), "pre-restore\n");
  HttpResponse busy = Backup(agent->port(), R"({"paths":["HOME"]})", dir_ + "/busy.tar.zst");
  EXPECT_EQ(busy.status, 409) << busy.body;
  // Without quiesce the backup does not need the hooks.
  HttpResponse unquiesced =
      Backup(agent->port(), R"({"paths":["HOME"],"quiesce":false})", dir_ + "/ok.tar.zst");
  EXPECT_EQ(unquiesced.trailers["clawback-status"], "ok") << unquiesced.body;
  WriteText(go, "");
  HttpResponse restored = restore.get();
  EXPECT_EQ(restored.status, 200) << restored.body;
  HttpResponse after = Backup(agent->port(), R"({"paths":["HOME"]})", dir_ + "/after.tar.zst");
  EXPECT_EQ(after.trailers["clawback-quiesced"], "true") << after.body;
  EXPECT_EQ(Lines(HookLog()), (std::vector<std::string>{"pre-restore", "post-restore", "pre-backup"}));
}

TEST_F(AgentHooksTest, BadHookFilesStopTheAgentAtStartup) {
  struct Case {
    std::string file_text, message;
  };
  const Case cases[] = {
      {R"({"pre-restore": ["s6-svc", "-d", "/run/service/openclaw"]})", "argv[0] must be an absolute path"},
      {R"({"pre-restore": "/command/s6-svc -d /run/service/openclaw"})", "must be an argv array"},
      {R"({"pre-restore": []})", "argv must be a non-empty array"},
      {R"({"before-restore": ["/bin/true"]})", "unknown key \"before-restore\""},
      {R"({"pre-restore": {"argv": ["/bin/true"], "timeout_s": 0}})", "\"timeout_s\" must be"},
      {R"({"pre-restore": {"argv": ["/bin/true"], "shell": true}})", "unknown key \"shell\""},
      {"not json", "not a JSON object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file_text);
    const std::string file = dir_ + "/bad-hooks.json";
    WriteText(file, c.file_text);
    ProcessOutput out =
        RunProcess({kAgentBinary, "--listen", "127.0.0.1:0", "--cert", agent_cert_.cert, "--key",
                    agent_cert_.key, "--ca", pki_->ca_cert(), "--root", root_, "--hooks", file});
    EXPECT_EQ(out.exit_code, 2) << out.output;
    EXPECT_NE(out.output.find(c.message), std::string::npos) << out.output;
  }
}

}  // namespace
}  // namespace clawback::testing
