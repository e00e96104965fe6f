// Two `clawback serve` replicas on one PostgreSQL (a private PostgreSQL 15,
// tests/support/postgres_server.h) and one S3 bucket (a real moto_server,
// tests/support/s3_server.h), with real agents (issue 18). A schedule fires
// every minute; the leader is killed with SIGKILL right after it fired a
// slot, while that slot's slow backup streams into a multipart upload and
// the slot's other backup is already stored. Then:
//   - the survivor becomes the leader within seconds (measured, printed);
//   - every slot is fired exactly once (the audit log's schedule.fire
//     events: consecutive minutes, none twice, none missing);
//   - the dead replica's running backup is failed by the survivor once its
//     lease expired ("interrupted: controller replica <id> stopped") and its
//     multipart upload is aborted; nothing stays queued or running;
//   - the next slot is fired and its backups complete on the survivor;
//   - the bucket holds exactly the completed backups' objects (the one the
//     dead replica stored and the survivor's), each of its recorded size and
//     downloaded through the survivor's API with its recorded SHA-256; no
//     object and no open upload is left for a backup that did not complete;
//   - a session made on one replica is valid on the other.
// Runs for about two minutes (cron has minute resolution): label "slow".
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "controller/storage/s3_client.h"
#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"
#include "tests/support/postgres_server.h"
#include "tests/support/s3_server.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using controller::storage::S3Client;
using controller::storage::S3Config;

constexpr const char* kBucket = "replicas";
constexpr const char* kPrefix = "fleet/";  // CLAWORC_BACKUPS_PATH=s3://replicas/fleet on both replicas

