// SqliteStore: users and their instance assignments (tables users,
// user_instances). The last admin can be neither demoted nor deleted; both
// checks run in the same IMMEDIATE transaction as the change.
#include <set>

#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kUserColumns =
    "id, username, role, can_create_instances, password_hash, password_changed_at, created_at";

Role RoleFromColumn(const std::string& s) {
  auto r = ParseRole(s);
  if (!r) Fail(Status::Corruption("unknown role in database: " + s));
  return *r;
}

User ReadUser(SQLite::Statement& q) {
  User u;
  u.id = q.getColumn(0).getInt64();
  u.username = q.getColumn(1).getString();
  u.role = RoleFromColumn(q.getColumn(2).getString());
  u.can_create_instances = q.getColumn(3).getInt() != 0;
  u.password_hash = q.getColumn(4).getString();
  u.password_changed_at = q.getColumn(5).getInt64();
  u.created_at = q.getColumn(6).getInt64();
  return u;
}

User LoadUser(SQLite::Database& db, Id id) {
  return QueryOne(db, Select(kUserColumns, "FROM users WHERE id = ?"), ReadUser, NotFound("user", id), id);
}

int AdminCount(SQLite::Database& db) {
  return static_cast<int>(QueryCount(db, "SELECT COUNT(*) FROM users WHERE role = 'admin'"));
}

Status UsernameTaken(const std::string& username) {
  return Status::AlreadyExists("user " + Quoted(username) + " already exists");
}

}  // namespace

Result<User> SqliteStore::CreateUser(const User& user) {
  return Run("create user", [&] {
    User u = user;
    u.created_at = OrNow(u.created_at);
    ExecChecked(*db_,
                "INSERT INTO users (username, role, can_create_instances, password_hash, "
                "password_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                {.unique = UsernameTaken(u.username)}, u.username, std::string(RoleName(u.role)),
                u.can_create_instances, u.password_hash, u.password_changed_at, u.created_at);
    u.id = db_->getLastInsertRowid();
    return u;
  });
}

Result<User> SqliteStore::GetUser(Id id) {
  return RunRead("get user", [&] {
    return QueryOne(*reader_statements_.Get(Select(kUserColumns, "FROM users WHERE id = ?")), ReadUser,
                    NotFound("user", id), id);
  });
}

Result<User> SqliteStore::GetUserByName(const std::string& username) {
  return Run("get user", [&] {
    return QueryOne(*db_, Select(kUserColumns, "FROM users WHERE username = ?"), ReadUser,
                    NotFound("user", username), username);
  });
}

Result<std::vector<User>> SqliteStore::ListUsers() {
  return Run("list users", [&] { return QueryAll(*db_, Select(kUserColumns, "FROM users ORDER BY id"), ReadUser); });
}

Status SqliteStore::UpdateUser(const User& user) {
  return Run("update user", [&] {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    User current = LoadUser(*db_, user.id);
    if (current.role == Role::kAdmin && user.role != Role::kAdmin && AdminCount(*db_) <= 1) {
      Fail(Status::FailedPrecondition("cannot demote " + Quoted(current.username) + ": it is the last admin"));
    }
    ExecChecked(*db_,
                "UPDATE users SET username = ?, role = ?, can_create_instances = ?, "
                "password_hash = ?, password_changed_at = ? WHERE id = ?",
                {.unique = UsernameTaken(user.username)}, user.username, std::string(RoleName(user.role)),
                user.can_create_instances, user.password_hash, user.password_changed_at, user.id);
    tx.commit();
  });
}

Status SqliteStore::DeleteUser(Id id) {
  return Run("delete user", [&] {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    User current = LoadUser(*db_, id);
    if (current.role == Role::kAdmin && AdminCount(*db_) <= 1) {
      Fail(Status::FailedPrecondition("cannot delete " + Quoted(current.username) + ": it is the last admin"));
    }
    // Sessions, tokens and assignments go with it (ON DELETE CASCADE).
    Exec(*db_, "DELETE FROM users WHERE id = ?", id);
    tx.commit();
  });
}

Result<int> SqliteStore::CountAdmins() {
  return Run("count admins", [&] { return AdminCount(*db_); });
}

Status SqliteStore::SetUserInstances(Id user_id, const std::vector<Id>& instance_ids) {
  return Run("set user instances", [&] {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    LoadUser(*db_, user_id);
    std::set<Id> unique(instance_ids.begin(), instance_ids.end());
    for (Id iid : unique) {
      RequireRow(*db_, "SELECT 1 FROM instances WHERE id = ?", NotFound("instance", iid), iid);
    }
    Exec(*db_, "DELETE FROM user_instances WHERE user_id = ?", user_id);
    SQLite::Statement ins(*db_, "INSERT INTO user_instances (user_id, instance_id) VALUES (?, ?)");
    for (Id iid : unique) {
      Bind(ins, user_id, iid);
      ins.exec();
      ins.reset();
    }
    tx.commit();
  });
}

Result<std::vector<Id>> SqliteStore::GetUserInstances(Id user_id) {
  return RunRead("get user instances", [&] {
    SQLite::Transaction snapshot(*reader_);
    QueryOne(*reader_statements_.Get(Select(kUserColumns, "FROM users WHERE id = ?")), ReadUser,
             NotFound("user", user_id), user_id);
    return QueryAll(
        *reader_statements_.Get("SELECT instance_id FROM user_instances WHERE user_id = ? ORDER BY instance_id"),
        [](SQLite::Statement& q) -> Id { return q.getColumn(0).getInt64(); }, user_id);
  });
}

}  // namespace clawback::controller::store::sqlite
