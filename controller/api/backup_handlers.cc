// /api/v1/backups and /api/v1/instances/{id}/backups: starting, listing,
// showing, canceling, deleting and downloading backups.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "controller/api/handler_support.h"
#include "controller/api/requests.h"
#include "controller/api/trust_json.h"
#include "controller/jobs/archive_location.h"
#include "controller/jobs/backup_removal.h"
#include "controller/jobs/transfers.h"
#include "controller/storage/archive_storage.h"
#include "controller/store/store.h"
#include "shared/log.h"
#include "shared/path_rules.h"

namespace clawback::controller::api {
namespace {

Json LiveBackupJson(ApiContext& ctx, const Backup& b) {
  std::optional<uint64_t> live;
  if (b.status == BackupStatus::kRunning) live = ctx.transfers.LiveProgress(b.id);
  return BackupJson(b, live);
}

Result<std::optional<BackupStatus>> StatusQuery(const HttpRequest& req) {
  auto text = req.Query("status");
  if (!text || text->empty()) return std::optional<BackupStatus>();
  auto status = ParseBackupStatus(*text);
  if (!status) {
    return Status::InvalidArgument("status: must be one of queued, running, completed, failed, canceled");
  }
  return std::optional<BackupStatus>(*status);
}

HttpResponse ListPage(ApiContext& ctx, Call& call, BackupFilter filter) {
  auto page = ReadPage(call.request);
  if (!page.ok()) return Fail(page.status());
  auto status = StatusQuery(call.request);
  if (!status.ok()) return Fail(status.status());
  filter.status = *status;
  filter.limit = page->limit;
  filter.offset = page->offset;
  filter.visible_instances = auth::VisibleInstances(*call.principal);
  int64_t total = 0;
  auto list = ctx.store.ListBackups(filter, &total);
  if (!list.ok()) return Fail(list.status());
  std::vector<Id> ids;
  for (const Backup& b : *list) ids.push_back(b.id);
  auto checks = ChecksOf(ctx, ids);
  const std::vector<BackupCheck> none;
  // Written straight into the body (json_text.h), keys sorted as Dump
  // would write them.
  std::string body;
  JsonText w(body);
  w.BeginObject().Key("backups").BeginArray();
  for (const Backup& b : *list) {
    std::optional<uint64_t> live;
    if (b.status == BackupStatus::kRunning) live = ctx.transfers.LiveProgress(b.id);
    // A store failure reading the checks leaves them null, as on Show.
    const BackupChecks mine = ChecksFor(checks.ok() ? *checks : none, b.id);
    WriteBackup(w, b, live, &mine);
  }
  w.EndArray();
  w.Key("limit").Int(page->limit).Key("offset").Int(page->offset).Key("total").Int(total);
  w.EndObject();
  return JsonTextResponse(200, std::move(body));
}

HttpResponse ListAll(ApiContext& ctx, Call& call) {
  BackupFilter filter;
  if (auto inst = call.request.Query("instance"); inst && !inst->empty()) {
    auto id = ParseId(*inst, "instance");
    if (id.ok()) {
      filter.instance_id = *id;
    } else {
      filter.instance_name = *inst;
    }
  }
  if (auto sched = call.request.Query("schedule_id"); sched && !sched->empty()) {
    auto id = ParseId(*sched, "schedule_id");
    if (!id.ok()) return Fail(id.status());
    filter.schedule_id = *id;
  }
  return ListPage(ctx, call, std::move(filter));
}

HttpResponse ListOfInstance(ApiContext& ctx, Call& call) {
  BackupFilter filter;
  filter.instance_id = call.instance->id;
  return ListPage(ctx, call, std::move(filter));
}

HttpResponse Create(ApiContext& ctx, Call& call) {
  auto body = DecodeBackupCreate(call.body);
  if (!body.ok()) return Fail(body.error().status, body.error().field);

  BackupRequest request;
  request.instance = *call.instance;
  request.paths = body->paths;
  request.excludes = body->excludes;
  request.exclude_presets = body->exclude_presets;
  request.strict = body->strict;
  request.note = body->note;
  request.created_by = call.principal->user.id;
  request.created_by_name = call.principal->user.username;
  auto backup = ctx.transfers.StartBackup(request);
  const std::string target = backup.ok() ? "backup:" + std::to_string(backup->id) : "instance:" + call.instance->name;
  AuditCall(ctx, call, "backup.create", target, backup.status(),
            {{"instance", call.instance->name},
             {"paths", body->paths},
             {"excludes", body->excludes},
             {"exclude_presets", body->exclude_presets},
             {"strict", body->strict}});
  if (!backup.ok()) return Fail(backup.status());
  return JsonResponse(202, {{"id", backup->id}});
}

HttpResponse Show(ApiContext& ctx, Call& call) {
  Json b = LiveBackupJson(ctx, *call.backup);
  AttachChecks(ctx, {&b});
  return JsonResponse(200, b);
}

// After a cancel, the running job needs a moment to stop and record the
// final state; wait for it (bounded) so the caller sees the outcome.
Result<Backup> WaitFinal(ApiContext& ctx, Id id, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    auto b = ctx.store.GetBackup(id);
    if (!b.ok() || IsFinal(b->status) || std::chrono::steady_clock::now() >= deadline) return b;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

HttpResponse Cancel(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  Status st = IsFinal(b.status) ? Status::FailedPrecondition("backup " + std::to_string(b.id) + " is already " +
                                                            std::string(BackupStatusName(b.status)))
                                : ctx.transfers.CancelBackup(b.id);
  AuditCall(ctx, call, "backup.cancel", target, st, {{"instance", b.instance_name}});
  if (!st.ok()) return Fail(st);
  auto now = WaitFinal(ctx, b.id, std::chrono::seconds(10));
  if (!now.ok()) return Fail(Missing(now.status(), "backup", b.id));
  return JsonResponse(200, LiveBackupJson(ctx, *now));
}

HttpResponse Delete(ApiContext& ctx, Call& call) {
  Backup b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  auto finish = [&](const Status& st) {
    AuditCall(ctx, call, "backup.delete", target, st, {{"instance", b.instance_name}, {"file", BackupFileName(b)}});
    return st.ok() ? NoContent() : Fail(st);
  };
  if (!IsFinal(b.status)) {
    Status st = ctx.transfers.CancelBackup(b.id);
    if (!st.ok() && st.code() != Status::Code::kFailedPrecondition) return finish(st);
    auto now = WaitFinal(ctx, b.id, std::chrono::seconds(30));
    if (!now.ok()) return finish(Missing(now.status(), "backup", b.id));
    if (!IsFinal(now->status)) {
      return finish(Status::Unavailable("backup " + std::to_string(b.id) + " is still stopping; try again shortly"));
    }
    b = *now;
  }
  return finish(ctx.archives != nullptr ? RemoveBackup(ctx.store, *ctx.archives, b)
                                        : RemoveBackup(ctx.store, ctx.backups_dir, b));
}

// An object-storage archive's bytes [offset, offset + length), read in
// ranged pieces as the response is sent.
class StoredArchiveBody final : public BodySource {
 public:
  static constexpr size_t kPiece = 4 * 1024 * 1024;
  StoredArchiveBody(std::unique_ptr<storage::ArchiveReader> reader, uint64_t offset, uint64_t length)
      : reader_(std::move(reader)), offset_(offset), end_(offset + length) {}
  Result<std::span<const char>> Next() override {
    if (offset_ >= end_) return std::span<const char>();
    buffer_.resize(static_cast<size_t>(std::min<uint64_t>(kPiece, end_ - offset_)));
    auto got = reader_->ReadAt(offset_, buffer_.data(), buffer_.size());
    if (!got.ok()) return got.status();
    if (*got == 0) return Status::Corruption("archive ended early");
    offset_ += *got;
    return std::span<const char>(buffer_.data(), *got);
  }

 private:
  std::unique_ptr<storage::ArchiveReader> reader_;
  uint64_t offset_;
  const uint64_t end_;
  std::vector<char> buffer_;
};

// The answer to a download of backup `call.backup`'s archive of `size`
// bytes, without its body: 416 for an unsatisfiable Range; otherwise 200 or
// 206 with the headers (ETag = the archive's SHA-256, honoured by If-Range),
// `range` set to the bytes to send, and the download audited.
HttpResponse DownloadHead(ApiContext& ctx, Call& call, uint64_t size, ByteRange* range) {
  const Backup& b = *call.backup;
  const std::string etag = "\"" + b.sha256 + "\"";
  bool partial = false;
  const std::string& range_header = call.request.Header("range");
  const std::string& if_range = call.request.Header("if-range");
  if (!range_header.empty() && (if_range.empty() || if_range == etag)) {
    auto parsed = ParseRange(range_header, size);
    if (!parsed) return RangeNotSatisfiable(range_header, size, "archive");
    *range = *parsed;
    partial = true;
  }
  AuditCall(ctx, call, "backup.download", "backup:" + std::to_string(b.id), Status::Ok(),
            {{"offset", range->first}, {"length", range->length}, {"instance", b.instance_name}});
  HttpResponse r;
  r.status = partial ? 206 : 200;
  r.content_type = "application/zstd";
  r.AddHeader("Content-Disposition", "attachment; filename=\"" + BackupFileName(b) + "\"");
  r.AddHeader("Accept-Ranges", "bytes");
  r.AddHeader("ETag", etag);
  r.AddHeader("Cache-Control", "private, no-cache");
  if (partial) {
    r.AddHeader("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                     std::to_string(range->first + range->length - 1) + "/" + std::to_string(size));
  }
  return r;
}

HttpResponse DownloadStored(ApiContext& ctx, Call& call);

HttpResponse Download(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  if (b.status != BackupStatus::kCompleted || b.file_path.empty()) {
    return Fail(Status::FailedPrecondition("backup " + std::to_string(b.id) + " is " +
                                           std::string(BackupStatusName(b.status)) +
                                           "; only completed backups can be downloaded"));
  }
  if (ctx.archives != nullptr && ctx.archives->LocalDirectory().empty()) return DownloadStored(ctx, call);
  const std::string target = "backup:" + std::to_string(b.id);
  auto path = ArchiveAbsolutePath(ctx.backups_dir, b.file_path);
  if (!path.ok()) {
    log::Error("cannot locate a backup's archive", {{"backup_id", b.id}, {"error", path.status().message()}});
    Status st = Status::Internal("the archive location of backup " + std::to_string(b.id) + " is invalid");
    AuditCall(ctx, call, "backup.download", target, st);
    return Fail(st);
  }
  int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Status st = errno == ENOENT ? Status::Corruption("archive file of backup " + std::to_string(b.id) + " is missing")
                                : Status::IoError("cannot open the archive: " + std::string(std::strerror(errno)));
    AuditCall(ctx, call, "backup.download", target, st);
    return Fail(st);
  }
  auto handle = std::make_shared<UniqueFd>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Fail(Status::IoError("cannot stat the archive: " + std::string(std::strerror(errno))));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ByteRange range{0, size};
  HttpResponse r = DownloadHead(ctx, call, size, &range);
  if (r.status == 416) return r;
  r.file = FileSlice{handle, range.first, range.length};
  return r;
}

// Download from object storage; Download has checked the backup is completed.
HttpResponse DownloadStored(ApiContext& ctx, Call& call) {
  const Backup& b = *call.backup;
  const std::string target = "backup:" + std::to_string(b.id);
  auto reader = ctx.archives->OpenArchive(b.file_path);
  if (!reader.ok()) {
    log::Warn("cannot open a backup's archive", {{"backup_id", b.id}, {"error", reader.status().message()}});
    Status st = reader.status().code() == Status::Code::kNotFound
                    ? Status::Corruption("archive file of backup " + std::to_string(b.id) + " is missing")
                    : reader.status();
    AuditCall(ctx, call, "backup.download", target, st);
    return Fail(st);
  }
  const uint64_t size = (*reader)->size();
  ByteRange range{0, size};
  HttpResponse r = DownloadHead(ctx, call, size, &range);
  if (r.status == 416) return r;
  r.stream = std::make_shared<StoredArchiveBody>(std::move(reader).value(), range.first, range.length);
  r.stream_length = range.length;
  return r;
}

}  // namespace

std::vector<Route> BackupRoutes() {
  using A = auth::Action;
  auto instance = ResolveInstanceParam();
  auto backup = ResolveBackupParam();
  std::vector<Route> r;
  r.push_back({"GET", "/api/v1/backups", Access::kSignedIn, A::kListBackups, nullptr, ListAll,
               "Backups visible to you, newest first (filters: instance, status, schedule_id)", false});
  r.push_back({"GET", "/api/v1/instances/{id}/backups", Access::kSignedIn, A::kViewInstance, instance,
               ListOfInstance, "One instance's backups, newest first", false});
  r.push_back({"POST", "/api/v1/instances/{id}/backups", Access::kSignedIn, A::kCreateBackup, instance, Create,
               "Start a backup of the instance", true});
  r.push_back({"GET", "/api/v1/backups/{id}", Access::kSignedIn, A::kViewBackup, backup, Show, "One backup", false});
  r.push_back({"DELETE", "/api/v1/backups/{id}", Access::kSignedIn, A::kDeleteBackup, backup, Delete,
               "Delete a backup's file and record (cancels a running one first)", false});
  r.push_back({"POST", "/api/v1/backups/{id}/cancel", Access::kSignedIn, A::kCancelBackup, backup, Cancel,
               "Cancel a queued or running backup", false});
  r.push_back({"GET", "/api/v1/backups/{id}/download", Access::kSignedIn, A::kDownloadBackup, backup, Download,
               "Download the archive (Range requests resume)", false});
  return r;
}

}  // namespace clawback::controller::api
