// RunHook (quiesce_hooks.h): one hook process, spawned without a shell, in its
// own process group, output captured through one pipe, killed on timeout.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/hooks/quiesce_hooks.h"
#include "shared/log.h"

namespace clawback::agent {
namespace {

using Clock = std::chrono::steady_clock;

// How often a hook whose output pipe is quiet (or closed) is checked for exit.
constexpr std::chrono::milliseconds kExitPoll{20};

struct Pipe {
  int read_fd = -1, write_fd = -1;
  ~Pipe() {
    if (read_fd >= 0) close(read_fd);
    if (write_fd >= 0) close(write_fd);
  }
};

// posix_spawn attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// The last non-empty line of the output, for the error message.
std::string LastLine(const std::string& output) {
  size_t end = output.find_last_not_of("\r\n");
  if (end == std::string::npos) return "";
  size_t newline = output.rfind('\n', end);
  size_t begin = newline == std::string::npos ? 0 : newline + 1;
  std::string line = output.substr(begin, end - begin + 1);
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return std::string("killed by signal ") + strsignal(WTERMSIG(wait_status));
  return "ended abnormally";
}

}  // namespace

Status RunHook(std::string_view name, const HookCommand& command, const std::string& root) {
  const std::string hook(name);
  const auto started = Clock::now();
  nlohmann::json fields = {{"hook", hook}, {"argv", command.argv}, {"timeout_s", command.timeout.count()}};

  Pipe out;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return Status::Internal(hook + " hook: cannot create a pipe: " + strerror(errno));
  out.read_fd = fds[0];
  out.write_fd = fds[1];

  SpawnSetup setup;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out.write_fd, 1);
  posix_spawn_file_actions_adddup2(&setup.actions, out.write_fd, 2);
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  posix_spawn_file_actions_addchdir_np(&setup.actions, "/");

  std::vector<std::string> env_strings = {"PATH=" + std::string(kHookPath), "CLAWBACK_HOOK=" + hook,
                                          "CLAWBACK_ROOT=" + root};
  std::vector<char*> envp, argv;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command.argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int spawn_error = posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  close(out.write_fd);
  out.write_fd = -1;
  if (spawn_error != 0) {
    fields["error"] = strerror(spawn_error);
    log::Error("hook failed", fields);
    return Status::FailedPrecondition(hook + " hook failed: cannot run " + command.argv[0] + ": " +
                                      strerror(spawn_error));
  }
  fcntl(out.read_fd, F_SETFL, fcntl(out.read_fd, F_GETFL) | O_NONBLOCK);

  const auto deadline = started + command.timeout;
  std::string output;
  uint64_t output_bytes = 0;
  bool pipe_open = true;
  bool timed_out = false;
  int wait_status = 0;
  char buf[4096];
  auto drain = [&] {
    for (;;) {
      ssize_t n = read(out.read_fd, buf, sizeof buf);
      if (n > 0) {
        output_bytes += static_cast<uint64_t>(n);
        size_t room = kHookOutputLimit - std::min(output.size(), kHookOutputLimit);
        output.append(buf, std::min(room, static_cast<size_t>(n)));
        continue;
      }
      if (n == 0) pipe_open = false;
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  };
  for (;;) {
    pid_t done = waitpid(pid, &wait_status, WNOHANG);
    if (done == pid) break;
    auto now = Clock::now();
    if (now >= deadline) {
      // The whole group: a hook that started helpers must not leave them running.
      kill(-pid, SIGKILL);
      while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
      }
      timed_out = true;
      break;
    }
    auto wait = std::min<Clock::duration>(deadline - now, kExitPoll);
    int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    if (pipe_open) {
      struct pollfd p = {out.read_fd, POLLIN, 0};
      if (poll(&p, 1, ms) > 0) drain();
    } else {
      poll(nullptr, 0, ms);
    }
  }
  // What the hook wrote before it ended (helpers it left behind may keep the
  // pipe open: read what is there, never wait for their EOF).
  drain();

  fields["duration_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  fields["output"] = output;
  if (output_bytes > output.size()) fields["output_dropped_bytes"] = output_bytes - output.size();
  const std::string last = LastLine(output);
  if (timed_out) {
    fields["result"] = "timed out";
    log::Error("hook failed", fields);
    return Status::DeadlineExceeded(hook + " hook timed out after " +
                                    std::to_string(command.timeout.count()) + " s and was killed" +
                                    (last.empty() ? "" : ": " + last));
  }
  fields["result"] = DescribeExit(wait_status);
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    log::Info("hook ran", fields);
    return Status::Ok();
  }
  log::Error("hook failed", fields);
  return Status::FailedPrecondition(hook + " hook failed: " + command.argv[0] + " " +
                                    DescribeExit(wait_status) + (last.empty() ? "" : ": " + last));
}

}  // namespace clawback::agent
