// End to end through `clawback serve` and real agents: a backup completes,
// downloads byte-identical to the stored archive (whole and by Range), the
// archive extracts with GNU tar to the source tree, and restores into a second
// instance.
#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class BackupRestoreE2eTest : public E2eTest {};

TEST_F(BackupRestoreE2eTest, CompletedBackupDownloadsExtractsAndRestoresIntoSecondInstance) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  const std::string root_a = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  const auto [alpha, beta, root_b] = AddAlphaAndEmptyBeta(root_a);
  ASSERT_FALSE(HasFailure());

  json b = CompletedBackup(alpha["id"].get<int64_t>(), json{{"note", "e2e round trip"}});
  ASSERT_FALSE(HasFailure());
  const int64_t id = b["id"].get<int64_t>();

  // The record.
  EXPECT_EQ(b["instance_id"], alpha["id"]);
  EXPECT_EQ(b["instance_name"], "alpha");
  EXPECT_EQ(b["note"], "e2e round trip");
  EXPECT_EQ(b["paths"], json::array({"/home/claworc"}));
  EXPECT_GT(b.value("entries", 0), 100) << b.dump();
  EXPECT_TRUE(b["completed_at"].is_string()) << b.dump();
  EXPECT_TRUE(b["started_at"].is_string()) << b.dump();
  EXPECT_FALSE(b["created_by"].is_null()) << b.dump();
  const std::string file_name = b.value("file_name", "");
  EXPECT_TRUE(
      std::regex_match(file_name, std::regex("alpha-" + std::to_string(id) + R"(-\d{8}-\d{6}\.tar\.zst)")))
      << file_name;

  // The stored file and its block digests: the only files of the instance,
  // its size and hash in the record.
  const std::string stored = StoredFile(b);
  ASSERT_TRUE(fs::is_regular_file(stored)) << stored;
  EXPECT_EQ(SortedInstanceFiles("alpha"),
            (std::vector<std::string>{file_name, file_name + ".blocks", file_name + ".index"}));
  EXPECT_EQ(fs::file_size(stored), b["size_bytes"].get<uint64_t>());
  EXPECT_EQ(Sha256OfFile(stored), b["sha256"].get<std::string>());

  // Download: byte-identical, with the documented headers.
  const std::string downloaded = stack_->tmp().Sub("download.tar.zst");
  PlainResponse dl = stack_->Download("/api/v1/backups/" + std::to_string(id) + "/download", downloaded);
  ASSERT_EQ(dl.status, 200) << dl.Describe();
  EXPECT_TRUE(dl.complete) << dl.error;
  EXPECT_EQ(dl.headers["content-length"], std::to_string(fs::file_size(stored)));
  EXPECT_EQ(dl.headers["content-type"], "application/zstd");
  EXPECT_NE(dl.headers["content-disposition"].find(file_name), std::string::npos)
      << dl.headers["content-disposition"];
  EXPECT_EQ(dl.headers["accept-ranges"], "bytes");
  EXPECT_EQ(dl.headers["etag"], "\"" + b["sha256"].get<std::string>() + "\"");
  EXPECT_TRUE(ReadFile(downloaded) == ReadFile(stored)) << "download differs from the stored archive";
  EXPECT_EQ(Sha256OfFile(downloaded), b["sha256"].get<std::string>());

  // It extracts with GNU tar to exactly the source tree.
  const std::string extracted = stack_->tmp().Sub("extracted");
  fs::create_directories(extracted);
  ProcessOutput tar = RunProcess({"tar", "--zstd", "-xpf", downloaded, "-C", extracted});
  ASSERT_EQ(tar.exit_code, 0) << tar.output;
  EXPECT_EQ(CompareTrees(root_a + "/home/claworc", extracted + "/home/claworc"), "");
  std::vector<std::string> top;
  for (const auto& e : fs::directory_iterator(extracted)) top.push_back(e.path().filename().string());
  EXPECT_EQ(top, std::vector<std::string>{"home"}) << "only the requested path is in the archive";

  // Restore into the second instance.
  PlainResponse started = stack_->CreateRestore(id, beta["id"]);
  ASSERT_EQ(started.status, 202) << started.Describe();
  const int64_t restore_id = started.Json()["id"].get<int64_t>();
  bool ok = false;
  json r = stack_->WaitRestoreFinal(restore_id, 90s, &ok);
  ASSERT_TRUE(ok) << r.dump();
  ASSERT_EQ(r.value("status", ""), "completed") << r.dump();
  EXPECT_EQ(r["backup_id"], id);
  EXPECT_EQ(r["target_instance_id"], beta["id"]);
  EXPECT_GT(r.value("entries_written", 0), 100) << r.dump();
  EXPECT_GT(r.value("bytes_written", 0), 0) << r.dump();
  EXPECT_EQ(CompareTrees(root_a + "/home/claworc", root_b + "/home/claworc"), "");
  EXPECT_FALSE(fs::exists(root_b + "/etc")) << "a restore writes only what the archive holds";

  // The metrics answer.
  PlainResponse metrics = stack_->Call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_NE(metrics.headers["content-type"].find("text/plain"), std::string::npos);
  for (const char* series :
       {R"(clawback_backups_total\{status="completed"\} 1(\.0*)?\n)",
        R"(clawback_restores_total\{status="completed"\} 1(\.0*)?\n)",
        R"(clawback_last_successful_backup_timestamp_seconds\{instance="alpha"\} [0-9])"}) {
    EXPECT_TRUE(std::regex_search(metrics.body, std::regex(series))) << series << " in\n" << metrics.body;
  }
}

