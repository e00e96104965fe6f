// The SQL store's shared helpers (sql_internal.h): error mapping, column
// conversions and statement building.
#include "controller/store/sql_internal.h"

#include <chrono>
#include <optional>

namespace clawback::controller::store::sql {
namespace {

using Json = nlohmann::json;

constexpr int kMaxPageSize = 500;

}  // namespace

// --- errors -------------------------------------------------------------------

void Fail(Status status) { throw StoreError{std::move(status)}; }

Status Translate(std::string_view what, const Error& e) {
  std::string prefix = what.empty() ? std::string() : std::string(what) + ": ";
  switch (e.kind()) {
    case ErrorKind::kUnique:
      return Status::AlreadyExists(prefix + "already exists");
    case ErrorKind::kForeignKey:
      return Status::NotFound(prefix + "a referenced record does not exist");
    case ErrorKind::kConstraint:
      return Status::FailedPrecondition(prefix + e.what());
    case ErrorKind::kBusy:
    case ErrorKind::kUnavailable:
      return Status::Unavailable(prefix + e.what());
    case ErrorKind::kReadOnly:
    case ErrorKind::kIo:
      return Status::IoError(prefix + e.what());
    case ErrorKind::kFull:
      return Status::ResourceExhausted(prefix + e.what());
    case ErrorKind::kCorrupt:
      return Status::Corruption(prefix + e.what());
    case ErrorKind::kOther:
      break;
  }
  return Status::Internal(prefix + e.what());
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

namespace {

// The arrays the store writes itself are mostly "[]" or plain ASCII strings:
// those are read here without a JSON parser (the instance list reads four
// per backup, two backups per instance). Anything else (an escape, a byte
// outside printable ASCII, odd spacing) returns nullopt for the full parser.
std::optional<std::vector<std::string>> PlainStrings(std::string_view text) {
  std::vector<std::string> out;
  if (text == "[]") return out;
  if (text.size() < 4 || text.front() != '[' || text.back() != ']') return std::nullopt;
  size_t pos = 1;
  while (true) {
    if (text[pos] != '"') return std::nullopt;
    const size_t start = ++pos;
    while (pos < text.size() && text[pos] != '"') {
      const unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '\\' || c < 0x20 || c >= 0x7F) return std::nullopt;
      ++pos;
    }
    if (pos + 1 >= text.size()) return std::nullopt;
    out.emplace_back(text.substr(start, pos - start));
    ++pos;  // the closing quote
    if (text[pos] == ']') return pos + 1 == text.size() ? std::optional(std::move(out)) : std::nullopt;
    if (text[pos] != ',') return std::nullopt;
    ++pos;
  }
}

}  // namespace

std::vector<std::string> JsonToStrings(const std::string& text, std::string_view column) {
  if (auto plain = PlainStrings(text)) return std::move(*plain);
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

void BindValue(Statement& q, int i, const std::optional<Id>& v) {
  if (v) {
    q.Bind(i, *v);
  } else {
    q.BindNull(i);
  }
}

void BindValue(Statement& q, int i, const Param& v) {
  std::visit([&](const auto& value) { BindValue(q, i, value); }, v);
}

void BindAll(Statement& q, const std::vector<Param>& params) {
  int i = 1;
  for (const Param& p : params) BindValue(q, i++, p);
}

int64_t ExecChecked(Statement& q, const Clashes& clashes) {
  try {
    return q.Execute();
  } catch (const Error& e) {
    if (clashes.foreign_key && e.kind() == ErrorKind::kForeignKey) Fail(*clashes.foreign_key);
    if (clashes.unique && e.kind() == ErrorKind::kUnique) Fail(*clashes.unique);
    throw;
  }
}

Id InsertReturningId(Statement& q, const Clashes& clashes) {
  try {
    if (!q.Step()) Fail(Status::Internal("INSERT ... RETURNING id returned no row"));
    Id id = q.Int64(0);
    while (q.Step()) {
    }
    return id;
  } catch (const Error& e) {
    if (clashes.foreign_key && e.kind() == ErrorKind::kForeignKey) Fail(*clashes.foreign_key);
    if (clashes.unique && e.kind() == ErrorKind::kUnique) Fail(*clashes.unique);
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

int64_t Count(Connection& db, const char* table, const Conditions& c) {
  auto q = db.Prepare(std::string("SELECT COUNT(*) FROM ") + table + c.where);
  BindAll(*q, c.params);
  q->Step();
  return q->Int64(0);
}

}  // namespace clawback::controller::store::sql
