// spdlog in header-only mode with header-only fmt, so the static agent needs no
// extra archive and both binaries log the same way.
#define SPDLOG_HEADER_ONLY
#define SPDLOG_FMT_EXTERNAL
#define FMT_HEADER_ONLY
#include "shared/log.h"

#include <chrono>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace clawback::log {
namespace {

Format g_format = Format::kJson;
Level g_min = Level::kInfo;

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("clawback");
    l->set_pattern("%v");  // the line is built here, spdlog only serializes writes
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return logger;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

void Configure(Format format, Level min_level) {
  g_format = format;
  g_min = min_level;
  Logger();
}

void Write(Level level, std::string_view msg, const nlohmann::json& fields) {
  if (level < g_min) return;
  std::string line;
  if (g_format == Format::kJson) {
    // Ordered: ts, level and msg lead every line, then the fields.
    nlohmann::ordered_json j = {{"ts", Timestamp()}, {"level", LevelName(level)}, {"msg", msg}};
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = Timestamp() + " " + std::string(LevelName(level)) + " " + std::string(msg);
    if (fields.is_object() && !fields.empty())
      line += " " + fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  Logger()->info(line);
}

}  // namespace clawback::log
