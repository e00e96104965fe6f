#include "controller/browse/catalog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include <SQLiteCpp/SQLiteCpp.h>

#include "controller/jobs/archive_location.h"

namespace clawback::controller::browse {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE frames (
  no       INTEGER PRIMARY KEY,
  c_offset INTEGER NOT NULL,
  c_size   INTEGER NOT NULL,
  d_offset INTEGER NOT NULL,
  d_size   INTEGER NOT NULL
);
CREATE TABLE entries (
  path        TEXT PRIMARY KEY,
  parent      TEXT NOT NULL,
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,
  size        INTEGER NOT NULL,
  mode        INTEGER NOT NULL,
  uid         INTEGER NOT NULL,
  gid         INTEGER NOT NULL,
  uname       TEXT NOT NULL,
  gname       TEXT NOT NULL,
  mtime       INTEGER NOT NULL,
  mtime_nsec  INTEGER NOT NULL,
  target      TEXT,
  offset      INTEGER,            -- NULL: an implied directory, not in the archive
  data_offset INTEGER,
  frame       INTEGER,
  sha256      TEXT
);
CREATE INDEX entries_by_parent ON entries(parent, name);
)sql";

constexpr const char* kEntryColumns =
    "path, type, size, mode, uid, gid, uname, gname, mtime, mtime_nsec, target, offset, data_offset, frame, sha256";

std::string ParentOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

IndexEntry ReadEntry(SQLite::Statement& q) {
  IndexEntry e;
  e.path = q.getColumn(0).getString();
  e.type = q.getColumn(1).getString();
  e.size = static_cast<uint64_t>(q.getColumn(2).getInt64());
  e.mode = static_cast<uint32_t>(q.getColumn(3).getInt64());
  e.uid = q.getColumn(4).getInt64();
  e.gid = q.getColumn(5).getInt64();
  e.uname = q.getColumn(6).getString();
  e.gname = q.getColumn(7).getString();
  e.mtime = q.getColumn(8).getInt64();
  e.mtime_nsec = q.getColumn(9).getInt64();
  e.target = q.getColumn(10).isNull() ? "" : q.getColumn(10).getString();
  e.in_archive = !q.getColumn(11).isNull();
  e.offset = e.in_archive ? static_cast<uint64_t>(q.getColumn(11).getInt64()) : 0;
  e.data_offset = q.getColumn(12).isNull() ? 0 : static_cast<uint64_t>(q.getColumn(12).getInt64());
  e.frame = q.getColumn(13).isNull() ? 0 : static_cast<uint64_t>(q.getColumn(13).getInt64());
  e.sha256 = q.getColumn(14).isNull() ? "" : q.getColumn(14).getString();
  return e;
}

template <class F>
auto Guard(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Corruption(what + ": " + e.what());
  }
}

}  // namespace

