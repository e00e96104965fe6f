// backup create|list|show|download|delete|cancel|restore.
//
// Downloads stream to <FILE>.partial with a bounded buffer, resume with
// `Range: bytes=N-` when a .partial is already there, and are renamed into
// place only after the SHA-256 of the whole file matches the backup's. A
// broken transfer leaves the .partial for the next run; a corrupt one is
// deleted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"

namespace clawback::controller::cli {
namespace {

struct CreateOptions {
  std::string instance;
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_presets;
  bool strict = false;
  std::string note;
  bool wait = false;
};

struct ListOptions {
  std::string instance;
  std::string status;
  std::string schedule_id;
  int limit = 50;
  int offset = 0;
};

struct DownloadOptions {
  int64_t id = 0;
  std::string output;
  bool force = false;
};

struct RestoreOptions {
  int64_t id = 0;
  std::string target;
  bool wait = false;
  bool no_quiesce = false;
  std::vector<std::string> paths;  // only these files/directories of the backup
  bool dry_run = false;            // preview: what would be created, replaced, left unchanged
};

std::string BackupPath(int64_t id) { return "/backups/" + std::to_string(id); }

uint64_t UintField(const Json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return 0;
  return object[key].get<uint64_t>();
}

std::string SizeText(const Json& b) {
  std::string status = b.value("status", "");
  if (status == "running") return FormatBytes(UintField(b, "progress_bytes")) + "...";
  if (status != "completed") return "-";
  return FormatBytes(UintField(b, "size_bytes"));
}

std::string BackupSummary(const Json& b) {
  return "backup " + Field(b, "id") + " of " + Field(b, "instance_name") + " completed: " +
         FormatBytes(UintField(b, "size_bytes")) + ", " + Field(b, "entries") + " entries, " +
         Field(b, "databases_captured") + " databases captured, sha256 " + Field(b, "sha256");
}

// "3 captured consistently, 1 archived as plain bytes (see warnings)".
std::string DatabasesText(const Json& b) {
  std::string out = std::to_string(UintField(b, "databases_captured")) + " captured consistently";
  uint64_t raw = UintField(b, "databases_raw");
  if (raw > 0) out += ", " + std::to_string(raw) + " archived as plain bytes (see warnings)";
  return out;
}

// "logs, caches; /srv/x/**" or "-".
std::string ExcludesText(const Json& b) {
  std::string presets = Field(b, "exclude_presets");
  std::string globs = Field(b, "excludes");
  if (presets == "-") return globs;
  return "presets " + presets + (globs == "-" ? "" : "; " + globs);
}

// What `--wait` prints when stderr is not a terminal: one plain line per
// state change, and the bytes so far every ~10 s while running, so a log
// or CI job shows progress without carriage returns.
class PlainProgress {
 public:
  PlainProgress(CommandContext& ctx, std::string what)
      : ctx_(ctx),
        what_(std::move(what)),
        enabled_(!ctx.progress_enabled() && !ctx.json() && !ctx.options().quiet) {}

  void Update(const std::string& status, uint64_t bytes) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    bool changed = status != last_status_;
    if (!changed && (status != "running" || now - last_line_ < std::chrono::seconds(10))) return;
    last_status_ = status;
    last_line_ = now;
    ctx_.err() << what_ << ": " << status;
    if (status == "running" && bytes > 0) ctx_.err() << ", " << FormatBytes(bytes);
    ctx_.err() << "\n" << std::flush;
  }

