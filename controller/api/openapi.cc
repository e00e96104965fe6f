// The OpenAPI 3.0 document, generated from the route table so it cannot drift
// from what the router serves. Object shapes are those of docs/api.md.
#include <regex>
#include <set>

#include "controller/api/handler_support.h"
#include "shared/exclude_rules.h"

namespace clawback::controller::api {
namespace {

Json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
// OpenAPI 3.0 cannot mark a $ref nullable; allOf around it can.
Json Nullable(Json schema) { return {{"allOf", Json::array({std::move(schema)})}, {"nullable", true}}; }

Json Schemas() {
  Json time = {{"type", "string"}, {"format", "date-time"}, {"nullable", true}};
  Json ids = {{"type", "array"}, {"items", {{"type", "integer"}}}};
  Json strings = {{"type", "array"}, {"items", {{"type", "string"}}}};
  Json preset_names = Json::array();
  for (const ExcludePreset& p : ExcludePresets()) preset_names.push_back(std::string(p.name));
  Json presets = {{"type", "array"}, {"items", {{"type", "string"}, {"enum", preset_names}}}};
  auto obj = [](Json props) { return Json{{"type", "object"}, {"properties", std::move(props)}}; };
  Json s;
  s["Error"] = obj({{"error", {{"type", "string"}}}, {"code", {{"type", "string"}}}, {"field", {{"type", "string"}}}});
  s["User"] = obj({{"id", {{"type", "integer"}}},
                   {"username", {{"type", "string"}}},
                   {"role", {{"type", "string"}, {"enum", {"admin", "user"}}}},
                   {"can_create_instances", {{"type", "boolean"}}},
                   {"instance_ids", ids},
                   {"created_at", time}});
  s["Backup"] = obj({{"id", {{"type", "integer"}}},
                     {"instance_id", {{"type", "integer"}}},
                     {"instance_name", {{"type", "string"}}},
                     {"status", {{"type", "string"}, {"enum", {"queued", "running", "completed", "failed", "canceled"}}}},
                     {"paths", strings},
                     {"excludes", strings},
                     {"exclude_presets", presets},
                     {"strict", {{"type", "boolean"}}},
                     {"note", {{"type", "string"}}},
                     {"file_name", {{"type", "string"}}},
                     {"size_bytes", {{"type", "integer"}}},
                     {"sha256", {{"type", "string"}}},
                     {"entries", {{"type", "integer"}}},
                     {"databases_captured", {{"type", "integer"}}},
                     {"databases_raw", {{"type", "integer"}}},
                     {"progress_bytes", {{"type", "integer"}}},
                     {"error_message", {{"type", "string"}}},
                     {"warnings", strings},
                     {"created_by", {{"type", "string"}}},
                     {"schedule_id", {{"type", "integer"}, {"nullable", true}}},
                     {"created_at", time},
                     {"started_at", time},
                     {"completed_at", time},
                     {"verification", Nullable(Ref("Check"))},
                     {"drill", Nullable(Ref("Check"))}});
  // A verification or restore drill; its counts (bytes, frames, entries, ...)
  // come as further properties.
  s["Check"] = obj({{"status", {{"type", "string"}, {"enum", {"running", "passed", "failed"}}}},
                    {"at", time},
                    {"duration_s", {{"type", "number"}}},
                    {"error", {{"type", "string"}, {"nullable", true}}},
                    {"backup_id", {{"type", "integer"}}}});
  s["Check"]["additionalProperties"] = true;
  s["Protection"] = obj({{"state", {{"type", "string"}, {"enum", {"protected", "stale", "failing", "unprotected"}}}},
                         {"reason", {{"type", "string"}}},
                         {"last_good_backup", Nullable(obj({{"id", {{"type", "integer"}}},
                                                            {"completed_at", time},
                                                            {"age_s", {{"type", "integer"}}}}))},
                         {"last_verification", Nullable(Ref("Check"))},
                         {"last_drill", Nullable(Ref("Check"))},
                         {"unprotected_after_s", {{"type", "integer"}}}});
  s["Instance"] = obj({{"id", {{"type", "integer"}}},
                       {"name", {{"type", "string"}}},
                       {"agent_url", {{"type", "string"}}},
                       {"status", {{"type", "string"}, {"enum", {"running", "unreachable", "unknown"}}}},
                       {"status_reason", {{"type", "string"}}},
                       {"agent_version", {{"type", "string"}}},
                       {"checked_at", time},
                       {"created_at", time},
                       {"latest_backup", Nullable(Ref("Backup"))},
                       {"protection", Ref("Protection")}});
  s["Restore"] = obj({{"id", {{"type", "integer"}}},
                      {"backup_id", {{"type", "integer"}}},
                      {"target_instance_id", {{"type", "integer"}}},
                      {"target_instance_name", {{"type", "string"}}},
                      {"status", {{"type", "string"}}},
                      {"entries_written", {{"type", "integer"}}},
                      {"bytes_written", {{"type", "integer"}}},
                      {"progress_bytes", {{"type", "integer"}}},
                      {"skipped", {{"type", "array"}, {"items", obj({{"path", {{"type", "string"}}}, {"reason", {{"type", "string"}}}})}}},
                      {"error_message", {{"type", "string"}}},
                      {"created_by", {{"type", "string"}}},
                      {"created_at", time},
                      {"started_at", time},
                      {"completed_at", time},
                      {"quiesce", {{"type", "boolean"}}},
                      {"quiesced", {{"type", "boolean"}}},
                      {"dry_run", {{"type", "boolean"}}},
                      {"paths", strings},
                      {"changes", {{"type", "object"}, {"nullable", true}}}});
  s["FileEntry"] = obj({{"name", {{"type", "string"}}},
                        {"path", {{"type", "string"}}},
                        {"type", {{"type", "string"}, {"enum", {"file", "dir", "symlink", "hardlink", "char", "block", "fifo"}}}},
                        {"size", {{"type", "integer"}}},
                        {"mode", {{"type", "integer"}}},
                        {"mtime", time},
                        {"target", {{"type", "string"}}}});
  s["FileList"] = obj({{"path", {{"type", "string"}}},
                       {"entries", {{"type", "array"}, {"items", Ref("FileEntry")}}},
                       {"total", {{"type", "integer"}}},
                       {"limit", {{"type", "integer"}}},
                       {"offset", {{"type", "integer"}}}});
  Json change = obj({{"path", {{"type", "string"}}}, {"type", {{"type", "string"}}}, {"size", {{"type", "integer"}}},
                     {"old_size", {{"type", "integer"}}}});
  s["BackupDiff"] = obj({{"added", {{"type", "array"}, {"items", change}}},
                         {"removed", {{"type", "array"}, {"items", change}}},
                         {"changed", {{"type", "array"}, {"items", change}}}});
  s["Schedule"] = obj({{"id", {{"type", "integer"}}},
                       {"name", {{"type", "string"}}},
                       {"all_instances", {{"type", "boolean"}}},
                       {"instance_ids", ids},
                       {"cron", {{"type", "string"}}},
                       {"timezone", {{"type", "string"}}},
                       {"paths", strings},
                       {"excludes", strings},
                       {"exclude_presets", presets},
                       {"strict", {{"type", "boolean"}}},
                       {"verify_after_backup", {{"type", "boolean"}}},
                       {"note", {{"type", "string"}}},
                       {"enabled", {{"type", "boolean"}}},
                       {"retention", obj({{"keep_last", {{"type", "integer"}}},
                                          {"keep_hourly", {{"type", "integer"}}},
                                          {"keep_daily", {{"type", "integer"}}},
                                          {"keep_weekly", {{"type", "integer"}}},
                                          {"keep_monthly", {{"type", "integer"}}}})},
                       {"description", {{"type", "string"}}},
                       {"next_runs", {{"type", "array"}, {"items", obj({{"utc", {{"type", "string"}}}, {"local", {{"type", "string"}}}})}}},
                       {"last_run_at", time},
                       {"last_result", {{"type", "string"}}},
                       {"created_by", {{"type", "integer"}}},
                       {"created_at", time}});
  s["AuditEvent"] = obj({{"id", {{"type", "integer"}}},
                         {"at", time},
                         {"actor", {{"type", "string"}}},
                         {"source", {{"type", "string"}}},
                         {"action", {{"type", "string"}}},
                         {"target", {{"type", "string"}}},
                         {"outcome", {{"type", "string"}}},
                         {"detail", {{"type", "object"}}}});
  s["ApiToken"] = obj({{"id", {{"type", "integer"}}},
                       {"name", {{"type", "string"}}},
                       {"created_at", time},
                       {"last_used_at", time},
                       {"revoked", {{"type", "boolean"}}}});
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Json OpenApiDocument(const std::vector<Route>& routes) {
  Json paths = Json::object();
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  for (const Route& r : routes) {
    Json op;
    op["summary"] = r.summary;
    op["operationId"] = Lower(r.method) + std::regex_replace(r.pattern, std::regex(R"([^A-Za-z0-9]+)"), "_");
    Json params = Json::array();
    for (std::sregex_iterator it(r.pattern.begin(), r.pattern.end(), kParam), end; it != end; ++it) {
      params.push_back({{"name", (*it)[1].str()}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    if (r.json_body) {
      op["requestBody"] = {{"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    }
    if (r.access == Access::kPublic) {
      op["security"] = Json::array();
    } else {
      op["x-clawback-action"] = std::string(auth::ActionName(r.action));
    }
    op["responses"] = {{"default", {{"description", "Error"},
                                    {"content", {{"application/json", {{"schema", Ref("Error")}}}}}}},
                       {"2XX", {{"description", "Success (shapes in docs/api.md)"}}}};
    paths[r.pattern][Lower(r.method)] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "clawback REST API"}, {"version", "v1"},
                    {"description", "Backups for fleets of OpenClaw agent containers. See docs/api.md."}}},
          {"paths", paths},
          {"security", Json::array({{{"session", Json::array()}}, {{"bearer", Json::array()}}})},
          {"components",
           {{"schemas", Schemas()},
            {"securitySchemes",
             {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "clawback_session"}}},
              {"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
}

}  // namespace clawback::controller::api
