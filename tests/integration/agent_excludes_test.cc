// Backup excludes end to end: a real clawback-agent over mTLS archives an
// OpenClaw-like home directory with the "excludes" of a backup request, and the
// archive's listing (read back by GNU tar) must be exactly the source tree
// minus the files each preset or glob is documented to leave out
// (docs/excludes.md). The expected sets are written out by hand here, not
// computed with the matcher under test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "shared/exclude_rules.h"
#include "tests/support/agent_process.h"
#include "tests/support/agent_suite.h"
#include "tests/support/mtls_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kAgentBinary[] = CLAWBACK_AGENT_BINARY;

// Files of the source tree, relative to /home/claworc.
const char* const kFiles[] = {
    "notes.log",
    "docs/plan.md",
    ".npmrc",
    ".openclaw/openclaw.json",
    ".openclaw/openclaw-2026-12-01.log",
    ".openclaw/app.log.1",
    ".openclaw/logs/gateway.log",
    ".openclaw/logs/gateway.err.log",
    ".openclaw/logs/config-audit.jsonl",
    ".openclaw/logs.txt",
    ".openclaw/agents/main/agent/openclaw-agent.sqlite",
    ".openclaw/agents/main/sessions/sessions.json",
    ".openclaw/agents/main/sessions/run.log",
    ".openclaw/memory/main.sqlite",
    ".openclaw/workspace/MEMORY.md",
    ".openclaw/workspace/project/build.log",
    ".openclaw/browser/openclaw/user-data/Default/Cookies",
    ".openclaw/browser/openclaw/user-data/Default/Cache/Cache_Data/f_000001",
    ".openclaw/browser/openclaw/user-data/Default/Code Cache/js/index",
    ".openclaw/browser/openclaw/user-data/Default/GPUCache/data_0",
    ".npm/_logs/2026-12-01T10_00_00_000Z-debug-0.log",
    ".npm/_cacache/index-v5/aa/bb",
    ".npm/_npx/1a2b/package.json",
    ".cache/pip/http/a/b",
    ".cache/ms-playwright/chromium-1140/chrome-linux/chrome",
    ".cache/Homebrew/downloads/x.tar.gz",
    ".local/share/pnpm/store/v3/files/00/aa",
    ".local/share/pnpm/global/5/package.json",
    ".yarn/berry/cache/lodash.zip",
    ".bun/install/cache/x.tgz",
    ".config/chromium/Default/Cache/Cache_Data/f_000001",
    ".config/chromium/Default/Login Data",
};

class AgentExcludesTest : public AgentSuite {
 protected:
  static void SetUpTestSuite() {
    CreateAgentSuite("clawback-excludes-it-");
    if (HasFatalFailure()) return;
    root_ = tmp_->Sub("root");
    for (const char* f : kFiles) {
      fs::path p = fs::path(root_) / "home/claworc" / f;
      fs::create_directories(p.parent_path());
      std::ofstream(p) << "contents of " << f << "\n";
    }
    fs::create_directories(fs::path(root_) / "home/claworc/.cache/empty-dir");
  }

  void SetUp() override {
    auto agent =
        AgentProcess::Start({kAgentBinary, tmp_->path(), agent_cert_.cert, agent_cert_.key, pki_->ca_cert(), root_, {}});
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_ = std::move(agent).value();
  }

