// SqlStore: users and their instance assignments (tables users,
// user_instances). The last admin can be neither demoted nor deleted; both
// checks run in the same IMMEDIATE transaction as the change.
#include <set>

#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kUserColumns =
    "id, username, role, can_create_instances, password_hash, password_changed_at, created_at";

Role RoleFromColumn(const std::string& s) {
  auto r = ParseRole(s);
  if (!r) Fail(Status::Corruption("unknown role in database: " + s));
  return *r;
}

User ReadUser(const Statement& q) {
  User u;
  u.id = q.Int64(0);
  u.username = q.Text(1);
  u.role = RoleFromColumn(q.Text(2));
  u.can_create_instances = q.Int(3) != 0;
  u.password_hash = q.Text(4);
  u.password_changed_at = q.Int64(5);
  u.created_at = q.Int64(6);
  return u;
}

User LoadUser(Connection& db, Id id) {
  return QueryOne(db, Select(kUserColumns, "FROM users WHERE id = ?"), ReadUser, NotFound("user", id), id);
}

int AdminCount(Connection& db) {
  return static_cast<int>(QueryCount(db, "SELECT COUNT(*) FROM users WHERE role = 'admin'"));
}

Status UsernameTaken(const std::string& username) {
  return Status::AlreadyExists("user " + Quoted(username) + " already exists");
}

}  // namespace

Result<User> SqlStore::CreateUser(const User& user) {
  return Run("create user", [&](Connection& db) {
    User u = user;
    u.created_at = OrNow(u.created_at);
    u.id = InsertReturningId(db,
                "INSERT INTO users (username, role, can_create_instances, password_hash, "
                "password_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                {.unique = UsernameTaken(u.username)}, u.username, std::string(RoleName(u.role)),
                u.can_create_instances, u.password_hash, u.password_changed_at, u.created_at);
    return u;
  });
}

Result<User> SqlStore::GetUser(Id id) {
  return RunRead("get user", [&](Connection& db) { return LoadUser(db, id); });
}

Result<User> SqlStore::GetUserByName(const std::string& username) {
  return RunRead("get user", [&](Connection& db) {
    return QueryOne(db, Select(kUserColumns, "FROM users WHERE username = ?"), ReadUser,
                    NotFound("user", username), username);
  });
}

Result<std::vector<User>> SqlStore::ListUsers() {
  return Run("list users", [&](Connection& db) { return QueryAll(db, Select(kUserColumns, "FROM users ORDER BY id"), ReadUser); });
}

Status SqlStore::UpdateUser(const User& user) {
  return Run("update user", [&](Connection& db) {
    Transaction tx(db);
    User current = LoadUser(db, user.id);
    if (current.role == Role::kAdmin && user.role != Role::kAdmin && AdminCount(db) <= 1) {
      Fail(Status::FailedPrecondition("cannot demote " + Quoted(current.username) + ": it is the last admin"));
    }
    ExecChecked(db,
                "UPDATE users SET username = ?, role = ?, can_create_instances = ?, "
                "password_hash = ?, password_changed_at = ? WHERE id = ?",
                {.unique = UsernameTaken(user.username)}, user.username, std::string(RoleName(user.role)),
                user.can_create_instances, user.password_hash, user.password_changed_at, user.id);
    tx.Commit();
  });
}

Status SqlStore::DeleteUser(Id id) {
  return Run("delete user", [&](Connection& db) {
    Transaction tx(db);
    User current = LoadUser(db, id);
    if (current.role == Role::kAdmin && AdminCount(db) <= 1) {
      Fail(Status::FailedPrecondition("cannot delete " + Quoted(current.username) + ": it is the last admin"));
    }
    // Sessions, tokens and assignments go with it (ON DELETE CASCADE).
    Exec(db, "DELETE FROM users WHERE id = ?", id);
    tx.Commit();
  });
}

Result<int> SqlStore::CountAdmins() {
  return Run("count admins", [&](Connection& db) { return AdminCount(db); });
}

Status SqlStore::SetUserInstances(Id user_id, const std::vector<Id>& instance_ids) {
  return Run("set user instances", [&](Connection& db) {
    Transaction tx(db);
    LoadUser(db, user_id);
    std::set<Id> unique(instance_ids.begin(), instance_ids.end());
    for (Id iid : unique) {
      RequireRow(db, "SELECT 1 FROM instances WHERE id = ?", NotFound("instance", iid), iid);
    }
    Exec(db, "DELETE FROM user_instances WHERE user_id = ?", user_id);
    auto ins = db.Prepare("INSERT INTO user_instances (user_id, instance_id) VALUES (?, ?)");
    for (Id iid : unique) {
      Bind(*ins, user_id, iid);
      ins->Execute();
      ins->Reset();
    }
    tx.Commit();
  });
}

Result<std::vector<Id>> SqlStore::GetUserInstances(Id user_id) {
  return RunRead("get user instances", [&](Connection& db) {
    LoadUser(db, user_id);
    return QueryAll(db, "SELECT instance_id FROM user_instances WHERE user_id = ? ORDER BY instance_id",
                    [](const Statement& q) -> Id { return q.Int64(0); }, user_id);
  });
}

}  // namespace clawback::controller::store::sql
