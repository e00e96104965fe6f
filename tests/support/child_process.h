// Children that tests fork, ended and read back the same way everywhere: the
// exit code of a wait status, reaping with a deadline (a hang is killed, never
// waited on forever), and reading the file a child's output went to.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

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

}  // namespace clawback::testing
