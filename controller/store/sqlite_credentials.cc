// SqliteStore: what a user signs in with (tables sessions, api_tokens). Both
// are keyed by the SHA-256 of their secret and go with their user (ON DELETE
// CASCADE). Touches only move last-use times forward.
#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kSessionColumns = "token_hash, user_id, csrf_token, created_at, expires_at, last_seen_at";

Session ReadSession(SQLite::Statement& q) {
  Session s;
  s.token_hash = q.getColumn(0).getString();
  s.user_id = q.getColumn(1).getInt64();
  s.csrf_token = q.getColumn(2).getString();
  s.created_at = q.getColumn(3).getInt64();
  s.expires_at = q.getColumn(4).getInt64();
  s.last_seen_at = q.getColumn(5).getInt64();
  return s;
}

constexpr const char* kTokenColumns = "id, user_id, name, token_hash, created_at, last_used_at, revoked, can_create_tokens";

ApiToken ReadToken(SQLite::Statement& q) {
  ApiToken t;
  t.id = q.getColumn(0).getInt64();
  t.user_id = q.getColumn(1).getInt64();
  t.name = q.getColumn(2).getString();
  t.token_hash = q.getColumn(3).getString();
  t.created_at = q.getColumn(4).getInt64();
  t.last_used_at = q.getColumn(5).getInt64();
  t.revoked = q.getColumn(6).getInt() != 0;
  t.can_create_tokens = q.getColumn(7).getInt() != 0;
  return t;
}

Status SessionNotFound() { return Status::NotFound("session not found"); }

}  // namespace

// --- sessions -------------------------------------------------------------------

Status SqliteStore::CreateSession(const Session& session) {
  return Run("create session", [&] {
    UnixTime created = OrNow(session.created_at);
    ExecChecked(*db_, std::string("INSERT INTO sessions (") + kSessionColumns + ") VALUES (?, ?, ?, ?, ?, ?)",
                {.unique = Status::AlreadyExists("session already exists"),
                 .foreign_key = NotFound("user", session.user_id)},
                session.token_hash, session.user_id, session.csrf_token, created, session.expires_at,
                session.last_seen_at != 0 ? session.last_seen_at : created);
  });
}

Result<Session> SqliteStore::GetSession(const std::string& token_hash) {
  return RunRead("get session", [&] {
    auto q = reader_statements_.Get(Select(kSessionColumns, "FROM sessions WHERE token_hash = ?"));
    return QueryOne(*q, ReadSession, SessionNotFound(), token_hash);
  });
}

Status SqliteStore::DeleteSession(const std::string& token_hash) {
  return Run("delete session",
             [&] { ExecOne(*db_, "DELETE FROM sessions WHERE token_hash = ?", SessionNotFound(), token_hash); });
}

Status SqliteStore::DeleteUserSessions(Id user_id) {
  return Run("delete user sessions", [&] { Exec(*db_, "DELETE FROM sessions WHERE user_id = ?", user_id); });
}

Status SqliteStore::DeleteExpiredSessions(UnixTime now) {
  return Run("delete expired sessions", [&] { Exec(*db_, "DELETE FROM sessions WHERE expires_at <= ?", now); });
}

Status SqliteStore::TouchSession(const std::string& token_hash, UnixTime now) {
  return Run("touch session", [&] {
    ExecOne(*db_, "UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE token_hash = ?",
            SessionNotFound(), now, token_hash);
  });
}

// --- API tokens -------------------------------------------------------------------

Result<ApiToken> SqliteStore::CreateApiToken(const ApiToken& token) {
  return Run("create API token", [&] {
    ApiToken t = token;
    t.created_at = OrNow(t.created_at);
    ExecChecked(*db_,
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at, last_used_at, revoked, "
                "can_create_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)",
                {.unique = Status::AlreadyExists("API token already exists"),
                 .foreign_key = NotFound("user", t.user_id)},
                t.user_id, t.name, t.token_hash, t.created_at, t.last_used_at, t.revoked, t.can_create_tokens);
    t.id = db_->getLastInsertRowid();
    return t;
  });
}

Result<ApiToken> SqliteStore::GetApiTokenByHash(const std::string& token_hash) {
  return RunRead("get API token", [&] {
    auto q = reader_statements_.Get(Select(kTokenColumns, "FROM api_tokens WHERE token_hash = ?"));
    return QueryOne(*q, ReadToken, Status::NotFound("API token not found"), token_hash);
  });
}

Result<std::vector<ApiToken>> SqliteStore::ListApiTokens(Id user_id) {
  return Run("list API tokens", [&] {
    return QueryAll(*db_, Select(kTokenColumns, "FROM api_tokens WHERE user_id = ? ORDER BY id"), ReadToken,
                    user_id);
  });
}

Status SqliteStore::RevokeApiToken(Id user_id, Id token_id) {
  return Run("revoke API token", [&] {
    ExecOne(*db_, "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ?", NotFound("API token", token_id),
            token_id, user_id);
  });
}

Status SqliteStore::RevokeUserApiTokens(Id user_id) {
  return Run("revoke a user's API tokens",
             [&] { Exec(*db_, "UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0", user_id); });
}

Status SqliteStore::TouchApiToken(Id token_id, UnixTime now) {
  return Run("touch API token", [&] {
    ExecOne(*db_, "UPDATE api_tokens SET last_used_at = MAX(last_used_at, ?) WHERE id = ?",
            NotFound("API token", token_id), now, token_id);
  });
}

}  // namespace clawback::controller::store::sqlite
