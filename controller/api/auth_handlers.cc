// /api/v1/auth/*: sign-in and sign-out, the caller's own account, password
// and API tokens. SessionManager audits these itself.
#include "controller/api/handler_support.h"
#include "controller/auth/session_manager.h"
#include "controller/clock.h"
#include "controller/store/store.h"

namespace clawback::controller::api {
namespace {

Json CallerUserJson(ApiContext& ctx, const User& user) {
  std::vector<Id> ids;
  if (auto assigned = ctx.store.GetUserInstances(user.id); assigned.ok()) ids = *assigned;
  return UserJson(user, ids);
}

std::string SessionCookie(const std::string& value, int64_t max_age, bool secure) {
  std::string c = std::string(auth::kSessionCookieName) + "=" + value +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (secure) c += "; Secure";
  return c;
}

HttpResponse Login(ApiContext& ctx, Call& call) {
  auto username = ReqString(call.body, "username");
  if (!username.ok()) return Fail(username.status());
  auto password = ReqString(call.body, "password");
  if (!password.ok()) return Fail(password.status());
  int64_t retry_after = 0;
  auto login = ctx.sessions.Login(*username, *password, call.source(), &retry_after);
  if (!login.ok()) {
    HttpResponse r = Fail(login.status());
    if (login.status().code() == Status::Code::kResourceExhausted && retry_after > 0) {
      r.AddHeader("Retry-After", std::to_string(retry_after));
    }
    return r;
  }
  HttpResponse r = JsonResponse(200, {{"user", CallerUserJson(ctx, login->user)}, {"csrf_token", login->csrf_token}});
  int64_t max_age = std::max<int64_t>(0, login->expires_at - ctx.clock.Now());
  r.AddHeader("Set-Cookie", SessionCookie(login->cookie_value, max_age, call.client_https));
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

HttpResponse Logout(ApiContext& ctx, Call& call) {
  Status st = ctx.sessions.Logout(*call.principal, call.source());
  if (!st.ok()) return Fail(st);
  HttpResponse r = NoContent();
  if (call.principal->via_session) r.AddHeader("Set-Cookie", SessionCookie("", 0, call.client_https));
  return r;
}

HttpResponse Me(ApiContext& ctx, Call& call) {
  const auth::Principal& p = *call.principal;
  Json body = {{"user", UserJson(p.user, p.assigned_instances)}};
  body["csrf_token"] = p.via_session ? Json(p.csrf_token) : Json(nullptr);
  HttpResponse r = JsonResponse(200, body);
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

HttpResponse ChangePassword(ApiContext& ctx, Call& call) {
  auto current = ReqString(call.body, "current_password");
  if (!current.ok()) return Fail(current.status());
  auto next = ReqString(call.body, "new_password");
  if (!next.ok()) return Fail(next.status());
  Status st = ctx.sessions.ChangePassword(*call.principal, *current, *next, call.source());
  if (!st.ok()) return Fail(st);
  return NoContent();
}

HttpResponse ListTokens(ApiContext& ctx, Call& call) {
  auto tokens = ctx.store.ListApiTokens(call.principal->user.id);
  if (!tokens.ok()) return Fail(tokens.status());
  Json list = Json::array();
  for (const ApiToken& t : *tokens) list.push_back(ApiTokenJson(t));
  return JsonResponse(200, {{"tokens", list}});
}

HttpResponse CreateToken(ApiContext& ctx, Call& call) {
  auto name = ReqString(call.body, "name");
  if (!name.ok()) return Fail(name.status());
  auto can_create = OptBool(call.body, "can_create_tokens");
  if (!can_create.ok()) return Fail(can_create.status(), "can_create_tokens");
  auto token = ctx.sessions.CreateApiToken(*call.principal, *name, can_create->value_or(false), call.source());
  if (!token.ok()) return Fail(token.status());
  HttpResponse r = JsonResponse(201, {{"token", ApiTokenJson(token->token)}, {"secret", token->secret}});
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

HttpResponse RevokeToken(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "token");
  if (!id.ok()) return Fail(id.status());
  Status st = ctx.sessions.RevokeApiToken(*call.principal, *id, call.source());
  if (!st.ok()) return Fail(Missing(st, "token", *id));
  return NoContent();
}

}  // namespace

std::vector<Route> AuthRoutes() {
  using A = auth::Action;
  std::vector<Route> r;
  r.push_back({"POST", "/api/v1/auth/login", Access::kPublic, A::kSelf, nullptr, Login,
               "Sign in; sets the session cookie and returns the CSRF token", true});
  r.push_back({"POST", "/api/v1/auth/logout", Access::kSignedIn, A::kSelf, nullptr, Logout, "Sign out", false});
  r.push_back({"GET", "/api/v1/auth/me", Access::kSignedIn, A::kSelf, nullptr, Me, "The signed-in user", false});
  r.push_back({"PUT", "/api/v1/auth/password", Access::kSignedIn, A::kSelf, nullptr, ChangePassword,
               "Change your own password (ends your other sessions)", true});
  r.push_back({"GET", "/api/v1/auth/tokens", Access::kSignedIn, A::kSelf, nullptr, ListTokens,
               "Your API tokens", false});
  r.push_back({"POST", "/api/v1/auth/tokens", Access::kSignedIn, A::kCreateApiToken, nullptr, CreateToken,
               "Create an API token (the secret is shown once; a token needs can_create_tokens)", true});
  r.push_back({"DELETE", "/api/v1/auth/tokens/{id}", Access::kSignedIn, A::kSelf, nullptr, RevokeToken,
               "Revoke one of your API tokens", false});
  return r;
}

}  // namespace clawback::controller::api
