#include "shared/exclude_rules.h"

#include <gtest/gtest.h>

#include <set>

namespace clawback {
namespace {

struct MatchCase {
  std::string pattern;
  std::string path;
  bool matches;   // ExcludeRules::Matches (the path itself)
  bool excludes;  // ExcludeRules::Excludes (the path or an ancestor)
};

TEST(ExcludeRules, MatchTable) {
  const MatchCase cases[] = {
      // literal paths; a matched directory excludes its subtree
      {"/home/claworc/.cache", "/home/claworc/.cache", true, true},
      {"/home/claworc/.cache", "/home/claworc/.cache/pip/x.whl", false, true},
      {"/home/claworc/.cache", "/home/claworc/.cached", false, false},
      {"/home/claworc/.cache", "/home/claworc", false, false},
      {"/home/claworc/.cache/", "/home/claworc/.cache/a", false, true},  // trailing '/' ignored
      {"//home//claworc", "/home/claworc", true, true},                  // repeated '/' ignored
      // '*' stays within one component and matches dot files
      {"/home/*/notes", "/home/claworc/notes", true, true},
      {"/home/*/notes", "/home/claworc/x/notes", false, false},
      {"/home/claworc/*.log", "/home/claworc/.log", true, true},
      {"/home/claworc/*.log", "/home/claworc/a.log", true, true},
      {"/home/claworc/*.log", "/home/claworc/sub/a.log", false, false},
      {"/home/claworc/*.log", "/home/claworc/a.log.1", false, false},
      {"/a/*b*c*", "/a/xxbyyczz", true, true},
      {"/a/*b*c", "/a/bcbc", true, true},
      {"/a/*b*c", "/a/bcb", false, false},
      {"/*", "/etc", true, true},
      {"/*", "/", false, false},
      // '?' is one character within a component
      {"/a/?.txt", "/a/b.txt", true, true},
      {"/a/?.txt", "/a/bb.txt", false, false},
      {"/a?b", "/a/b", false, false},
      // classes
      {"/a/[bc]", "/a/c", true, true},
      {"/a/[bc]", "/a/d", false, false},
      {"/a/[a-c]x", "/a/bx", true, true},
      {"/a/[!a-c]x", "/a/bx", false, false},
      {"/a/[^a-c]x", "/a/dx", true, true},
      {"/a/[]]", "/a/]", true, true},
      {"/a/[!]]", "/a/x", true, true},
      {"/a/[!]]", "/a/]", false, false},
      {"/a/x[0-9]", "/a/x7", true, true},
      // escapes
      {"/a/\\*", "/a/*", true, true},
      {"/a/\\*", "/a/b", false, false},
      {"/a/\\[x]", "/a/[x]", true, true},
      // '**' spans zero or more components
      {"/home/**/*.log", "/home/a.log", true, true},
      {"/home/**/*.log", "/home/x/y/z/a.log", true, true},
      {"/home/**/*.log", "/home/x/y/z/a.txt", false, false},
      {"/home/**/*.log", "/var/a.log", false, false},
      {"/home/**", "/home", true, true},
      {"/home/**", "/home/a/b", true, true},
      {"/**", "/", true, true},
      {"/**/Cache", "/x/y/Cache/data_0", false, true},
      {"/a/**/b/**/c", "/a/b/c", true, true},
      {"/a/**/b/**/c", "/a/x/b/y/z/c", true, true},
      {"/a/**/b/**/c", "/a/x/c/y/b", false, false},
      {"/a/**/b", "/a/b/b/b", true, true},
      // names with spaces and bytes beyond ASCII are plain characters
      {"/a/Code Cache", "/a/Code Cache/js", false, true},
      {"/a/\xc3\xa9*", "/a/\xc3\xa9t\xc3\xa9", true, true},
  };
  for (const MatchCase& c : cases) {
    auto rules = ExcludeRules::Compile({c.pattern});
    ASSERT_TRUE(rules.ok()) << c.pattern << ": " << rules.status().ToString();
    EXPECT_EQ(rules->Matches(c.path), c.matches) << c.pattern << " vs " << c.path;
    EXPECT_EQ(rules->Excludes(c.path), c.excludes) << c.pattern << " vs " << c.path;
  }
}

TEST(ExcludeRules, EmptyRulesExcludeNothing) {
  ExcludeRules none;
  EXPECT_FALSE(none.Excludes("/"));
  EXPECT_FALSE(none.Excludes("/home/claworc/.cache"));
  auto compiled = ExcludeRules::Compile({});
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE(compiled->empty());
}

struct InvalidCase {
  std::string pattern;
  std::string error_part;
};

TEST(ExcludeRules, ValidationTable) {
  const InvalidCase cases[] = {
      {"", "exclude pattern is empty"},
      {"*.log", "exclude pattern must be absolute (start with '/'): *.log"},
      {"~/.cache", "must be absolute"},
      {std::string("/a\0b", 4), "contains a NUL byte: /a\\x00b"},
      {"/" + std::string(5000, 'a'), "longer than 4096 bytes"},
      {"/a/../b", "'.' or '..' components: /a/../b"},
      {"/a/./b", "'.' or '..'"},
      {"/a/[bc", "unclosed '[': /a/[bc"},
      {"/a/[]", "unclosed '['"},
      {"/a/b\\", "ends a component with '\\'"},
      {"/a/**.log", "'**' inside a component"},
      {"/a/x**", "'**' inside a component"},
  };
  for (const InvalidCase& c : cases) {
    Status st = ValidateExcludePattern(c.pattern);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << c.pattern;
    EXPECT_NE(st.message().find(c.error_part), std::string::npos) << st.message();
    auto compiled = ExcludeRules::Compile({"/ok", c.pattern});
    EXPECT_FALSE(compiled.ok()) << c.pattern;
    auto expanded = ExpandExcludes({}, {c.pattern});
    ASSERT_FALSE(expanded.ok()) << c.pattern;
    EXPECT_EQ(expanded.status().message(), st.message());
  }
  for (const char* ok : {"/", "/**", "/a/\\**", "/a/*", "/a/[*]", "/a/b c"}) {
    EXPECT_TRUE(ValidateExcludePattern(ok).ok()) << ok;
  }
}

TEST(ExcludeRules, BoundedCount) {
  std::vector<std::string> many(kMaxExcludePatterns + 1, "/a");
  auto expanded = ExpandExcludes({}, many);
  ASSERT_FALSE(expanded.ok());
  EXPECT_NE(expanded.status().message().find("too many exclude patterns: 257 (at most 256)"),
            std::string::npos);
  many.pop_back();
  EXPECT_TRUE(ExpandExcludes({"logs", "caches"}, many).ok());
}

TEST(ExcludePresets, ExpandNamesAndDeduplicate) {
  auto expanded = ExpandExcludes({"logs", "logs"}, {"/srv/x", "/home/claworc/.openclaw/logs", "/srv/x"});
  ASSERT_TRUE(expanded.ok()) << expanded.status().ToString();
  std::vector<std::string> want = {"/home/claworc/.openclaw/logs", "/home/claworc/.openclaw/**/*.log",
                                   "/home/claworc/.npm/_logs", "/srv/x"};
  EXPECT_EQ(*expanded, want);

  auto unknown = ExpandExcludes({"logs", "videos"}, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(), "unknown exclude preset: videos (known: logs, caches)");
  EXPECT_EQ(ExcludePresetNames(), "logs, caches");
}

TEST(ExcludePresets, EveryPresetPatternIsValid) {
  for (const ExcludePreset& preset : ExcludePresets()) {
    EXPECT_FALSE(preset.patterns.empty()) << preset.name;
    for (std::string_view p : preset.patterns) EXPECT_TRUE(ValidateExcludePattern(p).ok()) << p;
  }
}

// What each preset leaves out, path by path (docs/excludes.md states the same).
struct PresetCase {
  std::string preset;
  std::string path;
  bool excluded;
};

TEST(ExcludePresets, WhatEachPresetLeavesOut) {
  const PresetCase cases[] = {
      {"logs", "/home/claworc/.openclaw/logs", true},
      {"logs", "/home/claworc/.openclaw/logs/gateway.log", true},
      {"logs", "/home/claworc/.openclaw/logs/config-audit.jsonl", true},
      {"logs", "/home/claworc/.openclaw/openclaw-2026-12-01.log", true},
      {"logs", "/home/claworc/.openclaw/agents/main/sessions/run.1.log", true},
      {"logs", "/home/claworc/.openclaw/workspace/build.log", true},
      {"logs", "/home/claworc/.npm/_logs/2026-12-01T10_00_00_000Z-debug-0.log", true},
      {"logs", "/home/claworc/.openclaw/openclaw.json", false},
      {"logs", "/home/claworc/.openclaw/agents/main/agent/openclaw-agent.sqlite", false},
      {"logs", "/home/claworc/.openclaw/memory/main.sqlite", false},
      {"logs", "/home/claworc/.openclaw/logs.txt", false},
      {"logs", "/home/claworc/.openclaw/app.log.1", false},
      {"logs", "/home/claworc/notes.log", false},  // outside the state directory
      {"logs", "/var/log/syslog", false},
      {"logs", "/home/claworc/.cache/pip/x", false},
      {"caches", "/home/claworc/.cache", true},
      {"caches", "/home/claworc/.cache/pip/http/a", true},
      {"caches", "/home/claworc/.cache/ms-playwright/chromium-1140/chrome-linux/chrome", true},
      {"caches", "/home/claworc/.cache/Homebrew/downloads/x.tar.gz", true},
      {"caches", "/home/claworc/.npm/_cacache/index-v5/aa", true},
      {"caches", "/home/claworc/.npm/_npx/1234/node_modules/x", true},
      {"caches", "/home/claworc/.local/share/pnpm/store/v3/files/00/aa", true},
      {"caches", "/home/claworc/.yarn/berry/cache/x.zip", true},
      {"caches", "/home/claworc/.bun/install/cache/x", true},
      {"caches", "/home/claworc/.openclaw/browser/openclaw/user-data/Default/Cache/Cache_Data/f_0001", true},
      {"caches", "/home/claworc/.openclaw/browser/openclaw/user-data/Default/Code Cache/js/a", true},
      {"caches", "/home/claworc/.openclaw/browser/openclaw/user-data/Default/GPUCache/data_0", true},
      {"caches", "/home/claworc/.config/chromium/Default/Cache/Cache_Data/f_0001", true},
      {"caches", "/home/claworc/.openclaw/browser/openclaw/user-data/Default/Cookies", false},
      {"caches", "/home/claworc/.config/chromium/Default/Login Data", false},
      {"caches", "/home/claworc/.npm/_logs/x.log", false},
      {"caches", "/home/claworc/.npmrc", false},
      {"caches", "/home/claworc/.local/share/pnpm/global/5/node_modules/x", false},
      {"caches", "/home/claworc/.openclaw/memory/main.sqlite", false},
      {"caches", "/home/linuxbrew/.linuxbrew/bin/brew", false},
      {"caches", "/home/claworc/.cachex", false},
  };
  for (const PresetCase& c : cases) {
    auto expanded = ExpandExcludes({c.preset}, {});
    ASSERT_TRUE(expanded.ok());
    auto rules = ExcludeRules::Compile(*expanded);
    ASSERT_TRUE(rules.ok()) << rules.status().ToString();
    EXPECT_EQ(rules->Excludes(c.path), c.excluded) << c.preset << ": " << c.path;
  }
}

// Pathological patterns stay polynomial: many stars against a long miss.
TEST(ExcludeRules, NoExponentialBacktracking) {
  std::string pattern = "/";
  for (int i = 0; i < 12; ++i) pattern += "**/a*a*a*a*/";
  pattern += "b";
  auto rules = ExcludeRules::Compile({pattern});
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  std::string path;
  for (int i = 0; i < 40; ++i) path += "/" + std::string(40, 'a');
  EXPECT_FALSE(rules->Excludes(path));
}

}  // namespace
}  // namespace clawback
