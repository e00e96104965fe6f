#include "agent/archive/beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "shared/unique_fd.h"

namespace clawback::agent {
namespace {

std::atomic<bool> g_openat2_unusable{false};

bool BadComponent(std::string_view c) { return c.empty() || c == "." || c == ".."; }

int Openat2(int dir_fd, const std::string& relative, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename somewhere in the tree; the kernel asks to retry.
  }
}

int Walk(int dir_fd, std::string_view relative, int flags) {
  UniqueFd current;
  int at = dir_fd;
  size_t pos = 0;
  for (;;) {
    const size_t slash = relative.find('/', pos);
    const bool last = slash == std::string_view::npos;
    const std::string component(relative.substr(pos, last ? std::string_view::npos : slash - pos));
    const int step_flags = last ? flags : (O_PATH | O_DIRECTORY);
    const int fd = openat(at, component.c_str(), step_flags | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    current = UniqueFd(fd);
    at = fd;
    if (last) return current.Release();
    pos = slash + 1;
  }
}

}  // namespace

int OpenBeneath(int dir_fd, std::string_view relative, int flags, Resolution resolution) {
  if (relative.empty()) return openat(dir_fd, ".", flags | O_CLOEXEC);
  if (relative.front() == '/') {
    errno = EXDEV;
    return -1;
  }
  for (size_t pos = 0;;) {
    const size_t slash = relative.find('/', pos);
    if (BadComponent(relative.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos))) {
      errno = EXDEV;
      return -1;
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (EffectiveResolution(resolution) == Resolution::kOpenat2) {
    const int fd = Openat2(dir_fd, std::string(relative), flags);
    if (fd >= 0 || resolution == Resolution::kOpenat2) return fd;
    if (errno != ENOSYS && errno != EPERM && errno != E2BIG) return -1;
    g_openat2_unusable.store(true, std::memory_order_relaxed);
  }
  return Walk(dir_fd, relative, flags);
}

Resolution EffectiveResolution(Resolution requested) {
  if (requested != Resolution::kAuto) return requested;
  return g_openat2_unusable.load(std::memory_order_relaxed) ? Resolution::kComponentWalk : Resolution::kOpenat2;
}

bool ParseResolution(std::string_view name, Resolution* out) {
  if (name == "auto") *out = Resolution::kAuto;
  else if (name == "openat2") *out = Resolution::kOpenat2;
  else if (name == "walk") *out = Resolution::kComponentWalk;
  else return false;
  return true;
}

}  // namespace clawback::agent
