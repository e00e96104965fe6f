// Every group of Store methods on both engines, through the same SqlStore:
// ids, unique and foreign-key clashes mapped to AlreadyExists/NotFound, the
// last-admin rule, cascades, the append-only audit log, upserted checks,
// paging and counts, and uint64 sizes stored bit for bit.
#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "tests/controller/store/test_store.h"

namespace clawback::controller {
namespace {

class StoreRecords : public testing::EngineStoreTest {
 protected:
  void SetUp() override {
    EngineStoreTest::SetUp();
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  User MakeUser(const std::string& name, Role role = Role::kUser) {
    User u;
    u.username = name;
    u.role = role;
    u.password_hash = "hash-" + name;
    auto made = store_->CreateUser(u);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : u;
  }

  Instance MakeInstance(const std::string& name) {
    Instance i;
    i.name = name;
    i.agent_url = "https://127.0.0.1:9";
    auto made = store_->CreateInstance(i);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : i;
  }

  std::unique_ptr<Store> store_;
};
CLAWBACK_BOTH_ENGINES(StoreRecords);

TEST_P(StoreRecords, UsersGetIncreasingIdsAndUniqueNames) {
  User a = MakeUser("alice", Role::kAdmin);
  User b = MakeUser("bob");
  EXPECT_GT(a.id, 0);
  EXPECT_GT(b.id, a.id);
  EXPECT_GT(a.created_at, 0);

  User dup;
  dup.username = "alice";
  dup.password_hash = "x";
  auto clash = store_->CreateUser(dup);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(clash.status().message(), "user \"alice\" already exists");

  User renamed = b;
  renamed.username = "alice";
  EXPECT_EQ(store_->UpdateUser(renamed).code(), Status::Code::kAlreadyExists);

  auto got = store_->GetUserByName("bob");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, b.id);
  EXPECT_EQ(got->password_hash, "hash-bob");
  EXPECT_EQ(store_->GetUser(999).status().message(), "user 999 not found");
  auto all = store_->ListUsers();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].username, "alice");

  // A deleted id is never handed out again.
  ASSERT_TRUE(store_->DeleteUser(b.id).ok());
  User c = MakeUser("carol");
  EXPECT_GT(c.id, b.id);
}

TEST_P(StoreRecords, LastAdminCanBeNeitherDemotedNorDeleted) {
  User a = MakeUser("alice", Role::kAdmin);
  User demoted = a;
  demoted.role = Role::kUser;
  Status st = store_->UpdateUser(demoted);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(store_->DeleteUser(a.id).code(), Status::Code::kFailedPrecondition);
  User b = MakeUser("bob", Role::kAdmin);
  EXPECT_EQ(*store_->CountAdmins(), 2);
  EXPECT_TRUE(store_->UpdateUser(demoted).ok());
  EXPECT_EQ(store_->DeleteUser(b.id).code(), Status::Code::kFailedPrecondition);
}

TEST_P(StoreRecords, ConcurrentDemotionsLeaveOneAdmin) {
  // Two admins demoted at once from two threads: the check-then-write runs
  // in a serialized transaction, so exactly one demotion wins.
  User a = MakeUser("alice", Role::kAdmin);
  User b = MakeUser("bob", Role::kAdmin);
  for (int round = 0; round < 5; ++round) {
    Status sa, sb;
    User da = a, db = b;
    da.role = db.role = Role::kUser;
    std::thread ta([&] { sa = store_->UpdateUser(da); });
    std::thread tb([&] { sb = store_->UpdateUser(db); });
    ta.join();
    tb.join();
    EXPECT_NE(sa.ok(), sb.ok()) << sa.ToString() << " / " << sb.ToString();
    EXPECT_EQ(*store_->CountAdmins(), 1);
    a.role = b.role = Role::kAdmin;
    ASSERT_TRUE(store_->UpdateUser(a).ok());
    ASSERT_TRUE(store_->UpdateUser(b).ok());
  }
}

