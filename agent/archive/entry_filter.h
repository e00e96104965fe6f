// EntryFilter: the restore-side decision for one archive entry, before
// anything touches the disk. Either the entry is allowed (and gets the
// normalized container path it restores to) or it is refused with a reason a
// user can read in the restore summary.
//
// Pure and cheap (no I/O, no libarchive types): a libFuzzer target drives it
// directly. Thread-safe.
//
// Refused: names ArchiveNameToPath refuses (absolute, "..", NUL, empty,
// excluded system dirs), hard links whose target is refused the same way,
// sockets always, device nodes and FIFOs unless allow_devices, unknown types,
// a non-directory entry for the root itself, and names that would not fit in
// PATH_MAX once joined to the restore root (libarchive would chdir for those,
// which is process-wide).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace clawback::agent {

enum class EntryType {
  kRegular,
  kDirectory,
  kSymlink,
  kCharDevice,
  kBlockDevice,
  kFifo,
  kSocket,
  kUnknown,
};

struct EntryCandidate {
  std::string_view name;            // pathname as stored in the archive
  EntryType type = EntryType::kUnknown;
  bool is_hardlink = false;         // a hard link entry (type is then irrelevant)
  std::string_view hardlink_name;   // its target, as stored in the archive
  bool allow_devices = false;       // RestoreOptions::allow_devices
  size_t root_length = 1;           // strlen of the realpath'd restore root
};

struct EntryDecision {
  bool allowed = false;
  std::string path;           // normalized container path, "/" for the root
  std::string hardlink_path;  // normalized container path of the link target
  std::string reason;         // why it was refused (empty when allowed)
};

EntryDecision DecideEntry(const EntryCandidate& candidate);

// Printable form of an archive entry name for summaries and logs: control
// bytes and backslashes escaped as \xNN, at most 1024 bytes kept.
std::string PrintableEntryName(std::string_view name);

// Joins the realpath'd root and a normalized container path: ("/r", "/a") ->
// "/r/a", ("/r", "/") -> "/r", ("/", "/a") -> "/a".
std::string JoinRoot(std::string_view root, std::string_view container_path);

}  // namespace clawback::agent
