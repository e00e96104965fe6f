// clawback-agent end to end: real agent processes (fork/exec of the built
// binary) on 127.0.0.1 port 0, a PKI generated with controller/pki, and an
// mTLS client. Covers /healthz, mTLS refusals, backup and restore round trips
// compared with the source tree, request validation, cut streams, hostile
// archives, SIGHUP reload, startup errors and the CLI.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shared/archive_index.h"
#include "shared/protocol.h"
#include "shared/seek_table.h"
#include "shared/version.h"
#include "tests/support/agent_process.h"
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

std::string Home(const std::string& root) { return root + "/home/claworc"; }

class AgentServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir("clawback-agent-it-");
    auto pki = TestPki::Create(tmp_->Sub("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = new TestPki(*pki);
    auto other = TestPki::Create(tmp_->Sub("other-pki"));
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    other_pki_ = new TestPki(*other);

    auto agent = pki_->IssueInstance("alpha");
    ASSERT_TRUE(agent.ok()) << agent.status().ToString();
    agent_cert_ = *agent;
    auto instance_client = pki_->IssueInstance("beta");
    ASSERT_TRUE(instance_client.ok());
    instance_client_ = *instance_client;
    pki::LeafSpec expired = pki::ControllerLeafSpec();
    expired.not_before = pki::Clock::now() - 48h;
    expired.not_after = pki::Clock::now() - 24h;
    auto expired_cert = pki_->Issue("expired-controller", expired);
    ASSERT_TRUE(expired_cert.ok());
    expired_controller_ = *expired_cert;

    root_ = tmp_->Sub("root1");
    GenerateTree(Home(root_), TreeSpec{});
  }

  static void TearDownTestSuite() {
    delete pki_;
    delete other_pki_;
    delete tmp_;
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& root, std::vector<std::string> extra = {},
                                           const CertFiles* cert = nullptr) {
    const CertFiles& files = cert ? *cert : agent_cert_;
    auto agent = AgentProcess::Start(
        {kAgentBinary, tmp_->path(), files.cert, files.key, pki_->ca_cert(), root, std::move(extra)});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }

  static ClientIdentity Controller() {
    return {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key};
  }
  static ClientIdentity Anonymous() { return {pki_->ca_cert(), "", ""}; }

  static HttpRequest BackupRequest(const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = body;
    return r;
  }

  // Backs up `paths_json` into `archive`; returns the response.
  HttpResponse BackupToFile(uint16_t port, const std::string& paths_json, const std::string& archive) {
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    HttpRequest r = BackupRequest(paths_json);
    r.on_body = [&out](const char* data, size_t n) {
      out.write(data, static_cast<std::streamsize>(n));
      return out ? Status::Ok() : Status::IoError("write failed");
    };
    auto res = SendRequest(port, Controller(), r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    out.close();
    return res.ok() ? *res : HttpResponse{};
  }

  static HttpRequest RestoreRequest(const std::string& archive) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/restore";
    r.upload_file = archive;
    return r;
  }

  // A tree big enough that a backup is still streaming when we act on it.
  static const std::string& BigRoot() {
    static const std::string root = [] {
      std::string r = tmp_->Sub("root-big");
      TreeSpec spec;
      spec.small_files = 50;
      spec.random_file_bytes = 48u << 20;
      GenerateTree(Home(r), spec);
      return r;
    }();
    return root;
  }

  static TempDir* tmp_;
  static TestPki* pki_;
  static TestPki* other_pki_;
  static CertFiles agent_cert_, instance_client_, expired_controller_;
  static std::string root_;
};

TempDir* AgentServerTest::tmp_ = nullptr;
TestPki* AgentServerTest::pki_ = nullptr;
TestPki* AgentServerTest::other_pki_ = nullptr;
CertFiles AgentServerTest::agent_cert_, AgentServerTest::instance_client_, AgentServerTest::expired_controller_;
std::string AgentServerTest::root_;

// ---- 1. /healthz ----

