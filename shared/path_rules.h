// Path rules shared by the agent and the controller: what a user may ask to back
// up, and what is never touched.
//
// A backup request names paths as aliases ("HOME", "Homebrew", "/") or absolute
// paths. ResolveBackupPaths turns that list into normalized absolute paths,
// checking syntax only (the controller has no view of the instance's files; the
// agent additionally checks existence against its --root). Both sides call the
// same function, so a request the controller accepts is one the agent accepts.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace clawback {

inline constexpr std::string_view kHomePath = "/home/claworc";
inline constexpr std::string_view kHomebrewPath = "/home/linuxbrew/.linuxbrew";

// System directories always excluded from backups and never written by a
// restore: these and everything below them.
inline constexpr std::string_view kExcludedSystemDirs[] = {"/proc", "/sys", "/dev", "/tmp", "/run"};

// Upper bounds on a request, enforced on both sides.
inline constexpr size_t kMaxBackupPaths = 64;
inline constexpr size_t kMaxPathBytes = 4096;

// Maps an alias to its absolute path: "HOME" -> "/home/claworc",
// "Homebrew" -> "/home/linuxbrew/.linuxbrew", "/" -> "/". Returns an empty
// string_view for anything else.
std::string_view ResolveAlias(std::string_view alias);

// Normalizes one absolute path: collapses repeated '/', drops "." components
// and a trailing '/'. Fails with InvalidArgument naming the path when it is
// empty, relative, contains a NUL byte or a ".." component, or is too long.
Result<std::string> NormalizeAbsolutePath(std::string_view path);

// True when the normalized absolute `path` is one of kExcludedSystemDirs or
// lies below one.
bool IsExcludedSystemPath(std::string_view path);

// Resolves and validates a backup request's path list. An empty list means
// {"/home/claworc"}. Each element is an alias or an absolute path; the result
// is normalized, deduplicated, with paths nested under another requested path
// dropped, and sorted. Errors (InvalidArgument) name the offending path and the
// reason, e.g. "path must be absolute: etc/nginx" or
// "path is inside an excluded system directory: /proc/1".
Result<std::vector<std::string>> ResolveBackupPaths(const std::vector<std::string>& requested);

// Printable form of a path for error messages: NUL and control bytes escaped
// as \xNN so a hostile path cannot forge log lines; at most 256 bytes kept.
std::string PrintablePath(std::string_view path);

// Turns an archive entry name into the normalized absolute path it restores to,
// or an InvalidArgument error with the reason it is refused (absolute names,
// ".." components, NUL bytes, empty names, excluded system dirs). Archive names
// are relative to the container root ("home/claworc/notes.txt"); a leading
// "./" is accepted.
Result<std::string> ArchiveNameToPath(std::string_view entry_name);

// The archive entry name for an absolute path: "/home/claworc/x" ->
// "home/claworc/x"; "/" -> ".".
std::string PathToArchiveName(std::string_view abs_path);

}  // namespace clawback
