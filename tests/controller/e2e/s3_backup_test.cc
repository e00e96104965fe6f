// End to end with CLAWORC_BACKUPS_PATH=s3://BUCKET/PREFIX on a real
// S3-protocol server (moto_server): a real `clawback serve` and real agents
// back up into the bucket, download (whole and by Range) what is stored
// there, restore from it and delete it; a controller killed mid-upload
// leaves no completed record and its multipart upload is aborted at the next
// start; an unreachable bucket fails the backup with a message that says
// so; Object Lock keeps a backup from being deleted before its date;
// missing credentials stop the service at start.
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "controller/storage/s3_client.h"
#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"
#include "tests/support/s3_server.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using controller::storage::S3Client;
using controller::storage::S3Config;

class S3BackupE2eTest : public E2eTest {
 protected:
  static void SetUpTestSuite() {
    auto s = S3Server::Start(fs::temp_directory_path() / ("moto-e2e-" + std::to_string(::getpid()) + ".log"));
    if (s.ok()) server_ = std::move(s).value().release();
    else std::fprintf(stderr, "moto_server: %s\n", s.status().message().c_str());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // A new bucket; the controller (started next) uses it through its
  // environment, inherited from this process.
  void UseBucket(const std::string& bucket, bool object_lock = false,
                 std::map<std::string, std::string> extra = {}) {
    ASSERT_NE(server_, nullptr) << "moto_server did not start";
    ASSERT_TRUE(server_->CreateBucket(bucket, object_lock).ok());
    bucket_ = bucket;
    auto env = server_->Environment();
    env["CLAWBACK_S3_MAX_ATTEMPTS"] = "3";
    for (auto& [k, v] : extra) env[k] = v;
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    set_.clear();
    for (const auto& [k, v] : env) set_.push_back(k);
  }
  void TearDown() override {
    for (const std::string& k : set_) ::unsetenv(k.c_str());
    E2eTest::TearDown();
  }
  S3Client Client() const {
    S3Config c;
    c.bucket = bucket_;
    c.prefix = "fleet/";
    c.endpoint = server_->Endpoint();
    c.path_style = true;
    c.access_key = "testing-key";
    c.secret_key = "testing-secret";
    return S3Client(c);
  }
  std::string Key(const json& b) const {
    return "fleet/" + b.value("instance_name", "?") + "/" + b.value("file_name", "?");
  }
  StackOptions OnS3() const {
    StackOptions o;
    o.backups_dir = "s3://" + bucket_ + "/fleet";
    return o;
  }
  std::vector<std::string> Keys() const {
    auto listed = Client().ListObjects("");
    std::vector<std::string> keys;
    if (listed.ok()) for (const auto& o : *listed) keys.push_back(o.key);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  static S3Server* server_;
  std::string bucket_;
  std::vector<std::string> set_;
};

S3Server* S3BackupE2eTest::server_ = nullptr;

TEST_F(S3BackupE2eTest, BackupDownloadRangeRestoreAndDeleteOnS3) {
  ASSERT_NO_FATAL_FAILURE(UseBucket("e2e-roundtrip"));
  ASSERT_NO_FATAL_FAILURE(StartStack(OnS3()));
  const std::string root_a = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  const auto [alpha, beta, root_b] = AddAlphaAndEmptyBeta(root_a);
  ASSERT_FALSE(HasFailure());

  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const int64_t id = b["id"].get<int64_t>();
  const std::string key = Key(b);
  // The archive and its sidecars: block digests, and the index read back
  // from the bucket before the record said completed.
  EXPECT_EQ(Keys(), (std::vector<std::string>{key, key + ".blocks", key + ".index"}));
  auto stored = Client().GetObject(key);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_EQ(stored->size(), b["size_bytes"].get<uint64_t>());
  auto uploads = Client().ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());

  // Download: byte-identical to the object, whole and from an offset.
  const std::string url = "/api/v1/backups/" + std::to_string(id) + "/download";
  const std::string downloaded = stack_->tmp().Sub("download.tar.zst");
  PlainResponse dl = stack_->Download(url, downloaded);
  ASSERT_EQ(dl.status, 200) << dl.Describe();
  EXPECT_TRUE(dl.complete) << dl.error;
  EXPECT_EQ(dl.headers["content-length"], std::to_string(stored->size()));
  EXPECT_EQ(dl.headers["etag"], "\"" + b["sha256"].get<std::string>() + "\"");
  EXPECT_TRUE(ReadFile(downloaded) == *stored);
  EXPECT_EQ(Sha256OfFile(downloaded), b["sha256"].get<std::string>());
  const uint64_t offset = stored->size() / 3;
  const std::string part = stack_->tmp().Sub("part");
  PlainResponse ranged = stack_->Download(url, part, {{"Range", "bytes=" + std::to_string(offset) + "-"}});
  ASSERT_EQ(ranged.status, 206) << ranged.Describe();
  EXPECT_EQ(ranged.headers["content-range"], "bytes " + std::to_string(offset) + "-" +
                                                 std::to_string(stored->size() - 1) + "/" +
                                                 std::to_string(stored->size()));
  EXPECT_TRUE(ReadFile(part) == stored->substr(offset));

  // Restore from the bucket into the second instance.
  PlainResponse started = stack_->CreateRestore(id, beta["id"]);
  ASSERT_EQ(started.status, 202) << started.Describe();
  bool ok = false;
  json r = stack_->WaitRestoreFinal(started.Json()["id"].get<int64_t>(), 90s, &ok);
  ASSERT_TRUE(ok) << r.dump();
  ASSERT_EQ(r.value("status", ""), "completed") << r.dump() << stack_->Logs();
  EXPECT_EQ(CompareTrees(root_a + "/home/claworc", root_b + "/home/claworc"), "");

  // A partial restore (one subtree) re-encodes verified blocks read from the bucket.
  const std::string partial_root = stack_->tmp().Sub("root-gamma");
  fs::create_directories(partial_root);
  json gamma = AddInstance("gamma", partial_root);
  ASSERT_FALSE(HasFailure());
  PlainResponse partial = stack_->Call("POST", "/api/v1/backups/" + std::to_string(id) + "/restore",
                                       json{{"instance_id", gamma["id"]}, {"paths", {"/home/claworc/bin"}}});
  ASSERT_EQ(partial.status, 202) << partial.Describe();
  json pr = stack_->WaitRestoreFinal(partial.Json()["id"].get<int64_t>(), 90s, &ok);
  ASSERT_TRUE(ok) << pr.dump();
  ASSERT_EQ(pr.value("status", ""), "completed") << pr.dump();
  EXPECT_EQ(CompareTrees(root_a + "/home/claworc/bin", partial_root + "/home/claworc/bin"), "");
  EXPECT_FALSE(fs::exists(partial_root + "/home/claworc/logs")) << "only the selected subtree";

  // Delete: the record and every object go.
  PlainResponse del = stack_->Call("DELETE", "/api/v1/backups/" + std::to_string(id));
  EXPECT_EQ(del.status, 204) << del.Describe();
  EXPECT_TRUE(Keys().empty());
  EXPECT_EQ(stack_->Call("GET", "/api/v1/backups/" + std::to_string(id)).status, 404);
}

TEST_F(S3BackupE2eTest, BrowseAndVerifyReadTheArchiveFromTheBucket) {
  ASSERT_NO_FATAL_FAILURE(UseBucket("e2e-browse"));
  ASSERT_NO_FATAL_FAILURE(StartStack(OnS3()));
  const std::string root = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  json alpha = AddInstance("alpha", root);
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const std::string base = "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>());

  // Listing: every entry of the source directory, in the backup.
  PlainResponse listed = stack_->Call("GET", base + "/files?path=%2Fhome%2Fclaworc&limit=500");
  ASSERT_EQ(listed.status, 200) << listed.Describe();
  std::set<std::string> want, got;
  for (const auto& e : fs::directory_iterator(root + "/home/claworc")) want.insert(e.path().filename().string());
  const json listing = listed.Json();
  for (const auto& e : listing["entries"]) got.insert(e["name"].get<std::string>());
  EXPECT_EQ(got, want) << listed.body;
  // The catalog came with the backup; browsing used it (no rebuild).
  EXPECT_EQ(Keys(), (std::vector<std::string>{Key(b), Key(b) + ".blocks", Key(b) + ".index"}));

  // A file's content, byte for byte.
  std::string file;
  for (const auto& e : fs::recursive_directory_iterator(root + "/home/claworc")) {
    if (e.is_regular_file() && !e.is_symlink() && e.file_size() > 0) {
      file = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(file.empty());
  std::string encoded;
  for (char c : file.substr(root.size())) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      encoded.push_back(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      encoded += hex;
    }
  }
  PlainResponse content = stack_->Call("GET", base + "/files/content?path=" + encoded);
  ASSERT_EQ(content.status, 200) << content.Describe();
  EXPECT_TRUE(content.body == ReadFile(file)) << file;

  // Verification re-reads the whole archive from the bucket.
  PlainResponse v = stack_->Call("POST", base + "/verify");
  ASSERT_EQ(v.status, 202) << v.Describe();
  json last;
  ASSERT_TRUE(WaitFor(
      [&] {
        last = stack_->GetBackup(b["id"].get<int64_t>());
        return last["verification"].is_object() && last["verification"]["status"] != "running";
      },
      30s))
      << last.dump();
  EXPECT_EQ(last["verification"].value("status", ""), "passed") << last.dump();
  EXPECT_EQ(last["verification"].value("archive_bytes", uint64_t{0}), b["size_bytes"].get<uint64_t>());

  // A corrupted object fails verification (and browsing new files) loudly.
  auto stored = Client().GetObject(Key(b));
  ASSERT_TRUE(stored.ok());
  std::string bad = *stored;
  bad[bad.size() / 2] ^= 0x40;
  ASSERT_TRUE(Client().PutObject(Key(b), bad).ok());
  v = stack_->Call("POST", base + "/verify");
  ASSERT_EQ(v.status, 202) << v.Describe();
  ASSERT_TRUE(WaitFor(
      [&] {
        last = stack_->GetBackup(b["id"].get<int64_t>());
        return last["verification"].is_object() && last["verification"]["status"] != "running" &&
               last["verification"].value("status", "") != "passed";
      },
      30s))
      << last.dump();
  EXPECT_EQ(last["verification"].value("status", ""), "failed") << last.dump();
}

TEST_F(S3BackupE2eTest, ScheduleRetentionPrunesArchivesFromTheBucket) {
  ASSERT_NO_FATAL_FAILURE(UseBucket("e2e-retention"));
  ASSERT_NO_FATAL_FAILURE(StartStack(OnS3()));
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  PlainResponse created = stack_->Call(
      "POST", "/api/v1/backup-schedules",
      json{{"name", "nightly"}, {"instance_ids", {alpha["id"]}}, {"cron", "0 2 * * *"}, {"retention", {{"keep_last", 1}}}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const int64_t schedule = created.Json()["id"].get<int64_t>();
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    // The previous run's job may still hold the instance for a moment (its
    // retention runs after the record says completed): a run then skips it.
    PlainResponse run;
    ASSERT_TRUE(WaitFor(
        [&] {
          run = stack_->Call("POST", "/api/v1/backup-schedules/" + std::to_string(schedule) + "/run");
          if (run.status != 202) return true;
          const json started = run.Json()["backups"];
          return started.is_array() ? !started.empty() : started.is_number() && started.get<int64_t>() > 0;
        },
        20s, 100ms))
        << run.Describe();
    ASSERT_EQ(run.status, 202) << run.Describe();
    // The run's backup, then the retention that follows it.
    json listed;
    ASSERT_TRUE(WaitFor(
        [&] {
          listed = stack_->Call("GET", "/api/v1/backups?instance=" + std::to_string(alpha["id"].get<int64_t>())).Json();
          for (const auto& b : listed["backups"]) {
            if (b.value("status", "") != "completed") return false;
          }
          return listed["backups"].size() == 1 && (ids.empty() || listed["backups"][0]["id"] != ids.back());
        },
        60s))
        << listed.dump();
    ids.push_back(listed["backups"][0]["id"].get<int64_t>());
  }
  // Only the newest backup's archive and sidecars are left in the bucket
  // (the records go first, then the objects: wait for the last prune).
  json newest = stack_->GetBackup(ids.back());
  const std::vector<std::string> want = {Key(newest), Key(newest) + ".blocks", Key(newest) + ".index"};
  EXPECT_TRUE(WaitFor([&] { return Keys() == want; }, 10s)) << ::testing::PrintToString(Keys());
}

TEST_F(S3BackupE2eTest, ControllerKilledMidUploadLeavesNoCompletedRecordAndTheUploadIsAbortedAtRestart) {
  ASSERT_NO_FATAL_FAILURE(UseBucket("e2e-killed"));
  ASSERT_NO_FATAL_FAILURE(StartStack(OnS3()));
  json alpha = AddInstance("alpha", BigRoot(), SlowAgentArgs());
  ASSERT_FALSE(HasFailure());
  const int64_t id = StartBackup(alpha["id"].get<int64_t>());
  ASSERT_GT(id, 0);
  bool ok = false;
  json running = stack_->WaitBackup(
      id,
      [](const json& j) {
        return j.value("status", "") != "queued" &&
               (j.value("status", "") != "running" || j.value("progress_bytes", 0) > 0);
      },
      60s, &ok);
  ASSERT_EQ(running.value("status", ""), "running") << running.dump();
  auto uploads = Client().ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), 1u) << "the backup streams into a multipart upload";
  EXPECT_EQ(uploads->front().key.rfind("fleet/alpha/alpha-" + std::to_string(id) + "-", 0), 0u)
      << uploads->front().key;

  stack_->KillController();
  uploads = Client().ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_EQ(uploads->size(), 1u) << "a killed controller cannot abort its upload";

  ASSERT_TRUE(stack_->StartController().ok()) << stack_->Logs();
  json after = stack_->GetBackup(id);
  EXPECT_EQ(after.value("status", ""), "failed") << after.dump();
  EXPECT_NE(after.value("error_message", "").find("interrupted"), std::string::npos) << after.dump();
  uploads = Client().ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty()) << "the restart aborted the orphaned upload";
  EXPECT_TRUE(Keys().empty()) << "no archive object was completed";
}

