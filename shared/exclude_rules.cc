#include "shared/exclude_rules.h"

#include <algorithm>

#include "shared/path_rules.h"

namespace clawback {
namespace {

// docs/excludes.md lists these patterns one by one with what they match; keep
// the two in step.
constexpr std::string_view kLogsPatterns[] = {
    "/home/claworc/.openclaw/logs",      // gateway.log, gateway.err.log, commands.log ...
    "/home/claworc/.openclaw/**/*.log",  // any *.log below the state directory
    "/home/claworc/.npm/_logs",          // npm's debug logs (plugin and skill installs)
};

constexpr std::string_view kCachesPatterns[] = {
    "/home/claworc/.cache",                      // XDG cache: pip, yarn 1, Homebrew, Playwright ...
    "/home/claworc/.npm/_cacache",               // npm's content cache
    "/home/claworc/.npm/_npx",                   // packages fetched by npx
    "/home/claworc/.local/share/pnpm/store",     // pnpm's store
    "/home/claworc/.yarn/berry/cache",           // Yarn 2+ global cache
    "/home/claworc/.bun/install/cache",          // Bun's cache
    "/home/claworc/.openclaw/browser/**/Cache",  // Chromium caches of OpenClaw's browser profiles
    "/home/claworc/.openclaw/browser/**/Code Cache",
    "/home/claworc/.openclaw/browser/**/GPUCache",
    "/home/claworc/.config/chromium/**/Cache",  // Chromium caches of the user's own profiles
    "/home/claworc/.config/chromium/**/Code Cache",
    "/home/claworc/.config/chromium/**/GPUCache",
};

constexpr ExcludePreset kPresets[] = {
    {"logs", "OpenClaw's log files", kLogsPatterns},
    {"caches", "package-manager and browser caches (~/.cache and others)", kCachesPatterns},
};

std::vector<std::string_view> SplitComponents(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// Matches the class starting at glob[at] == '[' against `c`. Sets *next past
// the closing ']'; returns false with *next == npos when the class is not
// closed (validation refuses such patterns; matching then treats '[' as
// literal).
bool MatchClass(std::string_view glob, size_t at, unsigned char c, size_t* next) {
  size_t i = at + 1;
  bool negate = i < glob.size() && (glob[i] == '!' || glob[i] == '^');
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  while (i < glob.size() && (glob[i] != ']' || first)) {
    first = false;
    unsigned char lo = static_cast<unsigned char>(glob[i]);
    if (lo == '\\' && i + 1 < glob.size()) lo = static_cast<unsigned char>(glob[++i]);
    unsigned char hi = lo;
    if (i + 2 < glob.size() && glob[i + 1] == '-' && glob[i + 2] != ']') {
      i += 2;
      hi = static_cast<unsigned char>(glob[i]);
      if (hi == '\\' && i + 1 < glob.size()) hi = static_cast<unsigned char>(glob[++i]);
    }
    if (lo <= c && c <= hi) matched = true;
    ++i;
  }
  if (i >= glob.size()) {
    *next = std::string_view::npos;
    return false;
  }
  *next = i + 1;
  return matched != negate;
}

// One component's glob against one name. '*' is the only variable-length
// token, so the classic greedy match with one backtrack point is exact and
// takes O(|glob| x |name|) at worst.
bool MatchComponent(std::string_view glob, std::string_view name) {
  size_t g = 0, n = 0;
  size_t star_g = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (g < glob.size()) {
      const char c = glob[g];
      if (c == '*') {
        star_g = ++g;
        star_n = n;
        continue;
      }
      size_t next = g + 1;
      bool ok;
      if (c == '?') {
        ok = true;
      } else if (c == '[') {
        ok = MatchClass(glob, g, static_cast<unsigned char>(name[n]), &next);
        if (next == std::string_view::npos) {  // unclosed: a literal '['
          ok = name[n] == '[';
          next = g + 1;
        }
      } else if (c == '\\' && g + 1 < glob.size()) {
        ok = glob[g + 1] == name[n];
        next = g + 2;
      } else {
        ok = c == name[n];
      }
      if (ok) {
        g = next;
        ++n;
        continue;
      }
    }
    if (star_g == std::string_view::npos) return false;
    g = star_g;
    n = ++star_n;
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

// The same greedy algorithm one level up: "**" is the star, every other
// pattern component matches exactly one path component.
bool MatchComponents(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path) {
  const size_t path_len = path.size();
  size_t p = 0, n = 0;
  size_t star_p = std::string::npos, star_n = 0;
  while (n < path_len) {
    if (p < pattern.size()) {
      if (pattern[p] == "**") {
        star_p = ++p;
        star_n = n;
        continue;
      }
      if (MatchComponent(pattern[p], path[n])) {
        ++p;
        ++n;
        continue;
      }
    }
    if (star_p == std::string::npos) return false;
    p = star_p;
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == "**") ++p;
  return p == pattern.size();
}

Status Invalid(std::string_view reason, std::string_view pattern) {
  return Status::InvalidArgument("exclude pattern " + std::string(reason) + ": " + PrintablePath(pattern));
}

// Checks one component's syntax: classes closed, no trailing '\', '*' runs
// of two or more only as the whole component "**".
Status ValidateComponent(std::string_view component, std::string_view pattern) {
  if (component == "." || component == "..")
    return Invalid("must not contain '.' or '..' components", pattern);
  if (component == "**") return Status::Ok();
  for (size_t i = 0; i < component.size(); ++i) {
    const char c = component[i];
    if (c == '\\') {
      if (i + 1 == component.size()) return Invalid("ends a component with '\\'", pattern);
      ++i;
    } else if (c == '[') {
      size_t next;
      MatchClass(component, i, 0, &next);
      if (next == std::string_view::npos) return Invalid("has an unclosed '['", pattern);
      i = next - 1;
    } else if (c == '*' && i + 1 < component.size() && component[i + 1] == '*') {
      return Invalid("uses '**' inside a component ('**' must be a whole component, as in /a/**/*.log)",
                     pattern);
    }
  }
  return Status::Ok();
}

}  // namespace

std::span<const ExcludePreset> ExcludePresets() {
  return kPresets;
}

std::string ExcludePresetNames() {
  std::string out;
  for (const ExcludePreset& p : kPresets) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

Status ValidateExcludePattern(std::string_view pattern) {
  if (pattern.empty()) return Status::InvalidArgument("exclude pattern is empty");
  if (pattern.find('\0') != std::string_view::npos) return Invalid("contains a NUL byte", pattern);
  if (pattern.size() > kMaxExcludePatternBytes) {
    return Invalid("is longer than " + std::to_string(kMaxExcludePatternBytes) + " bytes", pattern);
  }
  if (pattern.front() != '/') return Invalid("must be absolute (start with '/')", pattern);
  for (std::string_view component : SplitComponents(pattern)) {
    CLAWBACK_RETURN_IF_ERROR(ValidateComponent(component, pattern));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ExpandExcludes(const std::vector<std::string>& presets,
                                                const std::vector<std::string>& globs) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view pattern) {
    if (std::find(out.begin(), out.end(), pattern) == out.end()) out.emplace_back(pattern);
  };
  for (const std::string& name : presets) {
    auto it = std::find_if(std::begin(kPresets), std::end(kPresets),
                           [&](const ExcludePreset& p) { return p.name == name; });
    if (it == std::end(kPresets)) {
      return Status::InvalidArgument("unknown exclude preset: " + PrintablePath(name) +
                                     " (known: " + ExcludePresetNames() + ")");
    }
    for (std::string_view pattern : it->patterns) add(pattern);
  }
  if (globs.size() > kMaxExcludePatterns) {
    return Status::InvalidArgument("too many exclude patterns: " + std::to_string(globs.size()) +
                                   " (at most " + std::to_string(kMaxExcludePatterns) + ")");
  }
  for (const std::string& glob : globs) {
    CLAWBACK_RETURN_IF_ERROR(ValidateExcludePattern(glob));
    add(glob);
  }
  return out;
}

Result<ExcludeRules> ExcludeRules::Compile(const std::vector<std::string>& patterns) {
  // The presets add at most their own patterns to the custom limit.
  size_t limit = kMaxExcludePatterns;
  for (const ExcludePreset& p : kPresets) limit += p.patterns.size();
  if (patterns.size() > limit) {
    return Status::InvalidArgument("too many exclude patterns: " + std::to_string(patterns.size()) +
                                   " (at most " + std::to_string(limit) + ")");
  }
  ExcludeRules rules;
  for (const std::string& text : patterns) {
    CLAWBACK_RETURN_IF_ERROR(ValidateExcludePattern(text));
    Pattern compiled;
    compiled.text = text;
    for (std::string_view c : SplitComponents(text)) compiled.components.emplace_back(c);
    compiled.subtree = compiled.components;
    compiled.subtree.emplace_back("**");
    rules.patterns_.push_back(std::move(compiled));
  }
  return rules;
}

bool ExcludeRules::Matches(std::string_view path) const {
  if (patterns_.empty()) return false;
  const std::vector<std::string_view> components = SplitComponents(path);
  for (const Pattern& p : patterns_) {
    if (MatchComponents(p.components, components)) return true;
  }
  return false;
}

bool ExcludeRules::Excludes(std::string_view path) const {
  if (patterns_.empty()) return false;
  const std::vector<std::string_view> components = SplitComponents(path);
  // An ancestor matches P exactly when the path matches P/**.
  for (const Pattern& p : patterns_) {
    if (MatchComponents(p.subtree, components)) return true;
  }
  return false;
}

}  // namespace clawback
