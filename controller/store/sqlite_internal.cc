// The SQLite store's shared helpers (sqlite_internal.h): error mapping,
// column conversions and statement building.
#include "controller/store/sqlite_internal.h"

#include <sqlite3.h>

#include <chrono>

namespace clawback::controller::store::sqlite {
namespace {

using Json = nlohmann::json;

constexpr int kMaxPageSize = 500;

}  // namespace

// --- errors -------------------------------------------------------------------

void Fail(Status status) { throw StoreError{std::move(status)}; }

bool IsUniqueViolation(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE ||
         e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

bool IsForeignKeyViolation(const SQLite::Exception& e) {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_FOREIGNKEY;
}

Status Translate(std::string_view what, const SQLite::Exception& e) {
  std::string prefix = what.empty() ? std::string() : std::string(what) + ": ";
  switch (e.getErrorCode()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(prefix + "database is locked by another process");
    case SQLITE_READONLY:
      return Status::IoError(prefix + "database is read-only");
    case SQLITE_FULL:
      return Status::ResourceExhausted(prefix + "disk full");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(prefix + "database file is corrupt or not a clawback database: " + e.what());
    case SQLITE_CONSTRAINT:
      if (IsUniqueViolation(e)) return Status::AlreadyExists(prefix + "already exists");
      if (IsForeignKeyViolation(e)) return Status::NotFound(prefix + "a referenced record does not exist");
      return Status::FailedPrecondition(prefix + e.what());
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return Status::IoError(prefix + e.what());
    default:
      return Status::Internal(prefix + e.what());
  }
}

Status NotFound(std::string_view noun, Id id) {
  return Status::NotFound(std::string(noun) + " " + std::to_string(id) + " not found");
}

Status NotFound(std::string_view noun, const std::string& name) {
  return Status::NotFound(std::string(noun) + " " + Quoted(name) + " not found");
}

// --- values -------------------------------------------------------------------

UnixTime WallClockNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

UnixTime OrNow(UnixTime t) { return t != 0 ? t : WallClockNow(); }

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string StringsToJson(const std::vector<std::string>& v) { return Json(v).dump(); }
std::string IdsToJson(const std::vector<Id>& v) { return Json(v).dump(); }

std::vector<std::string> JsonToStrings(const std::string& text, std::string_view column) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) Fail(Status::Corruption(std::string(column) + " is not a JSON array"));
  std::vector<std::string> out;
  for (const Json& e : j) {
    if (!e.is_string()) Fail(Status::Corruption(std::string(column) + " holds a non-string"));
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<Id> JsonToIds(const std::string& text, std::string_view column) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) Fail(Status::Corruption(std::string(column) + " is not a JSON array"));
  std::vector<Id> out;
  for (const Json& e : j) {
    if (!e.is_number_integer()) Fail(Status::Corruption(std::string(column) + " holds a non-integer"));
    out.push_back(e.get<Id>());
  }
  return out;
}

BackupStatus StatusFromColumn(const std::string& s) {
  auto st = ParseBackupStatus(s);
  if (!st) Fail(Status::Corruption("unknown status in database: " + s));
  return *st;
}

// --- statements -----------------------------------------------------------------

std::string Select(const char* columns, std::string_view rest) {
  return std::string("SELECT ") + columns + " " + std::string(rest);
}

std::string Placeholders(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

void CheckPage(int limit, int offset) {
  if (limit < 1 || limit > kMaxPageSize) {
    Fail(Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPageSize)));
  }
  if (offset < 0) Fail(Status::InvalidArgument("offset must not be negative"));
}

void BindValue(SQLite::Statement& q, int i, const std::optional<Id>& v) {
  if (v) {
    q.bind(i, *v);
  } else {
    q.bind(i);  // NULL
  }
}

void BindValue(SQLite::Statement& q, int i, const Param& v) {
  std::visit([&](const auto& value) { BindValue(q, i, value); }, v);
}

void BindAll(SQLite::Statement& q, const std::vector<Param>& params) {
  int i = 1;
  for (const Param& p : params) BindValue(q, i++, p);
}

int ExecChecked(SQLite::Statement& q, const Clashes& clashes) {
  try {
    return q.exec();
  } catch (const SQLite::Exception& e) {
    if (clashes.foreign_key && IsForeignKeyViolation(e)) Fail(*clashes.foreign_key);
    if (clashes.unique && IsUniqueViolation(e)) Fail(*clashes.unique);
    throw;
  }
}

void Conditions::Add(std::string_view condition, Param value) {
  where += " AND " + std::string(condition);
  params.push_back(std::move(value));
}

void Conditions::AddIn(std::string_view column, const std::vector<Id>& ids) {
  where += " AND " + std::string(column) + " IN (" + Placeholders(ids.size()) + ")";
  for (Id id : ids) params.emplace_back(id);
}

int64_t Count(SQLite::Database& db, const char* table, const Conditions& c) {
  SQLite::Statement q(db, std::string("SELECT COUNT(*) FROM ") + table + c.where);
  BindAll(q, c.params);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

StatementCache::Lease StatementCache::Get(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    if (statements_.size() >= kMaxStatements) statements_.clear();
    it = statements_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
  } else {
    it->second->tryReset();
    it->second->clearBindings();
  }
  return Lease(*it->second);
}

}  // namespace clawback::controller::store::sqlite
