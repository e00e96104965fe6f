#include "controller/auth/session_manager.h"

#include <algorithm>
#include <cctype>

#include "controller/auth/tokens.h"
#include "shared/log.h"

namespace clawback::controller::auth {
namespace {

constexpr char kInvalidCredentials[] = "invalid username or password";
constexpr size_t kMaxUsernameBytes = 256;
constexpr size_t kMaxPasswordBytes = 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status ValidateTokenName(std::string_view name) {
  if (name.empty() || name.size() > 100) return Status::InvalidArgument("name: must be 1 to 100 characters");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("name: must not contain control characters");
  }
  return Status::Ok();
}

}  // namespace

SessionManager::SessionManager(Store& store, const Clock& clock, SignInRateLimiter& limiter, AuditLog* audit,
                               SessionOptions options)
    : store_(store), clock_(clock), limiter_(limiter), audit_(audit), options_(options) {
  // A hash of a random password with the current cost: unknown usernames
  // are checked against it so they take as long as known ones.
  Result<std::string> random = RandomSecret(16);
  Result<std::string> dummy = HashPassword(random.ok() ? *random : "clawback-dummy", options_.scrypt);
  if (dummy.ok()) dummy_hash_ = std::move(dummy).value();
}

void SessionManager::Audit(const Principal* actor, std::string_view source, std::string_view action,
                           std::string_view target, const Status& outcome, const nlohmann::json& detail) {
  if (audit_ != nullptr) audit_->Record(actor, source, action, target, AuditLog::Outcome(outcome), detail);
}

Result<LoginResult> SessionManager::Login(std::string_view username, std::string_view password,
                                          std::string_view source, int64_t* retry_after_seconds) {
  const std::string target = "user:" + std::string(username.substr(0, 64));
  // Reserved before any hashing: concurrent attempts cannot exceed the limit.
  // The reservation stands as the failure unless the password is right.
  if (int64_t wait = limiter_.Reserve(username, source); wait > 0) {
    if (retry_after_seconds) *retry_after_seconds = wait;
    Status s = Status::ResourceExhausted("too many failed sign-ins; try again in " + std::to_string(wait) +
                                         " seconds");
    Audit(nullptr, source, "auth.login", target, s);
    return s;
  }
  auto fail = [&]() -> Status {
    Status s = Status::Unauthenticated(kInvalidCredentials);
    Audit(nullptr, source, "auth.login", target, s);
    return s;
  };
  if (username.empty() || username.size() > kMaxUsernameBytes || password.size() > kMaxPasswordBytes) {
    return fail();
  }
  Result<User> user = store_.GetUserByName(std::string(username));
  if (!user.ok()) {
    if (user.status().code() != Status::Code::kNotFound) {
      limiter_.Release(username, source);  // the store failed, not the caller
      return user.status();
    }
    (void)VerifyPassword(password, dummy_hash_);  // flat timing for unknown users
    return fail();
  }
  Status verified = VerifyPassword(password, user->password_hash);
  if (!verified.ok()) {
    if (verified.code() != Status::Code::kUnauthenticated) {
      log::Error("stored password hash is unusable", {{"user_id", user->id}, {"error", verified.message()}});
    }
    return fail();
  }
  limiter_.RecordSuccess(username, source);

  const UnixTime now = clock_.Now();
  if (PasswordNeedsRehash(user->password_hash, options_.scrypt)) {
    // Raise an old hash to the current cost while the password is at hand.
    if (Result<std::string> rehashed = HashPassword(password, options_.scrypt); rehashed.ok()) {
      User updated = *user;
      updated.password_hash = *rehashed;
      if (Status s = store_.UpdateUser(updated); !s.ok()) {
        log::Warn("password rehash not stored", {{"user_id", user->id}, {"error", s.message()}});
      }
    }
  }
  (void)store_.DeleteExpiredSessions(now);  // housekeeping; failure is harmless here

  Result<std::string> cookie = NewSessionCookieValue();
  if (!cookie.ok()) return cookie.status();
  Result<std::string> csrf = NewCsrfToken();
  if (!csrf.ok()) return csrf.status();
  Session session;
  session.token_hash = TokenHash(*cookie);
  session.user_id = user->id;
  session.csrf_token = *csrf;
  session.created_at = now;
  session.last_seen_at = now;
  session.expires_at = now + options_.absolute_ttl_seconds;
  CLAWBACK_RETURN_IF_ERROR(store_.CreateSession(session));

  LoginResult result;
  result.user = std::move(user).value();
  result.user.password_hash.clear();
  result.cookie_value = std::move(cookie).value();
  result.csrf_token = std::move(csrf).value();
  result.expires_at = session.expires_at;
  Principal actor;
  actor.user = result.user;
  Audit(&actor, source, "auth.login", target, Status::Ok());
  return result;
}

