#include "controller/api/json_codec.h"

#include "controller/clock.h"

#include <ctime>

#include <charconv>

namespace clawback::controller::api {

std::string FormatRfc3339(UnixTime t) { return FormatUtcRfc3339(t); }

Json TimeJson(UnixTime t) {
  if (t == 0) return nullptr;
  return FormatRfc3339(t);
}

Result<UnixTime> ParseTime(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && p == text.data() + text.size()) return v;
  std::tm tm{};
  std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') {
    return Status::InvalidArgument("not an RFC 3339 UTC time (2026-11-25T02:00:00Z): " + s);
  }
  return static_cast<UnixTime>(timegm(&tm));
}

std::string BackupFileName(const Backup& b) {
  size_t slash = b.file_path.find_last_of('/');
  return slash == std::string::npos ? b.file_path : b.file_path.substr(slash + 1);
}

Json UserJson(const User& u, const std::vector<Id>& instance_ids) {
  return {{"id", u.id},
          {"username", u.username},
          {"role", std::string(RoleName(u.role))},
          {"can_create_instances", u.can_create_instances},
          {"instance_ids", instance_ids},
          {"created_at", TimeJson(u.created_at)}};
}

Json CheckJson(const BackupCheck& c) {
  Json j = {{"status", std::string(CheckStatusName(c.status))},
            {"at", TimeJson(c.at)},
            {"duration_s", c.duration_s},
            {"error", c.error.empty() ? Json(nullptr) : Json(c.error)}};
  Json detail = Json::parse(c.detail_json, nullptr, false);
  if (detail.is_object()) {
    for (auto& [k, v] : detail.items()) {
      if (!j.contains(k)) j[k] = v;
    }
  }
  return j;
}

Json CheckJson(const std::optional<BackupCheck>& check) { return check ? CheckJson(*check) : Json(nullptr); }

namespace {

void WriteTime(JsonText& w, UnixTime t) {
  if (t == 0) {
    w.Null();
  } else {
    w.String(FormatRfc3339(t));
  }
}

}  // namespace

// Keys in sorted order, as Dump writes an object's keys, so the streamed and
// the tree forms of a record are the same bytes.
void WriteInstance(JsonText& w, const Instance& i, const InstanceHealth& health, const std::optional<Backup>& latest,
                   const std::function<void(JsonText&)>& protection) {
  w.BeginObject();
  w.Key("agent_url").String(i.agent_url);
  w.Key("agent_version").String(health.agent_version);
  w.Key("checked_at");
  WriteTime(w, health.checked_at);
  w.Key("created_at");
  WriteTime(w, i.created_at);
  w.Key("id").Int(i.id);
  w.Key("latest_backup");
  if (latest) {
    WriteBackup(w, *latest);
  } else {
    w.Null();
  }
  w.Key("name").String(i.name);
  if (protection) {
    w.Key("protection");
    protection(w);
  }
  w.Key("status").String(health.status);
  w.Key("status_reason").String(health.reason);
  w.EndObject();
}

void WriteBackup(JsonText& w, const Backup& b, std::optional<uint64_t> live_progress, const BackupChecks* checks) {
  auto check = [&](const BackupCheck* c) {
    if (c) {
      w.Value(CheckJson(*c));
    } else {
      w.Null();
    }
  };
  w.BeginObject();
  w.Key("completed_at");
  WriteTime(w, b.completed_at);
  w.Key("created_at");
  WriteTime(w, b.created_at);
  w.Key("created_by").String(b.created_by_name);
  w.Key("databases_captured").Uint(b.databases_captured);
  w.Key("databases_raw").Uint(b.databases_raw);
  if (checks) {
    w.Key("drill");
    check(checks->drill);
  }
  w.Key("entries").Uint(b.entries);
  w.Key("error_message").String(b.error_message);
  w.Key("exclude_presets").Strings(b.exclude_presets);
  w.Key("excludes").Strings(b.excludes);
  w.Key("file_name").String(b.status == BackupStatus::kCompleted ? BackupFileName(b) : std::string());
  w.Key("id").Int(b.id);
  w.Key("instance_id").Int(b.instance_id);
  w.Key("instance_name").String(b.instance_name);
  w.Key("note").String(b.note);
  w.Key("paths").Strings(b.paths);
  w.Key("progress_bytes").Uint(live_progress.value_or(b.progress_bytes));
  w.Key("schedule_id");
  if (b.schedule_id) {
    w.Int(*b.schedule_id);
  } else {
    w.Null();
  }
  w.Key("sha256").String(b.sha256);
  w.Key("size_bytes").Uint(b.size_bytes);
  w.Key("started_at");
  WriteTime(w, b.started_at);
  w.Key("status").String(BackupStatusName(b.status));
  w.Key("strict").Bool(b.strict);
  if (checks) {
    w.Key("verification");
    check(checks->verification);
  }
  w.Key("warnings").Strings(b.warnings);
  w.EndObject();
}

