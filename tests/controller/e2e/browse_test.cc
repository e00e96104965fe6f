// Looking inside backups end to end (issue 17): a real `clawback serve` and
// real agents over mTLS. Listings and single files match the source tree byte
// for byte, subtree archives extract (GNU tar) to the source subtree, partial
// restores write exactly the selection, a lying .index is refused without
// serving a byte of another entry, query paths are validated, and the browse
// routes deny callers who may not see the backup.
#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/abuse/hostile_tar.h"
#include "tests/controller/auth/auth_e2e.h"
#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string Encode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

class BrowseE2eTest : public E2eTest {
 protected:
  std::string Base(int64_t id) { return "/api/v1/backups/" + std::to_string(id); }
  PlainResponse List(int64_t id, const std::string& path, const std::string& extra = "") {
    return stack_->Call("GET", Base(id) + "/files?path=" + Encode(path) + "&limit=500" + extra);
  }
  PlainResponse Content(int64_t id, const std::string& path, std::vector<std::pair<std::string, std::string>> h = {}) {
    return stack_->Call("GET", Base(id) + "/files/content?path=" + Encode(path), nullptr, std::move(h));
  }
  std::string IndexOf(const json& backup) { return StoredFile(backup) + ".index"; }

  // A completed backup of alpha over a small root; fills root_ and id_.
  void BackUpSmallRoot(const json& body = json::object()) {
    ASSERT_NO_FATAL_FAILURE(StartStack());
    root_ = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
    alpha_ = AddInstance("alpha", root_);
    ASSERT_FALSE(HasFailure());
    backup_ = CompletedBackup(alpha_["id"].get<int64_t>(), body);
    ASSERT_FALSE(HasFailure());
    id_ = backup_["id"].get<int64_t>();
  }

  std::string root_;
  json alpha_, backup_;
  int64_t id_ = 0;
};

std::string TypeOf(const fs::directory_entry& e) {
  if (e.is_symlink()) return "symlink";
  if (e.is_directory()) return "dir";
  if (e.is_regular_file()) return "file";
  if (e.is_fifo()) return "fifo";
  return "other";
}