Status SessionManager::Logout(const Principal& principal, std::string_view source) {
  if (!principal.via_session) return Status::Ok();
  Status s = store_.DeleteSession(principal.session_token_hash);
  if (s.code() == Status::Code::kNotFound) s = Status::Ok();  // already gone: signed out either way
  Audit(&principal, source, "auth.logout", "user:" + principal.user.username, s);
  return s;
}

Result<Principal> SessionManager::PrincipalFor(Id user_id) {
  Result<User> user = store_.GetUser(user_id);
  if (!user.ok()) {
    if (user.status().code() == Status::Code::kNotFound) return Status::Unauthenticated("account no longer exists");
    return user.status();
  }
  Principal p;
  p.user = std::move(user).value();
  p.user.password_hash.clear();
  if (p.user.role != Role::kAdmin) {
    Result<std::vector<Id>> ids = store_.GetUserInstances(user_id);
    if (!ids.ok()) return ids.status();
    p.assigned_instances = std::move(ids).value();
    std::sort(p.assigned_instances.begin(), p.assigned_instances.end());
  }
  return p;
}

Result<Principal> SessionManager::Authenticate(std::optional<std::string_view> session_cookie,
                                               std::optional<std::string_view> authorization_header) {
  if (authorization_header) {
    std::string_view h = Trim(*authorization_header);
    constexpr std::string_view kBearer = "Bearer ";
    if (h.size() <= kBearer.size() || !EqualsIgnoreCase(h.substr(0, kBearer.size()), kBearer)) {
      return Status::Unauthenticated("Authorization header must be \"Bearer <API token>\"");
    }
    return AuthenticateBearer(Trim(h.substr(kBearer.size())));
  }
  if (session_cookie && !session_cookie->empty()) return AuthenticateSession(*session_cookie);
  return Status::Unauthenticated("sign in required");
}

Result<Principal> SessionManager::AuthenticateSession(std::string_view cookie_value) {
  const std::string hash = TokenHash(cookie_value);
  Result<Session> session = store_.GetSession(hash);
  if (!session.ok()) {
    if (session.status().code() == Status::Code::kNotFound) {
      return Status::Unauthenticated("session expired or signed out; sign in again");
    }
    return session.status();
  }
  const UnixTime now = clock_.Now();
  if (now >= session->expires_at || now - session->last_seen_at >= options_.idle_ttl_seconds) {
    (void)store_.DeleteSession(hash);
    return Status::Unauthenticated("session expired; sign in again");
  }
  Result<Principal> p = PrincipalFor(session->user_id);
  if (!p.ok()) return p.status();
  // Belt and braces: a session older than the password is never honoured,
  // even if revoking it had failed.
  if (session->created_at < p->user.password_changed_at) {
    (void)store_.DeleteSession(hash);
    return Status::Unauthenticated("session expired; sign in again");
  }
  if (now - session->last_seen_at >= options_.touch_interval_seconds) {
    if (Status s = store_.TouchSession(hash, now); !s.ok()) {
      log::Warn("session last-use time not stored", {{"error", s.message()}});
    }
  }
  p->via_session = true;
  p->session_token_hash = hash;
  p->csrf_token = session->csrf_token;
  return p;
}

Result<Principal> SessionManager::AuthenticateBearer(std::string_view token) {
  if (token.size() <= kApiTokenPrefix.size() || token.substr(0, kApiTokenPrefix.size()) != kApiTokenPrefix) {
    return Status::Unauthenticated("invalid API token");
  }
  Result<ApiToken> stored = store_.GetApiTokenByHash(TokenHash(token));
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) return Status::Unauthenticated("invalid API token");
    return stored.status();
  }
  if (stored->revoked) return Status::Unauthenticated("API token has been revoked");
  Result<Principal> p = PrincipalFor(stored->user_id);
  if (!p.ok()) return p.status();
  const UnixTime now = clock_.Now();
  if (now - stored->last_used_at >= options_.touch_interval_seconds) {
    if (Status s = store_.TouchApiToken(stored->id, now); !s.ok()) {
      log::Warn("API token last-use time not stored", {{"token_id", stored->id}, {"error", s.message()}});
    }
  }
  p->via_session = false;
  p->api_token_id = stored->id;
  p->token_can_create_tokens = stored->can_create_tokens;
  return p;
}

