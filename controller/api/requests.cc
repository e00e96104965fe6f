#include "controller/api/requests.h"

#include "shared/exclude_rules.h"
#include "shared/path_rules.h"

namespace clawback::controller::api {
namespace {

BodyError Refused(Status status, std::string field = {}) { return BodyError{std::move(status), std::move(field)}; }

Result<std::optional<Role>> RoleField(const Json& body) {
  auto text = OptString(body, "role");
  if (!text.ok()) return text.status();
  if (!*text) return std::optional<Role>();
  auto role = ParseRole(**text);
  if (!role) return Status::InvalidArgument("role: must be \"admin\" or \"user\"");
  return std::optional<Role>(*role);
}

// Reads and checks "excludes" and "exclude_presets" (each optional) with the
// rules the agent applies again; the error names the field it concerns.
struct ExcludeFields {
  std::optional<std::vector<std::string>> excludes, presets;
};
Result<ExcludeFields> ReadExcludes(const Json& body, std::string* field) {
  ExcludeFields out;
  *field = "excludes";
  auto globs = OptStringList(body, "excludes");
  if (!globs.ok()) return globs.status();
  if (*globs) CLAWBACK_RETURN_IF_ERROR(ExpandExcludes({}, **globs).status());
  out.excludes = *globs;
  *field = "exclude_presets";
  auto presets = OptStringList(body, "exclude_presets");
  if (!presets.ok()) return presets.status();
  if (*presets) CLAWBACK_RETURN_IF_ERROR(ExpandExcludes(**presets, {}).status());
  out.presets = *presets;
  field->clear();
  return out;
}

// Sets obj[field] when `value` holds one.
template <typename T>
void PutOpt(Json& obj, const char* field, const std::optional<T>& value) {
  if (value) obj[field] = *value;
}

}  // namespace

Decoded<BackupCreateBody> DecodeBackupCreate(const Json& body) {
  auto paths = OptStringList(body, "paths");
  if (!paths.ok()) return Refused(paths.status(), "paths");
  auto note = OptString(body, "note");
  if (!note.ok()) return Refused(note.status(), "note");
  if (*note && (*note)->size() > kMaxNoteBytes) {
    return Refused(Status::InvalidArgument("note: at most " + std::to_string(kMaxNoteBytes) + " bytes"), "note");
  }
  auto resolved = ResolveBackupPaths(paths->value_or(std::vector<std::string>{}));
  if (!resolved.ok()) return Refused(resolved.status(), "paths");
  std::string field;
  auto excludes = ReadExcludes(body, &field);
  if (!excludes.ok()) return Refused(excludes.status(), field);
  auto strict = OptBool(body, "strict");
  if (!strict.ok()) return Refused(strict.status(), "strict");
  BackupCreateBody out;
  out.paths = std::move(resolved).value();
  out.note = note->value_or("");
  out.excludes = excludes->excludes.value_or(std::vector<std::string>{});
  out.exclude_presets = excludes->presets.value_or(std::vector<std::string>{});
  out.strict = strict->value_or(false);
  return out;
}

Json EncodeBackupCreate(const BackupCreateBody& b) {
  return {{"paths", b.paths},
          {"note", b.note},
          {"excludes", b.excludes},
          {"exclude_presets", b.exclude_presets},
          {"strict", b.strict}};
}

Decoded<RestoreCreateBody> DecodeRestoreCreate(const Json& body) {
  auto target_id = OptInt(body, "instance_id");
  if (!target_id.ok()) return Refused(target_id.status());
  if (!*target_id || **target_id <= 0) {
    return Refused(Status::InvalidArgument("instance_id: is required (the target instance's id)"));
  }
  RestoreCreateBody out{**target_id};
  if (auto q = body.find("quiesce"); q != body.end() && !q->is_null()) {
    if (!q->is_boolean()) return Refused(Status::InvalidArgument("quiesce: must be true or false"));
    out.quiesce = q->get<bool>();
  }
  if (auto d = body.find("dry_run"); d != body.end() && !d->is_null()) {
    if (!d->is_boolean()) return Refused(Status::InvalidArgument("dry_run: must be true or false"));
    out.dry_run = d->get<bool>();
  }
  if (auto p = body.find("paths"); p != body.end() && !p->is_null()) {
    if (!p->is_array()) return Refused(Status::InvalidArgument("paths: must be an array of absolute paths"));
    if (p->size() > kMaxRestorePaths) {
      return Refused(Status::InvalidArgument("paths: at most " + std::to_string(kMaxRestorePaths) + " paths"));
    }
    for (const auto& item : *p) {
      if (!item.is_string()) return Refused(Status::InvalidArgument("paths: must be an array of absolute paths"));
      const std::string text = item.get<std::string>();
      for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
          return Refused(Status::InvalidArgument("paths: control characters are not allowed: " + PrintablePath(text)));
        }
      }
      auto normal = NormalizeAbsolutePath(text);
      if (!normal.ok()) return Refused(Status::InvalidArgument("paths: " + normal.status().message()));
      out.paths.push_back(*normal);
    }
  }
  return out;
}

