// JSON shapes of the REST API (docs/api.md "Objects") and typed readers for
// request bodies. The only place model records become JSON, so a secret
// (password hash, token hash, session token) can only leak if it is added
// here; none is.
//
// Readers return InvalidArgument naming the field ("name: must be a string"),
// which the router turns into 400 {"error", "code", "field"}.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/agents/agent_connector.h"
#include "controller/api/json_text.h"
#include "controller/store/model.h"
#include "controller/store/trust_model.h"
#include "shared/status.h"

namespace clawback::controller::api {

using Json = nlohmann::json;

// RFC 3339 UTC ("2026-11-25T02:00:00Z"), or null for 0.
Json TimeJson(UnixTime t);
std::string FormatRfc3339(UnixTime t);
// Accepts "2026-11-25T02:00:00Z" or a decimal Unix time.
Result<UnixTime> ParseTime(std::string_view text);

// The last path component of a backup's archive ("web-1-12-20261125-020000.tar.zst").
std::string BackupFileName(const Backup& b);

Json UserJson(const User& u, const std::vector<Id>& instance_ids);
Json InstanceJson(const Instance& i, const InstanceHealth& health, const std::optional<Backup>& latest);
// `live_progress` replaces the stored progress for a running backup.
Json BackupJson(const Backup& b, std::optional<uint64_t> live_progress = std::nullopt);

// {"status", "at", "duration_s", "error", ...counts from detail_json} of a
// verification or drill; the optional form is null when absent.
Json CheckJson(const BackupCheck& check);
Json CheckJson(const std::optional<BackupCheck>& check);

// The newest verification and drill of one backup (either may be absent).
struct BackupChecks {
  const BackupCheck* verification = nullptr;
  const BackupCheck* drill = nullptr;
};

// The same records written as text into a streamed body (json_text.h): the
// bytes Dump(InstanceJson(...)) and Dump(BackupJson(...)) would give, without
// building a tree. `protection`, when set, writes the value of the instance's
// "protection" key; `checks`, when given, adds "verification" and "drill"
// (the check objects, or null).
void WriteInstance(JsonText& w, const Instance& i, const InstanceHealth& health, const std::optional<Backup>& latest,
                   const std::function<void(JsonText&)>& protection = nullptr);
void WriteBackup(JsonText& w, const Backup& b, std::optional<uint64_t> live_progress = std::nullopt,
                 const BackupChecks* checks = nullptr);
Json RestoreJson(const Restore& r);
// `description` and `next_runs` ({"utc","local"} objects) are computed by the caller.
Json ScheduleJson(const Schedule& s, const std::string& description, const Json& next_runs);
Json AuditJson(const AuditEvent& e);
Json ApiTokenJson(const ApiToken& t);

// Parses a request body that must be a JSON object. An empty body is {}.
Result<Json> ParseObject(const std::string& body);

// Typed field readers. Missing optional fields yield nullopt; a present field
// of the wrong type (or a missing required one) is InvalidArgument naming it.
Result<std::optional<std::string>> OptString(const Json& obj, const char* field);
Result<std::string> ReqString(const Json& obj, const char* field);
Result<std::optional<bool>> OptBool(const Json& obj, const char* field);
Result<std::optional<int64_t>> OptInt(const Json& obj, const char* field);
Result<std::optional<std::vector<std::string>>> OptStringList(const Json& obj, const char* field);
Result<std::optional<std::vector<Id>>> OptIdList(const Json& obj, const char* field);

// Dumps JSON for the wire (invalid UTF-8 replaced, never throws).
std::string Dump(const Json& j);

}  // namespace clawback::controller::api
