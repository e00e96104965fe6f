// Real clawback-agent processes for tests: fork/exec the built binary on
// 127.0.0.1 port 0, find its port through --port-file, capture its log
// (stdout+stderr) in a file, signal it, and reap it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace clawback::testing {

struct AgentProcessOptions {
  std::string binary;       // path of clawback-agent
  std::string work_dir;     // port file and log go here
  std::string cert, key, ca;
  std::string root;
  std::vector<std::string> extra_args;  // e.g. {"--stall-timeout", "5"}
  std::chrono::milliseconds start_timeout{15000};
};

class AgentProcess {
 public:
  // Starts the agent and waits until it listens. On failure the error carries
  // the agent's log.
  static Result<std::unique_ptr<AgentProcess>> Start(const AgentProcessOptions& options);

  ~AgentProcess();  // SIGKILLs and reaps a still-running agent
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& log_file() const { return log_file_; }

  void Signal(int signo) const;
  // Waits for the process to exit: its exit code, or 128+signal; nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // The log so far.
  std::string Log() const;
  // Polls the log until it contains `needle`.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const;
  // VmHWM (peak RSS) in KiB from /proc/<pid>/status; 0 when unknown.
  uint64_t PeakRssKiB() const;

 private:
  AgentProcess() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  uint16_t port_ = 0;
  std::string log_file_;
};

struct ProcessOutput {
  int exit_code = -1;  // or 128+signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs a program to completion (argv[0] is the path), capturing its output.
ProcessOutput RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// True when `program` is found on PATH.
bool HaveProgram(const std::string& program);

}  // namespace clawback::testing
