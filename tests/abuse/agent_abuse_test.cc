// Hostile input against a real clawback-agent over real mTLS: requests from
// the wrong identities, wrong methods and paths, malformed and oversized
// backup requests, path tricks, broken HTTP inside TLS, slow connections;
// then hostile archives POSTed to /v1/restore (built with libarchive here):
// traversal, absolute names, symlink races, hardlinks out of the root,
// device nodes and FIFOs, gigantic pax headers, zstd bombs, a frame that
// claims a 2 GiB window. Nothing may be written outside the restore root and
// the agent's peak RSS (VmHWM) must stay bounded. The engine-level cases are
// in tests/agent/archive/hostile_archive_test.cc and the basic process-level
// one in tests/integration/agent_server_test.cc; these add the rest.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/abuse/hostile_tar.h"
#include "tests/abuse/raw_wire.h"
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
using Type = TarEntry::Type;

constexpr char kAgentBinary[] = CLAWBACK_AGENT_BINARY;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Everything under `dir` (not following symlinks): path -> type, size, mode,
// content hash.
std::map<std::string, std::string> Inventory(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::string v = std::to_string(st.st_mode) + ":" + std::to_string(st.st_size) + ":" +
                    std::to_string(st.st_mtim.tv_sec) + ":" + std::to_string(st.st_nlink);
    if (S_ISREG(st.st_mode)) v += ":" + Sha256OfFile(it->path().string());
    out[fs::relative(it->path(), dir).string()] = v;
  }
  return out;
}

class AgentAbuseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // TLS writes to a connection the agent closed
    tmp_ = new TempDir("clawback-agent-abuse-");
    auto pki = TestPki::Create(tmp_->Sub("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = new TestPki(*pki);
    auto other = TestPki::Create(tmp_->Sub("other-pki"));
    ASSERT_TRUE(other.ok());
    other_pki_ = new TestPki(*other);
    auto agent = pki_->IssueInstance("alpha");
    ASSERT_TRUE(agent.ok());
    agent_cert_ = *agent;
    auto beta = pki_->IssueInstance("beta");
    ASSERT_TRUE(beta.ok());
    instance_client_ = *beta;
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete other_pki_;
    delete tmp_;
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& root, std::vector<std::string> extra = {}) {
    auto agent = AgentProcess::Start(
        {kAgentBinary, tmp_->path(), agent_cert_.cert, agent_cert_.key, pki_->ca_cert(), root, std::move(extra)});
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }
  // A container root <tmp>/<name> with `small_files` small files (no big one)
  // under /home/claworc.
  static std::string SmallRoot(const std::string& name, int small_files) {
    const std::string root = tmp_->Sub(name);
    TreeSpec spec;
    spec.small_files = small_files;
    spec.big_file_bytes = 0;
    GenerateTree(root + "/home/claworc", spec);
    return root;
  }
  static ClientIdentity Controller() { return {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key}; }
  static RawTls ControllerTls() { return {pki_->ca_cert(), pki_->controller().cert, pki_->controller().key}; }

  void Record(const std::string& category, int status, const std::string& detail) {
    ++tried_;
    ++by_category_[category];
    ++by_status_[status];
    if (status != 0 && (status < 400 || status >= 500)) {
      ADD_FAILURE() << "[" << category << "] answered " << status << ": " << detail.substr(0, 500);
    }
  }

  void Expect4xx(uint16_t port, const std::string& category, const ClientIdentity& id, HttpRequest r) {
    r.timeout = 20s;
    auto res = SendRequest(port, id, r);
    Record(category, res.ok() ? res->status : 0,
           r.method + " " + r.target + " body " + r.body.substr(0, 200) + " -> " +
               (res.ok() ? res->body.substr(0, 200) : res.status().ToString()));
  }

  void ExpectHealthy(uint16_t port) {
    auto res = SendRequest(port, Controller(), HttpRequest{});
    EXPECT_TRUE(res.ok() && res->status == 200) << (res.ok() ? res->body : res.status().ToString());
    HttpRequest info;
    info.target = "/v1/info";
    auto i = SendRequest(port, Controller(), info);
    EXPECT_TRUE(i.ok() && i->status == 200) << (i.ok() ? i->body : i.status().ToString());
  }

  static TempDir* tmp_;
  static TestPki* pki_;
  static TestPki* other_pki_;
  static CertFiles agent_cert_, instance_client_;
  int tried_ = 0;
  std::map<std::string, int> by_category_;
  std::map<int, int> by_status_;
};