TEST_F(S3BackupE2eTest, UnreachableBucketFailsTheBackupWithAClearMessage) {
  ASSERT_NO_FATAL_FAILURE(UseBucket("e2e-unreachable", false,
                                    {{"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9"},
                                     {"CLAWBACK_S3_MAX_ATTEMPTS", "2"}}));
  ASSERT_NO_FATAL_FAILURE(StartStack(OnS3()));
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  const int64_t id = StartBackup(alpha["id"].get<int64_t>());
  bool ok = false;
  json b = stack_->WaitBackupFinal(id, 60s, &ok);
  ASSERT_TRUE(ok) << b.dump();
  EXPECT_EQ(b.value("status", ""), "failed") << b.dump();
  EXPECT_NE(b.value("error_message", "").find("s3: bucket e2e-unreachable unreachable at http://127.0.0.1:9"),
            std::string::npos)
      << b.dump();
}

TEST_F(S3BackupE2eTest, ObjectLockKeepsABackupUntilItsRetainUntilDate) {
  ASSERT_NO_FATAL_FAILURE(UseBucket("e2e-locked", true, {{"CLAWBACK_S3_OBJECT_LOCK_DAYS", "1"}}));
  ASSERT_NO_FATAL_FAILURE(StartStack(OnS3()));
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  auto until = Client().GetObjectRetention(Key(b));
  ASSERT_TRUE(until.ok()) << until.status().message();
  ASSERT_TRUE(until->has_value()) << "the completed archive carries a retention date";
  PlainResponse del = stack_->Call("DELETE", "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()));
  EXPECT_EQ(del.status, 409) << del.Describe();
  EXPECT_NE(del.body.find("Object Lock"), std::string::npos) << del.body;
  EXPECT_EQ(stack_->GetBackup(b["id"].get<int64_t>()).value("status", ""), "completed");
  EXPECT_EQ(Keys().size(), 3u);
}

TEST_F(S3BackupE2eTest, MissingCredentialsStopTheServiceAtStart) {
  TempDir dir("clawback-s3-creds-");
  ProcessOutput out = RunWithEnv({ClawbackBinary(), "serve", "--data-dir", dir.Sub("data"), "--listen", "127.0.0.1:0"},
                                 {{"CLAWORC_BACKUPS_PATH", "s3://clawback/fleet"},
                                  {"AWS_ACCESS_KEY_ID", ""},
                                  {"AWS_SECRET_ACCESS_KEY", ""},
                                  {"AWS_SHARED_CREDENTIALS_FILE", dir.Sub("none")},
                                  {"HOME", dir.path()}},
                                 20s);
  EXPECT_NE(out.exit_code, 0) << out.output;
  EXPECT_TRUE(ContainsNoCase(out.output, "s3://clawback/fleet: no AWS credentials")) << out.output;
}

}  // namespace
}  // namespace clawback::testing