std::string IndexEntry::Name() const {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
std::string IndexEntry::Parent() const { return ParentOf(path); }

std::string CatalogPath(const std::string& archive_path) { return ArchiveIndexPath(archive_path); }

// ---- CatalogWriter ----

Result<std::unique_ptr<CatalogWriter>> CatalogWriter::Create(const std::string& path) {
  const std::string partial = path + ".partial";
  ::unlink(partial.c_str());
  ::unlink((partial + "-journal").c_str());
  auto writer = Guard("cannot create the file index " + partial, [&]() -> Result<std::unique_ptr<CatalogWriter>> {
    auto db = std::make_unique<SQLite::Database>(partial, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=8192;");
    db->exec(kSchema);
    db->exec("BEGIN");
    return std::unique_ptr<CatalogWriter>(new CatalogWriter(path, std::move(db)));
  });
  // The file may exist even though setting it up failed (e.g. a full disk
  // once SQLite writes the schema): no writer owns it, so remove it here.
  if (!writer.ok()) ::unlink(partial.c_str());
  return writer;
}

CatalogWriter::CatalogWriter(std::string path, std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)), db_(std::move(db)) {}

void CatalogWriter::Close() {
  insert_entry_.reset();
  insert_frame_.reset();
  db_.reset();
}

CatalogWriter::~CatalogWriter() {
  Close();
  if (!committed_) ::unlink((path_ + ".partial").c_str());
}

Status CatalogWriter::AddFrame(const FrameInfo& f) {
  return Guard("writing the file index", [&]() -> Status {
    if (!insert_frame_) {
      insert_frame_ = std::make_unique<SQLite::Statement>(*db_, "INSERT INTO frames VALUES (?, ?, ?, ?, ?)");
    }
    SQLite::Statement& q = *insert_frame_;
    q.tryReset();  // whatever the last use ended with (its error was reported then); all rebound below
    q.bind(1, static_cast<int64_t>(f.no));
    q.bind(2, static_cast<int64_t>(f.c_offset));
    q.bind(3, static_cast<int64_t>(f.c_size));
    q.bind(4, static_cast<int64_t>(f.d_offset));
    q.bind(5, static_cast<int64_t>(f.d_size));
    q.exec();
    return Status::Ok();
  });
}

Status CatalogWriter::AddEntry(const IndexEntry& e) {
  if (e.path.empty()) return Status::Corruption("index entry with an empty path");
  return Guard("writing the file index", [&]() -> Status {
    if (!insert_entry_) {
      insert_entry_ = std::make_unique<SQLite::Statement>(
          *db_, "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    SQLite::Statement& q = *insert_entry_;
    q.tryReset();  // whatever the last use ended with (its error was reported then); all rebound below
    q.bind(1, e.path);
    q.bind(2, e.Parent());
    q.bind(3, e.Name());
    q.bind(4, e.type);
    q.bind(5, static_cast<int64_t>(e.size));
    q.bind(6, static_cast<int64_t>(e.mode));
    q.bind(7, e.uid);
    q.bind(8, e.gid);
    q.bind(9, e.uname);
    q.bind(10, e.gname);
    q.bind(11, e.mtime);
    q.bind(12, e.mtime_nsec);
    if (e.target.empty()) q.bind(13); else q.bind(13, e.target);
    if (e.in_archive) {
      q.bind(14, static_cast<int64_t>(e.offset));
      q.bind(15, static_cast<int64_t>(e.data_offset));
      q.bind(16, static_cast<int64_t>(e.frame));
    } else {
      q.bind(14);
      q.bind(15);
      q.bind(16);
    }
    if (e.sha256.empty()) q.bind(17); else q.bind(17, e.sha256);
    q.exec();
    return Status::Ok();
  });
}

Status CatalogWriter::Commit(const CatalogMeta& meta) {
  const std::string partial = path_ + ".partial";
  Status st = Guard("writing the file index", [&]() -> Status {
    // Implied parents: every ancestor of an entry that is not an entry itself.
    std::set<std::string> missing;
    {
      SQLite::Statement parents(*db_,
                                "SELECT DISTINCT parent FROM entries WHERE parent <> '' AND parent NOT IN "
                                "(SELECT path FROM entries)");
      while (parents.executeStep()) {
        for (std::string p = parents.getColumn(0).getString(); !p.empty(); p = ParentOf(p)) missing.insert(p);
      }
    }
    for (const std::string& p : missing) {
      SQLite::Statement exists(*db_, "SELECT 1 FROM entries WHERE path = ?");
      exists.bind(1, p);
      if (exists.executeStep()) continue;
      IndexEntry dir;
      dir.path = p;
      dir.type = "dir";
      dir.mode = 0755;
      dir.in_archive = false;
      CLAWBACK_RETURN_IF_ERROR(AddEntry(dir));
    }
    auto put = [&](const char* key, const std::string& value) {
      SQLite::Statement q(*db_, "INSERT INTO meta VALUES (?, ?)");
      q.bind(1, key);
      q.bind(2, value);
      q.exec();
    };
    put("clawback_index", "1");
    put("archive_format", std::to_string(meta.archive_format));
    put("archive_sha256", meta.archive_sha256);
    put("archive_size", std::to_string(meta.archive_size));
    put("tar_size", std::to_string(meta.tar_size));
    put("entries", std::to_string(meta.entries));
    db_->exec("COMMIT");
    return Status::Ok();
  });
  if (!st.ok()) return st;
  Close();  // closes the file
  int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + partial + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError("fsync " + partial + " failed: " + std::strerror(err));
  if (::rename(partial.c_str(), path_.c_str()) != 0) {
    return Status::IoError("rename " + partial + " failed: " + std::strerror(errno));
  }
  committed_ = true;
  return Status::Ok();
}

// ---- Catalog ----

Catalog::Catalog(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}
Catalog::~Catalog() = default;

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return Status::NotFound("no file index at " + path);
  return Guard("unreadable file index " + path, [&]() -> Result<std::unique_ptr<Catalog>> {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY);
    std::unique_ptr<Catalog> c(new Catalog(std::move(db)));
    std::map<std::string, std::string> kv;
    SQLite::Statement q(*c->db_, "SELECT key, value FROM meta");
    while (q.executeStep()) kv[q.getColumn(0).getString()] = q.getColumn(1).getString();
    if (kv["clawback_index"] != "1") return Status::Corruption("not a clawback file index: " + path);
    c->meta_.archive_format = std::stoi(kv["archive_format"]);
    c->meta_.archive_sha256 = kv["archive_sha256"];
    c->meta_.archive_size = std::stoull(kv["archive_size"]);
    c->meta_.tar_size = std::stoull(kv["tar_size"]);
    c->meta_.entries = std::stoull(kv["entries"]);
    SQLite::Statement f(*c->db_, "SELECT no, c_offset, c_size, d_offset, d_size FROM frames ORDER BY no");
    while (f.executeStep()) {
      FrameInfo fr;
      fr.no = static_cast<uint64_t>(f.getColumn(0).getInt64());
      fr.c_offset = static_cast<uint64_t>(f.getColumn(1).getInt64());
      fr.c_size = static_cast<uint64_t>(f.getColumn(2).getInt64());
      fr.d_offset = static_cast<uint64_t>(f.getColumn(3).getInt64());
      fr.d_size = static_cast<uint64_t>(f.getColumn(4).getInt64());
      c->frames_.push_back(fr);
    }
    if (c->frames_.empty()) return Status::Corruption("file index without frames: " + path);
    return c;
  });
}

Result<IndexEntry> Catalog::Lookup(const std::string& path) {
  if (path.empty()) {
    IndexEntry root;
    root.type = "dir";
    root.mode = 0755;
    root.in_archive = false;
    return root;
  }
  return Guard("reading the file index", [&]() -> Result<IndexEntry> {
    SQLite::Statement q(*db_, std::string("SELECT ") + kEntryColumns + " FROM entries WHERE path = ?");
    q.bind(1, path);
    if (!q.executeStep()) return Status::NotFound("not in the backup: /" + path);
    return ReadEntry(q);
  });
}

Result<ListPage> Catalog::List(const std::string& dir, uint64_t limit, uint64_t offset) {
  auto self = Lookup(dir);
  if (!self.ok()) return self.status();
  if (self->type != "dir") return Status::FailedPrecondition("not a directory: /" + dir);
  return Guard("reading the file index", [&]() -> Result<ListPage> {
    ListPage page;
    SQLite::Statement n(*db_, "SELECT count(*) FROM entries WHERE parent = ?");
    n.bind(1, dir);
    n.executeStep();
    page.total = static_cast<uint64_t>(n.getColumn(0).getInt64());
    SQLite::Statement q(*db_, std::string("SELECT ") + kEntryColumns +
                                  " FROM entries WHERE parent = ? ORDER BY name LIMIT ? OFFSET ?");
    q.bind(1, dir);
    q.bind(2, static_cast<int64_t>(limit));
    q.bind(3, static_cast<int64_t>(offset));
    while (q.executeStep()) page.entries.push_back(ReadEntry(q));
    return page;
  });
}

Result<ListPage> Catalog::Search(const std::string& pattern, uint64_t limit, uint64_t offset) {
  return Guard("reading the file index", [&]() -> Result<ListPage> {
    ListPage page;
    SQLite::Statement n(*db_, "SELECT count(*) FROM entries WHERE name GLOB ?");
    n.bind(1, pattern);
    n.executeStep();
    page.total = static_cast<uint64_t>(n.getColumn(0).getInt64());
    SQLite::Statement q(*db_, std::string("SELECT ") + kEntryColumns +
                                  " FROM entries WHERE name GLOB ? ORDER BY path LIMIT ? OFFSET ?");
    q.bind(1, pattern);
    q.bind(2, static_cast<int64_t>(limit));
    q.bind(3, static_cast<int64_t>(offset));
    while (q.executeStep()) page.entries.push_back(ReadEntry(q));
    return page;
  });
}

Result<std::vector<IndexEntry>> Catalog::Subtree(const std::string& path) {
  return Guard("reading the file index", [&]() -> Result<std::vector<IndexEntry>> {
    std::vector<IndexEntry> out;
    // Below `path`: names starting with "path/" (a range scan on the key;
    // '0' is the byte after '/').
    std::string sql = std::string("SELECT ") + kEntryColumns + " FROM entries WHERE offset IS NOT NULL AND ";
    if (path.empty()) {
      sql += "1 ORDER BY offset";
    } else {
      sql += "(path = ?1 OR (path >= ?2 AND path < ?3)) ORDER BY offset";
    }
    SQLite::Statement q(*db_, sql);
    if (!path.empty()) {
      q.bind(1, path);
      q.bind(2, path + "/");
      q.bind(3, path + "0");
    }
    while (q.executeStep()) out.push_back(ReadEntry(q));
    return out;
  });
}

Result<Catalog::Diff> Catalog::DiffAgainst(const std::string& older_path, uint64_t limit) {
  return Guard("comparing file indexes", [&]() -> Result<Diff> {
    // The connection is read-only, so the attached file is too.
    SQLite::Statement attach(*db_, "ATTACH DATABASE ? AS other");
    attach.bind(1, older_path);
    attach.exec();
    struct Detach {
      SQLite::Database& db;
      ~Detach() {
        try {
          db.exec("DETACH DATABASE other");
        } catch (...) {
        }
      }
    } detach{*db_};
    Diff d;
    auto run = [&](const std::string& sql, std::vector<Change>* out, bool with_old) {
      SQLite::Statement q(*db_, sql);
      q.bind(1, static_cast<int64_t>(limit));
      while (q.executeStep()) {
        Change c;
        c.path = q.getColumn(0).getString();
        c.type = q.getColumn(1).getString();
        c.size = static_cast<uint64_t>(q.getColumn(2).getInt64());
        if (with_old) c.old_size = static_cast<uint64_t>(q.getColumn(3).getInt64());
        out->push_back(std::move(c));
      }
    };
    run("SELECT n.path, n.type, n.size FROM main.entries n LEFT JOIN other.entries o ON o.path = n.path "
        "WHERE o.path IS NULL ORDER BY n.path LIMIT ?",
        &d.added, false);
    run("SELECT o.path, o.type, o.size FROM other.entries o LEFT JOIN main.entries n ON n.path = o.path "
        "WHERE n.path IS NULL ORDER BY o.path LIMIT ?",
        &d.removed, false);
    run("SELECT n.path, n.type, n.size, o.size FROM main.entries n JOIN other.entries o ON o.path = n.path "
        "WHERE n.type <> o.type OR n.size <> o.size OR n.mode <> o.mode OR "
        "(n.type <> 'dir' AND n.mtime <> o.mtime) OR "
        "coalesce(n.target, '') <> coalesce(o.target, '') OR "
        "(n.sha256 IS NOT NULL AND o.sha256 IS NOT NULL AND n.sha256 <> o.sha256) ORDER BY n.path LIMIT ?",
        &d.changed, true);
    return d;
  });
}

}  // namespace clawback::controller::browse