TempDir* AgentAbuseTest::tmp_ = nullptr;
TestPki* AgentAbuseTest::pki_ = nullptr;
TestPki* AgentAbuseTest::other_pki_ = nullptr;
CertFiles AgentAbuseTest::agent_cert_, AgentAbuseTest::instance_client_;

TEST_F(AgentAbuseTest, HostileRequestsAreRefused) {
  const std::string root = SmallRoot("root-requests", 10);
  const auto before = Inventory(root);
  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);
  const uint16_t port = agent->port();

  // Identities: none, an instance's certificate, another CA's controller.
  const std::vector<std::pair<std::string, ClientIdentity>> identities = {
      {"no client certificate", {pki_->ca_cert(), "", ""}},
      {"instance certificate", {pki_->ca_cert(), instance_client_.cert, instance_client_.key}},
      {"foreign CA", {pki_->ca_cert(), other_pki_->controller().cert, other_pki_->controller().key}},
  };
  for (const auto& [what, id] : identities) {
    for (const char* target : {"/v1/backup", "/v1/restore", "/v1/info"}) {
      HttpRequest r;
      r.method = std::string(target) == "/v1/info" ? "GET" : "POST";
      r.target = target;
      r.body = R"({"paths":["HOME"]})";
      Expect4xx(port, "identity: " + what, id, r);
    }
  }
  // Methods and paths.
  for (const char* target : {"/v1/backup", "/v1/restore", "/v1/info", "/healthz"}) {
    for (const char* m : {"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "POST"}) {
      const bool allowed = (std::string(m) == "POST" && std::string(target).rfind("/v1/", 0) == 0 &&
                            std::string(target) != "/v1/info") ||
                           (std::string(m) == "GET" && (std::string(target) == "/v1/info" ||
                                                        std::string(target) == "/healthz"));
      if (allowed) continue;
      HttpRequest r;
      r.method = m;
      r.target = target;
      Expect4xx(port, "wrong method", Controller(), r);
    }
  }
  for (const char* target : {"/", "/v1", "/v1/", "/v2/backup", "/v1/backup/", "/v1/../v1/backup", "/v1/%2e%2e/backup",
                             "/V1/BACKUP", "//v1/backup", "/v1/backup%00", "/v1/backup/../../etc/passwd",
                             "/v1/restore/x", "/admin", "/metrics", "/v1/info/.."}) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = R"({"paths":["HOME"]})";
    Expect4xx(port, "unknown path", Controller(), r);
  }
  ExpectHealthy(port);

  // Backup requests: not JSON objects, wrong types, path tricks, too many, too big.
  std::vector<std::string> bodies = {
      "not json", "{", "[]", "\"HOME\"", "42", "null", "{\"paths\":\"HOME\"}", "{\"paths\":[1]}",
      "{\"paths\":[null]}", "{\"paths\":[[]]}", "{\"paths\":{}}", "{\"paths\":[\"\\ud800\"]}",
      "{\"paths\":[\"\xff\"]}", "{\"paths\":[\"\xc0\xae\xc0\xae\"]}", std::string("{\"paths\":[\"/a\0\"]}", 15),
      std::string(60000, '['), "{\"paths\":" + std::string(30000, '[') + std::string(30000, ']') + "}",
      "{\"paths\":[\"" + std::string(70 * 1024, 'a') + "\"]}"};
  for (const std::string& p :
       {"", "relative", "home/claworc", "~", "/..", "/home/claworc/..", "/home/claworc/../../etc", "/../etc",
        "/proc", "/proc/self/environ", "/sys", "/dev", "/dev/sda", "/tmp", "/run", "//proc", "/./sys",
        "/home/claworc/does-not-exist", "/etc/shadow-missing", "C:\\x", "\xef\xbc\x8f" "etc", "' OR 1=1 --",
        "$(reboot)", "/home/claworc/\xe2\x80\xae" "cod.exe-missing"}) {
    bodies.push_back(json{{"paths", json::array({p})}}.dump());
    // (A path under HOME would be folded into it, so pair those with another root.)
    const bool under_home = std::string(p).rfind("/home/claworc/", 0) == 0;
    bodies.push_back(json{{"paths", json::array({under_home ? "/etc" : "HOME", p})}}.dump());
  }
  bodies.push_back(json{{"paths", json::array({"/" + std::string(5000, 'a')})}}.dump());
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back("/home/claworc/p" + std::to_string(i));
  bodies.push_back(json{{"paths", many}}.dump());
  json more = json::array();
  for (int i = 0; i < 3000; ++i) more.push_back("HOME");
  bodies.push_back(json{{"paths", more}}.dump());
  for (const std::string& b : bodies) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = b;
    Expect4xx(port, "backup request", Controller(), r);
  }
  for (const char* ct : {"text/plain", "", "application/x-www-form-urlencoded"}) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = "paths=HOME&x=1";
    r.content_type = ct;
    Expect4xx(port, "backup content type", Controller(), r);
  }
  ExpectHealthy(port);

  // Broken HTTP inside TLS.
  const RawTls tls = ControllerTls();
  const std::string host = "Host: agent\r\n";
  const std::vector<std::pair<std::string, std::string>> wire = {
      {"garbage", "GARBAGE\r\n\r\n"},
      {"bad version", "POST /v1/backup HTTP/7.0\r\n" + host + "\r\n"},
      {"negative length", "POST /v1/backup HTTP/1.1\r\n" + host + "Content-Length: -5\r\n\r\n"},
      {"conflicting lengths", "POST /v1/backup HTTP/1.1\r\n" + host +
                                  "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{}"},
      {"bad chunk", "POST /v1/backup HTTP/1.1\r\n" + host +
                        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"},
      {"header too large", "POST /v1/backup HTTP/1.1\r\n" + host + "X-Big: " + std::string(9000, 'b') + "\r\n\r\n"},
      {"too many headers", "POST /v1/backup HTTP/1.1\r\n" + host + [] {
         std::string h;
         for (int i = 0; i < 300; ++i) h += "X-" + std::to_string(i) + ": vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n";
         return h;
       }() + "\r\n"},
      {"json body too large", "POST /v1/backup HTTP/1.1\r\n" + host + "Content-Type: application/json\r\n" +
                                  "Content-Length: 200000\r\n\r\n" + std::string(200000, ' ')},
      {"NUL in header", "POST /v1/backup HTTP/1.1\r\n" + host + std::string("X-A: a\0b\r\n\r\n", 12)},
      {"absolute-form", "POST https://evil/v1/backup HTTP/1.1\r\n" + host + "\r\n"},
      {"short body then close", "POST /v1/backup HTTP/1.1\r\n" + host +
                                    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"pa"},
      {"restore not tar", "POST /v1/restore HTTP/1.1\r\n" + host + "Content-Type: application/zstd\r\n" +
                              "Content-Length: 20\r\n\r\nthis is not zstd!!!!"},
  };
  for (const auto& [what, bytes] : wire) {
    RawReply reply = RawExchange(port, bytes, 15s, &tls);
    Record("wire (TLS): " + what, reply.status, reply.text.substr(0, 300));
  }
  ExpectHealthy(port);

  // Slow connections: TCP without a handshake, and handshaken TLS sending a
  // header byte at a time, under --max-connections (64); a backup request
  // meanwhile is served.
  {
    std::vector<std::unique_ptr<SlowClient>> slow;
    for (int i = 0; i < 24; ++i) {
      if (auto c = SlowClient::Open(port)) slow.push_back(std::move(c));  // no TLS handshake at all
    }
    for (int i = 0; i < 24; ++i) {
      auto c = SlowClient::Open(port, &tls);
      ASSERT_TRUE(c) << "TLS connection " << i;
      c->Send("POST /v1/backup HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      slow.push_back(std::move(c));
    }
    for (int round = 0; round < 3; ++round) {
      for (auto& c : slow) c->Send("a");
      HttpRequest r;
      r.method = "POST";
      r.target = "/v1/backup";
      r.body = R"({"paths":["/home/claworc/pkg0"]})";
      auto res = SendRequest(port, Controller(), r);
      ASSERT_TRUE(res.ok()) << res.status().ToString();
      EXPECT_EQ(res->status, 200) << res->body;
      EXPECT_TRUE(res->complete) << res->error;
      std::this_thread::sleep_for(300ms);
    }
    tried_ += static_cast<int>(slow.size());
    by_category_["slow connections (held open, service answered meanwhile)"] += static_cast<int>(slow.size());
  }
  ExpectHealthy(port);
  EXPECT_EQ(Inventory(root), before) << "a refused request changed the agent's tree";

  std::cout << "[abuse] agent requests: " << tried_ << " hostile cases; outcomes:";
  for (const auto& [status, n] : by_status_) std::cout << " " << (status ? std::to_string(status) : "closed") << "x" << n;
  std::cout << "\n";
  for (const auto& [c, n] : by_category_) std::cout << "[abuse]   " << c << ": " << n << "\n";
  std::cout << std::flush;
}

// Someone holding every connection slot open (sockets that never start a TLS
// handshake) cannot lock the controller out: at the limit the oldest unauthenticated connection is
// closed to make room.
TEST_F(AgentAbuseTest, ConnectionFloodCannotLockTheControllerOut) {
  const std::string root = SmallRoot("root-flood", 3);
  auto agent = StartAgent(root, {"--max-connections", "8"});
  ASSERT_TRUE(agent);
  const uint16_t port = agent->port();

  std::vector<std::unique_ptr<SlowClient>> flood;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 12; ++i) {
      if (auto c = SlowClient::Open(port)) flood.push_back(std::move(c));  // never handshakes
    }
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/backup";
    r.body = R"({"paths":["/home/claworc"]})";
    r.timeout = 20s;
    auto res = SendRequest(port, Controller(), r);
    ASSERT_TRUE(res.ok()) << "round " << round << ": " << res.status().ToString();
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_TRUE(res->complete) << res->error;
  }
  size_t closed = 0;
  for (auto& c : flood) closed += c->ClosedByServer() ? 1 : 0;
  EXPECT_GE(closed, flood.size() - 8) << "the agent must have closed flood sockets beyond its limit";
  EXPECT_NE(agent->Log().find("closed the oldest unauthenticated connection"), std::string::npos);
  ExpectHealthy(port);
  tried_ += static_cast<int>(flood.size());
  std::cout << "[abuse] connection flood: " << flood.size() << " sockets against --max-connections 8, " << closed
            << " closed by the agent, the controller served every round\n";
}

