// Exclude rules: which paths a backup leaves out, shared by the controller
// (validates what a user asks for, expands presets, sends globs) and the agent
// (validates again, consults the rules in its walk). Both sides call the same
// functions, so a request the controller accepts is one the agent accepts, and
// a preset means the same thing everywhere. docs/excludes.md describes them.
//
// Patterns are globs matched against the ABSOLUTE container path, component by
// component ('/' separates components; repeated '/' and a trailing '/' in a
// pattern are ignored):
//   *      any run of characters within one component (also none)
//   ?      exactly one character within one component
//   [abc] [a-z] [!a-z] [^a-z]   one character from (or not from) a class; a ']'
//          right after '[' or '[!' is literal
//   **     as a whole component: zero or more whole components
//   \c     the character c itself (to match a literal * ? [ or \)
// A leading '.' is not special ("*" matches ".cache"). A pattern that matches a
// directory excludes everything below it: the walk never opens it.
//
// Presets are named lists of patterns (ExcludePresets()); ExpandExcludes turns
// preset names plus custom globs into the one list the agent receives.
//
// Everything here is pure and thread-safe; an ExcludeRules is immutable after
// Compile and may be shared between threads. Matching one path costs
// O(patterns x path length x pattern length) in the worst case, never more:
// no backtracking blow-up, whatever the pattern (a libFuzzer target drives it).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace clawback {

// Upper bounds on a request's exclude patterns, enforced on both sides.
inline constexpr size_t kMaxExcludePatterns = 256;
inline constexpr size_t kMaxExcludePatternBytes = 4096;

struct ExcludePreset {
  std::string_view name;                       // "logs", "caches"
  std::string_view summary;                    // one line for help texts and the dashboard
  std::span<const std::string_view> patterns;  // absolute globs, as documented
};

// The presets, in a fixed order ("logs", "caches").
std::span<const ExcludePreset> ExcludePresets();

// The names of all presets joined for messages: "logs, caches".
std::string ExcludePresetNames();

// Checks one pattern: non-empty, absolute, no NUL, at most
// kMaxExcludePatternBytes, no "." or ".." component, "**" only as a whole
// component, every '[' closed, no trailing '\'. InvalidArgument naming the
// pattern and the reason, e.g. "exclude pattern must be absolute: *.log".
Status ValidateExcludePattern(std::string_view pattern);

// Validates preset names (InvalidArgument "unknown exclude preset: x (known:
// logs, caches)") and custom globs (ValidateExcludePattern, at most
// kMaxExcludePatterns in all), and returns the presets' patterns in preset
// order followed by the globs, without duplicates.
Result<std::vector<std::string>> ExpandExcludes(const std::vector<std::string>& presets,
                                                const std::vector<std::string>& globs);

// A compiled, immutable set of patterns.
class ExcludeRules {
 public:
  ExcludeRules() = default;  // excludes nothing

  // Validates every pattern (ValidateExcludePattern; at most
  // kMaxExcludePatterns) and compiles them.
  static Result<ExcludeRules> Compile(const std::vector<std::string>& patterns);

  bool empty() const { return patterns_.empty(); }
  size_t size() const { return patterns_.size(); }

  // True when the normalized absolute `path` itself matches a pattern. A walk
  // that visits parents first and skips matched directories needs only this.
  bool Matches(std::string_view path) const;

  // True when `path` or one of its ancestors matches a pattern: the path is
  // left out of a backup.
  bool Excludes(std::string_view path) const;

 private:
  struct Pattern {
    std::string text;                     // normalized, for messages
    std::vector<std::string> components;  // glob per component; "**" spans components
    std::vector<std::string> subtree;     // components + "**": the pattern or anything below
  };
  std::vector<Pattern> patterns_;
};

}  // namespace clawback
