// Archives as files in the backups directory: today's layout and guarantees
// (controller/jobs/archive_file.h: .partial, fsync, rename, directory fsync).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "controller/jobs/archive_file.h"
#include "controller/jobs/archive_location.h"
#include "controller/storage/archive_storage.h"
#include "shared/small_file.h"

namespace clawback::controller::storage {
namespace {

// Far above any sidecar we write (a .index is ~100 B per entry); a bigger
// file was not written by us.
constexpr uint64_t kMaxSidecarBytes = uint64_t{2} << 30;

class LocalSink final : public ArchiveSink {
 public:
  explicit LocalSink(std::unique_ptr<PartialArchive> file) : file_(std::move(file)) {}
  Status Append(const char* data, size_t size) override { return file_->Append(data, size); }
  uint64_t bytes() const override { return file_->bytes(); }
  Result<BlockDigests> Seal() override { return file_->Seal(); }
  Status Publish() override { return file_->Publish(); }
  void Abandon() override { file_->Abandon(); }
  std::string staged_path() const override { return file_->partial_path(); }

 private:
  std::unique_ptr<PartialArchive> file_;
};

class LocalReader final : public ArchiveReader {
 public:
  LocalReader(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~LocalReader() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, char* out, size_t size) override {
    size_t got = 0;
    while (got < size) {
      ssize_t n = ::pread(fd_, out + got, size - got, static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IoError("read " + path_ + " failed: " + std::strerror(errno));
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

class LocalArchiveStorage final : public ArchiveStorage {
 public:
  explicit LocalArchiveStorage(std::string dir) : dir_(std::move(dir)) {}

  std::string Location() const override { return dir_; }
  std::string LocalDirectory() const override { return dir_; }

  Result<std::unique_ptr<ArchiveSink>> CreateArchive(const std::string& name, const std::atomic<bool>*) override {
    auto path = ArchiveAbsolutePath(dir_, name);
    if (!path.ok()) return path.status();
    CLAWBACK_RETURN_IF_ERROR(MakeDirectories(dir_, 0700));
    CLAWBACK_RETURN_IF_ERROR(MakeDirectories(path->substr(0, path->rfind('/')), 0700));
    auto file = PartialArchive::Create(*path);
    if (!file.ok()) return file.status();
    return std::unique_ptr<ArchiveSink>(new LocalSink(std::move(file).value()));
  }

  Result<std::unique_ptr<ArchiveReader>> OpenArchive(const std::string& name) override {
    auto path = ArchiveAbsolutePath(dir_, name);
    if (!path.ok()) return path.status();
    int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) return Status::NotFound("archive file is missing: " + *path);
      return Status::IoError("cannot open " + *path + ": " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::IoError("archive is not a regular file: " + *path);
    }
    return std::unique_ptr<ArchiveReader>(new LocalReader(fd, static_cast<uint64_t>(st.st_size), *path));
  }

  Status PutSidecar(const std::string& name, const std::string& suffix, const std::string& bytes) override {
    auto path = ArchiveAbsolutePath(dir_, name);
    if (!path.ok()) return path.status();
    return WriteFileAtomically(*path + suffix, bytes);  // the archive's Publish fsyncs the directory
  }

  Result<std::string> GetSidecar(const std::string& name, const std::string& suffix) override {
    auto path = ArchiveAbsolutePath(dir_, name);
    if (!path.ok()) return path.status();
    auto text = ReadSmallFile(*path + suffix, kMaxSidecarBytes);
    if (!text.ok() && text.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no " + suffix + " sidecar for " + *path);
    }
    return text;
  }

  Status RemoveArchive(const std::string& name) override {
    auto path = ArchiveAbsolutePath(dir_, name);
    if (!path.ok()) return path.status();
    Status first = RemoveFile(*path);
    for (const char* suffix : {".blocks", ".index"}) {
      Status st = RemoveFile(*path + suffix);
      if (first.ok()) first = st;
    }
    return first;
  }

  Result<std::optional<int64_t>> LockedUntil(const std::string&) override { return std::optional<int64_t>(); }

  Result<std::vector<StoredName>> List() override {
    std::vector<StoredName> out;
    DIR* top = ::opendir(dir_.c_str());
    if (top == nullptr) {
      if (errno == ENOENT) return out;
      return Status::IoError("cannot list " + dir_ + ": " + std::strerror(errno));
    }
    while (dirent* i = ::readdir(top)) {
      std::string instance = i->d_name;
      if (instance == "." || instance == "..") continue;
      const std::string sub = dir_ + "/" + instance;
      DIR* d = ::opendir(sub.c_str());
      if (d == nullptr) continue;
      while (dirent* e = ::readdir(d)) {
        std::string file = e->d_name;
        if (file.ends_with(".partial")) continue;
        struct stat st {};
        if (::lstat((sub + "/" + file).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        out.push_back({instance + "/" + file, static_cast<uint64_t>(st.st_size)});
      }
      ::closedir(d);
    }
    ::closedir(top);
    return out;
  }

  Status RemoveInterruptedWrites(const std::set<std::string>& live, int* removed) override {
    *removed = 0;
    Status first;
    // `prefix` is "" for the top directory and "<instance>/" below it.
    auto sweep = [&](const std::string& dir, const std::string& prefix) {
      DIR* d = ::opendir(dir.c_str());
      if (d == nullptr) return;
      while (dirent* e = ::readdir(d)) {
        std::string file = e->d_name;
        if (!file.ends_with(".partial")) continue;
        if (live.count(prefix + file.substr(0, file.size() - std::string_view(".partial").size())) != 0) continue;
        const std::string path = dir + "/" + file;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (::unlink(path.c_str()) == 0) {
          ++*removed;
        } else if (errno != ENOENT && first.ok()) {
          first = Status::IoError("cannot remove " + path + ": " + std::strerror(errno));
        }
      }
      ::closedir(d);
    };
    sweep(dir_, "");
    if (DIR* top = ::opendir(dir_.c_str())) {
      while (dirent* i = ::readdir(top)) {
        std::string instance = i->d_name;
        if (instance == "." || instance == "..") continue;
        struct stat st {};
        const std::string sub = dir_ + "/" + instance;
        if (::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) sweep(sub, instance + "/");
      }
      ::closedir(top);
    }
    return first;
  }

 private:
  const std::string dir_;
};

}  // namespace

std::unique_ptr<ArchiveStorage> MakeLocalArchiveStorage(std::string canonical_dir) {
  return std::make_unique<LocalArchiveStorage>(std::move(canonical_dir));
}

Result<std::string> Sha256OfArchive(ArchiveReader& reader) {
  Sha256 sha;
  std::vector<char> buf(4 * 1024 * 1024);
  uint64_t offset = 0;
  while (offset < reader.size()) {
    auto n = reader.ReadAt(offset, buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Corruption("archive ended after " + std::to_string(offset) + " bytes");
    sha.Update(buf.data(), *n);
    offset += *n;
  }
  return sha.HexDigest();
}

}  // namespace clawback::controller::storage