TEST_F(AgentServerTest, HealthzNeedsNoClientCertificate) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  EXPECT_TRUE(agent->Log().find("\"msg\":\"listening\",\"addr\":\"127.0.0.1:" + std::to_string(agent->port())) !=
              std::string::npos)
      << agent->Log();

  for (const ClientIdentity& id : {Anonymous(), ClientIdentity{}, Controller()}) {
    auto res = SendRequest(agent->port(), id, HttpRequest{});
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 200);
    json body = json::parse(res->body);
    EXPECT_EQ(body["status"], "ok");
    EXPECT_EQ(body["version"], kVersion);
    EXPECT_TRUE(body["uptime_s"].is_number_integer());
    EXPECT_EQ(body.size(), 3u) << res->body;
  }

  ASSERT_TRUE(HaveProgram("curl")) << "curl is needed for this test (apt-get install curl)";
  ProcessOutput curl = RunProcess({"curl", "-sk", "https://127.0.0.1:" + std::to_string(agent->port()) + "/healthz"});
  EXPECT_EQ(curl.exit_code, 0) << curl.output;
  EXPECT_NE(curl.output.find("\"status\":\"ok\""), std::string::npos) << curl.output;
}

TEST_F(AgentServerTest, InfoNamesTheInstanceFromTheAgentCertificate) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  HttpRequest r;
  r.target = "/v1/info";
  auto res = SendRequest(agent->port(), Controller(), r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_EQ(res->status, 200) << res->body;
  json body = json::parse(res->body);
  EXPECT_EQ(body["instance"], "alpha");
  EXPECT_EQ(body["version"], kVersion);
  EXPECT_FALSE(body.contains("root"));
  EXPECT_EQ(res->server_uri_sans, std::vector<std::string>{"spiffe://claworc/instance/alpha"});
}

TEST_F(AgentServerTest, UnknownEndpointsAndWrongMethods) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  struct Case {
    std::string method, target;
    int status;
  };
  for (const Case& c : {Case{"GET", "/nope", 404}, Case{"GET", "/v1/backup", 405}, Case{"POST", "/healthz", 405},
                        Case{"DELETE", "/v1/info", 405}, Case{"GET", "/v1/restore", 405}}) {
    HttpRequest r;
    r.method = c.method;
    r.target = c.target;
    auto res = SendRequest(agent->port(), Controller(), r);
    ASSERT_TRUE(res.ok()) << c.method << " " << c.target << ": " << res.status().ToString();
    EXPECT_EQ(res->status, c.status) << c.method << " " << c.target << ": " << res->body;
    EXPECT_TRUE(json::parse(res->body, nullptr, false).contains("error")) << res->body;
  }
}

// ---- 2. mTLS ----

TEST_F(AgentServerTest, OnlyTheControllerIdentityIsAllowed) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  struct Case {
    std::string name;
    ClientIdentity id;
    int status;
    std::string reason;  // in the response and the agent's log
  };
  const Case cases[] = {
      {"no client certificate", Anonymous(), 401, "no client certificate"},
      {"certificate from another CA",
       {pki_->ca_cert(), other_pki_->controller().cert, other_pki_->controller().key},
       401,
       "certificate rejected: unable to"},  // "... get local issuer" or "... verify the first certificate"
      {"expired controller certificate",
       {pki_->ca_cert(), expired_controller_.cert, expired_controller_.key},
       401,
       "certificate has expired"},
      {"instance identity", {pki_->ca_cert(), instance_client_.cert, instance_client_.key}, 403,
       "identity spiffe://claworc/instance/beta may not call"},
      {"controller", Controller(), 200, ""},
  };
  for (const Case& c : cases) {
    for (const char* endpoint : {"/v1/info", "/v1/backup", "/v1/restore"}) {
      SCOPED_TRACE(c.name + " " + endpoint);
      if (c.status == 200 && std::string(endpoint) != "/v1/info") continue;
      HttpRequest r;
      r.target = endpoint;
      if (r.target != "/v1/info") {
        r.method = "POST";
        r.body = R"({"paths":["HOME"]})";
      }
      auto res = SendRequest(agent->port(), c.id, r);
      ASSERT_TRUE(res.ok()) << res.status().ToString();
      EXPECT_EQ(res->status, c.status) << res->body;
      if (!c.reason.empty()) {
        EXPECT_NE(res->body.find(c.reason), std::string::npos) << res->body;
        EXPECT_TRUE(agent->WaitForLog(c.reason, 5s)) << agent->Log();
      }
    }
  }
}

// ---- 3. Backup and restore round trip ----

