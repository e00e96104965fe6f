// Fuzz target for the exclude rules (shared/exclude_rules.h).
//
// Input: '\n'-separated lines; the first is a pattern, the others are paths.
//
// Properties:
//   - Compile accepts the pattern exactly when ValidateExcludePattern does,
//     and ExpandExcludes({}, {pattern}) agrees with both.
//   - Excludes(path) holds exactly when Matches holds for the path or one of
//     its ancestors (its leading components).
//   - Matches agrees with an independent model: a memoized recursion over
//     components with "**" spanning components and fnmatch(3) (no flags) for
//     each other component, for patterns whose classes hold only letters and
//     digits (fnmatch and our matcher differ on collation and odd ranges).
//   - Matching never takes super-polynomial time (libFuzzer's timeout).
#include <fnmatch.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shared/exclude_rules.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using clawback::fuzz::Show;

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// Classes with only [A-Za-z0-9], '!' or '^' first, and '-' between two of them.
bool ModelComparable(std::string_view pattern) {
  if (pattern.find('\0') != std::string_view::npos) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] != '[') continue;
    size_t j = i + 1;
    if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
    size_t start = j;
    for (; j < pattern.size() && pattern[j] != ']'; ++j) {
      char c = pattern[j];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (c == '-' && j > start && j + 1 < pattern.size() && pattern[j + 1] != ']') continue;
      if (!alnum) return false;
    }
    if (j == start) return false;
    i = j;
  }
  return true;
}

struct Model {
  const std::vector<std::string>& pat;
  const std::vector<std::string>& path;
  std::map<std::pair<size_t, size_t>, bool> memo;

  bool Match(size_t i, size_t j) {
    auto key = std::make_pair(i, j);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
    bool result;
    if (i == pat.size()) {
      result = j == path.size();
    } else if (pat[i] == "**") {
      result = Match(i + 1, j) || (j < path.size() && Match(i, j + 1));
    } else {
      result = j < path.size() && fnmatch(pat[i].c_str(), path[j].c_str(), 0) == 0 && Match(i + 1, j + 1);
    }
    memo[key] = result;
    return result;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    lines.emplace_back(input.substr(start, nl - start));
    start = nl + 1;
  }
  const std::string pattern = lines[0];

  clawback::Status valid = clawback::ValidateExcludePattern(pattern);
  auto rules = clawback::ExcludeRules::Compile({pattern});
  auto expanded = clawback::ExpandExcludes({}, {pattern});
  FUZZ_CHECK(rules.ok() == valid.ok(), "Compile and Validate disagree on " + Show(pattern));
  FUZZ_CHECK(expanded.ok() == valid.ok(), "ExpandExcludes and Validate disagree on " + Show(pattern));
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == clawback::Status::Code::kInvalidArgument, valid.ToString());
    return 0;
  }
  FUZZ_CHECK(expanded->size() == 1 && (*expanded)[0] == pattern, "expansion changed " + Show(pattern));

  const std::vector<std::string> pat = Split(pattern);
  const bool comparable = ModelComparable(pattern);
  for (size_t n = 1; n < lines.size(); ++n) {
    const std::string path = "/" + lines[n];
    const std::vector<std::string> parts = Split(path);
    bool ancestor_or_self = false;
    std::string prefix;
    for (size_t k = 0; k <= parts.size(); ++k) {
      if (k > 0) prefix += "/" + parts[k - 1];
      if (rules->Matches(prefix.empty() ? "/" : prefix)) ancestor_or_self = true;
    }
    FUZZ_CHECK(
        rules->Excludes(path) == ancestor_or_self,
        "Excludes(" + Show(path) + ") disagrees with Matches on its prefixes, pattern " + Show(pattern));
    if (comparable && path.find('\0') == std::string::npos) {
      Model model{pat, parts, {}};
      FUZZ_CHECK(rules->Matches(path) == model.Match(0, 0),
                 "Matches(" + Show(path) + ") differs from the fnmatch model for " + Show(pattern));
    }
  }
  return 0;
}
