// store migrate's copy (store_copy.h): SQLite -> PostgreSQL -> SQLite keeps
// every table's rows and ids (counts and spot-checked records equal), id
// counters carry over so deleted ids are not reused, and a target holding
// any row is refused with nothing copied. Tables larger than several pages
// (a page size of 7 rows) round-trip exactly, key types of every kind (an
// integer id, a text key, two-column keys) paged on both engines.
#include "controller/store/store_copy.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <map>

#include "tests/controller/store/test_store.h"
#include "tests/support/postgres_server.h"

namespace clawback::controller {
namespace {

using testing::TempDir;

DatabaseUrl Url(const std::string& value) {
  auto url = ParseDatabaseUrl(value, "/unused");
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  return url.ok() ? *url : DatabaseUrl{};
}

std::unique_ptr<Store> OpenUrl(const std::string& value) {
  auto store = OpenStore(Url(value));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// One row or more in every table, and a deleted user and instance, so the
// id counters are ahead of the highest id.
void Populate(Store& s) {
  User admin;
  admin.username = "admin";
  admin.role = Role::kAdmin;
  admin.password_hash = "$scrypt$x";
  Id admin_id = s.CreateUser(admin)->id;
  User gone = admin;
  gone.username = "gone";
  gone.role = Role::kUser;
  Id gone_id = s.CreateUser(gone)->id;
  User bob = gone;
  bob.username = "bob";
  Id bob_id = s.CreateUser(bob)->id;
  ASSERT_TRUE(s.DeleteUser(gone_id).ok());
  Instance i;
  i.name = "alpha";
  i.agent_url = "https://10.0.0.1:8443";
  Id alpha = s.CreateInstance(i)->id;
  i.name = "beta";
  Id beta = s.CreateInstance(i)->id;
  ASSERT_TRUE(s.SetUserInstances(bob_id, {alpha, beta}).ok());
  Session sess;
  sess.token_hash = "sess";
  sess.user_id = admin_id;
  sess.expires_at = 4'000'000'000;
  ASSERT_TRUE(s.CreateSession(sess).ok());
  ApiToken tok;
  tok.user_id = bob_id;
  tok.name = "ci";
  tok.token_hash = "tok";
  ASSERT_TRUE(s.CreateApiToken(tok).ok());
  Schedule sch;
  sch.name = "nightly";
  sch.cron = "0 2 * * *";
  sch.instance_ids = {alpha};
  Id sid = s.CreateSchedule(sch)->id;
  ASSERT_TRUE(s.RecordScheduleFired(sid, 1'700'000'000, 1'700'000'001, "started 1").ok());
  Backup b;
  b.instance_id = alpha;
  b.instance_name = "alpha";
  b.status = BackupStatus::kCompleted;
  b.schedule_id = sid;
  b.paths = {"/home/claworc"};
  b.size_bytes = 0xFFFF'FFFF'0000'0001ull;
  b.sha256 = std::string(64, 'a');
  b.file_path = "alpha/alpha-1-20260101-020000.tar.zst";
  b.note = "it's \"quoted\" ? and unicode: \xc3\xa9";
  Id bid = s.CreateBackup(b)->id;
  Restore r;
  r.backup_id = bid;
  r.target_instance_id = beta;
  r.target_instance_name = "beta";
  ASSERT_TRUE(s.CreateRestore(r).ok());
  AuditEvent e;
  e.actor = "admin";
  e.action = "backup.create";
  e.outcome = "ok";
  e.detail_json = R"({"backup":1})";
  ASSERT_TRUE(s.AppendAudit(e).ok());
  BackupCheck c;
  c.backup_id = bid;
  c.status = CheckStatus::kPassed;
  c.duration_s = 2.5;
  ASSERT_TRUE(s.PutBackupCheck(c).ok());
  Webhook h;
  h.url = "https://hooks.example/x";
  h.secret = "shh";
  h.events = {"backup.failed"};
  Id hid = s.CreateWebhook(h)->id;
  WebhookDelivery d;
  d.webhook_id = hid;
  d.event = "backup.failed";
  d.body = "{}";
  ASSERT_TRUE(s.CreateWebhookDelivery(d).ok());
  Instance gone_instance;
  gone_instance.name = "gamma";
  gone_instance.agent_url = "https://10.0.0.3:8443";
  ASSERT_TRUE(s.DeleteInstance(s.CreateInstance(gone_instance)->id).ok());
}

// The records a user would notice, compared field by field.
void ExpectSameRecords(Store& a, Store& b) {
  auto ua = a.ListUsers(), ub = b.ListUsers();
  ASSERT_TRUE(ua.ok() && ub.ok());
  ASSERT_EQ(ua->size(), ub->size());
  for (size_t i = 0; i < ua->size(); ++i) {
    EXPECT_EQ((*ua)[i].id, (*ub)[i].id);
    EXPECT_EQ((*ua)[i].username, (*ub)[i].username);
    EXPECT_EQ((*ua)[i].password_hash, (*ub)[i].password_hash);
    EXPECT_EQ((*ua)[i].created_at, (*ub)[i].created_at);
  }
  auto bob = b.GetUserByName("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(*a.GetUserInstances(bob->id), *b.GetUserInstances(bob->id));
  EXPECT_EQ(a.ListApiTokens(bob->id)->size(), 1u);
  EXPECT_EQ(b.ListApiTokens(bob->id)->front().token_hash, "tok");
  EXPECT_EQ(b.GetSession("sess")->expires_at, 4'000'000'000);
  BackupFilter f;
  auto ba = a.ListBackups(f, nullptr), bb = b.ListBackups(f, nullptr);
  ASSERT_TRUE(ba.ok() && bb.ok());
  ASSERT_EQ(bb->size(), 1u);
  const Backup& x = ba->front();
  const Backup& y = bb->front();
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.size_bytes, y.size_bytes);
  EXPECT_EQ(y.size_bytes, 0xFFFF'FFFF'0000'0001ull);
  EXPECT_EQ(x.note, y.note);
  EXPECT_EQ(x.paths, y.paths);
  EXPECT_EQ(x.schedule_id, y.schedule_id);
  EXPECT_EQ(x.file_path, y.file_path);
  auto sa = a.ListSchedules(), sb = b.ListSchedules();
  EXPECT_EQ(sa->front().last_slot, sb->front().last_slot);
  EXPECT_EQ(sa->front().instance_ids, sb->front().instance_ids);
  auto ca = b.ListBackupChecks({y.id});
  ASSERT_EQ(ca->size(), 1u);
  EXPECT_DOUBLE_EQ(ca->front().duration_s, 2.5);
  AuditFilter af;
  int64_t audit_total = 0;
  auto ev = b.ListAudit(af, &audit_total);
  EXPECT_EQ(audit_total, 1);
  EXPECT_EQ(ev->front().detail_json, R"({"backup":1})");
  auto hooks = b.ListWebhooks();
  ASSERT_EQ(hooks->size(), 1u);
  EXPECT_EQ(hooks->front().secret, "shh");
  EXPECT_EQ(b.ListWebhookDeliveries(hooks->front().id, 10)->size(), 1u);
  EXPECT_EQ(b.ListRestores(std::nullopt, 10)->front().target_instance_name, "beta");
}

int64_t Rows(const std::vector<TableCopy>& copies, const std::string& table) {
  for (const TableCopy& c : copies) {
    if (c.table == table) return c.rows;
  }
  return -1;
}

TEST(StoreCopy, SqliteToPostgresToSqliteKeepsEveryRowAndId) {
  TempDir dir;
  const std::string first = "sqlite://" + dir.file("first.db");
  const std::string pg = clawback::testing::FreshDatabaseUrl();
  const std::string second = "sqlite://" + dir.file("second.db");
  ASSERT_FALSE(pg.empty());
  {
    auto s = OpenUrl(first);
    ASSERT_NE(s, nullptr);
    Populate(*s);
    ASSERT_FALSE(::testing::Test::HasFailure());
  }

  auto there = CopyStore(Url(first), Url(pg));
  ASSERT_TRUE(there.ok()) << there.status().ToString();
  EXPECT_EQ(there->size(), 13u);  // with leases (migration 8)
  EXPECT_EQ(Rows(*there, "users"), 2);
  EXPECT_EQ(Rows(*there, "user_instances"), 2);
  EXPECT_EQ(Rows(*there, "instances"), 2);
  EXPECT_EQ(Rows(*there, "webhook_deliveries"), 1);
  auto back = CopyStore(Url(pg), Url(second));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), there->size());
  for (size_t i = 0; i < back->size(); ++i) {
    EXPECT_EQ((*back)[i].table, (*there)[i].table);
    EXPECT_EQ((*back)[i].rows, (*there)[i].rows) << (*back)[i].table;
  }

  auto a = OpenUrl(first);
  auto p = OpenUrl(pg);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(p, nullptr);
  ExpectSameRecords(*a, *p);
  a.reset();
  auto c = OpenUrl(second);
  ASSERT_NE(c, nullptr);
  a = OpenUrl(first);
  ASSERT_NE(a, nullptr);
  ExpectSameRecords(*a, *c);

  // Ids deleted at the source (user "gone", instance "gamma") stay used.
  for (Store* s : {p.get(), c.get()}) {
    User u;
    u.username = "new";
    u.password_hash = "x";
    auto made = s->CreateUser(u);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    EXPECT_EQ(made->id, 4);  // admin 1, gone 2, bob 3
    Instance i;
    i.name = "delta";
    i.agent_url = "https://10.0.0.4:8443";
    EXPECT_EQ(s->CreateInstance(i)->id, 4);  // alpha 1, beta 2, gamma 3
  }
}

// Many rows in the tables with each kind of key: integer ids (instances,
// audit_events, backups), a text key (sessions) and two-column keys
// (user_instances, backup_checks).
void PopulateMany(Store& s) {
  std::vector<Id> instances;
  for (int i = 0; i < 30; ++i) {
    Instance in;
    in.name = "many-" + std::to_string(i);
    in.agent_url = "https://10.1.0." + std::to_string(i) + ":8443";
    instances.push_back(s.CreateInstance(in)->id);
  }
  for (int u = 0; u < 3; ++u) {
    User user;
    user.username = "many-user-" + std::to_string(u);
    user.password_hash = "$scrypt$" + std::to_string(u);
    Id uid = s.CreateUser(user)->id;
    ASSERT_TRUE(s.SetUserInstances(uid, instances).ok());
    for (int k = 0; k < 15; ++k) {
      Session sess;
      sess.token_hash = "tok-" + std::to_string(u) + "-" + std::to_string(k) + (k % 2 ? "-Z" : "-a");
      sess.user_id = uid;
      sess.expires_at = 4'000'000'000 + k;
      ASSERT_TRUE(s.CreateSession(sess).ok());
    }
  }
  for (int i = 0; i < 20; ++i) {
    Backup b;
    b.instance_id = instances[i];
    b.instance_name = "many-" + std::to_string(i);
    b.status = BackupStatus::kCompleted;
    b.paths = {"/home/claworc", "/etc/x" + std::to_string(i)};
    b.size_bytes = 1000 + i;
    b.note = i % 3 ? "" : "note ? 'x' " + std::to_string(i);
    Id bid = s.CreateBackup(b)->id;
    for (CheckKind kind : {CheckKind::kVerify, CheckKind::kDrill}) {
      BackupCheck c;
      c.backup_id = bid;
      c.kind = kind;
      c.status = CheckStatus::kPassed;
      c.duration_s = 0.25 * i;
      ASSERT_TRUE(s.PutBackupCheck(c).ok());
    }
  }
  for (int i = 0; i < 64; ++i) {
    AuditEvent e;
    e.actor = "many";
    e.action = "test.event";
    e.target = "n:" + std::to_string(i);
    e.outcome = "ok";
    e.detail_json = R"({"i":)" + std::to_string(i) + "}";
    ASSERT_TRUE(s.AppendAudit(e).ok());
  }
}

// Every table of a SQLite file, each row's values as text in key order:
// what must come back unchanged from a round trip.
std::map<std::string, std::vector<std::string>> Dump(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::map<std::string, std::vector<std::string>> out;
  SQLite::Statement tables(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'");
  std::vector<std::string> names;
  while (tables.executeStep()) names.push_back(tables.getColumn(0).getString());
  for (const std::string& t : names) {
    if (t == "schema_migrations") continue;  // applied_at differs: each file was migrated on its own
    SQLite::Statement rows(db, "SELECT * FROM " + t + " ORDER BY 1, 2");
    while (rows.executeStep()) {
      std::string row;
      for (int c = 0; c < rows.getColumnCount(); ++c) {
        row += std::string(rows.getColumnName(c)) + "=" +
               (rows.getColumn(c).isNull() ? "NULL" : rows.getColumn(c).getString()) + "|";
      }
      out[t].push_back(row);
    }
  }
  return out;
}

TEST(StoreCopy, TablesOfManyPagesRoundTripExactly) {
  TempDir dir;
  const std::string first = dir.file("first.db");
  const std::string pg = clawback::testing::FreshDatabaseUrl();
  const std::string second = dir.file("second.db");
  ASSERT_FALSE(pg.empty());
  {
    auto s = OpenUrl("sqlite://" + first);
    ASSERT_NE(s, nullptr);
    Populate(*s);
    PopulateMany(*s);
    ASSERT_FALSE(::testing::Test::HasFailure());
  }
  const StoreCopyOptions small_pages{.batch_rows = 7};
  auto there = CopyStore(Url("sqlite://" + first), Url(pg), small_pages);
  ASSERT_TRUE(there.ok()) << there.status().ToString();
  EXPECT_EQ(Rows(*there, "user_instances"), 2 + 90);  // 14 pages, two-column key
  EXPECT_EQ(Rows(*there, "sessions"), 1 + 45);        // text key
  EXPECT_EQ(Rows(*there, "audit_events"), 1 + 64);
  EXPECT_EQ(Rows(*there, "backup_checks"), 1 + 40);
  EXPECT_EQ(Rows(*there, "instances"), 2 + 30);
  auto back = CopyStore(Url(pg), Url("sqlite://" + second), small_pages);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), there->size());
  for (size_t i = 0; i < back->size(); ++i) EXPECT_EQ((*back)[i].rows, (*there)[i].rows) << (*back)[i].table;

  const auto before = Dump(first);
  const auto after = Dump(second);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [table, rows] : before) {
    SCOPED_TRACE(table);
    ASSERT_TRUE(after.count(table));
    EXPECT_EQ(rows, after.at(table));
  }
  // A page size that divides a table exactly (the last page is full and the
  // one after it empty) and one of a single row.
  for (int batch : {5, 1}) {
    SCOPED_TRACE(batch);
    const std::string third = dir.file("third-" + std::to_string(batch) + ".db");
    auto again = CopyStore(Url(pg), Url("sqlite://" + third), {.batch_rows = batch});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(Dump(third), before);
  }
  EXPECT_EQ(CopyStore(Url(pg), Url("sqlite://" + dir.file("x.db")), {.batch_rows = 0}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(StoreCopy, RefusesATargetThatHoldsRows) {
  TempDir dir;
  const std::string source = "sqlite://" + dir.file("source.db");
  const std::string pg = clawback::testing::FreshDatabaseUrl();
  ASSERT_FALSE(pg.empty());
  {
    auto s = OpenUrl(source);
    ASSERT_NE(s, nullptr);
    Populate(*s);
  }
  {
    auto t = OpenUrl(pg);
    ASSERT_NE(t, nullptr);
    Instance i;
    i.name = "already-here";
    i.agent_url = "https://10.0.0.9:8443";
    ASSERT_TRUE(t->CreateInstance(i).ok());
  }
  auto copied = CopyStore(Url(source), Url(pg));
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(copied.status().message(), "target database is not empty: table instances has 1 rows");
  auto t = OpenUrl(pg);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->ListUsers()->empty()) << "nothing copied";
  EXPECT_EQ(t->ListInstances()->size(), 1u);

  auto same = CopyStore(Url(source), Url(source));
  EXPECT_EQ(same.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace clawback::controller