TEST_F(AgentServerTest, BackupStreamsAWholeArchiveAndRestoreRebuildsTheTree) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  std::string archive = tmp_->Sub("roundtrip.tar.zst");
  HttpResponse res = BackupToFile(agent->port(), R"({"paths":["HOME"]})", archive);
  ASSERT_EQ(res.status, 200) << res.body << res.error;
  EXPECT_TRUE(res.chunked);
  EXPECT_TRUE(res.complete) << res.error;
  EXPECT_EQ(res.headers["content-type"], "application/zstd");
  EXPECT_NE(res.headers["trailer"].find("Clawback-Sha256"), std::string::npos);
  EXPECT_EQ(res.trailers["clawback-status"], "ok");
  EXPECT_GT(std::stoull(res.trailers["clawback-entries"]), 100u);
  EXPECT_GT(std::stoull(res.trailers["clawback-bytes-read"]), 2u << 20);
  EXPECT_EQ(std::stoull(res.trailers["clawback-bytes-sent"]), fs::file_size(archive));
  EXPECT_EQ(res.trailers["clawback-sha256"], Sha256OfFile(archive));
  EXPECT_EQ(res.trailers["clawback-warnings"], "0");
  EXPECT_TRUE(json::parse(res.trailers["clawback-warning-detail"], nullptr, false).is_array());
  EXPECT_TRUE(agent->WaitForLog("\"endpoint\":\"/v1/backup\"", 5s));

  // Format 2: the seek table accounts for every byte and the index lists
  // every entry the trailers count.
  EXPECT_EQ(res.trailers["clawback-archive-format"], "2");
  EXPECT_EQ(res.trailers["clawback-index-entries"], res.trailers["clawback-entries"]);
  {
    std::ifstream in(archive, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto layout = seek_table::LocateArchive(bytes.size(), [&](uint64_t off, size_t n, std::string& out) {
      out = bytes.substr(off, n);
      return Status::Ok();
    });
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    EXPECT_GE(layout->frames.size(), 2u);  // the tree holds > 2 MiB
    uint64_t entries = 0;
    auto end = archive_index::ReadIndexPayload(
        std::string_view(bytes).substr(layout->index_payload_offset(), layout->index_payload_size()),
        [&](archive_index::IndexEntry&&) {
          ++entries;
          return Status::Ok();
        });
    ASSERT_TRUE(end.ok()) << end.status().ToString();
    EXPECT_EQ(std::to_string(entries), res.trailers["clawback-index-entries"]);
    EXPECT_EQ(end->tar_size, layout->tar_size);
  }

  // GNU tar reads it back to the same tree.
  std::string extracted = tmp_->Sub("extracted");
  fs::create_directories(extracted);
  ProcessOutput tar = RunProcess({"tar", "--zstd", "-xpf", archive, "-C", extracted});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  EXPECT_EQ(CompareTrees(Home(root_), Home(extracted)), "");

  // Restore through a second agent whose root is empty; Content-Length and chunked uploads.
  for (bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked upload" : "content-length upload");
    std::string root2 = tmp_->Sub(chunked ? "restored-chunked" : "restored");
    fs::create_directories(root2);
    auto target = StartAgent(root2);
    ASSERT_TRUE(target);
    HttpRequest r = RestoreRequest(archive);
    r.chunked_upload = chunked;
    auto restored = SendRequest(target->port(), Controller(), r);
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    ASSERT_EQ(restored->status, 200) << restored->body << "\n" << target->Log();
    json summary = json::parse(restored->body);
    EXPECT_EQ(summary["status"], "ok");
    EXPECT_GT(summary["entries_written"].get<uint64_t>(), 100u);
    EXPECT_GT(summary["bytes_written"].get<uint64_t>(), 2u << 20);
    EXPECT_TRUE(summary["skipped"].is_array());
    EXPECT_TRUE(summary["warnings"].is_array());
    EXPECT_EQ(CompareTrees(Home(root_), Home(root2)), "");
    EXPECT_TRUE(target->WaitForLog("\"endpoint\":\"/v1/restore\"", 5s));
  }
}