TEST_F(BrowseE2eTest, EveryListingAndFileMatchesTheSourceTreeByteForByte) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  const std::string home = root_ + "/home/claworc";
  // The agent sent a format 2 archive: its index was checked and stored
  // with it, before the record said completed.
  ASSERT_TRUE(fs::exists(IndexOf(backup_))) << IndexOf(backup_);
  {
    SQLite::Database db(IndexOf(backup_), SQLite::OPEN_READONLY);
    EXPECT_EQ(db.execAndGet("SELECT value FROM meta WHERE key = 'archive_format'").getString(), "2");
    EXPECT_GT(db.execAndGet("SELECT count(*) FROM frames").getInt(), 0);
    EXPECT_EQ(db.execAndGet("SELECT value FROM meta WHERE key = 'entries'").getString(),
              std::to_string(backup_["entries"].get<int64_t>()));
  }

  // The root and the implied parents list down to the backed-up path.
  PlainResponse top = List(id_, "/");
  ASSERT_EQ(top.status, 200) << top.Describe();
  EXPECT_EQ(top.Json()["path"], "/");
  ASSERT_EQ(top.Json()["entries"].size(), 1u) << top.body;
  EXPECT_EQ(top.Json()["entries"][0]["name"], "home");
  EXPECT_EQ(top.Json()["entries"][0]["type"], "dir");

  int files = 0, dirs = 0;
  std::vector<std::string> to_list = {home};
  for (auto it = fs::recursive_directory_iterator(home); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && !it->is_symlink()) to_list.push_back(it->path().string());
  }
  for (const std::string& dir : to_list) {
    const std::string api_path = dir.substr(root_.size());
    PlainResponse listed = List(id_, api_path);
    ASSERT_EQ(listed.status, 200) << listed.Describe();
    json j = listed.Json();
    EXPECT_EQ(j["path"], api_path);
    std::map<std::string, std::string> want;
    for (const auto& e : fs::directory_iterator(dir)) want[e.path().filename().string()] = TypeOf(e);
    std::map<std::string, std::string> got;
    std::string previous;
    for (const auto& e : j["entries"]) {
      const std::string name = e["name"];
      EXPECT_LT(previous, name) << "entries sorted by name in " << api_path;
      previous = name;
      got[name] = e["type"] == "hardlink" ? "file" : e["type"].get<std::string>();
    }
    EXPECT_EQ(got, want) << "listing of " << api_path;
    EXPECT_EQ(j["total"].get<size_t>(), want.size());
    ++dirs;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.is_symlink()) continue;
      const std::string file_path = e.path().string().substr(root_.size());
      PlainResponse content = Content(id_, file_path);
      ASSERT_EQ(content.status, 200) << content.Describe();
      EXPECT_TRUE(content.body == ReadFile(e.path().string())) << "content of " << file_path << " differs";
      EXPECT_EQ(content.headers["content-length"], std::to_string(fs::file_size(e.path())));
      EXPECT_NE(content.headers["content-disposition"].find("attachment"), std::string::npos);
      ++files;
    }
  }
  EXPECT_GT(files, 100);
  EXPECT_GT(dirs, 5);

  // Ranges.
  const std::string conf = "/home/claworc/logs/app.log";
  const std::string whole = ReadFile(root_ + conf);
  ASSERT_GT(whole.size(), 20u);
  PlainResponse part = Content(id_, conf, {{"Range", "bytes=5-14"}});
  EXPECT_EQ(part.status, 206) << part.Describe();
  EXPECT_EQ(part.body, whole.substr(5, 10));
  EXPECT_EQ(part.headers["content-range"], "bytes 5-14/" + std::to_string(whole.size()));
  EXPECT_EQ(Content(id_, conf, {{"Range", "bytes=99999999-"}}).status, 416);

  // Search by name across the backup, with paths.
  PlainResponse found = List(id_, "/", "&q=tool*");
  ASSERT_EQ(found.status, 200) << found.Describe();
  std::set<std::string> paths;
  const json found_json = found.Json();
  for (const auto& e : found_json["entries"]) paths.insert(e["path"].get<std::string>());
  EXPECT_TRUE(paths.count("/home/claworc/bin/tool.sh")) << found.body;

  // Missing paths are 404, directories are not files.
  EXPECT_EQ(List(id_, "/home/claworc/no-such-dir").status, 404);
  EXPECT_EQ(Content(id_, "/home/claworc/no-such-file").status, 404);
  EXPECT_EQ(Content(id_, "/home/claworc/bin").status, 400);
}

TEST_F(BrowseE2eTest, SubtreeArchivesExtractWithGnuTarToTheSourceSubtree) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  auto fetch = [&](const std::string& path, const std::string& out_dir) {
    const std::string file = stack_->tmp().Sub("subtree-" + std::to_string(std::hash<std::string>()(path)) + ".tar.zst");
    PlainResponse r = stack_->Download(Base(id_) + "/files/archive?path=" + Encode(path), file);
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_TRUE(r.complete) << r.error;
    EXPECT_EQ(r.headers["content-type"], "application/zstd");
    fs::create_directories(out_dir);
    ProcessOutput tar = RunProcess({"tar", "--zstd", "-xpf", file, "-C", out_dir});
    EXPECT_EQ(tar.exit_code, 0) << tar.output;
  };
  const std::string all = stack_->tmp().Sub("x-all");
  fetch("/home/claworc", all);
  EXPECT_EQ(CompareTrees(root_ + "/home/claworc", all + "/home/claworc"), "");

  const std::string bin = stack_->tmp().Sub("x-bin");
  fetch("/home/claworc/bin", bin);
  EXPECT_EQ(CompareTrees(root_ + "/home/claworc/bin", bin + "/home/claworc/bin"), "");
  std::vector<std::string> top;
  for (const auto& e : fs::directory_iterator(bin + "/home/claworc")) top.push_back(e.path().filename().string());
  EXPECT_EQ(top, std::vector<std::string>{"bin"}) << "only the selection is in the archive";

  // A hardlink whose target is outside the selection arrives as a regular
  // file with the target's content.
  PlainResponse listed = List(id_, "/home/claworc/bin");
  std::string link;
  const json listed_json = listed.Json();
  for (const auto& e : listed_json["entries"]) {
    if (e["type"] == "hardlink") link = "/home/claworc/bin/" + e["name"].get<std::string>();
  }
  ASSERT_FALSE(link.empty()) << listed.body;
  const std::string one = stack_->tmp().Sub("x-link");
  fetch(link, one);
  EXPECT_TRUE(fs::is_regular_file(one + link)) << one + link;
  EXPECT_EQ(ReadFile(one + link), ReadFile(root_ + link));
}

