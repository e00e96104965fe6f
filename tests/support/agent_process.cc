#include "tests/support/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"

namespace clawback::testing {
namespace {

// fork + exec with stdout/stderr appended to `log_path`. Returns the pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    // Tests may block signals in threads; the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

std::atomic<int> g_counter{0};

}  // namespace

Result<std::unique_ptr<AgentProcess>> AgentProcess::Start(const AgentProcessOptions& o) {
  int n = g_counter++;
  std::string port_file = o.work_dir + "/agent-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".port";
  std::unique_ptr<AgentProcess> agent(new AgentProcess());
  agent->log_file_ = o.work_dir + "/agent-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".log";
  ::unlink(port_file.c_str());
  std::vector<std::string> argv = {o.binary,  "--listen", "127.0.0.1:0", "--cert", o.cert, "--key", o.key,
                                   "--ca",    o.ca,       "--root",      o.root,   "--port-file", port_file};
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  agent->pid_ = Spawn(argv, agent->log_file_);
  if (agent->pid_ < 0) return Status::Internal(std::string("cannot spawn agent: ") + std::strerror(errno));

  auto deadline = std::chrono::steady_clock::now() + o.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadWholeFile(port_file);
    if (!text.empty()) {
      agent->port_ = static_cast<uint16_t>(std::stoi(text));
      return agent;
    }
    if (auto code = agent->WaitExit(std::chrono::milliseconds(0))) {
      return Status::Unavailable("agent exited with " + std::to_string(*code) + " before listening: " + agent->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded("agent did not listen in time: " + agent->Log());
}

AgentProcess::~AgentProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void AgentProcess::Signal(int signo) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signo);
}

std::optional<int> AgentProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (reaped_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_code_ = ExitCodeOf(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string AgentProcess::Log() const { return ReadWholeFile(log_file_); }

bool AgentProcess::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Log().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

uint64_t AgentProcess::PeakRssKiB() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

ProcessOutput RunProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  char templ[] = "/tmp/clawback-run-XXXXXX";
  int fd = ::mkstemp(templ);
  ProcessOutput out;
  if (fd < 0) return out;
  ::close(fd);
  pid_t pid = Spawn(argv, templ);
  if (pid < 0) {
    ::unlink(templ);
    return out;
  }
  out.exit_code = WaitOrKill(pid, timeout, std::chrono::milliseconds(10));
  out.output = ReadWholeFile(templ);
  ::unlink(templ);
  return out;
}

bool HaveProgram(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace clawback::testing