// Path -> type, mode, size, mtime (ns), content hash: what a dry run must leave alone.
std::map<std::string, std::string> TreeState(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st;
    if (lstat(e.path().c_str(), &st) != 0) continue;
    std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
                    std::to_string(st.st_nlink);
    if (S_ISREG(st.st_mode)) v += " " + Sha256OfFile(e.path());
    out[e.path().string()] = v;
  }
  return out;
}

TEST_F(AgentServerTest, RestoreDryRunPreviewsWhatTheRestoreThenDoes) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  std::string archive = tmp_->Sub("preview.tar.zst");
  HttpResponse res = BackupToFile(agent->port(), R"({"paths":["HOME"]})", archive);
  ASSERT_EQ(res.status, 200) << res.body << res.error;
  const uint64_t entries = std::stoull(res.trailers["clawback-entries"]);

  // The target: a restored copy, then one file removed, one changed, one added.
  std::string target_root = tmp_->Sub("preview-target");
  fs::create_directories(target_root);
  auto target = StartAgent(target_root);
  ASSERT_TRUE(target);
  auto first = SendRequest(target->port(), Controller(), RestoreRequest(archive));
  ASSERT_TRUE(first.ok() && first->status == 200) << (first.ok() ? first->body : first.status().ToString());
  json first_summary = json::parse(first->body);
  EXPECT_EQ(first_summary["changes"]["create"]["count"].get<uint64_t>(), entries);
  EXPECT_EQ(first_summary["changes"]["replace"]["count"].get<uint64_t>(), 0u);
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(Home(target_root)))
    if (e.is_regular_file() && fs::hard_link_count(e.path()) == 1) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);
  fs::remove(files[0]);
  {
    std::fstream f(files[1], std::ios::in | std::ios::out | std::ios::binary);
    char c = 0;
    f.read(&c, 1);
    f.seekp(0);
    c = static_cast<char>(c ^ 0x55);
    f.write(&c, 1);
  }
  std::ofstream(Home(target_root) + "/not-in-backup.txt") << "stays";

  const auto before = TreeState(target_root);
  HttpRequest dry = RestoreRequest(archive);
  dry.target = "/v1/restore?dry_run=1";
  auto preview = SendRequest(target->port(), Controller(), dry);
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  ASSERT_EQ(preview->status, 200) << preview->body;
  EXPECT_EQ(TreeState(target_root), before) << "the dry run changed the target";
  json p = json::parse(preview->body);
  EXPECT_EQ(p["dry_run"], true);
  EXPECT_EQ(p["status"], "ok");
  EXPECT_EQ(p["entries"].get<uint64_t>(), entries);
  EXPECT_EQ(p["entries_written"].get<uint64_t>(), 0u);
  EXPECT_EQ(p["changes"]["create"]["count"].get<uint64_t>(), 1u) << preview->body;
  EXPECT_EQ(p["changes"]["replace"]["count"].get<uint64_t>(), 1u) << preview->body;
  EXPECT_EQ(p["changes"]["unchanged"]["count"].get<uint64_t>(), entries - 2);
  EXPECT_EQ(p["changes"]["create"]["first"], json::array({files[0].substr(target_root.size() + 1)}));
  EXPECT_EQ(p["changes"]["replace"]["first"], json::array({files[1].substr(target_root.size() + 1)}));
  EXPECT_EQ(p["changes"]["unchanged"]["first"].size(), std::min<uint64_t>(100, entries - 2));

  auto real = SendRequest(target->port(), Controller(), RestoreRequest(archive));
  ASSERT_TRUE(real.ok() && real->status == 200) << (real.ok() ? real->body : real.status().ToString());
  json r = json::parse(real->body);
  EXPECT_EQ(r["changes"]["create"]["count"], p["changes"]["create"]["count"]);
  EXPECT_EQ(r["changes"]["replace"]["count"].get<uint64_t>(),
            p["changes"]["replace"]["count"].get<uint64_t>() + p["changes"]["unchanged"]["count"].get<uint64_t>());
  EXPECT_FALSE(r.contains("dry_run"));
  fs::remove(Home(target_root) + "/not-in-backup.txt");  // a restore leaves what the archive lacks
  EXPECT_EQ(CompareTrees(Home(root_), Home(target_root)), "") << "restore after the preview";

  // A bad value is refused before anything is read.
  HttpRequest bad = RestoreRequest(archive);
  bad.target = "/v1/restore?dry_run=maybe";
  auto refused = SendRequest(target->port(), Controller(), bad);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 400) << refused->body;
}

