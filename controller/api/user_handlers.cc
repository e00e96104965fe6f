// /api/v1/users (admin): accounts, roles, the can_create_instances grant,
// instance assignments and every user's API tokens (list, revoke).
// UserAdmin validates and hashes; this file maps HTTP.
#include "controller/api/handler_support.h"
#include "controller/api/requests.h"
#include "controller/auth/session_manager.h"
#include "controller/auth/user_admin.h"
#include "controller/store/store.h"

namespace clawback::controller::api {
namespace {

Result<Json> FullUserJson(ApiContext& ctx, const User& u) {
  auto ids = ctx.store.GetUserInstances(u.id);
  if (!ids.ok()) return ids.status();
  return UserJson(u, *ids);
}

HttpResponse UserResponse(ApiContext& ctx, int status, const User& u) {
  auto j = FullUserJson(ctx, u);
  if (!j.ok()) return Fail(j.status());
  return JsonResponse(status, *j);
}

Status LoadUser(ApiContext& ctx, Call& call) {
  auto id = PathId(call, "id", "user");
  if (!id.ok()) return id.status();
  auto user = ctx.store.GetUser(*id);
  if (!user.ok()) return Missing(user.status(), "user", *id);
  user->password_hash.clear();
  call.user = *user;
  return Status::Ok();
}

HttpResponse List(ApiContext& ctx, Call& call) {
  auto users = ctx.store.ListUsers();
  if (!users.ok()) return Fail(users.status());
  Json list = Json::array();
  for (const User& u : *users) {
    auto j = FullUserJson(ctx, u);
    if (!j.ok()) return Fail(j.status());
    list.push_back(*j);
  }
  return JsonResponse(200, {{"users", list}});
}

HttpResponse Create(ApiContext& ctx, Call& call) {
  auto body = DecodeUserCreate(call.body);
  if (!body.ok()) return Fail(body.error().status, body.error().field);
  auth::NewUser nu;
  nu.username = body->username;
  nu.password = body->password;
  nu.role = body->role;
  nu.can_create_instances = body->can_create_instances;
  nu.instance_ids = body->instance_ids;
  auto created = ctx.users.Create(nu);
  AuditCall(ctx, call, "user.create", "user:" + nu.username, created.status(),
            {{"role", std::string(RoleName(nu.role))},
             {"can_create_instances", nu.can_create_instances},
             {"instance_ids", nu.instance_ids}});
  if (!created.ok()) {
    const Status& st = created.status();
    return Fail(st, st.code() == Status::Code::kAlreadyExists ? "username"
                    : st.code() == Status::Code::kNotFound   ? "instance_ids"
                                                             : "");
  }
  return UserResponse(ctx, 201, *created);
}

HttpResponse Show(ApiContext& ctx, Call& call) {
  if (Status st = LoadUser(ctx, call); !st.ok()) return Fail(st);
  return UserResponse(ctx, 200, *call.user);
}

HttpResponse Update(ApiContext& ctx, Call& call) {
  if (Status st = LoadUser(ctx, call); !st.ok()) return Fail(st);
  auto body = DecodeUserUpdate(call.body);
  if (!body.ok()) return Fail(body.error().status, body.error().field);
  auth::UserChanges changes;
  changes.role = body->role;
  changes.can_create_instances = body->can_create_instances;
  changes.password = body->password;
  Json detail = Json::object();
  if (changes.role) detail["role"] = std::string(RoleName(*changes.role));
  if (changes.can_create_instances) detail["can_create_instances"] = *changes.can_create_instances;
  if (changes.password) detail["password_reset"] = true;
  auto updated = ctx.users.Update(call.user->id, changes);
  AuditCall(ctx, call, "user.change", "user:" + call.user->username, updated.status(), detail);
  if (!updated.ok()) return Fail(updated.status());
  return UserResponse(ctx, 200, *updated);
}

HttpResponse Delete(ApiContext& ctx, Call& call) {
  if (Status st = LoadUser(ctx, call); !st.ok()) return Fail(st);
  Status st = ctx.users.Delete(call.user->id);
  AuditCall(ctx, call, "user.delete", "user:" + call.user->username, st);
  if (!st.ok()) return Fail(Missing(st, "user", call.user->id));
  return NoContent();
}

HttpResponse SetInstances(ApiContext& ctx, Call& call) {
  if (Status st = LoadUser(ctx, call); !st.ok()) return Fail(st);
  auto body = DecodeUserInstances(call.body);
  if (!body.ok()) return Fail(body.error().status, body.error().field);
  Status st = ctx.users.SetInstances(call.user->id, body->instance_ids);
  AuditCall(ctx, call, "user.instances", "user:" + call.user->username, st, {{"instance_ids", body->instance_ids}});
  if (!st.ok()) return Fail(st, st.code() == Status::Code::kNotFound ? "instance_ids" : "");
  return UserResponse(ctx, 200, *call.user);
}

HttpResponse ListUserTokens(ApiContext& ctx, Call& call) {
  if (Status st = LoadUser(ctx, call); !st.ok()) return Fail(st);
  auto tokens = ctx.store.ListApiTokens(call.user->id);
  if (!tokens.ok()) return Fail(tokens.status());
  Json list = Json::array();
  for (const ApiToken& t : *tokens) list.push_back(ApiTokenJson(t));
  return JsonResponse(200, {{"tokens", list}});
}

HttpResponse RevokeUserToken(ApiContext& ctx, Call& call) {
  if (Status st = LoadUser(ctx, call); !st.ok()) return Fail(st);
  auto token_id = PathId(call, "token_id", "token");
  if (!token_id.ok()) return Fail(token_id.status());
  Status st = ctx.sessions.RevokeUserApiToken(*call.principal, call.user->id, *token_id, call.source());
  if (!st.ok()) return Fail(Missing(st, "token", *token_id));
  return NoContent();
}

}  // namespace

std::vector<Route> UserRoutes() {
  using A = auth::Action;
  std::vector<Route> r;
  r.push_back({"GET", "/api/v1/users", Access::kSignedIn, A::kManageUsers, nullptr, List, "Users (admin)", false});
  r.push_back({"POST", "/api/v1/users", Access::kSignedIn, A::kManageUsers, nullptr, Create, "Create a user (admin)",
               true});
  r.push_back({"GET", "/api/v1/users/{id}", Access::kSignedIn, A::kManageUsers, nullptr, Show, "One user (admin)",
               false});
  r.push_back({"PATCH", "/api/v1/users/{id}", Access::kSignedIn, A::kManageUsers, nullptr, Update,
               "Change a user's role, permission or password (admin)", true});
  r.push_back({"DELETE", "/api/v1/users/{id}", Access::kSignedIn, A::kManageUsers, nullptr, Delete,
               "Delete a user (admin; never the last admin)", false});
  r.push_back({"PUT", "/api/v1/users/{id}/instances", Access::kSignedIn, A::kManageUsers, nullptr, SetInstances,
               "Set the instances assigned to a user (admin)", true});
  r.push_back({"GET", "/api/v1/users/{id}/tokens", Access::kSignedIn, A::kManageUsers, nullptr, ListUserTokens,
               "A user's API tokens (admin)", false});
  r.push_back({"DELETE", "/api/v1/users/{id}/tokens/{token_id}", Access::kSignedIn, A::kManageUsers, nullptr,
               RevokeUserToken, "Revoke any user's API token (admin)", false});
  return r;
}

}  // namespace clawback::controller::api