TEST_F(BackupRestoreE2eTest, RangeDownloadResumesFromAnOffset) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  json alpha = AddInstance("alpha", MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const std::string stored_bytes = ReadFile(StoredFile(b));
  const uint64_t size = stored_bytes.size();
  ASSERT_GT(size, 1000u);
  const std::string url = "/api/v1/backups/" + std::to_string(b["id"].get<int64_t>()) + "/download";

  for (uint64_t offset : {uint64_t{0}, size / 3, size - 1}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    const std::string part = stack_->tmp().Sub("part-" + std::to_string(offset));
    PlainResponse res = stack_->Download(url, part, {{"Range", "bytes=" + std::to_string(offset) + "-"}});
    ASSERT_EQ(res.status, 206) << res.Describe();
    EXPECT_TRUE(res.complete) << res.error;
    EXPECT_EQ(res.headers["content-length"], std::to_string(size - offset));
    EXPECT_EQ(res.headers["content-range"], "bytes " + std::to_string(offset) + "-" +
                                                std::to_string(size - 1) + "/" + std::to_string(size));
    std::string got = ReadFile(part);
    EXPECT_EQ(got.size(), size - offset);
    EXPECT_TRUE(got == stored_bytes.substr(offset)) << "ranged bytes differ from the stored archive";
  }

  // Resuming a cut download: the first third plus the rest is the archive.
  const std::string head = stored_bytes.substr(0, size / 3);
  const std::string tail_file = stack_->tmp().Sub("tail");
  PlainResponse rest =
      stack_->Download(url, tail_file, {{"Range", "bytes=" + std::to_string(head.size()) + "-"}});
  ASSERT_EQ(rest.status, 206) << rest.Describe();
  EXPECT_EQ(Sha256OfFile(StoredFile(b)), b["sha256"].get<std::string>());
  EXPECT_TRUE(head + ReadFile(tail_file) == stored_bytes);
}

// The archive's SHA-256 is checked before a byte goes to the agent: a
// corrupted stored file fails the restore and the target is never contacted.
TEST_F(BackupRestoreE2eTest, CorruptedArchiveIsRefusedBeforeTheTargetIsWritten) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  const auto [alpha, beta, root_b] = AddAlphaAndEmptyBeta(MakeSmallRoot(stack_->tmp().Sub("root-alpha")));
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());

  {
    const std::string stored = StoredFile(b);
    std::fstream f(stored, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f) << stored;
    const auto middle = static_cast<std::streamoff>(fs::file_size(stored) / 2);
    f.seekg(middle);
    char c = 0;
    f.get(c);
    f.seekp(middle);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  ASSERT_NE(Sha256OfFile(StoredFile(b)), b.value("sha256", ""));

  PlainResponse started = stack_->CreateRestore(b["id"].get<int64_t>(), beta["id"]);
  std::string why;
  if (started.status == 202) {
    bool ok = false;
    json r = stack_->WaitRestoreFinal(started.Json()["id"].get<int64_t>(), 30s, &ok);
    ASSERT_TRUE(ok) << r.dump();
    EXPECT_EQ(r.value("status", ""), "failed") << r.dump();
    why = r.value("error_message", "");
  } else {
    EXPECT_GE(started.status, 400) << started.Describe();
    why = started.Json().value("error", "");
  }
  EXPECT_TRUE(ContainsNoCase(why, "sha") || ContainsNoCase(why, "checksum") || ContainsNoCase(why, "corrupt"))
      << "the reason names the mismatch: " << why;
  EXPECT_TRUE(fs::is_empty(root_b)) << "nothing was written to the target";
  EXPECT_EQ(stack_->agent("beta")->Log().find("/v1/restore"), std::string::npos)
      << "the target agent never saw a restore request:\n"
      << stack_->agent("beta")->Log();
}

}  // namespace
}  // namespace clawback::testing