Json InstanceJson(const Instance& i, const InstanceHealth& health, const std::optional<Backup>& latest) {
  std::string text;
  JsonText w(text);
  WriteInstance(w, i, health, latest);
  return Json::parse(text);
}

Json BackupJson(const Backup& b, std::optional<uint64_t> live_progress) {
  std::string text;
  JsonText w(text);
  WriteBackup(w, b, live_progress);
  return Json::parse(text);
}

namespace {
Json PathsJson(const std::string& text) {
  Json paths = Json::parse(text, nullptr, false);
  return paths.is_array() ? paths : Json::array();
}
// The agent's summary, or null when there is none (yet).
Json ChangesJson(const std::string& text) {
  if (text.empty()) return nullptr;
  Json changes = Json::parse(text, nullptr, false);
  return changes.is_object() ? changes : Json(nullptr);
}
}  // namespace

Json RestoreJson(const Restore& r) {
  Json skipped = Json::parse(r.skipped_json, nullptr, false);
  if (skipped.is_discarded() || !skipped.is_array()) skipped = Json::array();
  return {{"id", r.id},
          {"backup_id", r.backup_id},
          {"target_instance_id", r.target_instance_id},
          {"target_instance_name", r.target_instance_name},
          {"status", std::string(BackupStatusName(r.status))},
          {"entries_written", r.entries_written},
          {"bytes_written", r.bytes_written},
          {"progress_bytes", r.progress_bytes},
          {"skipped", skipped},
          {"error_message", r.error_message},
          {"created_by", r.created_by_name},
          {"created_at", TimeJson(r.created_at)},
          {"started_at", TimeJson(r.started_at)},
          {"completed_at", TimeJson(r.completed_at)},
          {"quiesce", r.quiesce},
          {"quiesced", r.quiesced},
          {"dry_run", r.dry_run},
          {"paths", PathsJson(r.paths_json)},
          {"changes", ChangesJson(r.changes_json)}};
}

Json ScheduleJson(const Schedule& s, const std::string& description, const Json& next_runs) {
  return {{"id", s.id},
          {"name", s.name},
          {"all_instances", s.all_instances},
          {"instance_ids", s.instance_ids},
          {"cron", s.cron},
          {"timezone", s.timezone},
          {"paths", s.paths},
          {"excludes", s.excludes},
          {"exclude_presets", s.exclude_presets},
          {"strict", s.strict},
          {"verify_after_backup", s.verify_after_backup},
          {"note", s.note},
          {"enabled", s.enabled},
          {"retention",
           {{"keep_last", s.retention.keep_last},
            {"keep_hourly", s.retention.keep_hourly},
            {"keep_daily", s.retention.keep_daily},
            {"keep_weekly", s.retention.keep_weekly},
            {"keep_monthly", s.retention.keep_monthly}}},
          {"description", description},
          {"next_runs", next_runs},
          {"last_run_at", TimeJson(s.last_run_at)},
          {"last_result", s.last_result},
          {"created_by", s.created_by},
          {"created_at", TimeJson(s.created_at)}};
}

Json AuditJson(const AuditEvent& e) {
  Json detail = Json::parse(e.detail_json, nullptr, false);
  if (detail.is_discarded()) detail = Json::object();
  return {{"id", e.id},         {"at", TimeJson(e.at)},   {"actor", e.actor},     {"source", e.source},
          {"action", e.action}, {"target", e.target},     {"outcome", e.outcome}, {"detail", detail}};
}

Json ApiTokenJson(const ApiToken& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"created_at", TimeJson(t.created_at)},
          {"last_used_at", TimeJson(t.last_used_at)},
          {"revoked", t.revoked},
          {"can_create_tokens", t.can_create_tokens}};
}

Result<Json> ParseObject(const std::string& body) {
  if (body.empty()) return Json::object();
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("request body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  return j;
}

namespace {
Status WrongType(const char* field, const char* what) {
  return Status::InvalidArgument(std::string(field) + ": must be " + what);
}
}  // namespace

Result<std::optional<std::string>> OptString(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return WrongType(field, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> ReqString(const Json& obj, const char* field) {
  auto v = OptString(obj, field);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return Status::InvalidArgument(std::string(field) + ": is required");
  return std::move(**v);
}

Result<std::optional<bool>> OptBool(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return WrongType(field, "true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<int64_t>> OptInt(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return WrongType(field, "an integer");
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<std::vector<std::string>>> OptStringList(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) return WrongType(field, "an array of strings");
  std::vector<std::string> out;
  for (const auto& e : *it) {
    if (!e.is_string()) return WrongType(field, "an array of strings");
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::vector<Id>>> OptIdList(const Json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::vector<Id>>();
  if (!it->is_array()) return WrongType(field, "an array of ids");
  std::vector<Id> out;
  for (const auto& e : *it) {
    if (!e.is_number_integer() || e.get<int64_t>() <= 0) return WrongType(field, "an array of ids");
    out.push_back(e.get<Id>());
  }
  return std::optional<std::vector<Id>>(std::move(out));
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace clawback::controller::api