// ---- 4. Request validation ----

TEST_F(AgentServerTest, InvalidBackupRequestsAreRefusedBeforeAnyByteStreams) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {R"({"paths":["etc/nginx"]})", 400, "path must be absolute: etc/nginx"},
      {R"({"paths":["/home/claworc/../../etc"]})", 400, "'..'"},
      {R"({"paths":["/home/claworc/a\u0000b"]})", 400, "NUL"},
      {R"({"paths":["/proc"]})", 400, "excluded system directory: /proc"},
      {R"({"paths":["/sys/kernel"]})", 400, "excluded system directory"},
      {R"({"paths":["/home/claworc/does-not-exist"]})", 400, "/home/claworc/does-not-exist"},
      {R"({"paths":["HOME", "/etc/missing"]})", 400, "/etc/missing"},
      {R"({"paths":"HOME"})", 400, "array"},
      {R"({"paths":[1,2]})", 400, "array"},
      {R"({"paths":[""]})", 400, "empty"},
      {R"(["HOME"])", 400, "JSON object"},
      {R"(not json)", 400, "JSON"},
      {"{\"paths\":[\"" + std::string(100 * 1024, 'a') + "\"]}", 413, "64 KiB"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 80));
    auto res = SendRequest(agent->port(), Controller(), BackupRequest(c.body));
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, c.status) << res->body;
    EXPECT_FALSE(res->chunked);
    EXPECT_EQ(res->headers["content-type"], "application/json");
    json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.contains("error")) << res->body;
    EXPECT_NE(body["error"].get<std::string>().find(c.message), std::string::npos) << res->body;
  }
  // Still serving.
  auto ok = SendRequest(agent->port(), Controller(), HttpRequest{});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

// ---- 5. Broken streams and hostile archives ----

TEST_F(AgentServerTest, AgentKilledMidBackupLeavesNoFinalChunk) {
  auto agent = StartAgent(BigRoot());
  ASSERT_TRUE(agent);
  uint64_t received = 0;
  bool killed = false;
  HttpRequest r = BackupRequest(R"({"paths":["HOME"]})");
  r.on_body = [&](const char*, size_t n) {
    received += n;
    if (!killed && received > (1u << 20)) {
      agent->Signal(SIGKILL);
      killed = true;
    }
    return Status::Ok();
  };
  auto res = SendRequest(agent->port(), Controller(), r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_TRUE(killed);
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(res->complete);
  EXPECT_FALSE(res->error.empty());
  EXPECT_EQ(res->trailers.count("clawback-status"), 0u);
  EXPECT_LT(received, 48u << 20);
}

TEST_F(AgentServerTest, ControllerGoneMidBackupStopsTheWorker) {
  auto agent = StartAgent(BigRoot());
  ASSERT_TRUE(agent);
  uint64_t received = 0;
  HttpRequest r = BackupRequest(R"({"paths":["HOME"]})");
  r.on_body = [&](const char*, size_t n) {
    received += n;
    return received > (1u << 20) ? Status::Canceled("test stops reading") : Status::Ok();
  };
  auto res = SendRequest(agent->port(), Controller(), r);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->complete);
  EXPECT_TRUE(agent->WaitForLog("\"result\":\"error\"", 20s)) << agent->Log();
  // The transfer slot came back: another backup runs to the end.
  std::string archive = tmp_->Sub("after-cancel.tar.zst");
  HttpResponse again = BackupToFile(agent->port(), R"({"paths":["/home/claworc/pkg0"]})", archive);
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(again.complete) << again.error;
}

