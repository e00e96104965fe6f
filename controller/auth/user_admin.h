// User administration as the API's /users endpoints need it, so handlers
// stay thin: validation (username rules, password policy), hashing, and the
// revocations that must follow a change. Permission checks happen before
// (Authorize with Action::kManageUsers); this class trusts its caller.
//
// Rules: usernames are 1..64 characters of a-z, 0-9, '.', '_', '-',
// starting with a letter or digit (lowercase, so "Admin" and "admin" cannot
// coexist). The last admin can be neither deleted nor demoted
// (FailedPrecondition, enforced atomically by the store). Setting a user's
// password (an admin's reset) ends all their sessions and revokes all their
// API tokens; deleting a user deletes both.
//
// Thread-safe (state lives in the store).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/auth/password.h"
#include "controller/clock.h"
#include "controller/store/store.h"

namespace clawback::controller::auth {

struct NewUser {
  std::string username;
  std::string password;
  Role role = Role::kUser;
  bool can_create_instances = false;
  std::vector<Id> instance_ids;
};

struct UserChanges {
  std::optional<Role> role;
  std::optional<bool> can_create_instances;
  std::optional<std::string> password;
};

// InvalidArgument("username: ...") when `username` breaks the rules above.
Status ValidateUsername(std::string_view username);

class UserAdmin {
 public:
  UserAdmin(Store& store, const Clock& clock, ScryptParams scrypt = kDefaultScryptParams)
      : store_(store), clock_(clock), scrypt_(scrypt) {}

  // InvalidArgument (username/password rules), AlreadyExists, NotFound for
  // an unknown instance id (nothing is created then).
  Result<User> Create(const NewUser& user);
  // Returns the updated user (password_hash empty).
  Result<User> Update(Id user_id, const UserChanges& changes);
  Status Delete(Id user_id);
  Status SetInstances(Id user_id, const std::vector<Id>& instance_ids);

 private:
  Store& store_;
  const Clock& clock_;
  const ScryptParams scrypt_;
};

// On a store with no users, creates "admin" (role admin). Its password is
// `env_password` (CLAWORC_ADMIN_PASSWORD; must pass the password policy) or,
// when that is empty, a random 20-character one that is returned so main
// can print it once. Returns nullopt when users already exist or the given
// password was used.
Result<std::optional<std::string>> EnsureFirstAdmin(Store& store, const Clock& clock,
                                                    std::optional<std::string> env_password,
                                                    ScryptParams scrypt = kDefaultScryptParams);

}  // namespace clawback::controller::auth
