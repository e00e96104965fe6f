// Backup and schedule records keep their excludes, presets, strict option and
// database counts in a real store (SQLite and PostgreSQL), and a database written by the
// previous schema (version 1) is upgraded with its rows intact and the new
// fields at their defaults.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "controller/store/migrations.h"
#include "controller/store/sqlite_store.h"
#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

using testing::EngineStoreTest;
using testing::OpenTestStore;
using testing::TempDir;

class StoreExcludes : public EngineStoreTest {};
CLAWBACK_BOTH_ENGINES(StoreExcludes);

Instance MakeInstance(Store& store) {
  Instance i;
  i.name = "alpha";
  i.agent_url = "https://127.0.0.1:1";
  auto made = store.CreateInstance(i);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? *made : i;
}

TEST_P(StoreExcludes, BackupRecordsKeepExcludesStrictAndDatabaseCounts) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Instance alpha = MakeInstance(*store);
  Backup b;
  b.instance_id = alpha.id;
  b.instance_name = alpha.name;
  b.paths = {"/home/claworc"};
  b.excludes = {"/home/claworc/**/build", "/srv/a b"};
  b.exclude_presets = {"logs", "caches"};
  b.strict = true;
  auto created = store->CreateBackup(b);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto got = store->GetBackup(created->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->excludes, b.excludes);
  EXPECT_EQ(got->exclude_presets, b.exclude_presets);
  EXPECT_TRUE(got->strict);
  EXPECT_EQ(got->databases_captured, 0u);

  Backup done = *got;
  done.status = BackupStatus::kCompleted;
  done.databases_captured = 3;
  done.databases_raw = 1;
  done.warnings = {"database archived as plain bytes: /home/claworc/x.sqlite: locked"};
  ASSERT_TRUE(store->UpdateBackup(done).ok());
  auto listed = store->ListCompletedBackups(alpha.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].databases_captured, 3u);
  EXPECT_EQ((*listed)[0].databases_raw, 1u);
  EXPECT_EQ((*listed)[0].warnings, done.warnings);
  EXPECT_EQ((*listed)[0].excludes, b.excludes);
  EXPECT_TRUE((*listed)[0].strict);
}

TEST_P(StoreExcludes, SchedulesKeepExcludesAndStrictAcrossUpdates) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Schedule s;
  s.name = "nightly";
  s.all_instances = true;
  s.cron = "0 2 * * *";
  s.paths = {"HOME"};
  s.excludes = {"/home/claworc/tmp"};
  s.exclude_presets = {"caches"};
  s.strict = true;
  auto created = store->CreateSchedule(s);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto got = store->GetSchedule(created->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->excludes, s.excludes);
  EXPECT_EQ(got->exclude_presets, s.exclude_presets);
  EXPECT_TRUE(got->strict);

  Schedule edited = *got;
  edited.exclude_presets = {"logs"};
  edited.strict = false;
  ASSERT_TRUE(store->UpdateSchedule(edited).ok());
  auto again = store->GetSchedule(created->id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->exclude_presets, std::vector<std::string>{"logs"});
  EXPECT_EQ(again->excludes, s.excludes);
  EXPECT_FALSE(again->strict);
}

TEST(StoreExcludesSqlite, UpgradesAVersion1DatabaseKeepingItsRows) {
  TempDir dir;
  const std::string path = dir.file("clawback.db");
  {
    // What the previous release wrote: migration 1 only, one backup, one schedule.
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
        "applied_at INTEGER NOT NULL)");
    const store::Migration& first = store::Migrations()[0];
    ASSERT_EQ(first.version, 1);
    db.exec(first.sql);
    db.exec("INSERT INTO schema_migrations VALUES (1, 'initial schema', 0)");
    db.exec(
        "INSERT INTO backups (instance_id, instance_name, status, paths_json, warnings_json, created_at) "
        "VALUES (7, 'old', 'completed', '[\"/home/claworc\"]', '[\"vanished: /x\"]', 1000)");
    db.exec("INSERT INTO schedules (name, cron, created_at) VALUES ('old nightly', '0 2 * * *', 1000)");
  }
  auto store = OpenTestStore(dir);
  ASSERT_NE(store, nullptr);
  auto b = store->GetBackup(1);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->instance_name, "old");
  EXPECT_EQ(b->warnings, std::vector<std::string>{"vanished: /x"});
  EXPECT_TRUE(b->excludes.empty());
  EXPECT_TRUE(b->exclude_presets.empty());
  EXPECT_FALSE(b->strict);
  EXPECT_EQ(b->databases_captured, 0u);
  EXPECT_EQ(b->databases_raw, 0u);
  auto s = store->GetSchedule(1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "old nightly");
  EXPECT_TRUE(s->excludes.empty());
  EXPECT_FALSE(s->strict);
}

}  // namespace
}  // namespace clawback::controller
