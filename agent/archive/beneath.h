// Opening paths strictly beneath a directory handle, never following a
// symlink in any component and never leaving the directory (no "..", no
// absolute paths, no magic links).
//
// Two ways to resolve, same guarantees:
//   kOpenat2        one openat2(2) call with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//                   | RESOLVE_NO_MAGICLINKS (Linux >= 5.6);
//   kComponentWalk  one openat(2) per component with O_NOFOLLOW, each relative
//                   to the directory opened before it.
// kAuto uses openat2 and, the first time the kernel answers ENOSYS, EPERM or
// E2BIG (an old kernel, a container's seccomp profile), switches the whole
// process to the walk for good.
//
// Thread-safe (the only shared state is the atomic "openat2 unusable" flag).
#pragma once

#include <string_view>

namespace clawback::agent {

enum class Resolution { kAuto, kOpenat2, kComponentWalk };

// Opens `relative` (components separated by '/', no empty, "." or ".."
// components) beneath `dir_fd` with `flags` (O_CLOEXEC and O_NOFOLLOW are
// added). Returns the fd, or -1 with errno: ELOOP when a component is a
// symlink, ENOTDIR when one is not a directory, EXDEV for a "..", "." or
// absolute component, ENOENT when missing. An empty `relative` reopens
// `dir_fd` itself.
int OpenBeneath(int dir_fd, std::string_view relative, int flags, Resolution resolution);

// The resolution kAuto currently stands for (kOpenat2 until it failed once).
Resolution EffectiveResolution(Resolution requested);

// Parses "auto" | "openat2" | "walk"; false for anything else.
bool ParseResolution(std::string_view name, Resolution* out);

}  // namespace clawback::agent
