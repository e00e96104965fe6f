// Scheduler firing and retention against a real SQLite store (a file in a
// temporary directory) with a FakeClock and a recording TransferService. No
// test waits for wall-clock time to pass.
#include "controller/scheduler/scheduler.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "controller/clock.h"
#include "controller/jobs/transfers.h"
#include "controller/store/store.h"

namespace clawback::controller {
namespace {

namespace fs = std::filesystem;

constexpr UnixTime kJan1 = 1767225600;  // 2026-01-01T00:00:00Z
constexpr UnixTime kHour = 3600;
constexpr UnixTime kDay = 86400;
constexpr UnixTime kSlot1 = kJan1 + 2 * kHour;  // 02:00Z, first daily slot

// Records StartBackup calls as queued backup records; instances in `busy`
// answer Conflict like the real service does with skip_if_busy.
class RecordingTransfers final : public TransferService {
 public:
  explicit RecordingTransfers(Store* store) : store_(store) {}
  void SetStore(Store* store) { store_ = store; }

  Result<Backup> StartBackup(const BackupRequest& request, bool skip_if_busy) override {
    std::lock_guard lock(mu_);
    if (skip_if_busy && busy.count(request.instance.id)) {
      return Status::Conflict("instance " + request.instance.name + " is busy");
    }
    requests.push_back(request);
    Backup b;
    b.instance_id = request.instance.id;
    b.instance_name = request.instance.name;
    b.status = BackupStatus::kQueued;
    b.paths = request.paths;
    b.note = request.note;
    b.created_by = request.created_by;
    b.created_by_name = request.created_by_name;
    b.schedule_id = request.schedule_id;
    auto created = store_->CreateBackup(b);
    started.notify_all();
    return created;
  }
  Result<Restore> StartRestore(const RestoreRequest&) override { return Status::Internal("unused"); }
  Status CancelBackup(Id) override { return Status::Internal("unused"); }
  std::optional<uint64_t> LiveProgress(Id) const override { return std::nullopt; }
  bool IsBusy(Id instance_id) const override { return busy.count(instance_id) > 0; }
  int RunningCount() const override { return 0; }
  int QueuedCount() const override { return 0; }
  void Shutdown() override {}

  size_t Count() {
    std::lock_guard lock(mu_);
    return requests.size();
  }
  std::set<std::string> Names() {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (const auto& r : requests) out.insert(r.instance.name);
    return out;
  }

  std::mutex mu_;
  std::condition_variable started;
  std::vector<BackupRequest> requests;  // guarded by mu_
  std::set<Id> busy;

