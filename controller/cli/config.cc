#include "controller/cli/config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "controller/pki/certificate_authority.h"

namespace clawback::controller::cli {
namespace {

std::string FirstSet(std::initializer_list<std::optional<std::string>> values) {
  for (const auto& value : values) {
    if (value && !value->empty()) return *value;
  }
  return "";
}

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

// mkdir -p with mode 0700 for the directories it creates.
Status MakeDirs(const std::filesystem::path& dir) {
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::Ok();
  CLAWBACK_RETURN_IF_ERROR(MakeDirs(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError("cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Environment Environment::Process() {
  return Environment{[](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  }};
}

Environment Environment::FromMap(std::map<std::string, std::string> values) {
  return Environment{[values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }};
}

Result<std::string> ConfigPath(const Environment& env) {
  if (auto explicit_path = env.get("CLAWBACK_CONFIG"); explicit_path && !explicit_path->empty()) {
    return *explicit_path;
  }
  if (auto xdg = env.get("XDG_CONFIG_HOME"); xdg && !xdg->empty()) return *xdg + "/clawback/config.json";
  if (auto home = env.get("HOME"); home && !home->empty()) return *home + "/.config/clawback/config.json";
  return Status::InvalidArgument("cannot locate the config file: set HOME, XDG_CONFIG_HOME or CLAWBACK_CONFIG");
}

Result<ClientConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return ClientConfig{};
    return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return Status::InvalidArgument(path + ": not a JSON object (delete it and log in again)");
  ClientConfig config;
  auto str = [&](const char* key) {
    return json.contains(key) && json[key].is_string() ? json[key].get<std::string>() : std::string();
  };
  config.server = str("server");
  config.token = str("token");
  config.username = str("username");
  config.ca_file = str("ca_file");
  if (json.contains("token_id") && json["token_id"].is_number_integer()) {
    config.token_id = json["token_id"].get<int64_t>();
  }
  return config;
}

Status SaveConfig(const std::string& path, const ClientConfig& config) {
  CLAWBACK_RETURN_IF_ERROR(MakeDirs(std::filesystem::path(path).parent_path()));
  nlohmann::json json = nlohmann::json::object();
  json["server"] = config.server;
  if (!config.token.empty()) json["token"] = config.token;
  if (config.token_id != 0) json["token_id"] = config.token_id;
  if (!config.username.empty()) json["username"] = config.username;
  if (!config.ca_file.empty()) json["ca_file"] = config.ca_file;
  return pki::WriteFileAtomic(path, json.dump(2) + "\n", 0600);
}

Connection ResolveConnection(const ConnectionFlags& flags, const Environment& env, const ClientConfig& file) {
  Connection out;
  out.server = FirstSet({NonEmpty(flags.server), env.get("CLAWBACK_SERVER"), NonEmpty(file.server)});
  while (out.server.size() > 1 && out.server.back() == '/') out.server.pop_back();
  std::string file_server = file.server;
  while (file_server.size() > 1 && file_server.back() == '/') file_server.pop_back();
  // The saved token and CA belong to the saved server: never send them to
  // another one named by a flag or the environment.
  bool file_matches = !file_server.empty() && file_server == out.server;
  out.token = FirstSet({NonEmpty(flags.token), env.get("CLAWBACK_TOKEN"),
                        file_matches ? NonEmpty(file.token) : std::nullopt});
  out.ca_file = FirstSet({NonEmpty(flags.ca_file), env.get("CLAWBACK_CA"),
                          file_matches ? NonEmpty(file.ca_file) : std::nullopt});
  return out;
}

}  // namespace clawback::controller::cli