  HttpResponse Backup(const json& body, const std::string& archive) {
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = body.dump();
    r.on_body = [&out](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      return out ? Status::Ok() : Status::IoError("write failed");
    };
    auto res =
        SendRequest(agent_->port(), {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key}, r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : HttpResponse{};
  }

  // Entry names GNU tar lists, relative to /home/claworc ("" for the home
  // directory itself), trailing '/' dropped.
  static std::set<std::string> ArchiveListing(const std::string& archive) {
    ProcessOutput tar = RunProcess({"tar", "--zstd", "-tf", archive});
    EXPECT_EQ(tar.exit_code, 0) << tar.output;
    std::set<std::string> names;
    std::istringstream lines(tar.output);
    std::string line;
    while (std::getline(lines, line)) {
      while (!line.empty() && line.back() == '/') line.pop_back();
      if (line == "home/claworc") {
        names.insert("");
      } else if (line.rfind("home/claworc/", 0) == 0) {
        names.insert(line.substr(13));
      } else {
        names.insert("outside home: " + line);
      }
    }
    return names;
  }

  // Every file and directory of the source home, relative to it.
  static std::set<std::string> SourceListing() {
    std::set<std::string> names{""};
    const fs::path home = fs::path(root_) / "home/claworc";
    for (const auto& e : fs::recursive_directory_iterator(home)) {
      names.insert(fs::relative(e.path(), home).string());
    }
    return names;
  }

  // The source listing minus `excluded` entries and everything below them.
  static std::set<std::string> Without(const std::vector<std::string>& excluded) {
    std::set<std::string> out;
    for (const std::string& name : SourceListing()) {
      bool gone = false;
      for (const std::string& x : excluded) {
        if (name == x || name.rfind(x + "/", 0) == 0) gone = true;
      }
      if (!gone) out.insert(name);
    }
    return out;
  }

  static std::string root_;
  std::unique_ptr<AgentProcess> agent_;
};

std::string AgentExcludesTest::root_;

struct ExcludeCase {
  std::string label;
  std::vector<std::string> presets;
  std::vector<std::string> globs;
  std::vector<std::string> excluded;  // relative to /home/claworc; subtrees go with them
};

TEST_F(AgentExcludesTest, ExactlyTheDocumentedFilesAreLeftOut) {
  const std::vector<std::string> logs = {
      ".openclaw/logs",
      ".openclaw/openclaw-2026-12-01.log",
      ".openclaw/agents/main/sessions/run.log",
      ".openclaw/workspace/project/build.log",
      ".npm/_logs",
  };
  const std::vector<std::string> caches = {
      ".cache",
      ".npm/_cacache",
      ".npm/_npx",
      ".local/share/pnpm/store",
      ".yarn/berry/cache",
      ".bun/install/cache",
      ".openclaw/browser/openclaw/user-data/Default/Cache",
      ".openclaw/browser/openclaw/user-data/Default/Code Cache",
      ".openclaw/browser/openclaw/user-data/Default/GPUCache",
      ".config/chromium/Default/Cache",
  };
  std::vector<std::string> both = logs;
  both.insert(both.end(), caches.begin(), caches.end());
  const ExcludeCase cases[] = {
      {"nothing", {}, {}, {}},
      {"logs preset", {"logs"}, {}, logs},
      {"caches preset", {"caches"}, {}, caches},
      {"both presets", {"logs", "caches"}, {}, both},
      {"glob with * in one component", {}, {"/home/claworc/*.log"}, {"notes.log"}},
      {"glob with **",
       {},
       {"/home/claworc/**/*.sqlite"},
       {".openclaw/agents/main/agent/openclaw-agent.sqlite", ".openclaw/memory/main.sqlite"}},
      {"a directory glob takes its subtree", {}, {"/home/claworc/.openclaw/agents"}, {".openclaw/agents"}},
      {"class and ?",
       {},
       {"/home/claworc/.openclaw/logs/gateway.[e]??.log"},
       {".openclaw/logs/gateway.err.log"}},
      {"preset plus glob",
       {"caches"},
       {"/home/claworc/docs"},
       [&] {
         auto v = caches;
         v.push_back("docs");
         return v;
       }()},
  };
  int n = 0;
  for (const ExcludeCase& c : cases) {
    SCOPED_TRACE(c.label);
    auto expanded = ExpandExcludes(c.presets, c.globs);
    ASSERT_TRUE(expanded.ok()) << expanded.status().ToString();
    const std::string archive = tmp_->Sub("case-" + std::to_string(n++) + ".tar.zst");
    HttpResponse res = Backup({{"paths", {"HOME"}}, {"excludes", *expanded}}, archive);
    ASSERT_EQ(res.status, 200) << res.body << res.error;
    ASSERT_EQ(res.trailers["clawback-status"], "ok");
    EXPECT_EQ(res.trailers["clawback-warnings"], "0") << res.trailers["clawback-warning-detail"];
    EXPECT_EQ(ArchiveListing(archive), Without(c.excluded));
  }
}

TEST_F(AgentExcludesTest, ARequestedPathBelowAnExcludedDirectoryArchivesNothingOfIt) {
  const std::string archive = tmp_->Sub("below.tar.zst");
  HttpResponse res = Backup(
      {{"paths", {"/home/claworc/.cache/pip", "/home/claworc/docs"}}, {"excludes", {"/home/claworc/.cache"}}},
      archive);
  ASSERT_EQ(res.status, 200) << res.body << res.error;
  ASSERT_EQ(res.trailers["clawback-status"], "ok");
  ProcessOutput tar = RunProcess({"tar", "--zstd", "-tf", archive});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  EXPECT_EQ(tar.output.find(".cache"), std::string::npos) << tar.output;
  EXPECT_NE(tar.output.find("home/claworc/docs/plan.md"), std::string::npos) << tar.output;
}

TEST_F(AgentExcludesTest, BadExcludesAreRefusedNamingThePattern) {
  struct Case {
    json excludes;
    std::string message;
  };
  const Case cases[] = {
      {json::array({"*.log"}), "exclude pattern must be absolute (start with '/'): *.log"},
      {json::array({"/a/[x"}), "unclosed '[': /a/[x"},
      {json::array({"/a/**.log"}), "'**' inside a component"},
      {json::array({"/ok", 3}), "\"excludes\" must be an array of strings"},
      {"/home/claworc/.cache", "\"excludes\" must be an array of strings"},
      {json(std::vector<std::string>(400, "/a")), "too many exclude patterns"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.excludes.dump().substr(0, 60));
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = json{{"paths", {"HOME"}}, {"excludes", c.excludes}}.dump();
    auto res =
        SendRequest(agent_->port(), {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key}, r);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_FALSE(res->chunked);
    json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.contains("error")) << res->body;
    EXPECT_NE(body["error"].get<std::string>().find(c.message), std::string::npos) << res->body;
  }
}

}  // namespace
}  // namespace clawback::testing
