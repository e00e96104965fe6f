#include "agent/archive/entry_filter.h"

#include <climits>

#include "shared/path_rules.h"

namespace clawback::agent {
namespace {

// libarchive's write-disk code chdir()s into deep directories once a path
// reaches PATH_MAX; keeping every joined path below it keeps restores free of
// process-wide state.
bool FitsUnderRoot(size_t root_length, const std::string& path) {
  return root_length + path.size() + 1 < PATH_MAX;
}

EntryDecision Refuse(std::string reason) {
  EntryDecision d;
  d.reason = std::move(reason);
  return d;
}

}  // namespace

EntryDecision DecideEntry(const EntryCandidate& c) {
  Result<std::string> path = ArchiveNameToPath(c.name);
  if (!path.ok()) return Refuse(path.status().message());
  if (!FitsUnderRoot(c.root_length, *path)) return Refuse("path too long under the restore root");

  EntryDecision d;
  if (c.is_hardlink) {
    Result<std::string> target = ArchiveNameToPath(c.hardlink_name);
    if (!target.ok()) return Refuse("hard link target refused: " + target.status().message());
    if (*target == "/" || *path == "/") return Refuse("hard link to or of the root directory refused");
    if (!FitsUnderRoot(c.root_length, *target)) return Refuse("hard link target too long under the restore root");
    d.hardlink_path = std::move(target).value();
  } else {
    switch (c.type) {
      case EntryType::kRegular:
      case EntryType::kDirectory:
      case EntryType::kSymlink:
        break;
      case EntryType::kCharDevice:
      case EntryType::kBlockDevice:
        if (!c.allow_devices) return Refuse("device node refused (devices are restored only when allowed)");
        break;
      case EntryType::kFifo:
        if (!c.allow_devices) return Refuse("FIFO refused (FIFOs are restored only when devices are allowed)");
        break;
      case EntryType::kSocket:
        return Refuse("socket refused");
      case EntryType::kUnknown:
        return Refuse("unsupported entry type");
    }
    if (*path == "/" && c.type != EntryType::kDirectory)
      return Refuse("the root itself can only be restored as a directory");
  }
  d.allowed = true;
  d.path = std::move(path).value();
  return d;
}

std::string PrintableEntryName(std::string_view name) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(name.size() < 1024 ? name.size() : 1024);
  for (unsigned char ch : name) {
    if (out.size() >= 1024) {
      out += "...";
      break;
    }
    if (ch < 0x20 || ch == 0x7f || ch == '\\') {
      out += "\\x";
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

std::string JoinRoot(std::string_view root, std::string_view container_path) {
  if (container_path == "/" || container_path.empty()) return std::string(root);
  if (root == "/" || root.empty()) return std::string(container_path);
  std::string out(root);
  if (out.back() == '/') out.pop_back();
  out += container_path;
  return out;
}

}  // namespace clawback::agent
