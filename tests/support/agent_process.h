// Real clawback-agent processes for tests: fork/exec the built binary on
// 127.0.0.1 port 0, find its port through --port-file, capture its log
// (stdout+stderr) in a file, signal it, and reap it (a ServerProcess).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "shared/status.h"
#include "tests/support/child_process.h"

namespace clawback::testing {

struct AgentProcessOptions {
  std::string binary;       // path of clawback-agent
  std::string work_dir;     // port file and log go here
  std::string cert, key, ca;
  std::string root;
  std::vector<std::string> extra_args;  // e.g. {"--stall-timeout", "5"}
  std::chrono::milliseconds start_timeout{15000};
};

// One clawback-agent process.
class AgentProcess : public ServerProcess {
 public:
  // Starts the agent and waits until it listens. On failure the error carries
  // the agent's log.
  static Result<std::unique_ptr<AgentProcess>> Start(const AgentProcessOptions& options);

  // Polls the log until it contains `needle`.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const;
  // VmHWM (peak RSS) in KiB from /proc/<pid>/status; 0 when unknown.
  uint64_t PeakRssKiB() const;

 private:
  AgentProcess() = default;
};

// Runs a program to completion (argv[0] a path or a name on PATH), capturing
// its output: RunToCompletion with this environment.
ProcessOutput RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// True when `program` is found on PATH.
bool HaveProgram(const std::string& program);

}  // namespace clawback::testing
