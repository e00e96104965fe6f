// An in-process controller for the auth suites: the real router over a real
// SQLite store file in a temp dir, real PKI, real transfer service,
// scheduler and agent connector (no agent is ever contacted here), and a
// FakeClock so session expiry and sign-in lockouts are tested by moving time,
// never by sleeping. Requests go straight to the RequestHandler, each with a
// chosen client address ("ip:port") as the server would set it.
//
// Not thread-safe: one test thread drives one stack.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/agents/agent_connector.h"
#include "controller/clock.h"
#include "controller/store/store.h"
#include "tests/controller/api/api_services.h"

namespace clawback::controller::testing {

using Json = nlohmann::json;

inline constexpr UnixTime kStartTime = 1'800'000'000;  // 2027-01-15T08:00:00Z

// The credentials a caller presents.
struct Credentials {
  std::string cookie;  // session cookie value ("" none)
  std::string csrf;    // sent as X-CSRF-Token when non-empty
  std::string token;   // bearer API token ("" none)
  std::string remote = "127.0.0.1:40000";

  static Credentials Bearer(std::string t) {
    Credentials c;
    c.token = std::move(t);
    return c;
  }
};

struct Reply {
  int status = 0;
  Json json;                 // the body parsed (discarded when not JSON)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const;  // "" when absent; name compared case-insensitively
  std::string Describe() const;                       // "<status> <body>" for failure messages
};

struct Signin {
  Reply reply;
  Credentials session;  // cookie + csrf when the sign-in worked
};

// Session and sign-in limit settings; scrypt defaults to kCheapScrypt.
using StackOptions = ApiServicesOptions;

class AuthStack {
 public:
  static constexpr const char* kAdminPassword = "admin-password-123";

  explicit AuthStack(StackOptions options = {});
  ~AuthStack();
  AuthStack(const AuthStack&) = delete;
  AuthStack& operator=(const AuthStack&) = delete;

  FakeClock& clock() { return clock_; }
  Store& store() { return services_->store(); }
  const TempDir& dir() const { return dir_; }
  std::string db_path() const { return dir_.file("clawback.db"); }
  std::string backups_dir() const { return dir_.file("backups"); }

  // `target` is a path with an optional query ("/api/v1/audit?actor=x").
  Reply Call(const Credentials& who, const std::string& method, const std::string& target,
             const Json& body = nullptr);
  Reply Anonymous(const std::string& method, const std::string& target, const Json& body = nullptr,
                  const std::string& remote = "127.0.0.1:40000");

  // POST /auth/login from `remote`.
  Signin Login(const std::string& username, const std::string& password,
               const std::string& remote = "127.0.0.1:40000");
  // Signs in and mints an API token (fails the test on error).
  // Signs in and creates a token through the session (with the right to
  // create tokens when `can_create_tokens`), then signs out.
  Credentials TokenFor(const std::string& username, const std::string& password, const std::string& name = "t",
                       bool can_create_tokens = false);

  // The first admin ("admin", kAdminPassword), signed in with a token.
  const Credentials& admin() const { return admin_; }

  // Admin API helpers (fail the test on an unexpected status).
  Json CreateUser(const std::string& username, const std::string& password, const std::string& role = "user",
                  bool can_create_instances = false, const std::vector<int64_t>& instance_ids = {});
  // An instance record pointing at no agent (enough for audit and assignments).
  Json RegisterInstance(const std::string& name);

  // Every byte of the SQLite database and its WAL, for "stored hashed" checks.
  std::string DatabaseBytes() const;

 private:
  StackOptions options_;
  TempDir dir_;
  FakeClock clock_{kStartTime};
  std::unique_ptr<AgentConnector> agents_;
  std::unique_ptr<ApiServices> services_;  // uses agents_
  Credentials admin_;
};

// The session cookie value in a Set-Cookie header ("" when none).
std::string SessionCookieFrom(const std::string& set_cookie);

}  // namespace clawback::controller::testing
