#include "tests/controller/cli/cli_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/support/child_process.h"

namespace clawback::testing {

nlohmann::json CliResult::Json() const {
  return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
}

std::vector<std::string> CliResult::ErrLines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string CliResult::Describe() const {
  std::string text = "clawback";
  for (size_t i = 1; i < argv.size(); ++i) text += " " + argv[i];
  return text + " -> exit " + std::to_string(exit_code) + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
}

CliRunner::CliRunner(std::string binary, std::string home, std::string work_dir)
    : binary_(std::move(binary)), home_(std::move(home)), work_dir_(std::move(work_dir)) {
  base_env_ = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", home_}, {"TZ", "UTC"}, {"LANG", "C"}};
}

CliResult CliRunner::Run(const std::vector<std::string>& args, const CliRunOptions& options) {
  CliResult result;
  result.argv = {binary_};
  result.argv.insert(result.argv.end(), args.begin(), args.end());
  const std::string base = work_dir_ + "/cli-run-" + std::to_string(++runs_);
  const std::string in_path = base + ".in", out_path = base + ".out", err_path = base + ".err";
  { std::ofstream(in_path, std::ios::binary) << options.stdin_text; }

  // Everything the child needs is built before fork.
  std::vector<char*> argv;
  for (std::string& a : result.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> env = base_env_;
  for (const auto& [name, value] : options.env) env[name] = value;
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in_fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    result.err = std::string("cannot open capture files: ") + std::strerror(errno);
    return result;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::chdir(work_dir_.c_str()) != 0) ::_exit(126);  // a download without -o lands here
    if (options.fsize_limit > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // survives exec: writes past the limit fail with EFBIG
      rlimit limit{options.fsize_limit, options.fsize_limit};
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) {
    result.err = std::string("fork failed: ") + std::strerror(errno);
    return result;
  }
  result.exit_code = WaitOrKill(pid, options.timeout, std::chrono::milliseconds(5));
  result.out = ReadWholeFile(out_path);
  result.err = ReadWholeFile(err_path);
  ::unlink(in_path.c_str());
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return result;
}

}  // namespace clawback::testing
