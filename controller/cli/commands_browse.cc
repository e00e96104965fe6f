// backup ls|cat|get|diff: looking inside a stored backup (docs/cli.md).
//
// `ls ID [PATH]` lists a directory (all pages), `cat ID FILE` writes the
// file's raw bytes to stdout, `get ID PATH [-o OUT]` saves a file, or a
// directory as a .tar.zst, and `diff ID OTHER` prints what changed. Files are
// written to OUT.partial and renamed only once the transfer ended whole (the
// server cuts a transfer whose content fails its check).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "controller/cli/commands.h"
#include "controller/cli/output.h"

namespace clawback::controller::cli {
namespace {

std::string FilesPath(int64_t id) { return "/backups/" + std::to_string(id) + "/files"; }

struct LsOptions {
  int64_t id = 0;
  std::string path = "/";
};

struct CatOptions {
  int64_t id = 0;
  std::string path;
};

struct GetOptions {
  int64_t id = 0;
  std::string path;
  std::string output;
  bool force = false;
};

struct DiffOptions {
  int64_t id = 0;
  int64_t other = 0;
};

std::string ModeText(const Json& e) {
  static const char* kType = "-";
  std::string type = e.value("type", "");
  std::string out = type == "dir" ? "d" : type == "symlink" ? "l" : type == "hardlink" ? "h" : type == "char" ? "c"
                    : type == "block"                                                        ? "b"
                    : type == "fifo"                                                         ? "p"
                                                                                             : kType;
  unsigned mode = e.value("mode", 0u);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out.push_back((mode >> (8 - i)) & 1 ? rwx[i] : '-');
  return out;
}

Status Ls(CommandContext& ctx, const LsOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  Json all = Json::array();
  Json page;
  for (int offset = 0;; offset += 500) {
    auto got = (*api)->Get(FilesPath(opts.id) + QueryString({{"path", opts.path},
                                                             {"limit", "500"},
                                                             {"offset", std::to_string(offset)}}));
    if (!got.ok()) return got.status();
    page = *got;
    for (auto& e : page["entries"]) all.push_back(e);
    if (page["entries"].size() < 500 || all.size() >= page.value("total", size_t{0})) break;
  }
  if (ctx.json()) {
    page["entries"] = all;
    page["limit"] = all.size();
    page["offset"] = 0;
    PrintJson(ctx.out(), page);
    return Status::Ok();
  }
  Table t({"mode", "size", "modified", "name"});
  for (const auto& e : all) {
    std::string name = e.value("name", "");
    if (e.value("type", "") == "dir") name += "/";
    if (e.contains("target")) name += " -> " + e.value("target", "");
    t.AddRow({ModeText(e), e.value("type", "") == "file" ? FormatBytes(e.value("size", uint64_t{0})) : "-",
              e.value("mtime", ""), name});
  }
  ctx.out() << t.Render();
  return Status::Ok();
}

Status Cat(CommandContext& ctx, const CatOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  BodySink sink;
  sink.on_headers = [](const HttpResponse&) { return Status::Ok(); };
  sink.on_data = [&](const char* data, size_t size) -> Status {
    ctx.out().write(data, static_cast<std::streamsize>(size));
    if (!ctx.out()) return Status::IoError("cannot write to standard output");
    return Status::Ok();
  };
  auto response = (*api)->Download(FilesPath(opts.id) + "/content" + QueryString({{"path", opts.path}}), {}, sink);
  if (!response.ok()) return response.status();
  ctx.out().flush();
  return Status::Ok();
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IoError("write to " + path + " failed: " + std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Get(CommandContext& ctx, const GetOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  // A directory lists; anything else is fetched as a file.
  auto listed = (*api)->Get(FilesPath(opts.id) + QueryString({{"path", opts.path}, {"limit", "1"}}));
  bool directory = listed.ok();
  if (!listed.ok() && listed.status().code() != Status::Code::kInvalidArgument) return listed.status();
  std::string base = std::filesystem::path(opts.path).filename().string();
  if (base.empty() || base == "." || base == "..") base = "backup-" + std::to_string(opts.id);
  std::string target = opts.output.empty() ? base + (directory ? ".tar.zst" : "") : opts.output;
  std::error_code ec;
  if (std::filesystem::is_directory(target, ec)) {
    target = (std::filesystem::path(target) / (base + (directory ? ".tar.zst" : ""))).string();
  }
  if (std::filesystem::exists(target, ec) && !opts.force) {
    return Status::AlreadyExists(target + " already exists (use --force to overwrite)");
  }
  const std::string partial = target + ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create " + partial + ": " + std::strerror(errno));
  uint64_t bytes = 0;
  BodySink sink;
  sink.on_headers = [](const HttpResponse&) { return Status::Ok(); };
  sink.on_data = [&](const char* data, size_t size) -> Status {
    bytes += size;
    return WriteAll(fd, data, size, partial);
  };
  const std::string route = directory ? "/archive" : "/content";
  auto response = (*api)->Download(FilesPath(opts.id) + route + QueryString({{"path", opts.path}}), {}, sink);
  Status st = response.status();
  if (st.ok() && ::fsync(fd) != 0) st = Status::IoError("cannot fsync " + partial + ": " + std::strerror(errno));
  if (::close(fd) != 0 && st.ok()) st = Status::IoError("cannot close " + partial + ": " + std::strerror(errno));
  if (!st.ok()) {
    std::filesystem::remove(partial, ec);
    return st;
  }
  if (::rename(partial.c_str(), target.c_str()) != 0) {
    return Status::IoError("cannot rename " + partial + " to " + target + ": " + std::strerror(errno));
  }
  if (ctx.json()) {
    PrintJson(ctx.out(), {{"id", opts.id}, {"path", opts.path}, {"file", target}, {"bytes", bytes},
                          {"archive", directory}});
  } else {
    ctx.out() << "Saved " << opts.path << " from backup " << opts.id << " to " << target << " ("
              << FormatBytes(bytes) << (directory ? ", .tar.zst" : "") << ").\n";
  }
  return Status::Ok();
}

Status Diff(CommandContext& ctx, const DiffOptions& opts) {
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  auto diff = (*api)->Get("/backups/" + std::to_string(opts.id) + "/diff" +
                          QueryString({{"against", std::to_string(opts.other)}}));
  if (!diff.ok()) return diff.status();
  if (ctx.json()) {
    PrintJson(ctx.out(), *diff);
    return Status::Ok();
  }
  for (const auto& e : (*diff)["added"]) ctx.out() << "+ " << Field(e, "path") << " (" << FormatBytes(e.value("size", uint64_t{0})) << ")\n";
  for (const auto& e : (*diff)["removed"]) ctx.out() << "- " << Field(e, "path") << "\n";
  for (const auto& e : (*diff)["changed"]) {
    ctx.out() << "M " << Field(e, "path") << " (" << FormatBytes(e.value("old_size", uint64_t{0})) << " -> "
              << FormatBytes(e.value("size", uint64_t{0})) << ")\n";
  }
  ctx.out() << (*diff)["added"].size() << " added, " << (*diff)["removed"].size() << " removed, "
            << (*diff)["changed"].size() << " changed since backup " << opts.other << ".\n";
  return Status::Ok();
}

}  // namespace

void AddBrowseCommands(CLI::App& backup, Action* action) {
  {
    auto opts = std::make_shared<LsOptions>();
    auto* cmd = backup.add_subcommand("ls", "List a directory inside a backup");
    cmd->add_option("id", opts->id, "Backup id")->required();
    cmd->add_option("path", opts->path, "Directory in the backup (default /)");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Ls(ctx, *opts); }; });
  }
  {
    auto opts = std::make_shared<CatOptions>();
    auto* cmd = backup.add_subcommand("cat", "Write one file of a backup to standard output");
    cmd->add_option("id", opts->id, "Backup id")->required();
    cmd->add_option("file", opts->path, "File in the backup")->required();
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Cat(ctx, *opts); }; });
  }
  {
    auto opts = std::make_shared<GetOptions>();
    auto* cmd = backup.add_subcommand("get", "Save a file of a backup, or a directory as .tar.zst");
    cmd->add_option("id", opts->id, "Backup id")->required();
    cmd->add_option("path", opts->path, "File or directory in the backup")->required();
    cmd->add_option("-o,--output", opts->output, "File or directory to write (default: the name, .tar.zst for a directory)");
    cmd->add_flag("--force,-f", opts->force, "Overwrite an existing file");
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Get(ctx, *opts); }; });
  }
  {
    auto opts = std::make_shared<DiffOptions>();
    auto* cmd = backup.add_subcommand("diff", "What changed between two backups (OTHER is the older one)");
    cmd->add_option("id", opts->id, "Backup id")->required();
    cmd->add_option("other", opts->other, "Backup id to compare against")->required();
    cmd->callback([opts, action] { *action = [opts](CommandContext& ctx) { return Diff(ctx, *opts); }; });
  }
}

}  // namespace clawback::controller::cli
