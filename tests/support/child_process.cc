#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace clawback::testing {

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

int WaitOrKill(pid_t pid, std::chrono::milliseconds timeout, std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCodeOf(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return ExitCodeOf(status);
    }
    std::this_thread::sleep_for(poll);
  }
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                  const SpawnOptions& options) {
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  // Build argv and envp before fork: the child only calls async-signal-safe functions.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    if (!options.env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : options.env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::string exec_failed = "exec " + argv.at(0) + " failed\n";

  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (options.fsize_limit > 0) {
      // Ignored dispositions survive exec.
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit limit{options.fsize_limit, options.fsize_limit};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    ::execvpe(args[0], args.data(), envp.data());
    (void)!::write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

ProcessOutput RunToCompletion(const std::vector<std::string>& argv, const SpawnOptions& options,
                              std::chrono::milliseconds timeout) {
  char templ[] = "/tmp/clawback-run-XXXXXX";
  int fd = ::mkstemp(templ);
  ProcessOutput out;
  if (fd < 0) return out;
  ::close(fd);
  pid_t pid = SpawnLogged(argv, templ, options);
  if (pid > 0) out.exit_code = WaitOrKill(pid, timeout, std::chrono::milliseconds(10));
  out.output = ReadWholeFile(templ);
  ::unlink(templ);
  return out;
}

std::string Tail(const std::string& text, size_t n) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void ServerProcess::Signal(int signo) const {
  if (pid_ > 0 && !reaped_) ::kill(pid_, signo);
}

std::optional<int> ServerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (reaped_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) {
      reaped_ = true;
      exit_code_ = r == pid_ ? ExitCodeOf(status) : -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ServerProcess::Log() const {
  return ReadWholeFile(log_file_);
}

Status ServerProcess::Launch(const std::vector<std::string>& argv, const std::string& log_file,
                             const std::string& port_file, const SpawnOptions& options,
                             std::chrono::milliseconds timeout, const std::string& what, size_t log_tail) {
  log_file_ = log_file;
  ::unlink(port_file.c_str());
  pid_ = SpawnLogged(argv, log_file_, options);
  if (pid_ < 0) return Status::Internal("cannot spawn " + what + ": " + std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadWholeFile(port_file);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
      port_ = static_cast<uint16_t>(std::stoi(text));
      return Status::Ok();
    }
    if (auto code = WaitExit(std::chrono::milliseconds(0))) {
      return Status::Unavailable(what + " exited with " + std::to_string(*code) +
                                 " before listening: " + Tail(Log(), log_tail));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded(what + " did not listen in time: " + Tail(Log(), log_tail));
}

}  // namespace clawback::testing
