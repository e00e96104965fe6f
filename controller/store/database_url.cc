// CLAWORC_DATABASE parsing and redaction (database_url.h).
#include "controller/store/database_url.h"

#include <cctype>

#include "controller/store/postgres_store.h"
#include "controller/store/sqlite_store.h"

namespace clawback::controller {
namespace {

constexpr std::string_view kSqlitePrefix = "sqlite://";

bool StartsWithNoCase(const std::string& s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string RedactDatabaseUrl(const std::string& url) {
  std::string out = url;
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?#", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // "password=secret" as a URL parameter or a key=value conninfo item.
  for (size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    size_t value = pos + 9;
    size_t end = out.find_first_of("& ", value);
    if (end == std::string::npos) end = out.size();
    out.replace(value, end - value, "***");
  }
  return out;
}

Result<DatabaseUrl> ParseDatabaseUrl(const std::string& value, const std::string& data_dir,
                                     const std::string& setting) {
  DatabaseUrl url;
  if (value.empty()) {
    url.sqlite_path = data_dir + "/clawback.db";
    url.redacted = "sqlite://" + url.sqlite_path;
    return url;
  }
  const std::string shown = RedactDatabaseUrl(value);
  if (StartsWithNoCase(value, "postgres://") || StartsWithNoCase(value, "postgresql://")) {
    url.engine = DatabaseUrl::Engine::kPostgres;
    url.conninfo = value;
    url.redacted = shown;
    return url;
  }
  if (StartsWithNoCase(value, kSqlitePrefix)) {
    std::string path = value.substr(kSqlitePrefix.size());
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument(setting + " \"" + shown +
                                     "\": a SQLite URL needs an absolute path, as in sqlite:///var/lib/claworc/clawback.db");
    }
    url.sqlite_path = path;
    url.redacted = value;
    return url;
  }
  return Status::InvalidArgument(setting + " \"" + shown +
                                 "\" is not a database URL: use sqlite:///absolute/path.db or "
                                 "postgres://user@host:port/database (unset for SQLite in the data directory)");
}

Result<std::unique_ptr<Store>> OpenStore(const DatabaseUrl& url) {
  if (url.engine == DatabaseUrl::Engine::kPostgres) return OpenPostgresStore(url.conninfo);
  return OpenSqliteStore(url.sqlite_path);
}

}  // namespace clawback::controller
