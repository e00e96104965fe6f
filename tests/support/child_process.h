// Children that tests fork, started, ended and read back the same way
// everywhere: spawning with the output in a log file, the exit code of a wait
// status, reaping with a deadline (a hang is killed, never waited on forever),
// reading the file a child's output went to, and ServerProcess, the server
// programs under test (agent, controller) that listen on a port they report.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace clawback::testing {

// The exit code of a waitpid() status: the code, 128+signal when a signal
// ended it, else -1.
int ExitCodeOf(int wait_status);

// Polls `pid`, a child of this process, every `poll` until it exits and
// returns ExitCodeOf its status. Once `timeout` has passed it SIGKILLs and
// reaps the child (usually 128+9). -1 when waitpid fails (not our child).
int WaitOrKill(pid_t pid, std::chrono::milliseconds timeout, std::chrono::milliseconds poll);

// The whole contents of `path`, "" when it is missing or unreadable.
std::string ReadWholeFile(const std::string& path);

// How SpawnLogged starts a child.
struct SpawnOptions {
  // Set on top of this process's environment, replacing variables of the same name.
  std::map<std::string, std::string> env;
  // > 0: RLIMIT_FSIZE in the child, with SIGXFSZ ignored so that an oversized
  // write fails with EFBIG instead of killing it, like a full disk would.
  uint64_t fsize_limit = 0;
  // SIGKILL the child when the thread that forked it dies (PR_SET_PDEATHSIG),
  // so it does not outlive a test binary killed before its teardown.
  bool die_with_parent = false;
};

// fork + exec of argv (argv[0] a path, or a name looked up on PATH) with
// stdin from /dev/null, stdout and stderr appended to `log_path` and an empty
// signal mask (tests may block signals in threads). Returns the pid, or -1.
pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                  const SpawnOptions& options = {});

struct ProcessOutput {
  int exit_code = -1;  // or 128+signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs a program to completion (SpawnLogged into a temp file), capturing its
// output; after `timeout` it is SIGKILLed.
ProcessOutput RunToCompletion(const std::vector<std::string>& argv, const SpawnOptions& options,
                              std::chrono::milliseconds timeout);

// "..." and the last `n` characters of `text` when it is longer than `n`.
std::string Tail(const std::string& text, size_t n);

// A server program under test run as a child: started on 127.0.0.1 port 0,
// its port read back from the file it names with --port-file, its output in a
// log file. SIGKILLed and reaped when it goes away still running. Not
// thread-safe: one test thread drives it.
class ServerProcess {
 public:
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& log_file() const { return log_file_; }

  void Signal(int signo) const;
  // Waits for the process to exit: its exit code, or 128+signal; nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // The log so far.
  std::string Log() const;

 protected:
  ServerProcess() = default;

  // Spawns argv (whose --port-file is `port_file`) with its output appended
  // to `log_file`, and waits up to `timeout` for the port. Errors name the
  // program as `what` and carry its log (the last `log_tail` characters).
  Status Launch(const std::vector<std::string>& argv, const std::string& log_file, const std::string& port_file,
                const SpawnOptions& options, std::chrono::milliseconds timeout, const std::string& what,
                size_t log_tail = std::string::npos);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  uint16_t port_ = 0;
  std::string log_file_;
};

}  // namespace clawback::testing