TEST_P(StoreRecords, SessionsAndTokensGoWithTheirUser) {
  User u = MakeUser("alice");
  Session s;
  s.token_hash = "sess-1";
  s.user_id = u.id;
  s.csrf_token = "csrf";
  s.created_at = 100;
  s.expires_at = 1000;
  ASSERT_TRUE(store_->CreateSession(s).ok());
  EXPECT_EQ(store_->CreateSession(s).code(), Status::Code::kAlreadyExists);
  Session orphan = s;
  orphan.token_hash = "sess-2";
  orphan.user_id = 4242;
  Status fk = store_->CreateSession(orphan);
  EXPECT_EQ(fk.code(), Status::Code::kNotFound);
  EXPECT_EQ(fk.message(), "user 4242 not found");

  // Touch only moves forward.
  ASSERT_TRUE(store_->TouchSession("sess-1", 500).ok());
  ASSERT_TRUE(store_->TouchSession("sess-1", 300).ok());
  EXPECT_EQ(store_->GetSession("sess-1")->last_seen_at, 500);
  EXPECT_EQ(store_->TouchSession("nope", 1).code(), Status::Code::kNotFound);

  ApiToken t;
  t.user_id = u.id;
  t.name = "ci";
  t.token_hash = "tok-1";
  t.can_create_tokens = true;
  auto made = store_->CreateApiToken(t);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_GT(made->id, 0);
  EXPECT_EQ(store_->CreateApiToken(t).status().code(), Status::Code::kAlreadyExists);
  ASSERT_TRUE(store_->TouchApiToken(made->id, 900).ok());
  ASSERT_TRUE(store_->TouchApiToken(made->id, 800).ok());
  auto got = store_->GetApiTokenByHash("tok-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->last_used_at, 900);
  EXPECT_TRUE(got->can_create_tokens);
  EXPECT_EQ(store_->RevokeApiToken(u.id + 1, made->id).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->RevokeApiToken(u.id, made->id).ok());
  EXPECT_TRUE(store_->GetApiTokenByHash("tok-1")->revoked);

  ASSERT_TRUE(store_->DeleteExpiredSessions(999).ok());
  EXPECT_TRUE(store_->GetSession("sess-1").ok());
  ASSERT_TRUE(store_->DeleteUser(u.id).ok());
  EXPECT_EQ(store_->GetSession("sess-1").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->GetApiTokenByHash("tok-1").status().code(), Status::Code::kNotFound);
}

TEST_P(StoreRecords, InstancesAssignmentsAndSchedulesForgetADeletedInstance) {
  User u = MakeUser("alice");
  Instance a = MakeInstance("alpha");
  Instance b = MakeInstance("beta");
  EXPECT_EQ(store_->CreateInstance(a).status().code(), Status::Code::kAlreadyExists);
  ASSERT_TRUE(store_->SetUserInstances(u.id, {b.id, a.id, a.id}).ok());
  EXPECT_EQ(*store_->GetUserInstances(u.id), (std::vector<Id>{a.id, b.id}));
  EXPECT_EQ(store_->SetUserInstances(u.id, {a.id, 777}).code(), Status::Code::kNotFound);
  EXPECT_EQ(*store_->GetUserInstances(u.id), (std::vector<Id>{a.id, b.id})) << "a failed set changes nothing";

  Schedule s;
  s.name = "nightly";
  s.cron = "0 2 * * *";
  s.instance_ids = {a.id, b.id};
  auto sched = store_->CreateSchedule(s);
  ASSERT_TRUE(sched.ok()) << sched.status().ToString();

  ASSERT_TRUE(store_->DeleteInstance(a.id).ok());
  EXPECT_EQ(*store_->GetUserInstances(u.id), (std::vector<Id>{b.id}));
  EXPECT_EQ(store_->GetSchedule(sched->id)->instance_ids, (std::vector<Id>{b.id}));
  EXPECT_EQ(store_->DeleteInstance(a.id).code(), Status::Code::kNotFound);
  auto listed = store_->ListInstances();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().name, "beta");
}

