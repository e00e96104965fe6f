#include "controller/jobs/archive_file.h"

#include "controller/jobs/block_digests.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace clawback::controller {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }
void Sha256::Update(const void* data, size_t size) { EVP_DigestUpdate(ctx_, data, size); }
std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

Result<std::unique_ptr<PartialArchive>> PartialArchive::Create(const std::string& final_path) {
  std::string partial = final_path + ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == ENOSPC) return Status::ResourceExhausted("disk full while creating " + partial + ": " + ErrnoText(err));
    return Status::IoError("cannot create " + partial + ": " + ErrnoText(err));
  }
  return std::unique_ptr<PartialArchive>(new PartialArchive(fd, final_path));
}

PartialArchive::PartialArchive(int fd, std::string final_path)
    : fd_(fd), final_path_(std::move(final_path)), partial_path_(final_path_ + ".partial"),
      digester_(std::make_unique<BlockDigester>()) {}

PartialArchive::~PartialArchive() { Abandon(); }

Status PartialArchive::WriteError(int err) const {
  if (err == ENOSPC || err == EFBIG || err == EDQUOT) {
    return Status::ResourceExhausted("disk full while writing " + partial_path_ + ": " + ErrnoText(err));
  }
  return Status::IoError("write to " + partial_path_ + " failed: " + ErrnoText(err));
}

Status PartialArchive::Append(const char* data, size_t size) {
  if (sealed_ || removed_) return Status::Internal("append to a closed archive " + partial_path_);
  digester_->Update(data, size);
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return WriteError(errno);
    }
    if (n == 0) return WriteError(ENOSPC);
    data += n;
    size -= static_cast<size_t>(n);
    bytes_ += static_cast<uint64_t>(n);
  }
  if (bytes_ - writeback_ >= kWritebackStep) {
    // Start writeback of what is written so far without waiting for it; only
    // a head start for Seal()'s fsync, so errors are left for fsync to report.
    (void)::sync_file_range(fd_, static_cast<off_t>(writeback_), static_cast<off_t>(bytes_ - writeback_),
                            SYNC_FILE_RANGE_WRITE);
    writeback_ = bytes_;
  }
  return Status::Ok();
}

Result<BlockDigests> PartialArchive::Seal() {
  if (sealed_) return Status::Internal("archive " + partial_path_ + " already sealed");
  if (::fsync(fd_) != 0) {
    int err = errno;
    if (err == ENOSPC || err == EDQUOT) return WriteError(err);
    return Status::IoError("fsync " + partial_path_ + " failed: " + ErrnoText(err));
  }
  int rc = ::close(fd_);
  int err = errno;
  fd_ = -1;
  if (rc != 0) return WriteError(err);
  sealed_ = true;
  return digester_->Finish();
}

Status PartialArchive::Publish() {
  if (!sealed_ || published_) return Status::Internal("archive " + partial_path_ + " published out of order");
  if (::rename(partial_path_.c_str(), final_path_.c_str()) != 0) {
    return Status::IoError("rename " + partial_path_ + " to " + final_path_ + " failed: " + ErrnoText(errno));
  }
  published_ = true;
  Status synced = SyncDirectory(DirName(final_path_));
  if (!synced.ok()) {
    ::unlink(final_path_.c_str());
    return synced;
  }
  return Status::Ok();
}

void PartialArchive::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!published_ && !removed_) {
    ::unlink(partial_path_.c_str());
    removed_ = true;
  }
}

Result<std::unique_ptr<ArchiveFileReader>> ArchiveFileReader::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("archive file is missing: " + path);
    return Status::IoError("cannot open " + path + ": " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IoError("archive is not a regular file: " + path);
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ArchiveFileReader>(new ArchiveFileReader(fd, static_cast<uint64_t>(st.st_size), path));
}

ArchiveFileReader::~ArchiveFileReader() { ::close(fd_); }

Result<size_t> ArchiveFileReader::ReadFull(char* buf, size_t capacity) {
  size_t got = 0;
  while (got < capacity) {
    ssize_t n = ::read(fd_, buf + got, capacity - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("read " + path_ + " failed: " + ErrnoText(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

Result<std::string> Sha256OfFile(const std::string& path) {
  auto reader = ArchiveFileReader::Open(path);
  if (!reader.ok()) return reader.status();
  Sha256 sha;
  std::vector<char> buf(1024 * 1024);
  for (;;) {
    auto n = (*reader)->ReadFull(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    sha.Update(buf.data(), *n);
  }
  return sha.HexDigest();
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::InvalidArgument("empty directory path");
  // Create each prefix ending before a '/', then the whole path.
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    std::string prefix = pos == std::string::npos ? path : path.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create directory " + prefix + ": " + ErrnoText(errno));
    }
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IoError("not a directory: " + path);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open directory " + dir + ": " + ErrnoText(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError("fsync of directory " + dir + " failed: " + ErrnoText(err));
  return Status::Ok();
}

}  // namespace clawback::controller
