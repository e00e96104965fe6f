// /api/v1/users (admin): accounts, roles, the can_create_instances grant and
// instance assignments. UserAdmin validates and hashes; this file maps HTTP.
#include "controller/api/handler_support.h"
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

Result<std::optional<Role>> RoleField(const Json& body) {
  auto text = OptString(body, "role");
  if (!text.ok()) return text.status();
  if (!*text) return std::optional<Role>();
  auto role = ParseRole(**text);
  if (!role) return Status::InvalidArgument("role: must be \"admin\" or \"user\"");
  return std::optional<Role>(*role);
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
  auth::NewUser nu;
  auto username = ReqString(call.body, "username");
  if (!username.ok()) return Fail(username.status());
  auto password = ReqString(call.body, "password");
  if (!password.ok()) return Fail(password.status());
  auto role = RoleField(call.body);
  if (!role.ok()) return Fail(role.status());
  auto flag = OptBool(call.body, "can_create_instances");
  if (!flag.ok()) return Fail(flag.status());
  auto ids = OptIdList(call.body, "instance_ids");
  if (!ids.ok()) return Fail(ids.status());
  nu.username = *username;
  nu.password = *password;
  nu.role = role->value_or(Role::kUser);
  nu.can_create_instances = flag->value_or(false);
  nu.instance_ids = ids->value_or(std::vector<Id>{});
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
  auth::UserChanges changes;
  auto role = RoleField(call.body);
  if (!role.ok()) return Fail(role.status());
  auto flag = OptBool(call.body, "can_create_instances");
  if (!flag.ok()) return Fail(flag.status());
  auto password = OptString(call.body, "password");
  if (!password.ok()) return Fail(password.status());
  changes.role = *role;
  changes.can_create_instances = *flag;
  changes.password = *password;
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
  auto ids = OptIdList(call.body, "instance_ids");
  if (!ids.ok()) return Fail(ids.status());
  if (!*ids) return Fail(Status::InvalidArgument("instance_ids: is required (an array of instance ids)"));
  Status st = ctx.users.SetInstances(call.user->id, **ids);
  AuditCall(ctx, call, "user.instances", "user:" + call.user->username, st, {{"instance_ids", **ids}});
  if (!st.ok()) return Fail(st, st.code() == Status::Code::kNotFound ? "instance_ids" : "");
  return UserResponse(ctx, 200, *call.user);
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
  return r;
}

}  // namespace clawback::controller::api