 private:
  Store* store_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/clawback-scheduler-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    OpenStore();
  }
  void TearDown() override {
    scheduler_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void OpenStore() {
    scheduler_.reset();
    store_.reset();
    auto store = OpenSqliteStore(dir_ + "/clawback.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    transfers_.SetStore(store_.get());
    scheduler_ = MakeScheduler(*store_, transfers_, clock_, settings_);
  }

  Instance AddInstance(const std::string& name) {
    Instance i;
    i.name = name;
    i.agent_url = "https://" + name + ".example:8443";
    i.created_at = clock_.Now();
    auto created = store_->CreateInstance(i);
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? *created : i;
  }

  Schedule AddSchedule(const std::string& name, const std::string& cron, bool all = true,
                       std::vector<Id> ids = {}, RetentionPolicy retention = {}) {
    Schedule s;
    s.name = name;
    s.cron = cron;
    s.timezone = "UTC";
    s.all_instances = all;
    s.instance_ids = std::move(ids);
    s.paths = {"HOME"};
    s.note = "nightly";
    s.retention = retention;
    s.created_at = clock_.Now();
    EXPECT_TRUE(ValidateSchedule(s).ok()) << ValidateSchedule(s).message();
    auto created = store_->CreateSchedule(s);
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? *created : s;
  }

  Schedule Reload(Id id) {
    auto s = store_->GetSchedule(id);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : Schedule{};
  }

  std::string dir_;
  FakeClock clock_{kJan1};
  SchedulerSettings settings_{std::chrono::seconds(3600), std::chrono::seconds(5)};
  RecordingTransfers transfers_{nullptr};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, FiresADueSlotOnceWithScheduleIdentity) {
  Instance web1 = AddInstance("web-1");
  AddInstance("web-2");
  clock_.Set(kJan1 + 30 * 60);  // created at 00:30, between slots
  Schedule s = AddSchedule("nightly", "0 2 * * *");

  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u) << "nothing due yet";

  clock_.Set(kSlot1 + 3);
  scheduler_->Tick();
  scheduler_->Tick();
  ASSERT_EQ(transfers_.Count(), 2u);
  const BackupRequest& r = transfers_.requests[0];
  EXPECT_EQ(r.schedule_id, s.id);
  EXPECT_EQ(r.created_by, 0);
  EXPECT_EQ(r.created_by_name, "schedule:nightly");
  EXPECT_EQ(r.paths, (std::vector<std::string>{"/home/claworc"}));
  EXPECT_EQ(r.note, "nightly");
  EXPECT_EQ(transfers_.Names(), (std::set<std::string>{"web-1", "web-2"}));

  Schedule after = Reload(s.id);
  EXPECT_EQ(after.last_slot, kSlot1);
  EXPECT_EQ(after.last_run_at, kSlot1 + 3);
  EXPECT_EQ(after.last_result, "slot 2026-01-01T02:00:00+00:00: started 2 backups");

  // The audit log says what fired.
  AuditFilter filter;
  filter.action = "schedule.fire";
  int64_t total = 0;
  auto events = store_->ListAudit(filter, &total);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(total, 1);
  EXPECT_EQ((*events)[0].actor, "scheduler");
  EXPECT_EQ((*events)[0].outcome, "ok");

  // The next day's slot fires again.
  clock_.Set(kSlot1 + kDay + 1);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 4u);
  (void)web1;
}

TEST_F(SchedulerTest, FreshScheduleNeverFiresForThePast) {
  AddInstance("web-1");
  clock_.Set(kSlot1 + 10 * 60);  // created 10 minutes after today's slot
  AddSchedule("nightly", "0 2 * * *");
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u);
}

TEST_F(SchedulerTest, DisabledScheduleDoesNotFire) {
  AddInstance("web-1");
  Schedule s = AddSchedule("nightly", "0 2 * * *");
  s.enabled = false;
  ASSERT_TRUE(store_->UpdateSchedule(s).ok());
  clock_.Set(kSlot1);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u);
}

TEST_F(SchedulerTest, AllInstancesResolvedAtFiringTime) {
  Instance web1 = AddInstance("web-1");
  AddSchedule("nightly", "0 2 * * *");
  clock_.Set(kSlot1);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Names(), (std::set<std::string>{"web-1"}));

  // Created after the schedule: included. Removed: dropped.
  AddInstance("web-2");
  AddInstance("web-3");
  ASSERT_TRUE(store_->DeleteInstance(web1.id).ok());
  transfers_.requests.clear();
  clock_.Set(kSlot1 + kDay);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Names(), (std::set<std::string>{"web-2", "web-3"}));
}

TEST_F(SchedulerTest, ListedInstancesThatNoLongerExistAreReported) {
  Instance web1 = AddInstance("web-1");
  Instance web2 = AddInstance("web-2");
  AddInstance("web-3");
  Schedule s = AddSchedule("pair", "0 2 * * *", /*all=*/false, {web1.id, web2.id});
  ASSERT_TRUE(store_->DeleteInstance(web2.id).ok());
  clock_.Set(kSlot1);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Names(), (std::set<std::string>{"web-1"}));
  // The store drops a deleted instance from schedules naming it; either way
  // the deleted one is not backed up and nothing else is added.
  Schedule after = Reload(s.id);
  EXPECT_NE(after.last_result.find("started 1 backup"), std::string::npos) << after.last_result;
}

