#include "controller/auth/user_admin.h"

#include <openssl/rand.h>

namespace clawback::controller::auth {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// 20 characters from an alphabet without look-alikes (0/O, 1/l/I),
// drawn by rejection sampling so every character is equally likely.
Result<std::string> RandomPassword(size_t length = 20) {
  static constexpr std::string_view kAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  while (out.size() < length) {
    unsigned char buf[64];
    if (RAND_bytes(buf, sizeof(buf)) != 1) return Status::Internal("random number generator failed");
    const unsigned limit = 256 - (256 % kAlphabet.size());
    for (unsigned char b : buf) {
      if (b < limit && out.size() < length) out += kAlphabet[b % kAlphabet.size()];
    }
  }
  return out;
}

}  // namespace

Status ValidateUsername(std::string_view username) {
  if (username.empty() || username.size() > 64) return Status::InvalidArgument("username: must be 1 to 64 characters");
  if (!IsLowerAlnum(username[0])) {
    return Status::InvalidArgument("username: must start with a lowercase letter or digit");
  }
  for (char c : username) {
    if (!IsLowerAlnum(c) && c != '.' && c != '_' && c != '-') {
      return Status::InvalidArgument("username: may contain only a-z, 0-9, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

Result<User> UserAdmin::Create(const NewUser& request) {
  CLAWBACK_RETURN_IF_ERROR(ValidateUsername(request.username));
  CLAWBACK_RETURN_IF_ERROR(CheckPasswordPolicy(request.password));
  for (Id iid : request.instance_ids) {
    if (Result<Instance> i = store_.GetInstance(iid); !i.ok()) return i.status();
  }
  Result<std::string> hash = HashPassword(request.password, scrypt_);
  if (!hash.ok()) return hash.status();
  User user;
  user.username = request.username;
  user.role = request.role;
  user.can_create_instances = request.can_create_instances;
  user.password_hash = std::move(hash).value();
  user.created_at = clock_.Now();
  user.password_changed_at = user.created_at;
  Result<User> created = store_.CreateUser(user);
  if (!created.ok()) return created.status();
  if (!request.instance_ids.empty()) {
    if (Status s = store_.SetUserInstances(created->id, request.instance_ids); !s.ok()) {
      // An instance vanished in between: undo, so the request is all or nothing.
      (void)store_.DeleteUser(created->id);
      return s;
    }
  }
  created->password_hash.clear();
  return created;
}

Result<User> UserAdmin::Update(Id user_id, const UserChanges& changes) {
  if (changes.password) CLAWBACK_RETURN_IF_ERROR(CheckPasswordPolicy(*changes.password));
  Result<User> user = store_.GetUser(user_id);
  if (!user.ok()) return user.status();
  User updated = std::move(user).value();
  if (changes.role) updated.role = *changes.role;
  if (changes.can_create_instances) updated.can_create_instances = *changes.can_create_instances;
  if (changes.password) {
    Result<std::string> hash = HashPassword(*changes.password, scrypt_);
    if (!hash.ok()) return hash.status();
    updated.password_hash = std::move(hash).value();
    updated.password_changed_at = clock_.Now();
  }
  CLAWBACK_RETURN_IF_ERROR(store_.UpdateUser(updated));
  if (changes.password) {
    // A reset is how an admin takes an account back: nothing minted with
    // the old password (sessions, API tokens) may keep working.
    CLAWBACK_RETURN_IF_ERROR(store_.DeleteUserSessions(user_id));
    CLAWBACK_RETURN_IF_ERROR(store_.RevokeUserApiTokens(user_id));
  }
  updated.password_hash.clear();
  return updated;
}

Status UserAdmin::Delete(Id user_id) { return store_.DeleteUser(user_id); }

Status UserAdmin::SetInstances(Id user_id, const std::vector<Id>& instance_ids) {
  return store_.SetUserInstances(user_id, instance_ids);
}

Result<std::optional<std::string>> EnsureFirstAdmin(Store& store, const Clock& clock,
                                                    std::optional<std::string> env_password, ScryptParams scrypt) {
  Result<std::vector<User>> users = store.ListUsers();
  if (!users.ok()) return users.status();
  if (!users->empty()) return std::optional<std::string>();
  std::optional<std::string> generated;
  std::string password;
  if (env_password && !env_password->empty()) {
    if (Status s = CheckPasswordPolicy(*env_password); !s.ok()) {
      return Status::InvalidArgument("CLAWORC_ADMIN_PASSWORD: " + s.message().substr(s.message().find(' ') + 1));
    }
    password = *env_password;
  } else {
    Result<std::string> random = RandomPassword();
    if (!random.ok()) return random.status();
    password = *random;
    generated = password;
  }
  UserAdmin admin(store, clock, scrypt);
  NewUser first;
  first.username = "admin";
  first.password = password;
  first.role = Role::kAdmin;
  first.can_create_instances = true;
  Result<User> created = admin.Create(first);
  if (!created.ok()) return created.status().WithContext("cannot create the first admin");
  return generated;
}

}  // namespace clawback::controller::auth