TEST_P(StoreRecords, BackupsFilterPageCountAndKeepLargeSizes) {
  Instance a = MakeInstance("alpha");
  Instance b = MakeInstance("beta");
  Schedule s;
  s.name = "hourly";
  s.cron = "@hourly";
  s.all_instances = true;
  Id sid = store_->CreateSchedule(s)->id;
  for (int i = 0; i < 7; ++i) {
    Backup bk;
    bk.instance_id = i % 2 ? b.id : a.id;
    bk.instance_name = i % 2 ? "beta" : "alpha";
    bk.status = i < 5 ? BackupStatus::kCompleted : BackupStatus::kRunning;
    bk.created_at = 1000 + i;
    bk.paths = {"/home/claworc", "/it's \"quoted\" ?"};
    if (i == 0) bk.schedule_id = sid;
    bk.size_bytes = 0xFFFF'FFFF'FFFF'FFF0ull;  // above INT64_MAX: stored bit for bit
    auto made = store_->CreateBackup(bk);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
  }
  Backup orphan;
  orphan.instance_id = a.id;
  orphan.instance_name = "alpha";
  orphan.schedule_id = 9999;
  auto bad = store_->CreateBackup(orphan);
  EXPECT_EQ(bad.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(bad.status().message(), "schedule 9999 not found");

  BackupFilter f;
  f.limit = 2;
  f.offset = 1;
  int64_t total = 0;
  auto page = store_->ListBackups(f, &total);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(total, 7);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].created_at, 1005);  // newest first, one skipped
  EXPECT_EQ((*page)[0].size_bytes, 0xFFFF'FFFF'FFFF'FFF0ull);
  EXPECT_EQ((*page)[0].paths, (std::vector<std::string>{"/home/claworc", "/it's \"quoted\" ?"}));

  f = {};
  f.instance_name = "alpha";
  f.status = BackupStatus::kCompleted;
  ASSERT_TRUE(store_->ListBackups(f, &total).ok());
  EXPECT_EQ(total, 3);
  f = {};
  f.visible_instances = std::vector<Id>{b.id};
  ASSERT_TRUE(store_->ListBackups(f, &total).ok());
  EXPECT_EQ(total, 3);
  f = {};
  f.limit = 501;
  EXPECT_EQ(store_->ListBackups(f, &total).status().code(), Status::Code::kInvalidArgument);

  EXPECT_EQ(store_->ListUnfinishedBackups()->size(), 2u);
  EXPECT_EQ(store_->ListCompletedBackups(a.id)->size(), 3u);

  // Deleting the schedule keeps its backup, with schedule_id unset.
  ASSERT_TRUE(store_->DeleteSchedule(sid).ok());
  f = {};
  f.instance_name = "alpha";
  f.limit = 500;
  auto all = store_->ListBackups(f, nullptr);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(std::none_of(all->begin(), all->end(), [](const Backup& x) { return x.schedule_id.has_value(); }));

  Backup first = all->back();
  ASSERT_TRUE(store_->UpdateBackupProgress(first.id, 12345).ok());
  EXPECT_EQ(store_->GetBackup(first.id)->progress_bytes, 12345u);
  ASSERT_TRUE(store_->DeleteBackup(first.id).ok());
  EXPECT_EQ(store_->GetBackup(first.id).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->UpdateBackupProgress(first.id, 1).code(), Status::Code::kNotFound);
}