TEST_F(SchedulerTest, RestartAcrossADueSlotFiresExactlyOnce) {
  AddInstance("web-1");
  Schedule s = AddSchedule("nightly", "0 2 * * *");
  clock_.Set(kSlot1 - 60);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u);

  // Controller down across the slot; a new Scheduler over the same file.
  clock_.Set(kSlot1 + 20 * 60);
  OpenStore();
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 1u);
  EXPECT_NE(Reload(s.id).last_result.find("(caught up 20m late)"), std::string::npos);

  // And again: the recorded slot is not fired a second time.
  OpenStore();
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 1u);
}

TEST_F(SchedulerTest, CrashAfterRecordingLosesTheSlotInsteadOfDoublingIt) {
  AddInstance("web-1");
  Schedule s = AddSchedule("nightly", "0 2 * * *");
  // What a crash between RecordScheduleFired and StartBackup leaves behind.
  ASSERT_TRUE(store_->RecordScheduleFired(s.id, kSlot1, kSlot1, "firing slot").ok());
  clock_.Set(kSlot1 + 60);
  OpenStore();
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u);
  clock_.Set(kSlot1 + kDay);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 1u) << "the next slot fires normally";
}

TEST_F(SchedulerTest, LongOutageInsideGraceFiresOneCatchUp) {
  AddInstance("web-1");
  Schedule s = AddSchedule("quarterly", "*/15 * * * *");
  clock_.Set(kJan1 + 15 * 60);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 1u);

  // Down for 10 hours; the newest missed slot (10:15) is 5 minutes old.
  clock_.Set(kJan1 + 10 * kHour + 20 * 60);
  scheduler_->Tick();
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 2u) << "many missed slots collapse into one run";
  EXPECT_EQ(Reload(s.id).last_slot, kJan1 + 10 * kHour + 15 * 60);
}

TEST_F(SchedulerTest, OutageBeyondGraceRecordsMissedSlotWithoutRunning) {
  // The hook the controller turns into the schedule.missed alert.
  std::vector<std::pair<std::string, std::string>> missed;
  settings_.on_missed = [&](const Schedule& schedule, const std::string& result) {
    missed.emplace_back(schedule.name, result);
  };
  OpenStore();
  AddInstance("web-1");
  Schedule s = AddSchedule("nightly", "0 2 * * *");
  clock_.Set(kSlot1 + 3 * kHour);  // grace is 1h
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u);
  Schedule after = Reload(s.id);
  EXPECT_EQ(after.last_slot, kSlot1);
  EXPECT_EQ(after.last_result,
            "missed slot 2026-01-01T02:00:00+00:00 (controller was down beyond the grace window of 1h)");
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 0u);
  ASSERT_EQ(missed.size(), 1u) << "one alert per missed slot, not per tick";
  EXPECT_EQ(missed[0].first, "nightly");
  EXPECT_EQ(missed[0].second, after.last_result);

  clock_.Set(kSlot1 + kDay);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 1u);
}

TEST_F(SchedulerTest, BusyInstanceIsSkippedWithAReason) {
  Instance web1 = AddInstance("web-1");
  AddInstance("web-2");
  Schedule s = AddSchedule("nightly", "0 2 * * *");
  transfers_.busy.insert(web1.id);
  clock_.Set(kSlot1);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Names(), (std::set<std::string>{"web-2"}));
  EXPECT_EQ(Reload(s.id).last_result,
            "slot 2026-01-01T02:00:00+00:00: started 1 backup; skipped 1: web-1: skipped, a transfer is "
            "already queued or running");
}

TEST_F(SchedulerTest, RunNowDoesNotMoveLastSlot) {
  Instance web1 = AddInstance("web-1");
  AddInstance("web-2");
  Schedule s = AddSchedule("nightly", "0 2 * * *");
  transfers_.busy.insert(web1.id);
  clock_.Set(kJan1 + kHour);
  auto run = scheduler_->RunNow(s.id);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->slot, kJan1 + kHour);
  EXPECT_EQ(run->started_backups.size(), 1u);
  EXPECT_EQ(run->skipped, (std::vector<std::string>{"web-1: skipped, a transfer is already queued or running"}));
  Schedule after = Reload(s.id);
  EXPECT_EQ(after.last_slot, 0);
  EXPECT_EQ(after.last_result, run->summary);
  EXPECT_EQ(run->summary.rfind("run now: started 1 backup", 0), 0u) << run->summary;

  // The cron slot still fires afterwards.
  transfers_.busy.clear();
  clock_.Set(kSlot1);
  scheduler_->Tick();
  EXPECT_EQ(transfers_.Count(), 3u);

  auto missing = scheduler_->RunNow(9999);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