Status SessionManager::ChangePassword(const Principal& principal, std::string_view current_password,
                                      std::string_view new_password, std::string_view source) {
  const std::string target = "user:" + principal.user.username;
  auto done = [&](Status s) {
    Audit(&principal, source, "auth.password", target, s);
    return s;
  };
  if (int64_t wait = limiter_.Reserve(principal.user.username, source); wait > 0) {
    return done(Status::ResourceExhausted("too many failed attempts; try again in " + std::to_string(wait) +
                                          " seconds"));
  }
  Result<User> user = store_.GetUser(principal.user.id);
  if (!user.ok()) {
    limiter_.Release(principal.user.username, source);
    return done(user.status());
  }
  if (current_password.size() > kMaxPasswordBytes || !VerifyPassword(current_password, user->password_hash).ok()) {
    return done(Status::InvalidArgument("current_password: is wrong"));  // the reservation is the failure
  }
  limiter_.Release(principal.user.username, source);
  if (Status policy = CheckPasswordPolicy(new_password); !policy.ok()) {
    return done(Status::InvalidArgument("new_" + policy.message()));
  }
  Result<std::string> hash = HashPassword(new_password, options_.scrypt);
  if (!hash.ok()) return done(hash.status());
  User updated = std::move(user).value();
  updated.password_hash = std::move(hash).value();
  updated.password_changed_at = clock_.Now();
  // The caller's own session survives (same cookie, same absolute expiry),
  // re-dated so it is not older than the new password.
  std::optional<Session> keep;
  if (principal.via_session) {
    Result<Session> own = store_.GetSession(principal.session_token_hash);
    if (own.ok()) keep = std::move(own).value();
  }
  if (Status s = store_.UpdateUser(updated); !s.ok()) return done(s);
  if (Status s = store_.DeleteUserSessions(updated.id); !s.ok()) return done(s);
  if (keep) {
    keep->created_at = updated.password_changed_at;
    keep->last_seen_at = updated.password_changed_at;
    if (Status s = store_.CreateSession(*keep); !s.ok()) return done(s);
  }
  return done(Status::Ok());
}

Result<NewApiToken> SessionManager::CreateApiToken(const Principal& principal, std::string_view name,
                                                   bool can_create_tokens, std::string_view source) {
  auto fail = [&](Status s) -> Result<NewApiToken> {
    Audit(&principal, source, "auth.token.create", "user:" + principal.user.username, s);
    return s;
  };
  if (Status s = ValidateTokenName(name); !s.ok()) return fail(s);
  if (can_create_tokens && !principal.via_session) {
    return fail(Status::PermissionDenied("can_create_tokens: only a password sign-in (session) can grant it"));
  }
  Result<std::vector<ApiToken>> existing = store_.ListApiTokens(principal.user.id);
  if (!existing.ok()) return fail(existing.status());
  auto active = std::count_if(existing->begin(), existing->end(), [](const ApiToken& t) { return !t.revoked; });
  if (active >= options_.max_api_tokens_per_user) {
    return fail(Status::ResourceExhausted("at most " + std::to_string(options_.max_api_tokens_per_user) +
                                          " active API tokens per user; revoke one first"));
  }
  Result<std::string> secret = NewApiTokenSecret();
  if (!secret.ok()) return fail(secret.status());
  ApiToken token;
  token.user_id = principal.user.id;
  token.name = std::string(name);
  token.token_hash = TokenHash(*secret);
  token.created_at = clock_.Now();
  token.can_create_tokens = can_create_tokens;
  Result<ApiToken> created = store_.CreateApiToken(token);
  if (!created.ok()) return fail(created.status());
  NewApiToken out;
  out.token = std::move(created).value();
  out.token.token_hash.clear();
  out.secret = std::move(secret).value();
  Audit(&principal, source, "auth.token.create", "token:" + std::to_string(out.token.id), Status::Ok(),
        {{"name", out.token.name}, {"can_create_tokens", out.token.can_create_tokens}});
  return out;
}

Status SessionManager::RevokeApiToken(const Principal& principal, Id token_id, std::string_view source) {
  return RevokeUserApiToken(principal, principal.user.id, token_id, source);
}

Status SessionManager::RevokeUserApiToken(const Principal& actor, Id owner_id, Id token_id,
                                          std::string_view source) {
  Status s = store_.RevokeApiToken(owner_id, token_id);
  Audit(&actor, source, "auth.token.revoke", "token:" + std::to_string(token_id), s, {{"owner_id", owner_id}});
  return s;
}

Status SessionManager::PruneExpiredSessions() { return store_.DeleteExpiredSessions(clock_.Now()); }

}  // namespace clawback::controller::auth