TEST_P(StoreRecords, RestoresRoundTrip) {
  Restore r;
  r.backup_id = 5;
  r.target_instance_id = 6;
  r.target_instance_name = "alpha";
  r.paths_json = R"(["/home/claworc/x"])";
  r.dry_run = true;
  auto made = store_->CreateRestore(r);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Restore done = *made;
  done.status = RestoreStatus::kCompleted;
  done.bytes_written = 1ull << 40;
  done.skipped_json = R"([{"path":"/a","reason":"b"}])";
  done.quiesced = true;
  ASSERT_TRUE(store_->UpdateRestore(done).ok());
  auto got = store_->GetRestore(made->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->bytes_written, 1ull << 40);
  EXPECT_EQ(got->skipped_json, done.skipped_json);
  EXPECT_TRUE(got->dry_run);
  EXPECT_TRUE(got->quiesced);
  EXPECT_EQ(store_->ListRestores(Id{5}, 10)->size(), 1u);
  EXPECT_EQ(store_->ListRestores(std::nullopt, 10)->size(), 1u);
  EXPECT_TRUE(store_->ListUnfinishedRestores()->empty());
  done.skipped_json = "{}";
  EXPECT_EQ(store_->UpdateRestore(done).code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreRecords, ScheduleSlotsOnlyAdvance) {
  Schedule s;
  s.name = "nightly";
  s.cron = "0 2 * * *";
  s.retention.keep_daily = 7;
  Id id = store_->CreateSchedule(s)->id;
  ASSERT_TRUE(store_->RecordScheduleFired(id, 100, 101, "started 1").ok());
  Status again = store_->RecordScheduleFired(id, 100, 102, "again");
  EXPECT_EQ(again.code(), Status::Code::kFailedPrecondition) << again.ToString();
  EXPECT_EQ(store_->RecordScheduleFired(404, 100, 102, "x").code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->RecordScheduleResult(id, 150, "done").ok());
  auto got = store_->GetSchedule(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->last_slot, 100);
  EXPECT_EQ(got->last_run_at, 150);
  EXPECT_EQ(got->last_result, "done");
  EXPECT_EQ(got->retention.keep_daily, 7);
}

TEST_P(StoreRecords, AuditLogIsAppendOnlyAndFiltered) {
  for (int i = 0; i < 5; ++i) {
    AuditEvent e;
    e.at = 100 + i;
    e.actor = i % 2 ? "bob" : "alice";
    e.action = "backup.create";
    e.outcome = "ok";
    e.detail_json = R"({"n":)" + std::to_string(i) + "}";
    ASSERT_TRUE(store_->AppendAudit(e).ok());
  }
  AuditEvent bad;
  bad.actor = "x";
  bad.action = "y";
  bad.outcome = "ok";
  bad.detail_json = "[]";
  EXPECT_EQ(store_->AppendAudit(bad).code(), Status::Code::kInvalidArgument);
  AuditFilter f;
  f.actor = "alice";
  f.since = 101;
  int64_t total = 0;
  auto got = store_->ListAudit(f, &total);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(total, 2);
  EXPECT_EQ(got->front().at, 104);
}

TEST_P(StoreRecords, ChecksAreReplacedPerKindAndGoWithTheirBackup) {
  Instance a = MakeInstance("alpha");
  Backup bk;
  bk.instance_id = a.id;
  bk.instance_name = "alpha";
  Id bid = store_->CreateBackup(bk)->id;
  BackupCheck c;
  c.backup_id = bid;
  c.kind = CheckKind::kVerify;
  c.at = 10;
  ASSERT_TRUE(store_->PutBackupCheck(c).ok());
  c.status = CheckStatus::kPassed;
  c.duration_s = 1.25;
  ASSERT_TRUE(store_->PutBackupCheck(c).ok());
  c.kind = CheckKind::kDrill;
  c.status = CheckStatus::kRunning;
  ASSERT_TRUE(store_->PutBackupCheck(c).ok());
  ASSERT_TRUE(store_->FailRunningChecks(20, "controller restarted", "").ok());
  auto checks = store_->ListBackupChecks({bid});
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  ASSERT_EQ(checks->size(), 2u);
  for (const BackupCheck& got : *checks) {
    if (got.kind == CheckKind::kVerify) {
      EXPECT_EQ(got.status, CheckStatus::kPassed);
      EXPECT_DOUBLE_EQ(got.duration_s, 1.25);
    } else {
      EXPECT_EQ(got.status, CheckStatus::kFailed);
      EXPECT_EQ(got.error, "controller restarted");
    }
  }
  ASSERT_TRUE(store_->DeleteBackup(bid).ok());
  EXPECT_TRUE(store_->ListBackupChecks({bid})->empty());
}

TEST_P(StoreRecords, WebhookDeliveriesGoWithTheirWebhook) {
  Webhook h;
  h.url = "https://example.test/hook";
  h.secret = "s";
  h.events = {"backup.failed"};
  auto hook = store_->CreateWebhook(h);
  ASSERT_TRUE(hook.ok()) << hook.status().ToString();
  WebhookDelivery d;
  d.webhook_id = hook->id;
  d.event = "backup.failed";
  d.body = "{}";
  auto made = store_->CreateWebhookDelivery(d);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  made->attempts = 2;
  made->status = "delivered";
  made->http_status = 204;
  ASSERT_TRUE(store_->UpdateWebhookDelivery(*made).ok());
  auto listed = store_->ListWebhookDeliveries(hook->id, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().http_status, 204);
  d.webhook_id = 999;
  EXPECT_EQ(store_->CreateWebhookDelivery(d).status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->DeleteWebhook(hook->id).ok());
  EXPECT_TRUE(store_->ListWebhookDeliveries(hook->id, 10)->empty());
  EXPECT_EQ(store_->GetWebhook(hook->id).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace clawback::controller