TEST_F(SchedulerTest, BackgroundLoopTicksAndStopsPromptly) {
  AddInstance("web-1");
  AddSchedule("nightly", "0 2 * * *");
  clock_.Set(kSlot1);
  settings_.tick_interval = std::chrono::seconds(3600);  // Stop must not wait for it
  OpenStore();
  scheduler_->Start();
  {
    std::unique_lock lock(transfers_.mu_);
    ASSERT_TRUE(transfers_.started.wait_for(lock, std::chrono::seconds(20),
                                            [&] { return !transfers_.requests.empty(); }));
  }
  auto begin = std::chrono::steady_clock::now();
  scheduler_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  EXPECT_EQ(transfers_.Count(), 1u);
}

// --- retention --------------------------------------------------------------

class RetentionStoreTest : public SchedulerTest {
 protected:
  // A completed backup with a real archive file.
  Backup AddCompleted(const Instance& instance, std::optional<Id> schedule_id, UnixTime created_at) {
    Backup b;
    b.instance_id = instance.id;
    b.instance_name = instance.name;
    b.status = BackupStatus::kCompleted;
    b.paths = {"/home/claworc"};
    b.created_at = created_at;
    b.completed_at = created_at + 60;
    b.schedule_id = schedule_id;
    b.created_by_name = schedule_id ? "schedule:x" : "admin";
    auto created = store_->CreateBackup(b);
    EXPECT_TRUE(created.ok()) << created.status().message();
    Backup out = *created;
    out.file_path = dir_ + "/" + instance.name + "-" + std::to_string(out.id) + ".tar.zst";
    std::ofstream(out.file_path) << "archive " << out.id;
    EXPECT_TRUE(store_->UpdateBackup(out).ok());
    return out;
  }

  std::set<Id> Remaining(Id instance_id) {
    auto list = store_->ListCompletedBackups(instance_id);
    EXPECT_TRUE(list.ok());
    std::set<Id> out;
    for (const Backup& b : *list) {
      out.insert(b.id);
      EXPECT_TRUE(fs::exists(b.file_path)) << b.file_path;
    }
    return out;
  }
};

