#include "tests/controller/e2e/controller_stack.h"

#include <signal.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

}  // namespace

const char* ClawbackBinary() {
  return CLAWBACK_BINARY;
}
const char* AgentBinary() {
  return CLAWBACK_AGENT_BINARY;
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

ProcessOutput RunWithEnv(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds timeout) {
  SpawnOptions options;
  options.env = env;
  options.die_with_parent = true;
  return RunToCompletion(argv, options, timeout);
}

// ---------------------------------------------------------------------------
// ControllerProcess

Result<std::unique_ptr<ControllerProcess>> ControllerProcess::Start(const ControllerOptions& o) {
  std::unique_ptr<ControllerProcess> c(new ControllerProcess());
  std::string port_file = o.work_dir + "/controller.port";
  std::string log_file = o.work_dir + "/controller.log";
  std::vector<std::string> argv = {o.binary,   "serve",       "--data-dir",  o.data_dir,
                                   "--listen", "127.0.0.1:0", "--port-file", port_file};
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  SpawnOptions spawn;
  spawn.env = {{"CLAWORC_DATA_PATH", o.data_dir}, {"CLAWORC_ADMIN_PASSWORD", o.admin_password}};
  if (!o.backups_dir.empty()) spawn.env["CLAWORC_BACKUPS_PATH"] = o.backups_dir;
  spawn.fsize_limit = o.fsize_limit;
  spawn.die_with_parent = true;
  { std::ofstream(log_file, std::ios::app) << "==== start: " << o.binary << " serve ...\n"; }
  Status started = c->Launch(argv, log_file, port_file, spawn, o.start_timeout, "clawback serve", 4000);
  if (!started.ok()) return started;
  return c;
}

// ---------------------------------------------------------------------------
// E2eStack

E2eStack::E2eStack(StackOptions options) : options_(std::move(options)), tmp_("clawback-e2e-") {
  data_dir_ = tmp_.Sub("data");
  fs::create_directories(data_dir_);
  if (options_.backups_on_tmpfs && options_.backups_dir.empty()) {
    tmpfs_dir_ = tmp_.Sub("backups-tmpfs");
    fs::create_directories(tmpfs_dir_);
    std::string opts = "size=" + options_.tmpfs_size + ",mode=0755";
    tmpfs_mounted_ = ::mount("tmpfs", tmpfs_dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
}

E2eStack::~E2eStack() {
  agents_.clear();  // SIGKILL + reap
  controller_.reset();
  if (tmpfs_mounted_) ::umount2(tmpfs_dir_.c_str(), MNT_DETACH);
}

std::string E2eStack::backups_dir() const {
  if (!options_.backups_dir.empty()) return options_.backups_dir;
  if (!tmpfs_dir_.empty()) return tmpfs_dir_;
  return data_dir_ + "/backups";
}

Status E2eStack::StartController() {
  if (controller_) {
    controller_->Signal(SIGKILL);
    controller_->WaitExit(10s);
  }
  ControllerOptions o;
  o.binary = ClawbackBinary();
  o.work_dir = tmp_.path();
  o.data_dir = data_dir_;
  if (!options_.backups_dir.empty() || !tmpfs_dir_.empty()) o.backups_dir = backups_dir();
  o.admin_password = kAdminPassword;
  o.extra_args = {"--probe-interval", "1"};  // instance status follows agents quickly
  o.extra_args.insert(o.extra_args.end(), options_.controller_args.begin(), options_.controller_args.end());
  o.fsize_limit = options_.fsize_limit;
  auto started = ControllerProcess::Start(o);
  if (!started.ok()) return started.status();
  controller_ = std::move(started).value();

  // /healthz first: the port file may be written a moment before the API answers.
  bool healthy = WaitFor(
      [&] {
        PlainRequest r;
        r.timeout = 5s;
        auto res = SendPlain(controller_->port(), r);
        return res.ok() && res->status == 200;
      },
      15s);
  if (!healthy)
    return Status::Unavailable("controller /healthz never answered 200: " + Tail(controller_->Log(), 4000));
  if (!token_.empty()) return Status::Ok();

  PlainRequest login;
  login.method = "POST";
  login.target = "/api/v1/auth/login";
  login.body = json{{"username", "admin"}, {"password", kAdminPassword}}.dump();
  auto res = SendPlain(controller_->port(), login);
  if (!res.ok()) return res.status();
  if (res->status != 200) return Status::Unauthenticated("login failed: " + res->Describe());
  json body = res->Json();
  std::string cookie = res->headers["set-cookie"];
  cookie = cookie.substr(0, cookie.find(';'));
  if (cookie.empty() || !body.is_object() || !body.contains("csrf_token")) {
    return Status::Internal("login gave no session cookie or csrf_token: " + res->Describe());
  }
  PlainRequest mint;
  mint.method = "POST";
  mint.target = "/api/v1/auth/tokens";
  mint.body = json{{"name", "e2e"}}.dump();
  mint.headers = {{"Cookie", cookie}, {"X-CSRF-Token", body["csrf_token"].get<std::string>()}};
  auto minted = SendPlain(controller_->port(), mint);
  if (!minted.ok()) return minted.status();
  json token = minted->Json();
  if (minted->status != 201 || !token.is_object() || !token.contains("secret")) {
    return Status::Internal("creating an API token failed: " + minted->Describe());
  }
  token_ = token["secret"].get<std::string>();
  return Status::Ok();
}

void E2eStack::KillController() {
  if (!controller_) return;
  controller_->Signal(SIGKILL);
  controller_->WaitExit(10s);
}

PlainResponse E2eStack::DoCall(const std::string& method, const std::string& path, const json& body,
                               std::vector<std::pair<std::string, std::string>> headers, bool auth) {
  PlainRequest r;
  r.method = method;
  r.target = path;
  if (!body.is_null()) r.body = body.dump();
  if (auth) headers.emplace_back("Authorization", "Bearer " + token_);
  headers.emplace_back("Accept", "application/json");
  r.headers = std::move(headers);
  if (!controller_) {
    PlainResponse none;
    none.request_line = method + " " + path;
    none.error = "no controller";
    return none;
  }
  auto res = SendPlain(controller_->port(), r);
  if (!res.ok()) {
    PlainResponse failed;
    failed.request_line = method + " " + path;
    failed.error = res.status().ToString();
    return failed;
  }
  return *res;
}

PlainResponse E2eStack::Call(const std::string& method, const std::string& path, const json& body,
                             std::vector<std::pair<std::string, std::string>> headers) {
  return DoCall(method, path, body, std::move(headers), true);
}

PlainResponse E2eStack::CallAnonymous(const std::string& method, const std::string& path, const json& body,
                                      std::vector<std::pair<std::string, std::string>> headers) {
  return DoCall(method, path, body, std::move(headers), false);
}

PlainResponse E2eStack::Download(const std::string& path, const std::string& file,
                                 std::vector<std::pair<std::string, std::string>> headers) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  PlainRequest r;
  r.target = path;
  headers.emplace_back("Authorization", "Bearer " + token_);
  r.headers = std::move(headers);
  r.on_body = [&out](const char* data, size_t n) {
    out.write(data, static_cast<std::streamsize>(n));
    return out ? Status::Ok() : Status::IoError("write failed");
  };
  PlainResponse response;
  response.request_line = "GET " + path;
  if (controller_) {
    auto res = SendPlain(controller_->port(), r);
    if (res.ok()) {
      response = *res;
    } else {
      response.error = res.status().ToString();
    }
  }
  out.close();
  if (response.status >= 400) response.body = ReadWholeFile(file);  // the JSON error went to the file
  return response;
}

Result<json> E2eStack::RegisterInstance(const std::string& name, const std::string& agent_url) {
  PlainResponse res = Call("POST", "/api/v1/instances", json{{"name", name}, {"agent_url", agent_url}});
  json body = res.Json();
  if (res.status != 201 || !body.is_object() || !body.contains("id")) {
    return Status::Internal("registering instance " + name + ": " + res.Describe());
  }
  return body;
}

Result<json> E2eStack::AddInstance(const std::string& name, const std::string& root,
                                   std::vector<std::string> agent_args,
                                   const std::optional<std::pair<std::string, std::string>>& cert,
                                   const std::string& ca) {
  auto instance = RegisterInstance(name, "https://127.0.0.1:1");
  if (!instance.ok()) return instance.status();
  int64_t id = (*instance)["id"].get<int64_t>();

  AgentProcessOptions o;
  o.binary = AgentBinary();
  o.work_dir = tmp_.path();
  o.root = root;
  o.extra_args = std::move(agent_args);
  if (cert) {
    o.cert = cert->first;
    o.key = cert->second;
    o.ca = ca;
  } else {
    std::string bundle = tmp_.Sub("bundle-" + name);
    Status issued = BundleViaApi(id, bundle);
    if (!issued.ok()) return issued;
    o.cert = bundle + "/agent.crt";
    o.key = bundle + "/agent.key";
    o.ca = bundle + "/ca.crt";
  }
  agent_options_[name] = {id, o};
  auto agent = AgentProcess::Start(o);
  if (!agent.ok()) return agent.status();
  uint16_t port = (*agent)->port();
  agents_[name] = std::move(agent).value();

  PlainResponse patched = Call("PATCH", "/api/v1/instances/" + std::to_string(id),
                               json{{"agent_url", "https://127.0.0.1:" + std::to_string(port)}});
  if (patched.status != 200)
    return Status::Internal("pointing " + name + " at its agent: " + patched.Describe());
  bool ok = false;
  json seen = WaitInstance(
      id, [](const json& i) { return i.value("status", "") == "running"; }, 20s, &ok);
  if (!ok) return Status::DeadlineExceeded("instance " + name + " never became running: " + seen.dump());
  return seen;
}

Status E2eStack::BundleViaApi(int64_t instance_id, const std::string& dir) {
  PlainResponse res = Call("POST", "/api/v1/instances/" + std::to_string(instance_id) + "/bundle");
  json body = res.Json();
  if (res.status != 200 || !body.is_object()) return Status::Internal("issuing a bundle: " + res.Describe());
  fs::create_directories(dir);
  for (const auto& [field, file] :
       {std::pair{"ca_crt", "ca.crt"}, {"agent_crt", "agent.crt"}, {"agent_key", "agent.key"}}) {
    if (!body.contains(field) || !body[field].is_string()) {
      return Status::Internal(std::string("bundle response lacks ") + field + ": " + res.Describe());
    }
    std::string path = dir + "/" + file;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << body[field].get<std::string>();
    fs::permissions(path, std::string(file) == "agent.key" ? fs::perms(0600) : fs::perms(0644));
  }
  return Status::Ok();
}

Status E2eStack::BundleViaCli(const std::string& name, const std::string& dir) {
  ProcessOutput out =
      RunWithEnv({ClawbackBinary(), "instance", "bundle", name, "--out", dir, "--data-dir", data_dir_},
                 {{"CLAWORC_DATA_PATH", data_dir_}, {"CLAWORC_ADMIN_PASSWORD", kAdminPassword}});
  if (out.exit_code != 0) {
    return Status::Internal("clawback instance bundle " + name + " exited " + std::to_string(out.exit_code) +
                            ": " + out.output);
  }
  return Status::Ok();
}

AgentProcess* E2eStack::agent(const std::string& name) {
  auto it = agents_.find(name);
  return it == agents_.end() ? nullptr : it->second.get();
}

std::string E2eStack::AgentUrl(const std::string& name) {
  AgentProcess* a = agent(name);
  return a ? "https://127.0.0.1:" + std::to_string(a->port()) : "";
}

void E2eStack::KillAgent(const std::string& name) {
  if (AgentProcess* a = agent(name)) {
    a->Signal(SIGKILL);
    a->WaitExit(10s);
  }
}

Status E2eStack::RestartAgent(const std::string& name) {
  auto it = agent_options_.find(name);
  if (it == agent_options_.end()) return Status::NotFound("no agent options for instance " + name);
  KillAgent(name);
  auto agent = AgentProcess::Start(it->second.second);
  if (!agent.ok()) return agent.status();
  uint16_t port = (*agent)->port();
  agents_[name] = std::move(agent).value();
  PlainResponse patched = Call("PATCH", "/api/v1/instances/" + std::to_string(it->second.first),
                               json{{"agent_url", "https://127.0.0.1:" + std::to_string(port)}});
  if (patched.status != 200) return Status::Internal("pointing " + name + " at its agent: " + patched.Describe());
  return Status::Ok();
}

json E2eStack::GetInstance(int64_t id) {
  return Call("GET", "/api/v1/instances/" + std::to_string(id)).Json();
}

json E2eStack::WaitInstance(int64_t id, const std::function<bool(const json&)>& pred,
                            std::chrono::milliseconds timeout, bool* ok) {
  json last;
  *ok = WaitFor(
      [&] {
        last = GetInstance(id);
        return last.is_object() && pred(last);
      },
      timeout, 100ms);
  return last;
}

PlainResponse E2eStack::CreateBackup(int64_t instance_id, const json& body) {
  return Call("POST", "/api/v1/instances/" + std::to_string(instance_id) + "/backups", body);
}

PlainResponse E2eStack::CreateRestore(int64_t backup_id, const json& target_instance_id) {
  return Call("POST", "/api/v1/backups/" + std::to_string(backup_id) + "/restore",
              json{{"instance_id", target_instance_id}});
}

json E2eStack::GetBackup(int64_t id) {
  return Call("GET", "/api/v1/backups/" + std::to_string(id)).Json();
}

json E2eStack::WaitBackup(int64_t id, const std::function<bool(const json&)>& pred,
                          std::chrono::milliseconds timeout, bool* ok) {
  json last;
  *ok = WaitFor(
      [&] {
        last = GetBackup(id);
        return last.is_object() && last.contains("status") && pred(last);
      },
      timeout, 50ms);
  return last;
}

json E2eStack::WaitBackupFinal(int64_t id, std::chrono::milliseconds timeout, bool* ok) {
  return WaitBackup(
      id,
      [](const json& b) {
        std::string s = b.value("status", "");
        return s == "completed" || s == "failed" || s == "canceled";
      },
      timeout, ok);
}

json E2eStack::WaitRestoreFinal(int64_t id, std::chrono::milliseconds timeout, bool* ok) {
  json last;
  *ok = WaitFor(
      [&] {
        last = Call("GET", "/api/v1/restores/" + std::to_string(id)).Json();
        if (!last.is_object()) return false;
        std::string s = last.value("status", "");
        return s == "completed" || s == "failed" || s == "canceled";
      },
      timeout, 50ms);
  return last;
}

std::vector<std::string> E2eStack::FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_directory()) out.push_back(fs::relative(it->path(), dir).string());
  }
  return out;
}

std::string E2eStack::Logs() const {
  std::string out;
  out += "---- controller log:\n" + Tail(ReadWholeFile(tmp_.Sub("controller.log")), 6000) + "\n";
  for (const auto& [name, a] : agents_) out += "---- agent " + name + " log:\n" + Tail(a->Log(), 2000) + "\n";
  return out;
}

}  // namespace clawback::testing
