// Request bodies of the REST API (docs/api.md) decoded into plain structs:
// what a handler needs from the JSON, checked field by field, before it
// touches a record, a job or the store. Decoding is pure and thread-safe, so
// a libFuzzer target drives it directly (tests/fuzz/request_decode_fuzz.cc).
//
// Each Decode* takes the parsed body (ParseObject in json_codec.h: always an
// object) and returns the struct or a BodyError: InvalidArgument with the
// message the API answers ("note: at most 1000 bytes", "path must be
// absolute: etc/nginx") and the body field it concerns.
//
// Each Encode* gives the canonical body of a decoded request; decoding it
// again yields an equal struct (the round trip the fuzz target checks).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/api/json_codec.h"
#include "controller/store/model.h"
#include "shared/status.h"

namespace clawback::controller::api {

inline constexpr size_t kMaxNoteBytes = 1000;
inline constexpr int kMaxRetentionKeep = 100000;

// Why a body was refused. `field` is the body field for the 400 answer's
// "field" (empty: derived from a "name: ..." message).
struct BodyError {
  Status status;
  std::string field;
};

// A decoded body or the reason it was refused.
template <typename T>
class Decoded {
 public:
  Decoded(T value) : value_(std::move(value)) {}  // NOLINT: implicit, like Result<T>
  Decoded(BodyError error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const BodyError& error() const { return error_; }
  const T& operator*() const { return *value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  BodyError error_;
};

// POST /api/v1/instances/{id}/backups {paths?, note?, excludes?,
// exclude_presets?, strict?}. `paths` is the resolved list
// (ResolveBackupPaths: normalized, deduplicated, nested paths dropped,
// {"/home/claworc"} when none is given). `excludes` (globs) and
// `exclude_presets` (names) are checked by shared/exclude_rules.h and kept as
// given; a bad one is refused naming it, with field "excludes" or
// "exclude_presets".
struct BackupCreateBody {
  std::vector<std::string> paths;
  std::string note;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_presets;
  bool strict = false;
  bool operator==(const BackupCreateBody&) const = default;
};
Decoded<BackupCreateBody> DecodeBackupCreate(const Json& body);
Json EncodeBackupCreate(const BackupCreateBody& b);

// POST /api/v1/backups/{id}/restore {instance_id, quiesce, paths, dry_run}:
// a positive id, required; quiesce optional (default true); paths optional
// (absolute paths in the backup, at most kMaxRestorePaths, normalized here;
// whether they are in the backup is the handler's check); dry_run optional.
inline constexpr size_t kMaxRestorePaths = 1000;
struct RestoreCreateBody {
  Id instance_id = 0;
  bool quiesce = true;  // run the target agent's quiesce hooks (when it has any)
  std::vector<std::string> paths;  // normalized absolute ("/home/claworc/x"); empty: everything
  bool dry_run = false;
  bool operator==(const RestoreCreateBody&) const = default;
};
Decoded<RestoreCreateBody> DecodeRestoreCreate(const Json& body);
Json EncodeRestoreCreate(const RestoreCreateBody& b);

// POST/PUT /api/v1/backup-schedules: every field optional (PUT changes only
// what it names). Values are type-checked here; whether the whole schedule
// makes sense (cron, time zone, paths, instances exist) is checked after
// ApplyScheduleFields by ValidateSchedule and the store.
struct RetentionFields {
  std::optional<int> keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly;  // 0..100000
  bool operator==(const RetentionFields&) const = default;
};
struct ScheduleFields {
  std::optional<std::string> name;
  std::optional<bool> all_instances;
  std::optional<std::vector<Id>> instance_ids;
  std::optional<std::string> cron;
  std::optional<std::string> timezone;
  std::optional<std::vector<std::string>> paths;
  std::optional<std::vector<std::string>> excludes;         // checked like a backup's
  std::optional<std::vector<std::string>> exclude_presets;  // likewise
  std::optional<bool> strict;
  std::optional<bool> verify_after_backup;
  std::optional<std::string> note;
  std::optional<bool> enabled;
  RetentionFields retention;
  bool operator==(const ScheduleFields&) const = default;
};
Decoded<ScheduleFields> DecodeScheduleFields(const Json& body);
Json EncodeScheduleFields(const ScheduleFields& f);
// Copies the fields that are set onto `s`; all_instances clears instance_ids.
void ApplyScheduleFields(const ScheduleFields& f, Schedule* s);

// POST /api/v1/users {username, password, role?, can_create_instances?, instance_ids?}.
// Username and password rules are UserAdmin's (they need no JSON).
struct UserCreateBody {
  std::string username;
  std::string password;
  Role role = Role::kUser;
  bool can_create_instances = false;
  std::vector<Id> instance_ids;
  bool operator==(const UserCreateBody&) const = default;
};
Decoded<UserCreateBody> DecodeUserCreate(const Json& body);
Json EncodeUserCreate(const UserCreateBody& b);

// PATCH /api/v1/users/{id} {role?, can_create_instances?, password?}.
struct UserUpdateBody {
  std::optional<Role> role;
  std::optional<bool> can_create_instances;
  std::optional<std::string> password;
  bool operator==(const UserUpdateBody&) const = default;
};
Decoded<UserUpdateBody> DecodeUserUpdate(const Json& body);
Json EncodeUserUpdate(const UserUpdateBody& b);

// PUT /api/v1/users/{id}/instances {instance_ids}: required, positive ids.
struct UserInstancesBody {
  std::vector<Id> instance_ids;
  bool operator==(const UserInstancesBody&) const = default;
};
Decoded<UserInstancesBody> DecodeUserInstances(const Json& body);
Json EncodeUserInstances(const UserInstancesBody& b);

}  // namespace clawback::controller::api