TEST_F(AgentServerTest, CutRestoreUploadIsNeverReportedAsSuccess) {
  auto source = StartAgent(BigRoot());
  ASSERT_TRUE(source);
  std::string archive = tmp_->Sub("big.tar.zst");
  HttpResponse backup = BackupToFile(source->port(), R"({"paths":["HOME"]})", archive);
  ASSERT_TRUE(backup.complete) << backup.error;

  std::string root2 = tmp_->Sub("restore-cut");
  fs::create_directories(root2);
  auto target = StartAgent(root2);
  ASSERT_TRUE(target);
  HttpRequest r = RestoreRequest(archive);
  r.cut_upload_after = fs::file_size(archive) / 2;
  auto res = SendRequest(target->port(), Controller(), r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_NE(res->error.find("upload cut"), std::string::npos);
  ASSERT_TRUE(target->WaitForLog("stream cut after", 20s)) << target->Log();
  std::string log = target->Log();
  EXPECT_EQ(log.find("\"endpoint\":\"/v1/restore\",\"error\"") == std::string::npos &&
                log.find("\"result\":\"error\"") == std::string::npos,
            false)
      << log;
  EXPECT_EQ(log.find("\"result\":\"ok\""), std::string::npos) << log;
}

TEST_F(AgentServerTest, HostileArchiveWritesNothingOutsideRoot) {
  std::string base = tmp_->Sub("hostile");
  std::string root = base + "/root";
  std::string outside = base + "/outside";
  fs::create_directories(root);
  fs::create_directories(outside);
  std::string tar_file = base + "/hostile.tar";
  std::string script = R"PY(
import io, sys, tarfile
out, outside = sys.argv[1], sys.argv[2]
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def add(name, data=b"pwned", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = link
    ti.mode = 0o644
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
add("../escape.txt")
add("home/claworc/../../../escape2.txt")
add("/abs-escape-clawback-test.txt")
add("home/claworc/link", kind=tarfile.SYMTYPE, link=outside)
add("home/claworc/link/through.txt")
add("home/claworc/hard", kind=tarfile.LNKTYPE, link="../../../outside/hard-target")
add("proc/evil.txt")
add("home/claworc/ok.txt", b"fine")
t.close()
)PY";
  ProcessOutput py = RunProcess({"/usr/bin/python3", "-c", script, tar_file, outside});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  ProcessOutput zstd = RunProcess({"zstd", "-q", "-f", tar_file, "-o", tar_file + ".zst"});
  ASSERT_EQ(zstd.exit_code, 0) << zstd.output;

  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);
  auto res = SendRequest(agent->port(), Controller(), RestoreRequest(tar_file + ".zst"));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  json body = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << res->body;
  if (res->status == 200) {
    EXPECT_GE(body["skipped"].size(), 4u) << res->body;
  } else {
    EXPECT_GE(res->status, 400) << res->body;
  }
  EXPECT_TRUE(fs::is_empty(outside)) << res->body;
  EXPECT_FALSE(fs::exists(base + "/escape.txt"));
  EXPECT_FALSE(fs::exists(tmp_->path() + "/escape2.txt"));
  EXPECT_FALSE(fs::exists("/abs-escape-clawback-test.txt"));
  EXPECT_FALSE(fs::exists(root + "/proc/evil.txt"));
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_symlink()) continue;
    std::string canonical = fs::weakly_canonical(it->path()).string();
    EXPECT_EQ(canonical.rfind(root, 0), 0u) << canonical;
  }
}

// ---- 6. SIGHUP reload ----

TEST_F(AgentServerTest, SighupReloadsCertificatesWithoutDisturbingTransfers) {
  auto first = pki_->Issue("reload-agent", pki::InstanceLeafSpec("alpha"));
  ASSERT_TRUE(first.ok());
  auto agent = StartAgent(BigRoot(), {}, &*first);
  ASSERT_TRUE(agent);
  auto before = SendRequest(agent->port(), Anonymous(), HttpRequest{});
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  // A backup that pauses (back-pressure) until the reload is done.
  std::promise<void> streaming, reloaded;
  auto reloaded_future = reloaded.get_future().share();
  std::atomic<bool> signaled{false};
  HttpRequest r = BackupRequest(R"({"paths":["HOME"]})");
  r.on_body = [&](const char*, size_t) {
    if (!signaled.exchange(true)) {
      streaming.set_value();
      reloaded_future.wait_for(60s);
    }
    return Status::Ok();
  };
  auto transfer = std::async(std::launch::async, [&] { return SendRequest(agent->port(), Controller(), r); });
  ASSERT_EQ(streaming.get_future().wait_for(30s), std::future_status::ready);

  auto second = pki_->Issue("reload-agent", pki::InstanceLeafSpec("alpha"));
  ASSERT_TRUE(second.ok());
  agent->Signal(SIGHUP);
  EXPECT_TRUE(agent->WaitForLog("tls reloaded", 10s)) << agent->Log();
  auto after = SendRequest(agent->port(), Anonymous(), HttpRequest{});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_NE(after->server_serial_hex, before->server_serial_hex);

  // A broken file: the reload fails and the current certificate stays.
  { std::ofstream(first->cert, std::ios::trunc) << "not a certificate\n"; }
  agent->Signal(SIGHUP);
  EXPECT_TRUE(agent->WaitForLog("tls reload failed", 10s)) << agent->Log();
  auto still = SendRequest(agent->port(), Anonymous(), HttpRequest{});
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(still->server_serial_hex, after->server_serial_hex);

  reloaded.set_value();
  auto res = transfer.get();
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_TRUE(res->complete) << res->error;
  EXPECT_EQ(res->trailers["clawback-status"], "ok");
  EXPECT_EQ(res->server_serial_hex, before->server_serial_hex);
}

