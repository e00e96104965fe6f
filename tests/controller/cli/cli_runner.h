// Runs the real `clawback` binary as a subprocess for the CLI suite: its own
// clean environment (HOME and CLAWBACK_CONFIG under the test's temp dir, no
// CLAWBACK_* leaking in from the caller's shell), stdin from a string,
// stdout and stderr captured separately, optionally an RLIMIT_FSIZE so a
// download is cut off mid-stream the way a full disk would cut it.
//
// Not thread-safe; one test thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace clawback::testing {

struct CliResult {
  int exit_code = -1;  // or 128+signal; -1 when it could not be run
  std::string out;     // stdout
  std::string err;     // stderr
  std::vector<std::string> argv;

  nlohmann::json Json() const;  // stdout parsed (discarded value when not JSON)
  // Lines of stderr (without their newlines).
  std::vector<std::string> ErrLines() const;
  // "clawback a b c -> exit N\nstdout...\nstderr..." for failure messages.
  std::string Describe() const;
};

struct CliRunOptions {
  std::string stdin_text;                     // fed to the process, then EOF
  std::map<std::string, std::string> env;     // added to (or replacing) the base environment
  uint64_t fsize_limit = 0;                   // RLIMIT_FSIZE (SIGXFSZ ignored) when > 0
  std::chrono::milliseconds timeout{120000};  // SIGKILL after this (a hang is a failure, not a pass)
};

class CliRunner {
 public:
  // `binary` is the clawback executable; `home` a directory for HOME and
  // the config file ($home/.config/clawback/config.json unless a test sets
  // CLAWBACK_CONFIG).
  CliRunner(std::string binary, std::string home, std::string work_dir);

  const std::string& home() const { return home_; }
  std::string config_path() const { return home_ + "/.config/clawback/config.json"; }

  // Environment every run gets (PATH, HOME, TZ=UTC, LANG=C) plus `set`.
  void SetEnv(const std::string& name, const std::string& value) { base_env_[name] = value; }
  void UnsetEnv(const std::string& name) { base_env_.erase(name); }

  CliResult Run(const std::vector<std::string>& args, const CliRunOptions& options = {});

 private:
  std::string binary_;
  std::string home_;
  std::string work_dir_;
  std::map<std::string, std::string> base_env_;
  int runs_ = 0;
};

}  // namespace clawback::testing