Json EncodeRestoreCreate(const RestoreCreateBody& b) {
  Json j = {{"instance_id", b.instance_id}, {"quiesce", b.quiesce}};
  if (!b.paths.empty()) j["paths"] = b.paths;
  if (b.dry_run) j["dry_run"] = true;
  return j;
}

namespace {

Status ReadRetention(const Json& body, RetentionFields* out) {
  auto it = body.find("retention");
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return Status::InvalidArgument("retention: must be an object");
  struct Field {
    const char* name;
    std::optional<int>* value;
  } fields[] = {{"keep_last", &out->keep_last},
                {"keep_hourly", &out->keep_hourly},
                {"keep_daily", &out->keep_daily},
                {"keep_weekly", &out->keep_weekly},
                {"keep_monthly", &out->keep_monthly}};
  for (const Field& f : fields) {
    auto v = OptInt(*it, f.name);
    if (!v.ok() || (*v && (**v < 0 || **v > kMaxRetentionKeep))) {
      return Status::InvalidArgument(std::string("retention: ") + f.name + " must be a non-negative integer");
    }
    if (*v) *f.value = static_cast<int>(**v);
  }
  return Status::Ok();
}

}  // namespace

Decoded<ScheduleFields> DecodeScheduleFields(const Json& body) {
  ScheduleFields f;
  auto name = OptString(body, "name");
  if (!name.ok()) return Refused(name.status());
  f.name = *name;
  auto all = OptBool(body, "all_instances");
  if (!all.ok()) return Refused(all.status());
  f.all_instances = *all;
  auto ids = OptIdList(body, "instance_ids");
  if (!ids.ok()) return Refused(ids.status());
  f.instance_ids = *ids;
  auto cron = OptString(body, "cron");
  if (!cron.ok()) return Refused(cron.status());
  f.cron = *cron;
  auto tz = OptString(body, "timezone");
  if (!tz.ok()) return Refused(tz.status());
  f.timezone = *tz;
  auto paths = OptStringList(body, "paths");
  if (!paths.ok()) return Refused(paths.status());
  f.paths = *paths;
  std::string field;
  auto excludes = ReadExcludes(body, &field);
  if (!excludes.ok()) return Refused(excludes.status(), field);
  f.excludes = excludes->excludes;
  f.exclude_presets = excludes->presets;
  auto strict = OptBool(body, "strict");
  if (!strict.ok()) return Refused(strict.status(), "strict");
  f.strict = *strict;
  auto verify = OptBool(body, "verify_after_backup");
  if (!verify.ok()) return Refused(verify.status(), "verify_after_backup");
  f.verify_after_backup = *verify;
  auto note = OptString(body, "note");
  if (!note.ok()) return Refused(note.status());
  f.note = *note;
  auto enabled = OptBool(body, "enabled");
  if (!enabled.ok()) return Refused(enabled.status());
  f.enabled = *enabled;
  if (Status st = ReadRetention(body, &f.retention); !st.ok()) return Refused(st);
  return f;
}

Json EncodeScheduleFields(const ScheduleFields& f) {
  Json j = Json::object();
  PutOpt(j, "name", f.name);
  PutOpt(j, "all_instances", f.all_instances);
  PutOpt(j, "instance_ids", f.instance_ids);
  PutOpt(j, "cron", f.cron);
  PutOpt(j, "timezone", f.timezone);
  PutOpt(j, "paths", f.paths);
  PutOpt(j, "excludes", f.excludes);
  PutOpt(j, "exclude_presets", f.exclude_presets);
  PutOpt(j, "strict", f.strict);
  PutOpt(j, "verify_after_backup", f.verify_after_backup);
  PutOpt(j, "note", f.note);
  PutOpt(j, "enabled", f.enabled);
  Json r = Json::object();
  PutOpt(r, "keep_last", f.retention.keep_last);
  PutOpt(r, "keep_hourly", f.retention.keep_hourly);
  PutOpt(r, "keep_daily", f.retention.keep_daily);
  PutOpt(r, "keep_weekly", f.retention.keep_weekly);
  PutOpt(r, "keep_monthly", f.retention.keep_monthly);
  if (!r.empty()) j["retention"] = r;
  return j;
}