 private:
  CommandContext& ctx_;
  std::string what_;
  bool enabled_;
  std::string last_status_;
  std::chrono::steady_clock::time_point last_line_;
};

// GET `path` of a job being waited for. A restarting or briefly overloaded
// server is not the job failing: up to 9 Unavailable answers in a row are
// waited out (a PollPause each); the 10th, or any other error, is returned.
Result<Json> GetPolledJob(ApiClient& api, const std::string& path) {
  for (int attempt = 1;; ++attempt) {
    auto job = api.Get(path);
    if (job.ok() || job.status().code() != Status::Code::kUnavailable || attempt >= 10) return job;
    PollPause();
  }
}

// The error for a job (`what`: "backup 7") that ended `failed`
// (Unavailable) or `canceled` (Canceled), naming its error_message; with
// --json the job's JSON is printed first.
Status JobEndedBadly(CommandContext& ctx, const Json& job, const std::string& what) {
  if (ctx.json()) PrintJson(ctx.out(), job);
  std::string status = job.value("status", "");
  std::string reason = job.value("error_message", "");
  std::string message = what + " " + status + (reason.empty() ? "" : ": " + reason);
  return status == "failed" ? Status::Unavailable(message) : Status::Canceled(message);
}

// Polls GET /backups/{id} until it ends. OK only for `completed`.
Status WaitForBackup(CommandContext& ctx, ApiClient& api, int64_t id) {
  ProgressBar bar(ctx.err(), "backup " + std::to_string(id), 0, ctx.progress_enabled());
  PlainProgress lines(ctx, "backup " + std::to_string(id));
  for (;;) {
    auto backup = GetPolledJob(api, BackupPath(id));
    if (!backup.ok()) return backup.status();
    std::string status = backup->value("status", "");
    if (status == "completed") {
      bar.Update(UintField(*backup, "size_bytes"));
      bar.Finish();
      if (ctx.json()) {
        PrintJson(ctx.out(), *backup);
      } else {
        ctx.out() << BackupSummary(*backup) << "\n";
        for (const auto& w : (*backup)["warnings"]) {
          ctx.err() << "warning: " << (w.is_string() ? w.get<std::string>() : w.dump()) << "\n";
        }
      }
      return Status::Ok();
    }
    if (status == "failed" || status == "canceled") {
      return JobEndedBadly(ctx, *backup, "backup " + std::to_string(id));
    }
    bar.Update(UintField(*backup, "progress_bytes"));
    lines.Update(status, UintField(*backup, "progress_bytes"));
    PollPause();
  }
}

Status Create(CommandContext& ctx, const CreateOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto id = (*api)->InstanceId(opts.instance);
  if (!id.ok()) return id.status();
  Json body = Json::object();
  if (!opts.paths.empty()) body["paths"] = opts.paths;
  if (!opts.note.empty()) body["note"] = opts.note;
  if (!opts.excludes.empty()) body["excludes"] = opts.excludes;
  if (!opts.exclude_presets.empty()) body["exclude_presets"] = opts.exclude_presets;
  if (opts.strict) body["strict"] = true;
  auto created = (*api)->Post("/instances/" + std::to_string(*id) + "/backups", body);
  if (!created.ok()) return created.status();
  int64_t backup_id = (*created)["id"].get<int64_t>();
  if (opts.wait) return WaitForBackup(ctx, **api, backup_id);
  if (ctx.json()) {
    PrintJson(ctx.out(), *created);
  } else {
    ctx.out() << "Backup " << backup_id << " of " << opts.instance << " queued.\n";
  }
  return Status::Ok();
}

Status List(CommandContext& ctx, const ListOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  // Resolved here so an unknown name is an error, not an empty list.
  std::string instance_id;
  if (!opts.instance.empty()) {
    auto id = (*api)->InstanceId(opts.instance);
    if (!id.ok()) return id.status();
    instance_id = std::to_string(*id);
  }
  std::string query = QueryString({{"instance", instance_id},
                                   {"status", opts.status},
                                   {"schedule_id", opts.schedule_id},
                                   {"limit", std::to_string(opts.limit)},
                                   {"offset", opts.offset > 0 ? std::to_string(opts.offset) : ""}});
  auto list = (*api)->Get("/backups" + query);
  if (!list.ok()) return list.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *list);
    return Status::Ok();
  }
  Table table({"id", "instance", "status", "size", "entries", "created", "note"});
  for (const auto& b : (*list)["backups"]) {
    table.AddRow({Field(b, "id"), Field(b, "instance_name"), Field(b, "status"), SizeText(b), Field(b, "entries"),
                  ShortTime(b, "created_at"), Field(b, "note")});
  }
  ctx.out() << table.Render();
  uint64_t total = UintField(*list, "total");
  if (total > table.rows() + static_cast<uint64_t>(opts.offset)) {
    ctx.err() << "(showing " << table.rows() << " of " << total << "; use --limit/--offset for more)\n";
  }
  return Status::Ok();
}

