// store migrate's copy (store_copy.h), on the SQL layer's connections.
#include "controller/store/store_copy.h"

#include <algorithm>
#include <set>

#include "controller/store/sql_internal.h"

namespace clawback::controller {
namespace {

using namespace store::sql;

// Parents before children, so foreign keys hold row by row.
constexpr const char* kKnownTables[] = {
    "users",   "instances", "user_instances", "sessions",      "api_tokens", "schedules",
    "backups", "restores",  "audit_events",   "backup_checks", "webhooks",   "webhook_deliveries",
};

std::vector<std::string> TableNames(Connection& db) {
  const char* sql = db.engine() == Engine::kPostgres
                        ? "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                        : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'";
  auto names = QueryAll(db, sql, [](const Statement& q) { return q.Text(0); });
  std::set<std::string> present(names.begin(), names.end());
  present.erase("schema_migrations");  // the same on both: this binary's latest
  std::vector<std::string> ordered;
  for (const char* t : kKnownTables) {
    if (present.erase(t)) ordered.push_back(t);
  }
  ordered.insert(ordered.end(), present.begin(), present.end());  // sorted: std::set
  return ordered;
}

int64_t CountRows(Connection& db, const std::string& table) {
  return QueryCount(db, "SELECT COUNT(*) FROM " + table);
}

bool HasIdColumn(Connection& db, const std::string& table) {
  const char* sql =
      db.engine() == Engine::kPostgres
          ? "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name = 'id'"
          : "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = 'id'";
  return QueryCount(db, sql, table) > 0;
}

// The highest id the table's counter has handed out (0 when none).
int64_t IdHighWater(Connection& db, const std::string& table) {
  int64_t max_id = QueryCount(db, "SELECT COALESCE(MAX(id), 0) FROM " + table);
  int64_t counter = 0;
  if (db.engine() == Engine::kPostgres) {
    auto q = db.Prepare("SELECT pg_get_serial_sequence(?, 'id')");
    Bind(*q, table);
    if (q->Step() && !q->IsNull(0)) {
      const std::string seq = q->Text(0);
      counter = QueryCount(db, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM " + seq);
    }
  } else {
    auto q = db.Prepare("SELECT seq FROM sqlite_sequence WHERE name = ?");
    Bind(*q, table);
    if (q->Step()) counter = q->Int64(0);
  }
  return std::max(max_id, counter);
}

void SetIdHighWater(Connection& db, const std::string& table, int64_t value) {
  if (db.engine() == Engine::kPostgres) {
    auto q = db.Prepare("SELECT pg_get_serial_sequence(?, 'id')");
    Bind(*q, table);
    if (!q->Step() || q->IsNull(0)) return;  // not an identity column
    const std::string seq = q->Text(0);
    // setval(seq, n, true): the next id is n + 1; with false, n itself.
    if (value > 0) {
      Exec(db, "SELECT setval(?::regclass, ?, true)", seq, value);
    } else {
      Exec(db, "SELECT setval(?::regclass, 1, false)", seq);
    }
  } else if (value > 0) {
    if (Exec(db, "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", value, table) == 0) {
      Exec(db, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", table, value);
    }
  }
}

// The whole copy reads one snapshot of the source, which the pages of every
// table are read from: on SQLite a write transaction (BEGIN IMMEDIATE: the
// write lock, so no other process commits meanwhile); on PostgreSQL a
// read-only REPEATABLE READ transaction. Rolled back when done.
class SourceSnapshot {
 public:
  explicit SourceSnapshot(Connection& db) : db_(db) {
    if (db.engine() == Engine::kPostgres) {
      db.ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    } else {
      db.Begin();
    }
  }
  ~SourceSnapshot() { db_.Rollback(); }
  SourceSnapshot(const SourceSnapshot&) = delete;
  SourceSnapshot& operator=(const SourceSnapshot&) = delete;

 private:
  Connection& db_;
};

// The table's primary key columns, in key order ({} when it has none).
std::vector<std::string> PrimaryKey(Connection& db, const std::string& table) {
  const char* sql = db.engine() == Engine::kPostgres
                        ? "SELECT a.attname FROM pg_index i "
                          "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                          "WHERE i.indrelid = ?::regclass AND i.indisprimary "
                          "ORDER BY array_position(i.indkey::int2[], a.attnum)"
                        : "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk";
  return QueryAll(
      db, sql, [](const Statement& q) { return q.Text(0); }, table);
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Copies the rows of `table` in pages of `batch_rows`, in primary key order:
// the first page is the first rows by key, each next one the rows after the
// last key copied (keyset pagination, `(a, b) > (?, ?)` on both engines), so
// no more than one page is held at a time however large the table is. Every
// value goes as text (both engines convert text to the column's type:
// INTEGER affinity in SQLite, input functions in PostgreSQL), NULL as NULL;
// the key values bound for the next page too. Returns the number of rows
// copied.
int64_t CopyTable(Connection& from, Connection& to, const std::string& table, int batch_rows) {
  const std::vector<std::string> key = PrimaryKey(from, table);
  if (key.empty())
    Fail(Status::Internal("table " + table + " has no primary key: it cannot be copied in pages"));
  const std::string order = " ORDER BY " + Joined(key) + " LIMIT " + std::to_string(batch_rows);
  const std::string after =
      key.size() == 1 ? key[0] + " > ?" : "(" + Joined(key) + ") > (" + Placeholders(key.size()) + ")";
  std::unique_ptr<Statement> first_page = from.Prepare("SELECT * FROM " + table + order);
  std::unique_ptr<Statement> next_page;  // prepared for the second page, then reset for each
  Statement* page = first_page.get();
  std::unique_ptr<Statement> insert;
  int columns = 0;
  std::vector<int> key_columns;  // positions of the key in the result
  std::vector<std::string> last_key;
  int64_t copied = 0;
  for (;;) {
    int64_t in_page = 0;
    while (page->Step()) {
      if (!insert) {
        columns = page->ColumnCount();
        std::string names;
        for (int c = 0; c < columns; ++c) {
          const std::string name = page->ColumnName(c);
          names += (c ? ", " : "") + name;
          for (const std::string& k : key) {
            if (k == name) key_columns.push_back(c);
          }
        }
        if (key_columns.size() != key.size())
          Fail(Status::Internal("table " + table + ": key columns not selected"));
        insert =
            to.Prepare("INSERT INTO " + table + " (" + names + ") VALUES (" + Placeholders(columns) + ")");
      }
      for (int c = 0; c < columns; ++c) {
        if (page->IsNull(c)) {
          insert->BindNull(c + 1);
        } else {
          insert->Bind(c + 1, page->Text(c));
        }
      }
      insert->Execute();
      insert->Reset();
      ++in_page;
      if (in_page == batch_rows) {
        last_key.clear();
        for (int c : key_columns) last_key.push_back(page->Text(c));
      }
    }
    copied += in_page;
    if (in_page < batch_rows) return copied;
    if (!next_page) next_page = from.Prepare("SELECT * FROM " + table + " WHERE " + after + order);
    next_page->Reset();
    for (size_t i = 0; i < last_key.size(); ++i) next_page->Bind(static_cast<int>(i + 1), last_key[i]);
    page = next_page.get();
  }
}
}  // namespace

Result<std::vector<TableCopy>> CopyStore(const DatabaseUrl& from, const DatabaseUrl& to,
                                         const StoreCopyOptions& options) {
  if (options.batch_rows < 1) return Status::InvalidArgument("batch_rows must be at least 1");
  auto open = [](const DatabaseUrl& url) -> Result<std::unique_ptr<SqlStore>> {
    if (url.engine == DatabaseUrl::Engine::kPostgres)
      return OpenPostgresSqlStore(url.conninfo, {.connections = 1});
    return OpenSqliteSqlStore(url.sqlite_path, {});
  };
  if (from.engine == to.engine && from.sqlite_path == to.sqlite_path && from.conninfo == to.conninfo) {
    return Status::InvalidArgument("--from and --to name the same database");
  }
  auto source = open(from);
  if (!source.ok()) return source.status().WithContext("source");
  auto target = open(to);
  if (!target.ok()) return target.status().WithContext("target");
  try {
    auto src = (*source)->pool().Acquire();
    auto dst = (*target)->pool().Acquire();
    SourceSnapshot read(*src);
    Transaction write(*dst);
    const std::vector<std::string> tables = TableNames(*src);
    for (const std::string& t : TableNames(*dst)) {
      if (int64_t n = CountRows(*dst, t); n > 0) {
        return Status::FailedPrecondition("target database is not empty: table " + t + " has " +
                                          std::to_string(n) + " rows");
      }
    }
    std::vector<TableCopy> report;
    for (const std::string& t : tables) {
      TableCopy copy{t, CopyTable(*src, *dst, t, options.batch_rows)};
      const int64_t in_source = CountRows(*src, t);
      const int64_t in_target = CountRows(*dst, t);
      if (in_source != copy.rows || in_target != copy.rows) {
        return Status::Internal("table " + t + ": copied " + std::to_string(copy.rows) +
                                " rows, the source has " + std::to_string(in_source) + " and the target " +
                                std::to_string(in_target));
      }
      if (HasIdColumn(*src, t)) SetIdHighWater(*dst, t, IdHighWater(*src, t));
      report.push_back(std::move(copy));
    }
    write.Commit();
    return report;
  } catch (const StoreError& e) {
    return e.status;
  } catch (const Error& e) {
    return Translate("copy", e);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("copy: ") + e.what());
  }
}

}  // namespace clawback::controller
