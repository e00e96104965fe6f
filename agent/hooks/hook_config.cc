// LoadHookConfig (quiesce_hooks.h): the --hooks JSON file.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/hooks/quiesce_hooks.h"

namespace clawback::agent {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxArgs = 256;
constexpr size_t kMaxArgBytes = 4096;

Result<std::chrono::seconds> ParseTimeout(const json& value, const std::string& where) {
  if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
      value.get<int64_t>() > kMaxHookTimeout.count()) {
    return Status::InvalidArgument(where + ": \"timeout_s\" must be a whole number of seconds from 1 to " +
                                   std::to_string(kMaxHookTimeout.count()));
  }
  return std::chrono::seconds(value.get<int64_t>());
}

Result<std::vector<std::string>> ParseArgv(const json& value, const std::string& where) {
  if (!value.is_array() || value.empty() || value.size() > kMaxArgs) {
    return Status::InvalidArgument(where + ": argv must be a non-empty array of at most " +
                                   std::to_string(kMaxArgs) + " strings");
  }
  std::vector<std::string> argv;
  for (const json& a : value) {
    if (!a.is_string()) return Status::InvalidArgument(where + ": argv must hold only strings");
    std::string arg = a.get<std::string>();
    if (arg.find('\0') != std::string::npos || arg.size() > kMaxArgBytes) {
      return Status::InvalidArgument(where + ": an argument holds a NUL byte or is longer than 4096 bytes");
    }
    argv.push_back(std::move(arg));
  }
  if (argv[0].empty() || argv[0][0] != '/') {
    return Status::InvalidArgument(where +
                                   ": argv[0] must be an absolute path (hooks run without a shell or PATH "
                                   "search): " +
                                   argv[0]);
  }
  return argv;
}

Result<HookCommand> ParseHook(const json& value, std::chrono::seconds default_timeout,
                              const std::string& where) {
  HookCommand hook;
  hook.timeout = default_timeout;
  if (value.is_array()) {
    auto argv = ParseArgv(value, where);
    if (!argv.ok()) return argv.status();
    hook.argv = std::move(*argv);
    return hook;
  }
  if (!value.is_object() || !value.contains("argv")) {
    return Status::InvalidArgument(where + " must be an argv array or {\"argv\": [...], \"timeout_s\": N}");
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (it.key() == "argv") {
      auto argv = ParseArgv(it.value(), where);
      if (!argv.ok()) return argv.status();
      hook.argv = std::move(*argv);
    } else if (it.key() == "timeout_s") {
      auto timeout = ParseTimeout(it.value(), where);
      if (!timeout.ok()) return timeout.status();
      hook.timeout = *timeout;
    } else {
      return Status::InvalidArgument(where + ": unknown key \"" + it.key() + "\" (allowed: argv, timeout_s)");
    }
  }
  return hook;
}

}  // namespace

Result<HookConfig> LoadHookConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("--hooks " + path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("--hooks " + path + ": not a JSON object");
  }
  std::chrono::seconds default_timeout = kDefaultHookTimeout;
  if (doc.contains("timeout_s")) {
    auto timeout = ParseTimeout(doc["timeout_s"], "--hooks " + path);
    if (!timeout.ok()) return timeout.status();
    default_timeout = *timeout;
  }
  HookConfig config;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key == "timeout_s") continue;
    std::optional<HookCommand>* slot = key == "pre-backup"     ? &config.pre_backup
                                       : key == "post-backup"  ? &config.post_backup
                                       : key == "pre-restore"  ? &config.pre_restore
                                       : key == "post-restore" ? &config.post_restore
                                                               : nullptr;
    if (slot == nullptr) {
      return Status::InvalidArgument(
          "--hooks " + path + ": unknown key \"" + key +
          "\" (allowed: pre-backup, post-backup, pre-restore, post-restore, timeout_s)");
    }
    auto hook = ParseHook(it.value(), default_timeout, "--hooks " + path + ": \"" + key + "\"");
    if (!hook.ok()) return hook.status();
    *slot = std::move(*hook);
  }
  return config;
}

}  // namespace clawback::agent
