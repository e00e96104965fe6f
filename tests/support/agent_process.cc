#include "tests/support/agent_process.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace clawback::testing {
namespace {

std::atomic<int> g_counter{0};

}  // namespace

Result<std::unique_ptr<AgentProcess>> AgentProcess::Start(const AgentProcessOptions& o) {
  int n = g_counter++;
  std::string base = o.work_dir + "/agent-" + std::to_string(::getpid()) + "-" + std::to_string(n);
  std::string port_file = base + ".port";
  std::vector<std::string> argv = {o.binary,  "--listen", "127.0.0.1:0", "--cert", o.cert, "--key", o.key,
                                   "--ca",    o.ca,       "--root",      o.root,   "--port-file", port_file};
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  std::unique_ptr<AgentProcess> agent(new AgentProcess());
  Status started = agent->Launch(argv, base + ".log", port_file, SpawnOptions{}, o.start_timeout, "agent");
  if (!started.ok()) return started;
  return agent;
}

bool AgentProcess::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Log().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

uint64_t AgentProcess::PeakRssKiB() const {
  std::ifstream in("/proc/" + std::to_string(pid()) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

ProcessOutput RunProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return RunToCompletion(argv, SpawnOptions{}, timeout);
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
