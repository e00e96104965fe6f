#include "shared/path_rules.h"

#include <algorithm>

namespace clawback {

std::string PrintablePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() > 256) out = out.substr(0, 256) + "...";
  return out;
}

namespace {

bool IsUnder(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir &&
                         path[dir.size()] == '/');
}

}  // namespace

std::string_view ResolveAlias(std::string_view alias) {
  if (alias == "HOME") return kHomePath;
  if (alias == "Homebrew") return kHomebrewPath;
  if (alias == "/") return "/";
  return {};
}

Result<std::string> NormalizeAbsolutePath(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("path is empty");
  if (path.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("path contains a NUL byte: " + PrintablePath(path));
  if (path.size() > kMaxPathBytes)
    return Status::InvalidArgument("path is longer than 4096 bytes: " + PrintablePath(path));
  if (path.front() != '/') return Status::InvalidArgument("path must be absolute: " + PrintablePath(path));

  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(i, end - i);
    i = end;
    if (part.empty() || part == ".") continue;
    if (part == "..") return Status::InvalidArgument("path must not contain '..': " + PrintablePath(path));
    out += '/';
    out += part;
  }
  if (out.empty()) out = "/";
  return out;
}

bool IsExcludedSystemPath(std::string_view path) {
  for (std::string_view dir : kExcludedSystemDirs) {
    if (IsUnder(path, dir)) return true;
  }
  return false;
}

Result<std::vector<std::string>> ResolveBackupPaths(const std::vector<std::string>& requested) {
  if (requested.size() > kMaxBackupPaths)
    return Status::InvalidArgument("too many paths: at most 64 may be requested");
  std::vector<std::string> paths;
  for (const std::string& item : requested) {
    std::string_view alias = ResolveAlias(item);
    Result<std::string> normalized = NormalizeAbsolutePath(alias.empty() ? std::string_view(item) : alias);
    if (!normalized.ok()) return normalized.status();
    if (IsExcludedSystemPath(*normalized))
      return Status::InvalidArgument("path is inside an excluded system directory: " + PrintablePath(*normalized));
    paths.push_back(std::move(normalized).value());
  }
  if (paths.empty()) paths.emplace_back(kHomePath);

  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  // Drop paths nested under another requested path, so no entry is archived twice.
  std::vector<std::string> roots;
  for (std::string& p : paths) {
    bool nested = std::any_of(roots.begin(), roots.end(), [&](const std::string& r) { return IsUnder(p, r); });
    if (!nested) roots.push_back(std::move(p));
  }
  return roots;
}

Result<std::string> ArchiveNameToPath(std::string_view entry_name) {
  std::string_view name = entry_name;
  if (name.empty()) return Status::InvalidArgument("empty entry name");
  if (name.front() == '/')
    return Status::InvalidArgument("absolute entry name refused: " + PrintablePath(entry_name));
  while (name.size() >= 2 && name.substr(0, 2) == "./") name.remove_prefix(2);
  if (name == "." || name.empty()) return std::string("/");
  Result<std::string> path = NormalizeAbsolutePath("/" + std::string(name));
  if (!path.ok()) return Status::InvalidArgument("entry refused: " + path.status().message());
  if (IsExcludedSystemPath(*path))
    return Status::InvalidArgument("entry inside an excluded system directory refused: " + PrintablePath(*path));
  return path;
}

std::string PathToArchiveName(std::string_view abs_path) {
  if (abs_path == "/") return ".";
  while (!abs_path.empty() && abs_path.front() == '/') abs_path.remove_prefix(1);
  return std::string(abs_path);
}

}  // namespace clawback