Status Show(CommandContext& ctx, int64_t id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto backup = (*api)->Get(BackupPath(id));
  if (!backup.ok()) return backup.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *backup);
    return Status::Ok();
  }
  const Json& b = *backup;
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", Field(b, "id")},
      {"instance", Field(b, "instance_name") + " (id " + Field(b, "instance_id") + ")"},
      {"status", Field(b, "status")},
      {"paths", Field(b, "paths")},
      {"excludes", ExcludesText(b)},
      {"strict", Field(b, "strict")},
      {"note", Field(b, "note")},
      {"file", Field(b, "file_name")},
      {"size", b.value("status", "") == "completed" ? FormatBytes(UintField(b, "size_bytes")) + " (" +
                                                          Field(b, "size_bytes") + " bytes)"
                                                    : "-"},
      {"progress", FormatBytes(UintField(b, "progress_bytes"))},
      {"entries", Field(b, "entries")},
      {"databases", DatabasesText(b)},
      {"sha256", Field(b, "sha256")},
      {"schedule", Field(b, "schedule_id")},
      {"created by", Field(b, "created_by")},
      {"created", ShortTime(b, "created_at")},
      {"started", ShortTime(b, "started_at")},
      {"completed", ShortTime(b, "completed_at")}};
  if (Field(b, "error_message") != "-") fields.emplace_back("error", Field(b, "error_message"));
  const Json warnings = b.value("warnings", Json::array());
  fields.emplace_back("warnings", std::to_string(warnings.size()));
  ctx.out() << RenderFields(fields);
  for (const auto& w : warnings) ctx.out() << "  warning: " << (w.is_string() ? w.get<std::string>() : w.dump()) << "\n";
  return Status::Ok();
}

Status Delete(CommandContext& ctx, int64_t id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  CLAWBACK_RETURN_IF_ERROR((*api)->Delete(BackupPath(id)).status());
  if (!ctx.json()) ctx.out() << "Backup " << id << " deleted.\n";
  return Status::Ok();
}

Status Cancel(CommandContext& ctx, int64_t id) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto backup = (*api)->Post(BackupPath(id) + "/cancel", Json::object());
  if (!backup.ok()) return backup.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *backup);
  } else {
    ctx.out() << "Backup " << id << " is " << Field(*backup, "status") << ".\n";
  }
  return Status::Ok();
}

