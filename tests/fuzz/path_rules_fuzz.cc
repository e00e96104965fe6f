// Fuzz target for the path validator (shared/path_rules.h).
//
// Input: '\n'-separated paths. Each line goes through NormalizeAbsolutePath
// and ArchiveNameToPath on its own, and the whole list through
// ResolveBackupPaths (the list a backup request names).
//
// Properties, checked against a small independent model of the rules:
//   - NormalizeAbsolutePath accepts exactly the absolute, NUL-free paths of at
//     most 4096 bytes without a ".." component, and then returns "/" followed
//     by the input's non-empty, non-"." components joined by single '/';
//     normalizing the result again changes nothing.
//   - an accepted archive name never contains "..", never lies in an excluded
//     system directory, and survives PathToArchiveName -> ArchiveNameToPath.
//   - a resolved backup list is sorted, unique, normalized, outside the
//     excluded dirs, has no path nested under another, covers every requested
//     path, has at most 64 entries, and resolving it again changes nothing.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/path_rules.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using clawback::fuzz::Show;

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

// The model: what a normalized absolute path is.
bool IsNormalized(std::string_view p) {
  if (p == "/") return true;
  if (p.empty() || p.front() != '/' || p.back() == '/') return false;
  if (p.find('\0') != std::string_view::npos) return false;
  auto parts = Components(p.substr(1));
  return std::none_of(parts.begin(), parts.end(),
                      [](std::string_view c) { return c.empty() || c == "." || c == ".."; });
}

bool IsUnder(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

bool ModelExcluded(std::string_view p) {
  for (std::string_view d : {"/proc", "/sys", "/dev", "/tmp", "/run"}) {
    if (IsUnder(p, d)) return true;
  }
  return false;
}

void CheckNormalize(std::string_view in) {
  auto got = clawback::NormalizeAbsolutePath(in);
  bool model_ok = !in.empty() && in.find('\0') == std::string_view::npos && in.size() <= clawback::kMaxPathBytes &&
                  in.front() == '/';
  std::string expect;
  if (model_ok) {
    for (std::string_view c : Components(in.substr(1))) {
      if (c.empty() || c == ".") continue;
      if (c == "..") {
        model_ok = false;
        break;
      }
      expect += '/';
      expect += c;
    }
    if (expect.empty()) expect = "/";
  }
  FUZZ_CHECK(got.ok() == model_ok, "NormalizeAbsolutePath(" + Show(in) + ") ok=" + std::to_string(got.ok()) +
                                       (got.ok() ? "" : " (" + got.status().message() + ")"));
  if (!got.ok()) {
    FUZZ_CHECK(got.status().code() == clawback::Status::Code::kInvalidArgument, got.status().ToString());
    return;
  }
  FUZZ_CHECK(*got == expect, "NormalizeAbsolutePath(" + Show(in) + ") = " + Show(*got) + ", want " + Show(expect));
  FUZZ_CHECK(IsNormalized(*got), Show(*got));
  auto again = clawback::NormalizeAbsolutePath(*got);
  FUZZ_CHECK(again.ok() && *again == *got, "not idempotent: " + Show(*got));
  FUZZ_CHECK(clawback::IsExcludedSystemPath(*got) == ModelExcluded(*got), "IsExcludedSystemPath(" + Show(*got) + ")");
}

void CheckArchiveName(std::string_view name) {
  auto got = clawback::ArchiveNameToPath(name);
  if (!got.ok()) {
    FUZZ_CHECK(!got.status().message().empty(), "refusal without a reason: " + Show(name));
    return;
  }
  FUZZ_CHECK(IsNormalized(*got), "ArchiveNameToPath(" + Show(name) + ") = " + Show(*got));
  FUZZ_CHECK(!ModelExcluded(*got), "excluded path accepted: " + Show(*got));
  FUZZ_CHECK(!name.empty() && name.front() != '/', "absolute name accepted: " + Show(name));
  for (std::string_view c : Components(name)) FUZZ_CHECK(c != "..", "'..' accepted: " + Show(name));
  auto back = clawback::ArchiveNameToPath(clawback::PathToArchiveName(*got));
  FUZZ_CHECK(back.ok() && *back == *got, "archive name round trip: " + Show(*got));
}

void CheckResolve(const std::vector<std::string>& requested) {
  auto got = clawback::ResolveBackupPaths(requested);
  if (!got.ok()) {
    FUZZ_CHECK(got.status().code() == clawback::Status::Code::kInvalidArgument, got.status().ToString());
    return;
  }
  const std::vector<std::string>& roots = *got;
  FUZZ_CHECK(requested.size() <= clawback::kMaxBackupPaths, "too many paths accepted");
  FUZZ_CHECK(!roots.empty() && roots.size() <= std::max<size_t>(requested.size(), 1), "result size");
  FUZZ_CHECK(std::is_sorted(roots.begin(), roots.end()), "not sorted");
  for (size_t i = 0; i < roots.size(); ++i) {
    FUZZ_CHECK(IsNormalized(roots[i]) && !ModelExcluded(roots[i]), "bad root " + Show(roots[i]));
    for (size_t j = 0; j < roots.size(); ++j) {
      FUZZ_CHECK(i == j || !IsUnder(roots[i], roots[j]), Show(roots[i]) + " nested under " + Show(roots[j]));
    }
  }
  for (const std::string& r : requested) {
    std::string_view alias = clawback::ResolveAlias(r);
    auto n = clawback::NormalizeAbsolutePath(alias.empty() ? std::string_view(r) : alias);
    FUZZ_CHECK(n.ok(), "accepted list with a refused path " + Show(r));
    bool covered = std::any_of(roots.begin(), roots.end(), [&](const std::string& root) { return IsUnder(*n, root); });
    FUZZ_CHECK(covered, "requested path not covered: " + Show(r));
  }
  if (requested.empty()) FUZZ_CHECK(roots == std::vector<std::string>{"/home/claworc"}, "empty list default");
  auto again = clawback::ResolveBackupPaths(roots);
  FUZZ_CHECK(again.ok() && *again == roots, "resolving a resolved list changed it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    lines.emplace_back(input.substr(start, nl - start));
    start = nl + 1;
  }
  if (input.empty()) lines.clear();
  for (const std::string& line : lines) {
    CheckNormalize(line);
    CheckArchiveName(line);
  }
  CheckResolve(lines);
  return 0;
}
