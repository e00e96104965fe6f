// Sign-in, sessions and API tokens: turns credentials into a Principal.
//
// Browser sessions: Login checks the password (scrypt), subject to the
// SignInRateLimiter, and creates a session whose random cookie value goes to
// the client once; the store keeps only its SHA-256. Sessions end at
// `absolute_ttl` after sign-in, after `idle_ttl` without use, on Logout, and
// for every session of a user when their password changes.
//
// API tokens: "Authorization: Bearer cbk_..." is looked up by hash; a revoked
// token is refused on its next use (there is no cache).
//
// Failures are deliberately uniform: an unknown username and a wrong password
// both give Unauthenticated("invalid username or password"), and an unknown
// username still runs one scrypt so response times do not tell them apart.
// Rate limiting gives ResourceExhausted with the seconds to wait.
//
// With an AuditLog, records auth.login, auth.logout, auth.password,
// auth.token.create and auth.token.revoke itself.
//
// Thread-safe: state lives in the Store and the limiter. Store, Clock,
// limiter and audit log must outlive this object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "controller/auth/audit.h"
#include "controller/auth/authorizer.h"
#include "controller/auth/password.h"
#include "controller/auth/rate_limiter.h"
#include "controller/clock.h"
#include "controller/store/store.h"

namespace clawback::controller::auth {

inline constexpr std::string_view kSessionCookieName = "clawback_session";

struct SessionOptions {
  int64_t absolute_ttl_seconds = 12 * 3600;
  int64_t idle_ttl_seconds = 12 * 3600;
  // Last-use times are written at most this often per session/token, so a
  // busy dashboard does not write on every request. Idle expiry is exact to
  // within this interval.
  int64_t touch_interval_seconds = 60;
  int max_api_tokens_per_user = 100;     // active (unrevoked) tokens
  ScryptParams scrypt = kDefaultScryptParams;  // for new hashes and rehash-on-login
};

struct LoginResult {
  User user;                 // password_hash empty
  std::string cookie_value;  // secret: set as the cookie, never logged
  std::string csrf_token;
  UnixTime expires_at = 0;
};

struct NewApiToken {
  ApiToken token;      // token_hash empty
  std::string secret;  // "cbk_...": shown to the user once
};

class SessionManager {
 public:
  SessionManager(Store& store, const Clock& clock, SignInRateLimiter& limiter, AuditLog* audit = nullptr,
                 SessionOptions options = {});
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Unauthenticated("invalid username or password"); ResourceExhausted
  // ("too many failed sign-ins; try again in 840 seconds") with
  // *retry_after_seconds set; IoError/Unavailable when the store fails.
  Result<LoginResult> Login(std::string_view username, std::string_view password, std::string_view source,
                            int64_t* retry_after_seconds = nullptr);

  // Ends a cookie session (a bearer principal has none: OK, nothing done).
  Status Logout(const Principal& principal, std::string_view source = {});

  // From the request's credentials: an Authorization header wins over the
  // cookie (and a bad one is not retried with the cookie). Neither present:
  // Unauthenticated("sign in required").
  Result<Principal> Authenticate(std::optional<std::string_view> session_cookie,
                                 std::optional<std::string_view> authorization_header);
  Result<Principal> AuthenticateSession(std::string_view cookie_value);
  Result<Principal> AuthenticateBearer(std::string_view token);

  // Checks `current_password` (InvalidArgument "current_password: ..." when
  // wrong; counted by the rate limiter), applies the password policy
  // (InvalidArgument "new_password: ..."), stores the new hash and ends every
  // other session of the user. The caller's own session stays valid.
  Status ChangePassword(const Principal& principal, std::string_view current_password,
                        std::string_view new_password, std::string_view source = {});

  // Name: 1..100 printable characters. ResourceExhausted beyond
  // max_api_tokens_per_user active tokens. The caller has passed
  // Authorize(kCreateApiToken). `can_create_tokens` lets the new token
  // create tokens itself; only a cookie session may grant it
  // (PermissionDenied "can_create_tokens: ..." for a bearer caller).
  Result<NewApiToken> CreateApiToken(const Principal& principal, std::string_view name,
                                     bool can_create_tokens = false, std::string_view source = {});
  // Revokes one of the caller's own tokens (NotFound for anyone else's).
  Status RevokeApiToken(const Principal& principal, Id token_id, std::string_view source = {});
  // Revokes a token of user `owner_id`, for an admin (the caller has passed
  // Authorize(kManageUsers)). NotFound when that user has no such token.
  Status RevokeUserApiToken(const Principal& admin, Id owner_id, Id token_id, std::string_view source = {});

  // Deletes sessions past their absolute expiry (call periodically).
  Status PruneExpiredSessions();

 private:
  Result<Principal> PrincipalFor(Id user_id);
  void Audit(const Principal* actor, std::string_view source, std::string_view action, std::string_view target,
             const Status& outcome, const nlohmann::json& detail = nlohmann::json::object());

  Store& store_;
  const Clock& clock_;
  SignInRateLimiter& limiter_;
  AuditLog* audit_;
  const SessionOptions options_;
  std::string dummy_hash_;  // verified against for unknown users (flat timing); set in the constructor
};

}  // namespace clawback::controller::auth