// ---- download ---------------------------------------------------------

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// SHA-256 over everything fed to it.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { Reset(); }
  void Reset() { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Update(const char* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &size);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
      out.push_back(kHex[digest[i] >> 4]);
      out.push_back(kHex[digest[i] & 0xf]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> ctx_;
};

// An owned file descriptor.
class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int get() const { return fd_; }
  Status Close(const std::string& path) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Status::IoError("cannot close " + path + ": " + std::strerror(errno));
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Hashes the first `size` bytes already in `path`.
Status HashExisting(const std::string& path, uint64_t size, Sha256& hash) {
  File in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  std::vector<char> buf(256 * 1024);
  uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(in.get(), buf.data(), std::min<uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) return Status::IoError(path + " shrank while reading it");
    hash.Update(buf.data(), static_cast<size_t>(n));
    left -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

std::string Unquote(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

Status FsyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  File d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0 || ::fsync(d.get()) != 0) {
    return Status::IoError("cannot fsync " + dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// One attempt: resumes from the .partial's current size when `resume`
// (Range + If-Range on the backup's sha256, so a changed file is sent whole).
// Sets `range_refused` when the server answered 416 to a resume, and
// `resumed_from` to the offset the server continued from (0: from the start).
Status DownloadOnce(CommandContext& ctx, ApiClient& api, int64_t id, const std::string& partial,
                    uint64_t total, const std::string& sha256, bool resume, std::string& digest,
                    std::string& etag, bool& range_refused, uint64_t& resumed_from) {
  resumed_from = 0;
  uint64_t offset = 0;
  std::error_code ec;
  if (resume && std::filesystem::exists(partial, ec)) offset = std::filesystem::file_size(partial, ec);
  if (ec) offset = 0;
  if (total > 0 && offset > total) offset = 0;

  Sha256 hash;
  if (offset > 0) CLAWBACK_RETURN_IF_ERROR(HashExisting(partial, offset, hash));
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset > 0 ? O_APPEND : O_TRUNC);
  File out(::open(partial.c_str(), flags, 0600));
  if (out.get() < 0) return Status::IoError("cannot create " + partial + ": " + std::strerror(errno));
  if (offset > 0 && ::ftruncate(out.get(), static_cast<off_t>(offset)) != 0) {
    return Status::IoError("cannot truncate " + partial + ": " + std::strerror(errno));
  }

  ProgressBar bar(ctx.err(), "download " + std::to_string(id), total, ctx.progress_enabled());
  uint64_t done = offset;
  std::vector<std::pair<std::string, std::string>> headers;
  if (offset > 0) {
    if (offset == total) {
      // Everything is here already: verify without asking for bytes.
      digest = hash.HexDigest();
      resumed_from = offset;
      return out.Close(partial);
    }
    headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
    if (!sha256.empty()) headers.emplace_back("If-Range", "\"" + sha256 + "\"");
    if (ctx.progress_enabled()) {  // off a terminal the result line says it resumed
      ctx.err() << "Resuming download of backup " << id << " from " << partial << " at byte " << offset << " of "
                << total << ".\n" << std::flush;
    }
  }
  BodySink sink;
  sink.on_headers = [&](const HttpResponse& head) -> Status {
    auto it = head.headers.find("etag");
    if (it != head.headers.end()) etag = Unquote(it->second);
    if (head.status == 206) {
      auto range = head.headers.find("content-range");
      std::string expected = "bytes " + std::to_string(offset) + "-";
      if (range == head.headers.end() || range->second.rfind(expected, 0) != 0) {
        return Status::Corruption("the server resumed at the wrong offset (Content-Range " +
                                  (range == head.headers.end() ? std::string("missing") : range->second) + ")");
      }
      resumed_from = offset;
    } else if (offset > 0) {
      // The server sent the whole file instead of the rest: start over.
      if (::ftruncate(out.get(), 0) != 0 || ::lseek(out.get(), 0, SEEK_SET) != 0) {
        return Status::IoError("cannot truncate " + partial + ": " + std::strerror(errno));
      }
      hash.Reset();
      offset = 0;
      done = 0;
    }
    if (auto len = head.headers.find("content-length"); len != head.headers.end() && total == 0) {
      bar.set_total(offset + std::stoull(len->second));
    }
    bar.Update(done);
    return Status::Ok();
  };
  sink.on_data = [&](const char* data, size_t size) -> Status {
    CLAWBACK_RETURN_IF_ERROR(WriteAll(out.get(), data, size, partial));
    hash.Update(data, size);
    done += size;
    bar.Update(done);
    return Status::Ok();
  };
  auto response = api.Download(BackupPath(id) + "/download", headers, sink);
  if (!response.ok()) {
    if (response.status().code() == Status::Code::kInvalidArgument && offset > 0) range_refused = true;
    return response.status();
  }
  if (::fsync(out.get()) != 0) return Status::IoError("cannot fsync " + partial + ": " + std::strerror(errno));
  CLAWBACK_RETURN_IF_ERROR(out.Close(partial));
  bar.Finish();
  digest = hash.HexDigest();
  return Status::Ok();
}

Status Download(CommandContext& ctx, const DownloadOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto backup = (*api)->Get(BackupPath(opts.id));
  if (!backup.ok()) return backup.status();
  std::string status = backup->value("status", "");
  if (status != "completed") {
    return Status::FailedPrecondition("backup " + std::to_string(opts.id) + " is " + status +
                                      ", only completed backups can be downloaded");
  }
  std::string file_name = std::filesystem::path(backup->value("file_name", "")).filename().string();
  if (file_name.empty() || file_name == "." || file_name == "..") {
    file_name = "backup-" + std::to_string(opts.id) + ".tar.zst";
  }
  std::string target = opts.output.empty() ? file_name : opts.output;
  std::error_code ec;
  if (std::filesystem::is_directory(target, ec)) target = (std::filesystem::path(target) / file_name).string();
  if (std::filesystem::exists(target, ec) && !opts.force) {
    return Status::AlreadyExists(target + " already exists (use --force to overwrite)");
  }
  std::string partial = target + ".partial";
  uint64_t total = UintField(*backup, "size_bytes");
  std::string expected = backup->value("sha256", "");

  std::string digest, etag;
  bool range_refused = false;
  uint64_t resumed_from = 0;
  Status st = DownloadOnce(ctx, **api, opts.id, partial, total, expected, /*resume=*/true, digest, etag,
                           range_refused, resumed_from);
  if (!st.ok() && range_refused) {
    st = DownloadOnce(ctx, **api, opts.id, partial, total, expected, /*resume=*/false, digest, etag,
                      range_refused, resumed_from);
  }
  if (!st.ok()) {
    uint64_t kept = std::filesystem::exists(partial, ec) ? std::filesystem::file_size(partial, ec) : 0;
    if (!ec && kept > 0) {
      return st.WithContext("download interrupted at byte " + std::to_string(kept) +
                            " (run the same command again to resume from " + partial + ")");
    }
    return st;
  }
  if (expected.empty()) expected = etag;
  if (expected.empty()) {
    return Status::Corruption("the server gave no SHA-256 for backup " + std::to_string(opts.id) +
                              "; kept the unverified file as " + partial);
  }
  if (digest != expected) {
    std::filesystem::remove(partial, ec);
    std::string resumed = resumed_from > 0 ? "resumed at byte " + std::to_string(resumed_from) + "; " : "";
    return Status::Corruption("checksum mismatch for backup " + std::to_string(opts.id) + ": got sha256 " +
                              digest + ", expected " + expected + " (" + resumed +
                              "the partial file was removed; try again)");
  }
  if (::rename(partial.c_str(), target.c_str()) != 0) {
    return Status::IoError("cannot rename " + partial + " to " + target + ": " + std::strerror(errno));
  }
  CLAWBACK_RETURN_IF_ERROR(FsyncDirectoryOf(target));
  if (ctx.json()) {
    PrintJson(ctx.out(), {{"id", opts.id},
                          {"file", target},
                          {"size_bytes", total},
                          {"sha256", digest},
                          {"resumed_from", resumed_from}});
  } else {
    ctx.out() << "Downloaded backup " << opts.id << " to " << target << " (" << FormatBytes(total)
              << (resumed_from > 0 ? ", resumed at byte " + std::to_string(resumed_from) : std::string())
              << ", sha256 verified).\n";
  }
  return Status::Ok();
}

// ---- restore ----------------------------------------------------------

Status WaitForRestore(CommandContext& ctx, ApiClient& api, int64_t restore_id, uint64_t total) {
  ProgressBar bar(ctx.err(), "restore " + std::to_string(restore_id), total, ctx.progress_enabled());
  PlainProgress lines(ctx, "restore " + std::to_string(restore_id));
  for (;;) {
    auto restore = GetPolledJob(api, "/restores/" + std::to_string(restore_id));
    if (!restore.ok()) return restore.status();
    const Json& r = *restore;
    std::string status = r.value("status", "");
    if (status == "completed") {
      bar.Update(total);
      bar.Finish();
      if (ctx.json()) {
        PrintJson(ctx.out(), r);
        return Status::Ok();
      }
      size_t skipped = r.contains("skipped") && r["skipped"].is_array() ? r["skipped"].size() : 0;
      ctx.out() << "Restore " << restore_id << " into " << Field(r, "target_instance_name") << " completed: "
                << Field(r, "entries_written") << " entries, " << FormatBytes(UintField(r, "bytes_written"))
                << " written, " << skipped << " skipped"
                << (r.value("quiesced", false) ? ", quiesced by the agent's hooks"
                    : r.value("quiesce", true) ? ", not quiesced (the agent has no restore hooks)"
                                               : ", not quiesced (--no-quiesce)")
                << ".\n";
      size_t shown = 0;
      for (const auto& s : r.value("skipped", Json::array())) {
        if (++shown > 20) {
          ctx.out() << "  ... and " << (skipped - 20) << " more (see --json)\n";
          break;
        }
        ctx.out() << "  skipped " << Field(s, "path") << ": " << Field(s, "reason") << "\n";
      }
      return Status::Ok();
    }
    if (status == "failed" || status == "canceled") {
      return JobEndedBadly(ctx, r, "restore " + std::to_string(restore_id));
    }
    bar.Update(UintField(r, "progress_bytes"));
    lines.Update(status, UintField(r, "progress_bytes"));
    PollPause();
  }
}

// "12 files will be replaced, 3 created, 40 unchanged" and the first of each.
void PrintPreview(CommandContext& ctx, const Json& r) {
  const Json changes = r.value("changes", Json::object());
  auto count = [&](const char* key) {
    return changes.contains(key) && changes[key].is_object() ? changes[key].value("count", uint64_t{0}) : 0;
  };
  ctx.out() << "Preview of restoring backup " << Field(r, "backup_id") << " into " << Field(r, "target_instance_name")
            << " (nothing was written): " << count("replace") << " will be replaced, " << count("create")
            << " created, " << count("unchanged") << " unchanged.\n";
  for (const char* key : {"replace", "create"}) {
    if (!changes.contains(key) || !changes[key].is_object()) continue;
    for (const auto& p : changes[key].value("first", Json::array())) {
      ctx.out() << "  " << key << " " << (p.is_string() ? p.get<std::string>() : p.dump()) << "\n";
    }
  }
}

Status Restore(CommandContext& ctx, const RestoreOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto target = (*api)->InstanceId(opts.target);
  if (!target.ok()) return target.status();
  Json body = {{"instance_id", *target}, {"quiesce", !opts.no_quiesce}};
  if (!opts.paths.empty()) body["paths"] = opts.paths;
  if (opts.dry_run) body["dry_run"] = true;
  auto started = (*api)->Post(BackupPath(opts.id) + "/restore", body);
  if (!started.ok()) return started.status();
  int64_t restore_id = (*started)["id"].get<int64_t>();
  if (opts.dry_run) {
    for (;;) {
      auto r = GetPolledJob(**api, "/restores/" + std::to_string(restore_id));
      if (!r.ok()) return r.status();
      const std::string status = r->value("status", "");
      if (status == "failed" || status == "canceled") return JobEndedBadly(ctx, *r, "preview " + std::to_string(restore_id));
      if (status == "completed") {
        if (ctx.json()) {
          PrintJson(ctx.out(), *r);
        } else {
          PrintPreview(ctx, *r);
        }
        return Status::Ok();
      }
      PollPause();
    }
  }
  if (opts.wait) {
    uint64_t total = 0;
    if (auto backup = (*api)->Get(BackupPath(opts.id)); backup.ok()) total = UintField(*backup, "size_bytes");
    return WaitForRestore(ctx, **api, restore_id, total);
  }
  if (ctx.json()) {
    PrintJson(ctx.out(), *started);
  } else {
    ctx.out() << "Restore " << restore_id << " of backup " << opts.id << " into " << opts.target << " queued.\n";
  }
  return Status::Ok();
}

void AddIdCommand(CLI::App& parent, const char* name, const char* help, Action* action,
                  Status (*run)(CommandContext&, int64_t)) {
  auto id = std::make_shared<int64_t>(0);
  auto* cmd = parent.add_subcommand(name, help);
  cmd->add_option("id", *id, "Backup id")->required();
  cmd->callback([id, action, run] { *action = [id, run](CommandContext& ctx) { return run(ctx, *id); }; });
}

}  // namespace

void AddBackupCommands(CLI::App& app, Action* action) {
  auto* backup = app.add_subcommand("backup", "Backups of instances");
  backup->require_subcommand(1);
  {
    auto opts = std::make_shared<CreateOptions>();
    auto* cmd = backup->add_subcommand("create", "Back up an instance now");
    cmd->add_option("instance", opts->instance, "Instance name or id")->required();
    cmd->add_option("--path,-p", opts->paths, "Path or alias to include (repeatable; default HOME)");
    cmd->add_option("--note", opts->note, "A note stored with the backup");
    cmd->add_option("--exclude,-x", opts->excludes,
                    "Leave out paths matching this glob on absolute paths, ** allowed (repeatable)");
    cmd->add_option("--exclude-preset", opts->exclude_presets,
                    "Leave out a preset: logs or caches (repeatable; docs/excludes.md)");
    cmd->add_flag("--strict", opts->strict, "Fail the backup if a database cannot be captured consistently");
    cmd->add_flag("--wait,-w", opts->wait, "Wait for the backup to end, with progress; fail unless completed");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Create(ctx, *opts); }; });
  }
  {
    auto opts = std::make_shared<ListOptions>();
    auto* cmd = backup->add_subcommand("list", "List backups, newest first");
    cmd->add_option("--instance,-i", opts->instance, "Only this instance (name or id)");
    cmd->add_option("--status,-s", opts->status, "Only this status")
        ->check(CLI::IsMember({"queued", "running", "completed", "failed", "canceled"}));
    cmd->add_option("--schedule", opts->schedule_id, "Only backups made by this schedule id");
    cmd->add_option("--limit,-n", opts->limit, "At most this many (1-500)")->check(CLI::Range(1, 500));
    cmd->add_option("--offset", opts->offset, "Skip this many")->check(CLI::NonNegativeNumber);
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return List(ctx, *opts); }; });
  }
  AddIdCommand(*backup, "show", "Show one backup", action, Show);
  {
    auto opts = std::make_shared<DownloadOptions>();
    auto* cmd = backup->add_subcommand("download", "Download a completed backup (resumable, verified)");
    cmd->add_option("id", opts->id, "Backup id")->required();
    cmd->add_option("-o,--output", opts->output, "File or directory to write (default: the backup's file name)");
    cmd->add_flag("--force,-f", opts->force, "Overwrite an existing file");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Download(ctx, *opts); }; });
  }
  AddIdCommand(*backup, "delete", "Delete a backup (file and record; cancels a running one)", action, Delete);
  backup->get_subcommand("delete")->alias("rm");
  AddIdCommand(*backup, "cancel", "Cancel a queued or running backup", action, Cancel);
  {
    auto opts = std::make_shared<RestoreOptions>();
    auto* cmd = backup->add_subcommand("restore", "Restore a backup into an instance");
    cmd->add_option("id", opts->id, "Backup id")->required();
    cmd->add_option("--to", opts->target, "Target instance (name or id)")->required();
    cmd->add_flag("--wait,-w", opts->wait, "Wait for the restore to end, with progress");
    cmd->add_flag("--no-quiesce", opts->no_quiesce,
                  "Do not run the target agent's quiesce hooks (e.g. leave the gateway running)");
    cmd->add_option("--path,-p", opts->paths, "Restore only this file or directory of the backup (repeatable)");
    cmd->add_flag("--dry-run,-n", opts->dry_run,
                  "Preview: print what would be created, replaced and left unchanged; write nothing");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Restore(ctx, *opts); }; });
  }
  AddBrowseCommands(*backup, action);
  AddBackupVerifyCommand(*backup, action);
}

}  // namespace clawback::controller::cli
