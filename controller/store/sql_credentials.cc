// SqlStore: what a user signs in with (tables sessions, api_tokens). Both
// are keyed by the SHA-256 of their secret and go with their user (ON DELETE
// CASCADE). Touches only move last-use times forward.
#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kSessionColumns = "token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at";

Session ReadSession(const Statement& q) {
  Session s;
  s.token_hash = q.Text(0);
  s.user_id = q.Int64(1);
  s.csrf_token = q.Text(2);
  s.created_at = q.Int64(3);
  s.expires_at = q.Int64(4);
  s.last_seen_at = q.Int64(5);
  return s;
}

constexpr const char* kTokenColumns = "id, user_id, name, token_hash, created_at, last_used_at, revoked, can_create_tokens";

ApiToken ReadToken(const Statement& q) {
  ApiToken t;
  t.id = q.Int64(0);
  t.user_id = q.Int64(1);
  t.name = q.Text(2);
  t.token_hash = q.Text(3);
  t.created_at = q.Int64(4);
  t.last_used_at = q.Int64(5);
  t.revoked = q.Int(6) != 0;
  t.can_create_tokens = q.Int(7) != 0;
  return t;
}

Status SessionNotFound() { return Status::NotFound("session not found"); }

}  // namespace

// --- sessions -------------------------------------------------------------------

Status SqlStore::CreateSession(const Session& session) {
  return Run("create session", [&](Connection& db) {
    UnixTime created = OrNow(session.created_at);
    ExecChecked(db, std::string("INSERT INTO sessions (") + kSessionColumns + ") VALUES (?, ?, ?, ?, ?, ?)",
                {.unique = Status::AlreadyExists("session already exists"),
                 .foreign_key = NotFound("user", session.user_id)},
                session.token_hash, session.user_id, session.csrf_token, created, session.expires_at,
                session.last_seen_at != 0 ? session.last_seen_at : created);
  });
}

Result<Session> SqlStore::GetSession(const std::string& token_hash) {
  return RunRead("get session", [&](Connection& db) {
    return QueryOne(db, Select(kSessionColumns, "FROM sessions WHERE token_hash = ?"), ReadSession,
                    SessionNotFound(), token_hash);
  });
}

Status SqlStore::DeleteSession(const std::string& token_hash) {
  return Run("delete session",
             [&](Connection& db) { ExecOne(db, "DELETE FROM sessions WHERE token_hash = ?", SessionNotFound(), token_hash); });
}

Status SqlStore::DeleteUserSessions(Id user_id) {
  return Run("delete user sessions", [&](Connection& db) { Exec(db, "DELETE FROM sessions WHERE user_id = ?", user_id); });
}

Status SqlStore::DeleteExpiredSessions(UnixTime now) {
  return Run("delete expired sessions", [&](Connection& db) { Exec(db, "DELETE FROM sessions WHERE expires_at <= ?", now); });
}

Status SqlStore::TouchSession(const std::string& token_hash, UnixTime now) {
  return Run("touch session", [&](Connection& db) {
    ExecOne(db, "UPDATE sessions SET last_seen_at = CASE WHEN last_seen_at < ? THEN ? ELSE last_seen_at END "
            "WHERE token_hash = ?",
            SessionNotFound(), now, now, token_hash);
  });
}

// --- API tokens -------------------------------------------------------------------

Result<ApiToken> SqlStore::CreateApiToken(const ApiToken& token) {
  return Run("create API token", [&](Connection& db) {
    ApiToken t = token;
    t.created_at = OrNow(t.created_at);
    t.id = InsertReturningId(db,
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at, last_used_at, revoked, "
                "can_create_tokens) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                {.unique = Status::AlreadyExists("API token already exists"),
                 .foreign_key = NotFound("user", t.user_id)},
                t.user_id, t.name, t.token_hash, t.created_at, t.last_used_at, t.revoked, t.can_create_tokens);
    return t;
  });
}

Result<ApiToken> SqlStore::GetApiTokenByHash(const std::string& token_hash) {
  return RunRead("get API token", [&](Connection& db) {
    return QueryOne(db, Select(kTokenColumns, "FROM api_tokens WHERE token_hash = ?"), ReadToken,
                    Status::NotFound("API token not found"), token_hash);
  });
}

Result<std::vector<ApiToken>> SqlStore::ListApiTokens(Id user_id) {
  return Run("list API tokens", [&](Connection& db) {
    return QueryAll(db, Select(kTokenColumns, "FROM api_tokens WHERE user_id = ? ORDER BY id"), ReadToken,
                    user_id);
  });
}

Status SqlStore::RevokeApiToken(Id user_id, Id token_id) {
  return Run("revoke API token", [&](Connection& db) {
    ExecOne(db, "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ?", NotFound("API token", token_id),
            token_id, user_id);
  });
}

Status SqlStore::RevokeUserApiTokens(Id user_id) {
  return Run("revoke a user's API tokens",
             [&](Connection& db) { Exec(db, "UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0", user_id); });
}

Status SqlStore::TouchApiToken(Id token_id, UnixTime now) {
  return Run("touch API token", [&](Connection& db) {
    ExecOne(db, "UPDATE api_tokens SET last_used_at = CASE WHEN last_used_at < ? THEN ? ELSE last_used_at END "
            "WHERE id = ?",
            NotFound("API token", token_id), now, now, token_id);
  });
}

}  // namespace clawback::controller::store::sql
