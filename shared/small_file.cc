#include "shared/small_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shared/unique_fd.h"

namespace clawback {

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string partial = path + ".partial";
  UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::IoError("cannot create " + partial + ": " + std::strerror(errno));
  auto fail = [&](int err, const std::string& what) {
    fd.Reset();
    ::unlink(partial.c_str());
    if (err == ENOSPC || err == EFBIG || err == EDQUOT) return Status::ResourceExhausted("disk full while writing " + partial);
    return Status::IoError(what + ": " + std::strerror(err));
  };
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(n < 0 ? errno : ENOSPC, "write to " + partial + " failed");
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(errno, "fsync of " + partial + " failed");
  if (fd.Close() != 0) return fail(errno, "close of " + partial + " failed");
  if (::rename(partial.c_str(), path.c_str()) != 0) return fail(errno, "cannot rename " + partial + " to " + path);
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path, uint64_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("read " + path + " failed: " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes) return Status::Corruption(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

}  // namespace clawback