TEST_F(BrowseE2eTest, PartialRestoreWritesExactlyTheSelectedPaths) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  root_ = MakeSmallRoot(stack_->tmp().Sub("root-alpha"));
  const auto [alpha, beta, beta_root] = AddAlphaAndEmptyBeta(root_);
  ASSERT_FALSE(HasFailure());
  json b = CompletedBackup(alpha["id"].get<int64_t>(), json{{"paths", {"/home/claworc", "/etc/app"}}});
  ASSERT_FALSE(HasFailure());
  const int64_t id = b["id"].get<int64_t>();

  // Paths not in the backup, or malformed, are refused before anything runs.
  for (const json& paths : {json{"/home/claworc/nope"}, json{"/home/../etc"}, json{"relative/path"}}) {
    PlainResponse bad = stack_->Call("POST", Base(id) + "/restore", json{{"instance_id", beta["id"]}, {"paths", paths}});
    EXPECT_EQ(bad.status, 400) << bad.Describe();
  }

  PlainResponse started = stack_->Call(
      "POST", Base(id) + "/restore",
      json{{"instance_id", beta["id"]}, {"paths", {"/home/claworc/bin", "/etc/app/app.conf"}}});
  ASSERT_EQ(started.status, 202) << started.Describe();
  bool ok = false;
  json r = stack_->WaitRestoreFinal(started.Json()["id"].get<int64_t>(), 60s, &ok);
  ASSERT_TRUE(ok) << r.dump();
  ASSERT_EQ(r["status"], "completed") << r.dump();
  EXPECT_EQ(r["paths"], json({"/home/claworc/bin", "/etc/app/app.conf"}));
  EXPECT_EQ(r["dry_run"], false);

  std::set<std::string> want;
  for (const std::string& f : E2eStack::FilesUnder(root_ + "/home/claworc/bin")) want.insert("home/claworc/bin/" + f);
  want.insert("etc/app/app.conf");
  std::vector<std::string> got_list = E2eStack::FilesUnder(beta_root);
  std::set<std::string> got(got_list.begin(), got_list.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(CompareTrees(root_ + "/home/claworc/bin", beta_root + "/home/claworc/bin"), "");
  EXPECT_EQ(ReadFile(beta_root + "/etc/app/app.conf"), ReadFile(root_ + "/etc/app/app.conf"));
}

// Rewrites one entry of a stored index (the controller opens it per request).
void Tamper(const std::string& index, const std::string& sql) {
  SQLite::Database db(index, SQLite::OPEN_READWRITE);
  db.exec(sql);
}

