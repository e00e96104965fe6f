// /api/v1/backups/{id}/files, /files/content, /files/archive and /diff:
// looking inside a stored backup (controller/browse). Same permission as a
// download (auth::Action::kDownloadBackup); the diff needs it on both backups.
#include <algorithm>

#include "controller/api/handler_support.h"
#include "controller/browse/browse.h"
#include "controller/browse/subtree_archive.h"
#include "controller/browse/tar_reader.h"
#include "controller/browse/tar_stream.h"
#include "controller/store/store.h"
#include "shared/log.h"
#include "shared/path_rules.h"

namespace clawback::controller::api {
namespace {

using browse::IndexEntry;

constexpr uint64_t kBufferedContent = 16 * 1024 * 1024;
constexpr uint64_t kMaxDiffEntries = 100000;

Json EntryJson(const IndexEntry& e, bool with_path) {
  Json j = {{"name", e.Name()},
            {"type", e.type},
            {"size", e.size},
            {"mode", e.mode},
            {"mtime", FormatRfc3339(e.mtime)}};
  if (!e.target.empty()) j["target"] = e.type == "hardlink" ? browse::DisplayPath(e.target) : e.target;
  if (with_path) j["path"] = browse::DisplayPath(e.path);
  return j;
}

// The failure a browse request reports; archive and index problems are
// logged (with the backup) before they become 422/500.
HttpResponse BrowseFail(const Call& call, const Status& st) {
  if (st.code() == Status::Code::kCorruption || st.code() == Status::Code::kInternal ||
      st.code() == Status::Code::kIoError) {
    log::Warn("browsing a backup failed", {{"backup_id", call.backup->id}, {"path", call.request.path},
                                           {"error", st.message()}});
  }
  return Fail(st);
}

Result<std::string> QueryPath(const Call& call, bool required) {
  auto text = call.request.Query("path");
  if (!text || text->empty()) {
    if (required) return Status::InvalidArgument("path: is required");
    return std::string();
  }
  return browse::CatalogPathFromQuery(*text);
}

// "name.txt" made safe for a quoted Content-Disposition filename, plus the
// RFC 5987 form for names that are not plain ASCII.
std::string Disposition(const std::string& name) {
  std::string ascii, encoded;
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : name) {
    ascii.push_back(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  if (ascii.empty()) ascii = "file";
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

HttpResponse Files(ApiContext& ctx, Call& call) {
  auto path = QueryPath(call, false);
  if (!path.ok()) return Fail(path.status());
  auto page = ReadPage(call.request, 200);
  if (!page.ok()) return Fail(page.status());
  auto archive = browse::OpenBackupArchive(ctx.backups_dir, *call.backup);
  if (!archive.ok()) return BrowseFail(call, archive.status());
  auto& catalog = (*archive)->catalog();

  auto q = call.request.Query("q");
  if (q && !q->empty()) {
    if (q->size() > 1024) return Fail(Status::InvalidArgument("q: at most 1024 bytes"));
    // Without a glob character the text matches anywhere in the name.
    const bool glob = q->find_first_of("*?[") != std::string::npos;
    auto found = catalog.Search(glob ? *q : "*" + *q + "*", static_cast<uint64_t>(page->limit),
                                static_cast<uint64_t>(page->offset));
    if (!found.ok()) return BrowseFail(call, found.status());
    Json entries = Json::array();
    for (const IndexEntry& e : found->entries) entries.push_back(EntryJson(e, true));
    return JsonResponse(200, {{"path", browse::DisplayPath(*path)}, {"q", *q}, {"entries", entries},
                              {"total", found->total}, {"limit", page->limit}, {"offset", page->offset}});
  }
  auto listed = catalog.List(*path, static_cast<uint64_t>(page->limit), static_cast<uint64_t>(page->offset));
  if (!listed.ok()) {
    if (listed.status().code() == Status::Code::kFailedPrecondition) {
      return Fail(Status::InvalidArgument("path: " + listed.status().message()));
    }
    return BrowseFail(call, listed.status());
  }
  Json entries = Json::array();
  for (const IndexEntry& e : listed->entries) entries.push_back(EntryJson(e, false));
  return JsonResponse(200, {{"path", browse::DisplayPath(*path)}, {"entries", entries}, {"total", listed->total},
                            {"limit", page->limit}, {"offset", page->offset}});
}

// A large file's bytes in [first, first + length), read through the whole
// file so its SHA-256 is checked before the last piece is handed out.
class ContentSource final : public BodySource {
 public:
  ContentSource(std::unique_ptr<browse::BackupArchive> archive, std::unique_ptr<browse::FileContent> content,
                browse::IndexEntry entry, uint64_t first, uint64_t length)
      : archive_(std::move(archive)), content_(std::move(content)), entry_(std::move(entry)), first_(first),
        end_(first + length), buf_(1024 * 1024, '\0') {}

  Result<std::span<const char>> Next() override {
    for (;;) {
      if (done_) {
        out_ = std::move(held_);
        held_.clear();
        return std::span<const char>(out_.data(), out_.size());
      }
      auto n = content_->Read(buf_.data(), buf_.size());
      if (!n.ok()) {
        log::Warn("file content failed its check while streaming; cutting the download",
                  {{"backup_id", archive_->backup().id}, {"path", entry_.path}, {"error", n.status().message()}});
        return n.status();
      }
      if (*n == 0) {
        done_ = true;
        continue;
      }
      const uint64_t from = pos_, to = pos_ + *n;
      pos_ = to;
      const uint64_t a = std::max(from, first_), b = std::min(to, end_);
      if (a >= b) continue;
      out_ = std::move(held_);
      held_.assign(buf_.data() + (a - from), b - a);
      if (!out_.empty()) return std::span<const char>(out_.data(), out_.size());
    }
  }

 private:
  std::unique_ptr<browse::BackupArchive> archive_;
  std::unique_ptr<browse::FileContent> content_;
  browse::IndexEntry entry_;
  const uint64_t first_, end_;
  uint64_t pos_ = 0;
  std::string buf_, out_, held_;
  bool done_ = false;
};

HttpResponse Content(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  auto path = QueryPath(call, true);
  if (!path.ok()) return Fail(path.status());
  if (path->empty()) return Fail(Status::InvalidArgument("path: names a directory, not a file: /"));
  auto archive = browse::OpenBackupArchive(ctx.backups_dir, b);
  if (!archive.ok()) return BrowseFail(call, archive.status());
  auto entry = (*archive)->catalog().Lookup(*path);
  if (!entry.ok()) return BrowseFail(call, entry.status());
  const std::string name = entry->Name();
  if (entry->type == "hardlink") {
    // The content is the linked file's, found by its own index entry.
    entry = (*archive)->catalog().Lookup(entry->target);
    if (!entry.ok()) return BrowseFail(call, Status::Corruption("hardlink /" + *path + " names a missing target"));
  }
  if (entry->type != "file") {
    return Fail(Status::InvalidArgument("path: not a regular file: " + browse::DisplayPath(*path) + " (" +
                                        entry->type + ")"));
  }
  const uint64_t size = entry->size;
  ByteRange range{0, size};
  bool partial = false;
  const std::string etag = entry->sha256.empty() ? "" : "\"" + entry->sha256 + "\"";
  const std::string& range_header = call.request.Header("range");
  const std::string& if_range = call.request.Header("if-range");
  if (!range_header.empty() && (if_range.empty() || if_range == etag)) {
    auto parsed = ParseRange(range_header, size);
    if (!parsed) return RangeNotSatisfiable(range_header, size, "file");
    range = *parsed;
    partial = true;
  }

  HttpResponse r;
  r.status = partial ? 206 : 200;
  r.content_type = "application/octet-stream";
  r.AddHeader("Content-Disposition", Disposition(name));
  r.AddHeader("Accept-Ranges", "bytes");
  if (!etag.empty()) r.AddHeader("ETag", etag);
  r.AddHeader("Cache-Control", "private, no-cache");
  if (partial) {
    r.AddHeader("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                     std::to_string(range.first + range.length - 1) + "/" + std::to_string(size));
  }
  Json detail = {{"path", browse::DisplayPath(*path)}, {"offset", range.first}, {"length", range.length},
                 {"instance", b.instance_name}};
  if (size <= kBufferedContent) {
    // Small files are read and checked whole before a byte is sent.
    auto bytes = browse::ReadWholeFile((*archive)->stream(), *entry);
    AuditCall(ctx, call, "backup.file_download", target, bytes.status(), detail);
    if (!bytes.ok()) return BrowseFail(call, bytes.status());
    r.body = bytes->substr(static_cast<size_t>(range.first), static_cast<size_t>(range.length));
    return r;
  }
  auto content = browse::FileContent::Open((*archive)->stream(), *entry);
  AuditCall(ctx, call, "backup.file_download", target, content.status(), detail);
  if (!content.ok()) return BrowseFail(call, content.status());
  r.stream = std::make_shared<ContentSource>(std::move(archive).value(), std::move(content).value(), *entry,
                                             range.first, range.length);
  r.stream_length = range.length;
  return r;
}

class SubtreeSource final : public BodySource {
 public:
  explicit SubtreeSource(std::unique_ptr<browse::SubtreeArchive> archive, Id backup_id)
      : archive_(std::move(archive)), backup_id_(backup_id) {}
  Result<std::span<const char>> Next() override {
    auto piece = archive_->Next();
    if (!piece.ok()) {
      log::Warn("subtree archive failed while streaming; cutting the download",
                {{"backup_id", backup_id_}, {"error", piece.status().message()}});
    }
    return piece;
  }

 private:
  std::unique_ptr<browse::SubtreeArchive> archive_;
  Id backup_id_;
};

HttpResponse SubtreeDownload(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  auto path = QueryPath(call, false);
  if (!path.ok()) return Fail(path.status());
  auto archive = browse::OpenBackupArchive(ctx.backups_dir, b);
  if (!archive.ok()) return BrowseFail(call, archive.status());
  auto entries = browse::SelectSubtrees((*archive)->catalog(), {*path});
  if (!entries.ok()) return BrowseFail(call, entries.status());
  const size_t count = entries->size();
  auto stream = browse::SubtreeArchive::Open(std::move(archive).value(), std::move(entries).value());
  AuditCall(ctx, call, "backup.subtree_download", target, stream.status(),
            {{"path", browse::DisplayPath(*path)}, {"entries", count}, {"instance", b.instance_name}});
  if (!stream.ok()) return BrowseFail(call, stream.status());
  std::string base = path->empty() ? "root" : path->substr(path->rfind('/') + 1);
  HttpResponse r;
  r.content_type = "application/zstd";
  r.AddHeader("Content-Disposition",
              Disposition(b.instance_name + "-" + std::to_string(b.id) + "-" + base + ".tar.zst"));
  r.AddHeader("Cache-Control", "private, no-cache");
  r.stream = std::make_shared<SubtreeSource>(std::move(stream).value(), b.id);
  return r;
}

// ?against=OTHER: the second backup, loaded and authorized with the first.
Result<auth::ResourceRef> ResolveBackupPair(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "backup");
  if (!id.ok()) return id.status();
  auto text = call.request.Query("against");
  if (!text || text->empty()) return Status::InvalidArgument("against: is required (the other backup's id)");
  auto other_id = ParseId(*text, "against");
  if (!other_id.ok()) return other_id.status();
  auto backup = ctx.store.GetBackup(*id);
  if (!backup.ok()) return Missing(backup.status(), "backup", *id);
  auto other = ctx.store.GetBackup(*other_id);
  if (!other.ok()) return Missing(other.status(), "backup", *other_id);
  call.backup = *backup;
  call.other_backup = *other;
  auth::ResourceRef ref = auth::ResourceRef::Backup(backup->id, backup->instance_id);
  ref.items.push_back({"backup", other->id, other->instance_id});
  return ref;
}

HttpResponse Diff(ApiContext& ctx, Call& call) {
  auto newer = browse::OpenBackupArchive(ctx.backups_dir, *call.backup);
  if (!newer.ok()) return BrowseFail(call, newer.status());
  auto older = browse::OpenBackupArchive(ctx.backups_dir, *call.other_backup);
  if (!older.ok()) return BrowseFail(call, older.status());
  auto diff = (*newer)->catalog().DiffAgainst(browse::CatalogPath((*older)->archive_path()), kMaxDiffEntries);
  if (!diff.ok()) return BrowseFail(call, diff.status());
  auto list = [](const std::vector<browse::Catalog::Change>& changes, bool old_size) {
    Json out = Json::array();
    for (const auto& c : changes) {
      Json j = {{"path", browse::DisplayPath(c.path)}, {"type", c.type}, {"size", c.size}};
      if (old_size) j["old_size"] = c.old_size;
      out.push_back(std::move(j));
    }
    return out;
  };
  return JsonResponse(200, {{"backup_id", call.backup->id},
                            {"against", call.other_backup->id},
                            {"added", list(diff->added, false)},
                            {"removed", list(diff->removed, false)},
                            {"changed", list(diff->changed, true)}});
}

}  // namespace

std::vector<Route> BrowseRoutes() {
  using A = auth::Action;
  auto backup = ResolveBackupParam();
  std::vector<Route> r;
  r.push_back({"GET", "/api/v1/backups/{id}/files", Access::kSignedIn, A::kDownloadBackup, backup, Files,
               "List a directory of the backup (path, limit, offset) or search it by name (q)", false});
  r.push_back({"GET", "/api/v1/backups/{id}/files/content", Access::kSignedIn, A::kDownloadBackup, backup, Content,
               "One file's bytes from the backup (Range requests; checked against the index's SHA-256)", false});
  r.push_back({"GET", "/api/v1/backups/{id}/files/archive", Access::kSignedIn, A::kDownloadBackup, backup,
               SubtreeDownload, "A .tar.zst of one directory (or file) of the backup", false});
  r.push_back({"GET", "/api/v1/backups/{id}/diff", Access::kSignedIn, A::kDownloadBackup, ResolveBackupPair, Diff,
               "Paths added, removed and changed since another backup (against)", false});
  return r;
}

}  // namespace clawback::controller::api