TEST_F(AgentServerTest, SigtermStopsCleanly) {
  auto agent = StartAgent(root_);
  ASSERT_TRUE(agent);
  agent->Signal(SIGTERM);
  auto code = agent->WaitExit(15s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << agent->Log();
}

// ---- 7. Startup errors, 8. CLI ----

TEST_F(AgentServerTest, RefusesToStartWithUnreadableCertificates) {
  std::string garbage = tmp_->Sub("garbage.crt");
  { std::ofstream(garbage) << "garbage\n"; }
  struct Case {
    std::string cert, key, ca, message;
  };
  const Case cases[] = {
      {"/nonexistent/agent.crt", agent_cert_.key, pki_->ca_cert(), "/nonexistent/agent.crt"},
      {agent_cert_.cert, "/nonexistent/agent.key", pki_->ca_cert(), "/nonexistent/agent.key"},
      {agent_cert_.cert, agent_cert_.key, "/nonexistent/ca.crt", "/nonexistent/ca.crt"},
      {garbage, agent_cert_.key, pki_->ca_cert(), "cannot load certificate " + garbage},
      {agent_cert_.cert, instance_client_.key, pki_->ca_cert(), "does not match"},
      {pki_->controller().cert, pki_->controller().key, pki_->ca_cert(), "spiffe://claworc/instance/"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    ProcessOutput out = RunProcess({kAgentBinary, "--listen", "127.0.0.1:0", "--cert", c.cert, "--key", c.key,
                                    "--ca", c.ca, "--root", root_});
    EXPECT_NE(out.exit_code, 0);
    EXPECT_NE(out.output.find(c.message), std::string::npos) << out.output;
    EXPECT_EQ(std::count(out.output.begin(), out.output.end(), '\n'), 1) << out.output;
  }
  ProcessOutput no_ca = RunProcess({kAgentBinary, "--cert", agent_cert_.cert, "--key", agent_cert_.key});
  EXPECT_NE(no_ca.exit_code, 0);
  EXPECT_NE(no_ca.output.find("--ca"), std::string::npos) << no_ca.output;
  ProcessOutput bad_root = RunProcess({kAgentBinary, "--cert", agent_cert_.cert, "--key", agent_cert_.key, "--ca",
                                       pki_->ca_cert(), "--root", "/nonexistent-root"});
  EXPECT_NE(bad_root.exit_code, 0);
  EXPECT_NE(bad_root.output.find("/nonexistent-root"), std::string::npos) << bad_root.output;
  ProcessOutput bad_level = RunProcess({kAgentBinary, "--cert", agent_cert_.cert, "--key", agent_cert_.key, "--ca",
                                        pki_->ca_cert(), "--compression-level", "42"});
  EXPECT_NE(bad_level.exit_code, 0);
}

TEST(AgentCliTest, HelpAndVersion) {
  ProcessOutput version = RunProcess({kAgentBinary, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output, std::string("clawback-agent ") + kVersion + "\n");
  ProcessOutput help = RunProcess({kAgentBinary, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--listen", "--cert", "--key", "--ca", "--root", "--compression-level", "--threads",
                             "--allow-devices", "--max-transfers", "--stall-timeout", "--log-format", "--port-file",
                             "CLAWBACK_AGENT_LISTEN"}) {
    EXPECT_NE(help.output.find(option), std::string::npos) << option << "\n" << help.output;
  }
}

}  // namespace
}  // namespace clawback::testing