TEST_F(BrowseE2eTest, AStoredIndexThatLiesIsDetectedAndServesNoForeignByte) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  ASSERT_EQ(List(id_, "/home/claworc").status, 200);  // builds the index
  const std::string index = IndexOf(backup_);
  // Two regular files of the archive: `a` is asked for, `other` pointed at.
  std::string a, other;
  {
    SQLite::Database db(index, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT path FROM entries WHERE type = 'file' AND size > 100 AND size < 100000 "
                            "ORDER BY path LIMIT 2");
    ASSERT_TRUE(q.executeStep());
    a = q.getColumn(0).getString();
    ASSERT_TRUE(q.executeStep());
    other = q.getColumn(0).getString();
  }
  const std::string other_bytes = ReadFile(root_ + "/" + other);

  // Offset pointing at another entry.
  Tamper(index, "UPDATE entries SET offset = (SELECT offset FROM entries WHERE path = '" + other +
                    "') WHERE path = '" + a + "'");
  PlainResponse moved = Content(id_, "/" + a);
  EXPECT_EQ(moved.status, 422) << moved.Describe();
  EXPECT_NE(moved.Json().value("error", "").find("does not match"), std::string::npos) << moved.body;
  EXPECT_EQ(moved.body.find(other_bytes.substr(0, 64)), std::string::npos) << "bytes of another entry were served";
  // The subtree archive with that lie is cut, never completed.
  const std::string parent = "/" + a.substr(0, a.rfind('/'));
  PlainResponse cut = stack_->Call("GET", Base(id_) + "/files/archive?path=" + Encode(parent));
  EXPECT_FALSE(cut.complete && cut.status == 200) << "a lying index produced a complete archive";
  // Removing the index makes the controller rebuild it from the archive.
  fs::remove(index);
  ASSERT_EQ(Content(id_, "/" + a).status, 200) << "a deleted index is rebuilt from the archive";

  // Wrong size.
  Tamper(index, "UPDATE entries SET size = size + 1 WHERE path = '" + a + "'");
  PlainResponse sized = Content(id_, "/" + a);
  EXPECT_EQ(sized.status, 422) << sized.Describe();
  fs::remove(index);
  ASSERT_EQ(Content(id_, "/" + a).status, 200);

  // Wrong sha256: a small file is checked whole before any byte is sent.
  Tamper(index, "UPDATE entries SET sha256 = '" + std::string(64, '0') + "' WHERE path = '" + a + "'");
  PlainResponse hashed = Content(id_, "/" + a);
  EXPECT_EQ(hashed.status, 422) << hashed.Describe();
  EXPECT_NE(hashed.Json().value("error", "").find("sha256"), std::string::npos) << hashed.body;
}