TEST_F(RetentionStoreTest, PrunesOnlyThisSchedulesOldBackups) {
  Instance web1 = AddInstance("web-1");
  Schedule daily = AddSchedule("daily", "0 2 * * *", true, {}, {.keep_daily = 3});
  Schedule other = AddSchedule("other", "0 3 * * *");
  std::vector<Backup> mine;
  for (int d = 0; d < 6; ++d) mine.push_back(AddCompleted(web1, daily.id, kSlot1 + d * kDay));
  Backup manual = AddCompleted(web1, std::nullopt, kSlot1 - kDay);
  Backup others = AddCompleted(web1, other.id, kSlot1 - 2 * kDay);
  Backup failed = AddCompleted(web1, daily.id, kSlot1 - 3 * kDay);
  failed.status = BackupStatus::kFailed;
  ASSERT_TRUE(store_->UpdateBackup(failed).ok());

  auto deleted = scheduler_->ApplyRetention(daily.id, web1.id);
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  EXPECT_EQ(std::set<Id>(deleted->begin(), deleted->end()), (std::set<Id>{mine[0].id, mine[1].id, mine[2].id}));
  for (int d = 0; d < 3; ++d) {
    EXPECT_FALSE(fs::exists(mine[d].file_path));
    EXPECT_EQ(store_->GetBackup(mine[d].id).status().code(), Status::Code::kNotFound);
  }
  EXPECT_EQ(Remaining(web1.id), (std::set<Id>{mine[3].id, mine[4].id, mine[5].id, manual.id, others.id}));
  EXPECT_TRUE(store_->GetBackup(failed.id).ok()) << "failed backups are never touched";

  AuditFilter filter;
  filter.action = "backup.prune";
  int64_t total = 0;
  auto events = store_->ListAudit(filter, &total);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(total, 3);
  EXPECT_EQ((*events)[0].actor, "scheduler");
  EXPECT_EQ((*events)[0].outcome, "ok");

  // Idempotent.
  auto again = scheduler_->ApplyRetention(daily.id, web1.id);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_F(RetentionStoreTest, KeepsTheNewestCompletedBackupAndEverythingWithoutAPolicy) {
  Instance web1 = AddInstance("web-1");
  Schedule none = AddSchedule("none", "0 2 * * *");
  for (int d = 0; d < 4; ++d) AddCompleted(web1, none.id, kSlot1 + d * kDay);
  auto kept_all = scheduler_->ApplyRetention(none.id, web1.id);
  ASSERT_TRUE(kept_all.ok());
  EXPECT_TRUE(kept_all->empty()) << "empty policy keeps everything";

  Schedule last1 = AddSchedule("last1", "0 4 * * *", true, {}, {.keep_last = 1});
  Backup older = AddCompleted(web1, last1.id, kSlot1);
  Backup newest = AddCompleted(web1, last1.id, kSlot1 + 10 * kDay);
  auto deleted = scheduler_->ApplyRetention(last1.id, web1.id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, (std::vector<Id>{older.id}));
  EXPECT_TRUE(store_->GetBackup(newest.id).ok());
  EXPECT_TRUE(fs::exists(newest.file_path));
}

TEST_F(RetentionStoreTest, OnBackupFinishedAppliesRetentionOnlyToCompletedScheduledBackups) {
  Instance web1 = AddInstance("web-1");
  Schedule s = AddSchedule("daily", "0 2 * * *", true, {}, {.keep_last = 1});
  Backup a = AddCompleted(web1, s.id, kSlot1);
  Backup b = AddCompleted(web1, s.id, kSlot1 + kDay);

  Backup manual = b;
  manual.schedule_id.reset();
  scheduler_->OnBackupFinished(manual);
  EXPECT_TRUE(store_->GetBackup(a.id).ok()) << "a manual backup finishing prunes nothing";
  Backup failed = b;
  failed.status = BackupStatus::kFailed;
  scheduler_->OnBackupFinished(failed);
  EXPECT_TRUE(store_->GetBackup(a.id).ok()) << "a failed backup finishing prunes nothing";

  scheduler_->OnBackupFinished(b);
  EXPECT_EQ(store_->GetBackup(a.id).status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->GetBackup(b.id).ok());
}

// --- validation -----------------------------------------------------------

TEST(ValidateScheduleTest, NamesTheBadField) {
  Schedule good;
  good.name = "nightly";
  good.cron = "0 2 * * *";
  good.timezone = "Europe/Berlin";
  good.all_instances = true;
  good.paths = {"HOME", "/etc"};
  EXPECT_TRUE(ValidateSchedule(good).ok()) << ValidateSchedule(good).message();

  struct Case {
    const char* what;
    std::function<void(Schedule&)> mutate;
    const char* message;
  };
  const Case cases[] = {
      {"name", [](Schedule& s) { s.name = ""; }, "name: must not be empty"},
      {"cron", [](Schedule& s) { s.cron = "0 2 * * 8"; }, "cron: day-of-week value 8 out of range 0-7"},
      {"zone", [](Schedule& s) { s.timezone = "Mars/Olympus"; }, "timezone: unknown time zone Mars/Olympus"},
      {"paths", [](Schedule& s) { s.paths = {"etc/nginx"}; }, "paths: path must be absolute: etc/nginx"},
      {"retention", [](Schedule& s) { s.retention.keep_weekly = -2; },
       "retention: keep_weekly must be between 0 and 100000, got -2"},
      {"instances", [](Schedule& s) { s.all_instances = false; },
       "instance_ids: select at least one instance, or all_instances"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Schedule s = good;
    c.mutate(s);
    Status st = ValidateSchedule(s);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(st.message(), c.message);
  }
}

}  // namespace
}  // namespace clawback::controller