void ApplyScheduleFields(const ScheduleFields& f, Schedule* s) {
  if (f.name) s->name = *f.name;
  if (f.all_instances) s->all_instances = *f.all_instances;
  if (f.instance_ids) s->instance_ids = *f.instance_ids;
  if (f.cron) s->cron = *f.cron;
  if (f.timezone) s->timezone = *f.timezone;
  if (f.paths) s->paths = *f.paths;
  if (f.excludes) s->excludes = *f.excludes;
  if (f.exclude_presets) s->exclude_presets = *f.exclude_presets;
  if (f.strict) s->strict = *f.strict;
  if (f.verify_after_backup) s->verify_after_backup = *f.verify_after_backup;
  if (f.note) s->note = *f.note;
  if (f.enabled) s->enabled = *f.enabled;
  if (f.retention.keep_last) s->retention.keep_last = *f.retention.keep_last;
  if (f.retention.keep_hourly) s->retention.keep_hourly = *f.retention.keep_hourly;
  if (f.retention.keep_daily) s->retention.keep_daily = *f.retention.keep_daily;
  if (f.retention.keep_weekly) s->retention.keep_weekly = *f.retention.keep_weekly;
  if (f.retention.keep_monthly) s->retention.keep_monthly = *f.retention.keep_monthly;
  if (s->all_instances) s->instance_ids.clear();
}

Decoded<UserCreateBody> DecodeUserCreate(const Json& body) {
  UserCreateBody b;
  auto username = ReqString(body, "username");
  if (!username.ok()) return Refused(username.status());
  auto password = ReqString(body, "password");
  if (!password.ok()) return Refused(password.status());
  auto role = RoleField(body);
  if (!role.ok()) return Refused(role.status());
  auto flag = OptBool(body, "can_create_instances");
  if (!flag.ok()) return Refused(flag.status());
  auto ids = OptIdList(body, "instance_ids");
  if (!ids.ok()) return Refused(ids.status());
  b.username = *username;
  b.password = *password;
  b.role = role->value_or(Role::kUser);
  b.can_create_instances = flag->value_or(false);
  b.instance_ids = ids->value_or(std::vector<Id>{});
  return b;
}

Json EncodeUserCreate(const UserCreateBody& b) {
  return {{"username", b.username},
          {"password", b.password},
          {"role", std::string(RoleName(b.role))},
          {"can_create_instances", b.can_create_instances},
          {"instance_ids", b.instance_ids}};
}

Decoded<UserUpdateBody> DecodeUserUpdate(const Json& body) {
  UserUpdateBody b;
  auto role = RoleField(body);
  if (!role.ok()) return Refused(role.status());
  auto flag = OptBool(body, "can_create_instances");
  if (!flag.ok()) return Refused(flag.status());
  auto password = OptString(body, "password");
  if (!password.ok()) return Refused(password.status());
  b.role = *role;
  b.can_create_instances = *flag;
  b.password = *password;
  return b;
}

Json EncodeUserUpdate(const UserUpdateBody& b) {
  Json j = Json::object();
  if (b.role) j["role"] = std::string(RoleName(*b.role));
  PutOpt(j, "can_create_instances", b.can_create_instances);
  PutOpt(j, "password", b.password);
  return j;
}

Decoded<UserInstancesBody> DecodeUserInstances(const Json& body) {
  auto ids = OptIdList(body, "instance_ids");
  if (!ids.ok()) return Refused(ids.status());
  if (!*ids) return Refused(Status::InvalidArgument("instance_ids: is required (an array of instance ids)"));
  return UserInstancesBody{std::move(**ids)};
}

Json EncodeUserInstances(const UserInstancesBody& b) { return {{"instance_ids", b.instance_ids}}; }

}  // namespace clawback::controller::api