TEST_F(BrowseE2eTest, ALargeFileWithAWrongHashIsCutBeforeItsLastByte) {
  ASSERT_NO_FATAL_FAILURE(StartStack());
  root_ = stack_->tmp().Sub("root-big");
  TreeSpec spec;
  spec.dirs = 1;
  spec.small_files = 2;
  spec.big_file_bytes = 20ull << 20;
  spec.special = false;
  GenerateTree(root_ + "/home/claworc", spec);
  alpha_ = AddInstance("alpha", root_);
  ASSERT_FALSE(HasFailure());
  backup_ = CompletedBackup(alpha_["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  id_ = backup_["id"].get<int64_t>();
  ASSERT_EQ(List(id_, "/home/claworc").status, 200);
  std::string big;
  uint64_t size = 0;
  {
    SQLite::Database db(IndexOf(backup_), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT path, size FROM entries WHERE type = 'file' ORDER BY size DESC LIMIT 1");
    ASSERT_TRUE(q.executeStep());
    big = q.getColumn(0).getString();
    size = static_cast<uint64_t>(q.getColumn(1).getInt64());
  }
  ASSERT_GT(size, 16u << 20);
  // Honest index: the whole file, byte for byte.
  const std::string fetched = stack_->tmp().Sub("big.bin");
  PlainResponse whole = stack_->Download(Base(id_) + "/files/content?path=" + Encode("/" + big), fetched);
  ASSERT_EQ(whole.status, 200) << whole.Describe();
  EXPECT_TRUE(whole.complete) << whole.error;
  EXPECT_EQ(Sha256OfFile(fetched), Sha256OfFile(root_ + "/" + big));

  Tamper(IndexOf(backup_), "UPDATE entries SET sha256 = '" + std::string(64, 'a') + "' WHERE path = '" + big + "'");
  PlainResponse cut = stack_->Download(Base(id_) + "/files/content?path=" + Encode("/" + big), fetched);
  EXPECT_EQ(cut.status, 200);
  EXPECT_FALSE(cut.complete) << "a file failing its hash was delivered whole";
  EXPECT_LT(cut.body_bytes, size);
}

TEST_F(BrowseE2eTest, QueryPathsAreValidatedLikeEveryOtherPath) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  for (const std::string& raw : {"/home/claworc/../../etc", "home/claworc/%2e%2e/x", "/home/%2E%2E/claworc",
                                 "/home/claworc/%00x", "/home/claworc/%0Ax", "/home/claworc/bad%zz"}) {
    for (const std::string& route : {"/files?path=", "/files/content?path=", "/files/archive?path="}) {
      PlainResponse r = stack_->Call("GET", Base(id_) + route + raw);
      EXPECT_EQ(r.status, 400) << route << raw << " -> " << r.Describe();
      EXPECT_TRUE(r.Json().contains("error")) << r.body;
    }
  }
  EXPECT_EQ(stack_->Call("GET", Base(id_) + "/files/content").status, 400) << "path is required";
  EXPECT_EQ(stack_->Call("GET", Base(id_) + "/files?limit=0").status, 400);
  EXPECT_EQ(stack_->Call("GET", Base(id_) + "/diff").status, 400) << "against is required";
  EXPECT_EQ(stack_->Call("GET", Base(id_) + "/diff?against=x").status, 400);
  EXPECT_EQ(stack_->Call("GET", "/api/v1/backups/999/files").status, 404);
}

TEST_F(BrowseE2eTest, DiffListsAddedRemovedAndChangedPaths) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  const std::string home = root_ + "/home/claworc";
  std::ofstream(home + "/added.txt") << "new file\n";
  fs::remove(home + "/bin/tool.sh");
  const std::string changed = [&] {
    for (const auto& e : fs::recursive_directory_iterator(home)) {
      if (e.is_regular_file() && !e.is_symlink() && e.path().filename() != "added.txt" &&
          fs::hard_link_count(e.path()) == 1 && fs::file_size(e.path()) > 10) {
        return e.path().string();
      }
    }
    return std::string();
  }();
  ASSERT_FALSE(changed.empty());
  const uint64_t old_size = fs::file_size(changed);
  std::ofstream(changed, std::ios::app) << "appended\n";
  json second = CompletedBackup(alpha_["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  PlainResponse d = stack_->Call("GET", Base(second["id"].get<int64_t>()) + "/diff?against=" + std::to_string(id_));
  ASSERT_EQ(d.status, 200) << d.Describe();
  json j = d.Json();
  auto has = [&](const char* list, const std::string& path) {
    for (const auto& e : j[list]) {
      if (e["path"] == path) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("added", "/home/claworc/added.txt")) << j.dump();
  EXPECT_TRUE(has("removed", "/home/claworc/bin/tool.sh")) << j.dump();
  const std::string changed_path = changed.substr(root_.size());
  ASSERT_TRUE(has("changed", changed_path)) << j.dump();
  for (const auto& e : j["changed"]) {
    if (e["path"] == changed_path) {
      EXPECT_EQ(e["old_size"].get<uint64_t>(), old_size);
      EXPECT_EQ(e["size"].get<uint64_t>(), old_size + 9);
    }
  }
  EXPECT_EQ(j["added"].size(), 1u) << j.dump();
}

TEST_F(BrowseE2eTest, CallersWhoMayNotSeeTheBackupAreDenied) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  const std::string other_root = MakeSmallRoot(stack_->tmp().Sub("root-gamma"));
  json gamma = AddInstance("gamma", other_root);
  ASSERT_FALSE(HasFailure());
  json gamma_backup = CompletedBackup(gamma["id"].get<int64_t>());
  ASSERT_FALSE(HasFailure());
  const uint16_t port = stack_->controller()->port();
  PlainResponse made = stack_->Call("POST", "/api/v1/users",
                                    {{"username", "alice"}, {"password", "alice-password-123"}, {"role", "user"},
                                     {"instance_ids", {alpha_["id"]}}});
  ASSERT_EQ(made.status, 201) << made.Describe();
  const std::string token = MintToken(port, "alice", "alice-password-123");
  ASSERT_FALSE(token.empty());
  auto as_alice = [&](const std::string& target) { return Send(port, "GET", target, nullptr, BearerHeaders(token)); };
  const std::string gamma_base = Base(gamma_backup["id"].get<int64_t>());
  // Her own instance's backup: allowed.
  EXPECT_EQ(as_alice(Base(id_) + "/files?path=/home/claworc").status, 200);
  // Another instance's backup: indistinguishable from a missing one.
  for (const std::string& t : {gamma_base + "/files?path=/", gamma_base + "/files/content?path=/home/claworc/bin/tool.sh",
                               gamma_base + "/files/archive?path=/home/claworc",
                               gamma_base + "/diff?against=" + std::to_string(id_),
                               Base(id_) + "/diff?against=" + gamma_backup["id"].dump()}) {
    PlainResponse r = as_alice(t);
    EXPECT_EQ(r.status, 404) << t << " -> " << r.Describe();
    EXPECT_EQ(r.body.find("tool.sh"), std::string::npos);
  }
  // Restoring her backup's paths into an instance she cannot see: denied too.
  PlainResponse restore = Send(port, "POST", Base(id_) + "/restore",
                               {{"instance_id", gamma["id"]}, {"paths", {"/home/claworc/bin"}}}, BearerHeaders(token));
  EXPECT_EQ(restore.status, 404) << restore.Describe();
}

TEST_F(BrowseE2eTest, AFormatOneArchiveGetsItsIndexByAScan) {
  ASSERT_NO_FATAL_FAILURE(BackUpSmallRoot());
  // Replace the stored archive with a format 1 one (one zstd frame, no
  // index), written with libarchive directly, and the record to match, the
  // way a backup from before format 2 looks; no .blocks, no .index.
  std::vector<TarEntry> entries;
  const std::string home = root_ + "/home/claworc";
  entries.push_back({"home/claworc", TarEntry::Type::kDir, "", 0, "", 0755, {}});
  for (auto it = fs::recursive_directory_iterator(home); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().string().substr(root_.size() + 1);
    if (it->is_symlink()) {
      entries.push_back({name, TarEntry::Type::kSymlink, "", 0, fs::read_symlink(it->path()).string(), 0777, {}});
    } else if (it->is_directory()) {
      entries.push_back({name, TarEntry::Type::kDir, "", 0, "", 0755, {}});
    } else if (it->is_regular_file()) {
      entries.push_back({name, TarEntry::Type::kFile, ReadFile(it->path().string()), 0, "", 0644, {}});
    }
  }
  const std::string archive = BuildTarZstd(entries);
  const std::string stored = StoredFile(backup_);
  stack_->KillController();
  std::ofstream(stored, std::ios::binary | std::ios::trunc) << archive;
  fs::remove(stored + ".blocks");
  fs::remove(stored + ".index");
  const std::string sha = Sha256OfFile(stored);
  {
    SQLite::Database db(stack_->data_dir() + "/clawback.db", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, "UPDATE backups SET sha256 = ?, size_bytes = ?, entries = ? WHERE id = ?");
    q.bind(1, sha);
    q.bind(2, static_cast<int64_t>(archive.size()));
    q.bind(3, static_cast<int64_t>(entries.size()));
    q.bind(4, id_);
    ASSERT_EQ(q.exec(), 1);
  }
  ASSERT_TRUE(stack_->StartController().ok());

  PlainResponse listed = List(id_, "/home/claworc/bin");
  ASSERT_EQ(listed.status, 200) << listed.Describe();
  EXPECT_EQ(listed.Json()["total"], 2);
  for (const auto& e : entries) {
    if (e.type != TarEntry::Type::kFile) continue;
    PlainResponse got = Content(id_, "/" + e.name);
    ASSERT_EQ(got.status, 200) << got.Describe();
    EXPECT_TRUE(got.body == e.content) << e.name;
  }
  // Built once by a scan, with the block digests it lacked.
  SQLite::Database db(IndexOf(backup_), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT value FROM meta WHERE key = 'archive_format'").getString(), "1");
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM frames").getInt(), 1);
  EXPECT_TRUE(fs::exists(stored + ".blocks"));
  const std::string sub = stack_->tmp().Sub("f1-bin");
  fs::create_directories(sub);
  const std::string file = stack_->tmp().Sub("f1.tar.zst");
  PlainResponse dl = stack_->Download(Base(id_) + "/files/archive?path=/home/claworc/bin", file);
  ASSERT_EQ(dl.status, 200);
  ProcessOutput tar = RunProcess({"tar", "--zstd", "-xf", file, "-C", sub});
  EXPECT_EQ(tar.exit_code, 0) << tar.output;
  EXPECT_EQ(ReadFile(sub + "/home/claworc/bin/tool.sh"), ReadFile(home + "/bin/tool.sh"));
}

}  // namespace
}  // namespace clawback::testing