class ReplicasE2eTest : public E2eTest {
 protected:
  static void SetUpTestSuite() {
    auto s =
        S3Server::Start(fs::temp_directory_path() / ("moto-replicas-" + std::to_string(::getpid()) + ".log"));
    if (s.ok()) {
      server_ = std::move(s).value().release();
    } else {
      std::fprintf(stderr, "moto_server: %s\n", s.status().message().c_str());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Creates the bucket; both replicas (started next) reach it through their
  // environment, inherited from this process.
  void UseBucket() {
    ASSERT_NE(server_, nullptr) << "moto_server did not start";
    ASSERT_TRUE(server_->CreateBucket(kBucket).ok());
    auto env = server_->Environment();
    env["CLAWBACK_S3_MAX_ATTEMPTS"] = "3";
    for (const auto& [k, v] : env) {
      ::setenv(k.c_str(), v.c_str(), 1);
      set_.push_back(k);
    }
  }
  void TearDown() override {
    for (const std::string& k : set_) ::unsetenv(k.c_str());
    E2eTest::TearDown();
  }
  static std::string BackupsUrl() { return std::string("s3://") + kBucket + "/fleet"; }
  S3Client Client() const {
    S3Config c;
    c.bucket = kBucket;
    c.prefix = kPrefix;
    c.endpoint = server_->Endpoint();
    c.path_style = true;
    c.access_key = "testing-key";
    c.secret_key = "testing-secret";
    return S3Client(c);
  }
  // The archive object of a backup record.
  static std::string Key(const json& b) {
    return kPrefix + b.value("instance_name", "?") + "/" + b.value("file_name", "?");
  }
  // What every object of a backup's archive starts with (its file name is
  // "<instance>-<id>-<time>.tar.zst"), known before the record has one.
  static std::string KeyPrefix(const json& b) {
    const std::string instance = b.value("instance_name", "?");
    return kPrefix + instance + "/" + instance + "-" + std::to_string(b["id"].get<int64_t>()) + "-";
  }
  std::set<std::string> Keys(const std::string& prefix) const {
    std::set<std::string> keys;
    auto listed = Client().ListObjects(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status().message();
    if (listed.ok()) {
      for (const auto& o : *listed) keys.insert(o.key);
    }
    return keys;
  }
  // Keys of the multipart uploads open under `prefix`.
  std::vector<std::string> OpenUploads(const std::string& prefix) const {
    std::vector<std::string> keys;
    auto uploads = Client().ListMultipartUploads(prefix);
    EXPECT_TRUE(uploads.ok()) << uploads.status().message();
    if (uploads.ok()) {
      for (const auto& u : *uploads) keys.push_back(u.key);
    }
    return keys;
  }

  static S3Server* server_;
  std::vector<std::string> set_;
};

S3Server* ReplicasE2eTest::server_ = nullptr;

// GET `path` on `port` with a session cookie; the JSON body (null on error).
nlohmann::json GetWithCookie(uint16_t port, const std::string& path, const std::string& cookie) {
  PlainRequest r;
  r.target = path;
  r.timeout = 5s;
  if (!cookie.empty()) r.headers = {{"Cookie", cookie}, {"Accept", "application/json"}};
  auto res = SendPlain(port, r);
  if (!res.ok() || res->status != 200) return nullptr;
  return res->Json();
}

// GET `path` on `port` with a session cookie, the body streamed into `file`.
PlainResponse DownloadWithCookie(uint16_t port, const std::string& path, const std::string& cookie,
                                 const std::string& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  PlainRequest r;
  r.target = path;
  r.headers = {{"Cookie", cookie}};
  r.on_body = [&out](const char* data, size_t size) {
    out.write(data, static_cast<std::streamsize>(size));
    return out ? Status::Ok() : Status::IoError("cannot write the download");
  };
  auto res = SendPlain(port, r);
  if (!res.ok()) {
    PlainResponse failed;
    failed.error = res.status().ToString();
    return failed;
  }
  return *res;
}

TEST_F(ReplicasE2eTest, LeaderKilledMidScheduleEverySlotFiredOnceSurvivorTakesOverOnS3) {
  ASSERT_NO_FATAL_FAILURE(UseBucket());
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  StackOptions options;
  options.controller_args = {"--database", url};
  options.backups_dir = BackupsUrl();
  ASSERT_NO_FATAL_FAILURE(StartStack(options));  // replica A

  json alpha = AddInstance("alpha", BigRoot(), SlowAgentArgs());  // streams for many seconds
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("root-beta")));
  ASSERT_FALSE(HasFailure());

  // Replica B: its own data dir with the same PKI (agents trust one CA), the
  // same database and bucket/prefix.
  const std::string b_data = stack_->tmp().Sub("replica-b-data");
  fs::create_directories(b_data);
  fs::copy(stack_->pki_dir(), b_data + "/pki", fs::copy_options::recursive);
  ControllerOptions bo;
  bo.binary = ClawbackBinary();
  bo.work_dir = stack_->tmp().Sub("replica-b");
  fs::create_directories(bo.work_dir);
  bo.data_dir = b_data;
  bo.backups_dir = BackupsUrl();
  bo.admin_password = E2eStack::kAdminPassword;
  bo.extra_args = {"--probe-interval", "1", "--database", url};
  auto b = ControllerProcess::Start(bo);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const uint16_t a_port = stack_->controller()->port();
  const uint16_t b_port = (*b)->port();

  json a_health, b_health;
  ASSERT_TRUE(WaitFor(
      [&] {
        a_health = GetWithCookie(a_port, "/healthz", "");
        b_health = GetWithCookie(b_port, "/healthz", "");
        return a_health.is_object() && b_health.is_object() && a_health["replica"]["leader"] == true &&
               b_health["replica"]["leader_id"] == a_health["replica"]["id"];
      },
      20s))
      << a_health.dump() << " " << b_health.dump();
  const std::string a_id = a_health["replica"]["id"];
  const std::string b_id = b_health["replica"]["id"];
  EXPECT_NE(a_id, b_id);
  EXPECT_EQ(b_health["replica"]["leader"], false);

  // A session made on A is valid on B (sessions live in the shared store).
  PlainRequest login;
  login.method = "POST";
  login.target = "/api/v1/auth/login";
  login.body = json{{"username", "admin"}, {"password", E2eStack::kAdminPassword}}.dump();
  auto signed_in = SendPlain(a_port, login);
  ASSERT_TRUE(signed_in.ok() && signed_in->status == 200);
  std::string cookie = signed_in->headers["set-cookie"];
  cookie = cookie.substr(0, cookie.find(';'));
  json on_b = GetWithCookie(b_port, "/api/v1/instances", cookie);
  ASSERT_TRUE(on_b.is_object() || on_b.is_array()) << "session from replica A refused by replica B";

  auto created = stack_->Call("POST", "/api/v1/backup-schedules",
                              json{{"name", "every-minute"}, {"all_instances", true}, {"cron", "* * * * *"}});
  ASSERT_EQ(created.status, 201) << created.Describe();

  // The fired slots, from the audit log (any replica answers).
  auto fired_slots = [&](uint16_t port) {
    std::map<int64_t, json> slots;  // slot -> its schedule.fire event
    std::vector<json> events;
    json page = GetWithCookie(port, "/api/v1/audit?action=schedule.fire&limit=500", cookie);
    if (page.is_object() && page.contains("events")) events = page["events"].get<std::vector<json>>();
    if (page.is_array()) events = page.get<std::vector<json>>();
    std::map<int64_t, int> seen;
    for (const json& e : events) {
      if (!e["detail"].contains("slot") || e["target"] != "schedule:every-minute") continue;
      const int64_t slot = e["detail"]["slot"].get<int64_t>();
      if (++seen[slot] > 1) ADD_FAILURE() << "slot " << slot << " fired twice";
      slots[slot] = e;
    }
    return slots;
  };
  auto backup_on = [&](uint16_t port, int64_t id) {
    return GetWithCookie(port, "/api/v1/backups/" + std::to_string(id), cookie);
  };

  // Slot 1 fires on A. A dies once beta's slot-1 backup is stored in the
  // bucket and alpha's streams (slowly) into an open multipart upload.
  std::map<int64_t, json> slots;
  ASSERT_TRUE(WaitFor([&] { return !(slots = fired_slots(a_port)).empty(); }, 75s, 200ms)) << stack_->Logs();
  const int64_t slot1 = slots.begin()->first;
  std::map<std::string, int64_t> slot1_backup;  // instance -> backup id
  for (int64_t id : slots.begin()->second["detail"]["backups"].get<std::vector<int64_t>>()) {
    slot1_backup[backup_on(a_port, id).value("instance_name", "?")] = id;
  }
  ASSERT_EQ(slot1_backup.size(), 2u) << slots.begin()->second.dump();
  ASSERT_TRUE(slot1_backup.count("alpha") && slot1_backup.count("beta")) << slots.begin()->second.dump();
  json alpha_streaming = backup_on(a_port, slot1_backup["alpha"]);
  json beta_stored;
  ASSERT_TRUE(WaitFor(
      [&] {
        alpha_streaming = backup_on(a_port, slot1_backup["alpha"]);
        beta_stored = backup_on(a_port, slot1_backup["beta"]);
        return alpha_streaming.value("status", "") == "running" &&
               alpha_streaming.value("progress_bytes", 0) > 0 &&
               !OpenUploads(KeyPrefix(alpha_streaming)).empty() &&
               beta_stored.value("status", "") == "completed";
      },
      60s, 100ms))
      << alpha_streaming.dump() << " " << beta_stored.dump() << stack_->Logs();
  stack_->KillController();
  const auto killed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(OpenUploads(KeyPrefix(alpha_streaming)).size(), 1u) << "a killed replica cannot abort its upload";

  // B leads within seconds of the lease running out (10 s ttl, 2 s renewals).
  ASSERT_TRUE(WaitFor(
      [&] {
        b_health = GetWithCookie(b_port, "/healthz", "");
        return b_health.is_object() && b_health["replica"]["leader"] == true;
      },
      30s, 100ms));
  const double takeover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  std::cout << "[ figures ] takeover after SIGKILL of the leader: " << takeover_s << " s\n";
  EXPECT_LE(takeover_s, 15.0);

  // Every slot-1 backup ends: completed by A before it died, or failed by B
  // as interrupted (alpha's, cut off mid-stream). None stays unfinished.
  std::map<int64_t, json> finals;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& [instance, id] : slot1_backup) {
          json bk = backup_on(b_port, id);
          if (!bk.is_object()) return false;
          const std::string st = bk["status"];
          if (st == "queued" || st == "running") return false;
          finals[id] = bk;
        }
        return true;
      },
      60s, 200ms))
      << (*b)->Log();
  int interrupted = 0;
  for (const auto& [id, bk] : finals) {
    if (bk["status"] == "failed") {
      EXPECT_EQ(bk["error_message"], "interrupted: controller replica " + a_id + " stopped") << bk.dump();
      ++interrupted;
    } else {
      EXPECT_EQ(bk["status"], "completed") << bk.dump();
    }
  }
  EXPECT_EQ(finals[slot1_backup["alpha"]].value("status", ""), "failed") << "alpha was streaming when A died";
  std::cout << "[ figures ] slot-1 backups: " << finals.size() << ", interrupted by the kill: " << interrupted
            << "\n";
  // The survivor aborts the dead replica's upload in the sweep that failed it.
  EXPECT_TRUE(WaitFor([&] { return OpenUploads(KeyPrefix(alpha_streaming)).empty(); }, 10s, 200ms))
      << "the interrupted backup's multipart upload is still open\n"
      << (*b)->Log();

  // Slot 2 fires on B (A is dead), once, and its backups complete.
  ASSERT_TRUE(WaitFor([&] { return (slots = fired_slots(b_port)).size() >= 2; }, 90s, 500ms)) << (*b)->Log();
  const int64_t slot2 = slots.rbegin()->first;
  EXPECT_EQ(slot2, slot1 + 60);
  std::vector<int64_t> slot2_backups =
      slots.rbegin()->second["detail"]["backups"].get<std::vector<int64_t>>();
  EXPECT_EQ(slot2_backups.size(), 2u) << slots.rbegin()->second.dump();
  for (int64_t id : slot2_backups) {
    bool ok = false;
    ASSERT_TRUE(WaitFor(
        [&] {
          json bk = backup_on(b_port, id);
          ok = bk.is_object() && bk["status"] == "completed";
          return bk.is_object() && bk["status"] != "queued" && bk["status"] != "running";
        },
        120s, 500ms));
    EXPECT_TRUE(ok) << backup_on(b_port, id).dump();
  }

  // Consecutive minutes, each fired once, none missing.
  slots = fired_slots(b_port);
  int64_t expected = slots.begin()->first;
  for (const auto& [slot, event] : slots) {
    EXPECT_EQ(slot, expected) << "a slot is missing before " << slot;
    expected = slot + 60;
  }

  // The bucket, against the records: every backup is one a slot fired; a
  // completed one has its archive (of the recorded size) and sidecars, one
  // that did not complete has no object at all, and nothing else is there.
  std::set<int64_t> fired_ids;
  for (const auto& [slot, event] : slots) {
    for (int64_t id : event["detail"]["backups"].get<std::vector<int64_t>>()) fired_ids.insert(id);
  }
  json listed = GetWithCookie(b_port, "/api/v1/backups?limit=100", cookie);
  ASSERT_TRUE(listed.is_object() && listed["backups"].is_array()) << listed.dump();
  std::set<int64_t> listed_ids;
  std::set<std::string> want_keys;
  std::vector<json> completed;
  for (const json& bk : listed["backups"]) {
    listed_ids.insert(bk["id"].get<int64_t>());
    if (bk["status"] == "completed") {
      completed.push_back(bk);
      for (const char* suffix : {"", ".blocks", ".index"}) want_keys.insert(Key(bk) + suffix);
      auto size = Client().HeadObject(Key(bk));
      ASSERT_TRUE(size.ok()) << Key(bk) << ": " << size.status().message();
      EXPECT_EQ(*size, bk["size_bytes"].get<uint64_t>()) << bk.dump();
    } else {
      EXPECT_EQ(bk["status"], "failed") << bk.dump();
      EXPECT_TRUE(Keys(KeyPrefix(bk)).empty()) << "objects of a backup that did not complete: " << bk.dump();
    }
  }
  EXPECT_EQ(listed_ids, fired_ids) << listed.dump();
  EXPECT_EQ(completed.size(), 3u) << listed.dump();
  EXPECT_EQ(Keys(kPrefix), want_keys);
  EXPECT_TRUE(OpenUploads(kPrefix).empty()) << ::testing::PrintToString(OpenUploads(kPrefix));

  // Downloaded through the survivor's API, each completed archive (the one
  // the dead replica stored and the survivor's) is the object, byte for
  // byte, with the recorded SHA-256.
  for (const json& bk : completed) {
    const std::string file = stack_->tmp().Sub("download-" + std::to_string(bk["id"].get<int64_t>()));
    PlainResponse dl = DownloadWithCookie(
        b_port, "/api/v1/backups/" + std::to_string(bk["id"].get<int64_t>()) + "/download", cookie, file);
    ASSERT_EQ(dl.status, 200) << dl.Describe() << dl.error;
    EXPECT_TRUE(dl.complete) << dl.error;
    EXPECT_EQ(fs::file_size(file), bk["size_bytes"].get<uint64_t>()) << bk.dump();
    EXPECT_EQ(Sha256OfFile(file), bk["sha256"].get<std::string>()) << bk.dump();
    auto stored = Client().GetObject(Key(bk));
    ASSERT_TRUE(stored.ok()) << stored.status().message();
    EXPECT_TRUE(ReadFile(file) == *stored) << Key(bk);
  }

  // The store says B holds the leader lease.
  PostgresServer* pg = SharedPostgresServer();
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(*pg->QueryValue(DatabaseOf(url), "SELECT holder FROM leases WHERE name = 'leader'"), b_id);
  (*b)->Signal(SIGTERM);
  (*b)->WaitExit(20s);
}

}  // namespace
}  // namespace clawback::testing
