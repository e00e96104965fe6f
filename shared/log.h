// Structured logging for both binaries: one JSON object per line on stderr (or human-readable text with
// --log-format=text), backed by spdlog:  log::Info("backup finished", {{"backup_id", 12}, {"bytes", 1234}});
// Thread-safe. Fields are a JSON object; "ts", "level" and "msg" are added.
// Callers must never pass secrets (passwords, tokens, keys, hashes), with one deliberate exception: the
// random password of the first admin (made when CLAWORC_ADMIN_PASSWORD is unset) is logged once, at the
// first start, as the operator's only way to the first sign-in (controller/service/controller_service.cc,
// docs/operations.md).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace clawback::log {

enum class Format { kJson, kText };
enum class Level { kDebug, kInfo, kWarn, kError };

// Call once at startup (before threads); defaults: JSON, info.
void Configure(Format format, Level min_level);

void Write(Level level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());
inline void Debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { Write(Level::kError, m, f); }

}  // namespace clawback::log