TEST_F(AgentAbuseTest, HostileArchivesWriteNothingOutsideTheRootAndKeepMemoryBounded) {
  const std::string base = tmp_->Sub("hostile-archives");
  const std::string root = base + "/root";
  const std::string outside = base + "/outside";
  fs::create_directories(root + "/home/claworc");
  fs::create_directories(outside);
  std::ofstream(outside + "/bait.txt") << "original bait";
  std::ofstream(root + "/home/claworc/keep.txt") << "keep me";
  // A symlink already in the target that points out of the root.
  fs::create_symlink(outside, root + "/home/claworc/planted");
  // The zstd bomb's decompressed bytes land on a small tmpfs inside the root,
  // so "disk full" ends it instead of the host's disk.
  fs::create_directories(root + "/home/claworc/bombs");
  const bool tmpfs = ::mount("tmpfs", (root + "/home/claworc/bombs").c_str(), "tmpfs", 0, "size=32m") == 0;

  auto outside_before = Inventory(outside);
  auto agent = StartAgent(root);
  ASSERT_TRUE(agent);
  const uint16_t port = agent->port();

  auto restore = [&](const std::string& what, const std::string& archive) {
    const std::string file = base + "/" + std::to_string(tried_) + ".tar.zst";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << archive;
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/restore";
    r.upload_file = file;
    r.content_type = "application/zstd";
    r.timeout = 120s;
    auto res = SendRequest(port, Controller(), r);
    ++tried_;
    ++by_category_[what];
    EXPECT_TRUE(res.ok()) << what << ": " << res.status().ToString();
    json body = res.ok() ? json::parse(res->body, nullptr, false) : json();
    const int status = res.ok() ? res->status : 0;
    ++by_status_[status];
    std::cout << "[abuse] restore " << what << ": " << status << " written "
              << (body.is_object() ? body.value("entries_written", -1) : -1) << " skipped "
              << (body.is_object() && body.contains("skipped") ? body["skipped"].size() : 0)
              << (body.is_object() && body.contains("error") ? " error: " + body["error"].get<std::string>() : "")
              << "; agent VmHWM " << agent->PeakRssKiB() / 1024 << " MiB" << std::endl;
    EXPECT_TRUE(status == 200 || status == 422 || status == 429 || status == 400) << what << ": " << res->body;
    EXPECT_EQ(Inventory(outside), outside_before) << what << " changed something outside the root";
    EXPECT_EQ(ReadFile(outside + "/bait.txt"), "original bait") << what;
    return body;
  };

  // Warm-up: a normal restore, for the memory baseline.
  restore("normal archive", BuildTarZstd({{"home/claworc/normal.txt", Type::kFile, std::string(1 << 20, 'n')}}));
  const uint64_t baseline_kib = agent->PeakRssKiB();

  const std::string abs_target = outside + "/abs.txt";
  restore("traversal and absolute names",
          BuildTarZstd({{"../escape.txt", Type::kFile, "x"},
                        {"home/claworc/../../../outside/dotdot.txt", Type::kFile, "x"},
                        {"home/../../outside/dotdot2.txt", Type::kFile, "x"},
                        {abs_target, Type::kFile, "x"},
                        {"/" + outside.substr(1) + "/abs2.txt", Type::kFile, "x"},
                        {"./../outside/dot.txt", Type::kFile, "x"},
                        {"home/claworc/ok.txt", Type::kFile, "fine"}}));
  EXPECT_EQ(ReadFile(root + "/home/claworc/ok.txt"), "fine") << "good entries still land";

  restore("symlink race",
          BuildTarZstd({{"home/claworc/race", Type::kSymlink, "", 0, outside},
                        {"home/claworc/race/through.txt", Type::kFile, "pwned"},
                        {"home/claworc/rel", Type::kSymlink, "", 0, "../../../outside"},
                        {"home/claworc/rel/through2.txt", Type::kFile, "pwned"},
                        {"home/claworc/rel/sub", Type::kDir},
                        {"home/claworc/dir-then-link", Type::kDir},
                        {"home/claworc/dir-then-link", Type::kSymlink, "", 0, outside},
                        {"home/claworc/dir-then-link/x.txt", Type::kFile, "pwned"},
                        {"home/claworc/planted/through3.txt", Type::kFile, "pwned"},
                        {"home/claworc/bait-link", Type::kSymlink, "", 0, outside + "/bait.txt"},
                        {"home/claworc/bait-link", Type::kFile, "overwrite through symlink"}}));

  restore("hardlinks out of the root",
          BuildTarZstd({{"home/claworc/h1", Type::kHardlink, "", 0, "../../outside/bait.txt"},
                        {"home/claworc/h2", Type::kHardlink, "", 0, outside + "/bait.txt"},
                        {"home/claworc/h3", Type::kHardlink, "pwned through hardlink", 0, outside + "/bait.txt"},
                        {"home/claworc/h4", Type::kHardlink, "", 0, "home/claworc/planted/bait.txt"},
                        {"home/claworc/h5", Type::kHardlink, "", 0, "proc/self/environ"}}));
  for (const char* h : {"h1", "h2", "h3", "h4"}) {
    struct stat st {};
    if (::lstat((root + "/home/claworc/" + h).c_str(), &st) == 0) {
      struct stat bait {};
      ::stat((outside + "/bait.txt").c_str(), &bait);
      EXPECT_NE(st.st_ino, bait.st_ino) << h << " is linked to a file outside the root";
    }
  }

  restore("device nodes, fifos, sockets",
          BuildTarZstd({{"home/claworc/null", Type::kCharDevice},
                        {"home/claworc/disk", Type::kBlockDevice},
                        {"home/claworc/fifo", Type::kFifo},
                        {"dev/evil", Type::kCharDevice},
                        {"proc/evil.txt", Type::kFile, "x"},
                        {"sys/evil.txt", Type::kFile, "x"}}));
  for (const char* n : {"null", "disk", "fifo"}) {
    struct stat st {};
    if (::lstat((root + "/home/claworc/" + n).c_str(), &st) == 0)
      EXPECT_TRUE(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) << n << " was created as a special file";
  }
  EXPECT_FALSE(fs::exists(root + "/proc/evil.txt"));
  EXPECT_FALSE(fs::exists(root + "/sys/evil.txt"));

  {
    TarEntry long_name{"home/claworc/" + std::string(4 << 20, 'n'), Type::kFile, "x"};
    TarEntry big_xattr{"home/claworc/xattr.txt", Type::kFile, "x"};
    big_xattr.xattrs["user.big"] = std::string(48 << 20, 'x');
    TarEntry many_xattrs{"home/claworc/many-xattrs.txt", Type::kFile, "x"};
    for (int i = 0; i < 20000; ++i) many_xattrs.xattrs["user.k" + std::to_string(i)] = std::string(100, 'v');
    restore("gigantic pax headers", BuildTarZstd({long_name, big_xattr, many_xattrs,
                                                  {"home/claworc/after-pax.txt", Type::kFile, "after"}}));
  }

  {
    std::vector<TarEntry> refused;
    for (int i = 0; i < 100000; ++i) refused.push_back({"../refused-" + std::to_string(i), Type::kFile, ""});
    restore("100k refused entries", BuildTarZstd(refused));
  }

  {
    TarEntry bomb{"home/claworc/bombs/zeros.bin", Type::kFile};
    bomb.zero_bytes = tmpfs ? (4ull << 30) : (256ull << 20);  // 4 GiB of zeros into a 32 MiB tmpfs
    const std::string archive = BuildTarZstd({bomb}, 19);
    std::cout << "[abuse] zstd bomb: " << archive.size() << " compressed bytes for " << (bomb.zero_bytes >> 20)
              << " MiB" << std::endl;
    restore("zstd bomb (written)", archive);
    TarEntry skipped_bomb{"../bomb.bin", Type::kFile};
    skipped_bomb.zero_bytes = 2ull << 30;  // refused, but its bytes still have to be read past
    restore("zstd bomb (refused entry)", BuildTarZstd({skipped_bomb}, 19));
  }

  restore("2 GiB window frame", HugeWindowFrame());
  restore("garbage after a valid frame",
          BuildTarZstd({{"home/claworc/tail.txt", Type::kFile, "t"}}) + std::string(4096, '\x42'));

  if (tmpfs) ::umount2((root + "/home/claworc/bombs").c_str(), MNT_DETACH);

  // Nothing escaped: outside unchanged (checked per archive), nothing above the root.
  for (const auto& e : fs::directory_iterator(base)) {
    const std::string n = e.path().filename().string();
    EXPECT_TRUE(n == "root" || n == "outside" || n.find(".tar.zst") != std::string::npos) << "written: " << n;
  }
  EXPECT_FALSE(fs::exists(tmp_->path() + "/escape.txt"));
  EXPECT_EQ(ReadFile(root + "/home/claworc/keep.txt"), "keep me");
  EXPECT_TRUE(fs::is_symlink(root + "/home/claworc/planted")) << "the planted symlink was followed or replaced";

  const uint64_t peak_kib = agent->PeakRssKiB();
  std::cout << "[abuse] hostile archives: " << tried_ << " restores; agent VmHWM " << baseline_kib / 1024
            << " MiB after a normal restore, " << peak_kib / 1024 << " MiB peak after all hostile ones" << std::endl;
  EXPECT_LT(peak_kib, baseline_kib + 128 * 1024) << "agent memory grew with hostile archives";
  auto health = SendRequest(port, Controller(), HttpRequest{});
  EXPECT_TRUE(health.ok() && health->status == 200);
}

// Issue 13: a transfer coding other than exactly "chunked" is refused with
// 400 before any body is read, and the connection closed, so bytes after
// the header can never be read as a second ("smuggled") request.
TEST_F(AgentAbuseTest, TransferCodingsOtherThanChunkedAreRefused) {
  auto agent = StartAgent(SmallRoot("root-te", 2));
  ASSERT_TRUE(agent);
  const RawTls tls = ControllerTls();
  const std::string smuggled = "GET /v1/info HTTP/1.1\r\nHost: agent\r\n\r\n";
  ExpectOnlyChunkedTransferCodingAccepted(
      agent->port(), "POST /v1/backup HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n", smuggled, &tls);
  // Exactly "chunked" (any case) still frames a body: "{}" is a backup request of the default paths.
  RawReply ok = RawExchange(agent->port(),
                            "POST /v1/backup HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                            15s, &tls);
  EXPECT_EQ(ok.status, 200) << ok.text.substr(0, 300);
}

}  // namespace
}  // namespace clawback::testing
