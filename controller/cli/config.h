// Where the CLI finds its server and token.
//
// The config file (written by `clawback login`, mode 0600 in a 0700
// directory) is $CLAWBACK_CONFIG when set, else
// $XDG_CONFIG_HOME/clawback/config.json, else ~/.config/clawback/config.json:
//   {"server": "https://backup.example:8443", "token": "...", "token_id": 7,
//    "username": "admin", "ca_file": "/etc/clawback/ca.crt"}
//
// Precedence for each setting: command-line flag, then environment
// (CLAWBACK_SERVER, CLAWBACK_TOKEN, CLAWBACK_CA), then the config file. The
// file's token and CA are used only for the file's own server, so a token is
// never sent to a server named by a flag or the environment.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "shared/status.h"

namespace clawback::controller::cli {

// Environment lookups, injectable for tests.
struct Environment {
  std::function<std::optional<std::string>(const std::string& name)> get;

  static Environment Process();                                   // getenv
  static Environment FromMap(std::map<std::string, std::string> values);
};

struct ClientConfig {
  std::string server;
  std::string token;
  int64_t token_id = 0;  // the token's id, so `logout` can revoke it
  std::string username;
  std::string ca_file;
};

// The config file path (see above). InvalidArgument when neither
// XDG_CONFIG_HOME nor HOME is set.
Result<std::string> ConfigPath(const Environment& env);

// The config at `path`; an empty ClientConfig when the file does not exist.
// A file that exists but is unreadable or not a JSON object is an error
// naming the file.
Result<ClientConfig> LoadConfig(const std::string& path);

// Writes `config` to `path` atomically with mode 0600, creating missing
// parent directories with mode 0700.
Status SaveConfig(const std::string& path, const ClientConfig& config);

// What the flags said (empty = not given).
struct ConnectionFlags {
  std::string server;
  std::string token;
  std::string ca_file;
};

struct Connection {
  std::string server;
  std::string token;
  std::string ca_file;
};

// Applies the precedence: flag, then environment, then file.
Connection ResolveConnection(const ConnectionFlags& flags, const Environment& env, const ClientConfig& file);

}  // namespace clawback::controller::cli
