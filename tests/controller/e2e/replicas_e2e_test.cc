// Two `clawback serve` replicas on one PostgreSQL (a private PostgreSQL 15,
// tests/support/postgres_server.h) and one backups directory, with real
// agents (issue 18). A schedule fires every minute; the leader is killed
// with SIGKILL right after it fired a slot, while that slot's slow backup
// streams. Then:
//   - the survivor becomes the leader within seconds (measured, printed);
//   - every slot is fired exactly once (the audit log's schedule.fire
//     events: consecutive minutes, none twice, none missing);
//   - the dead replica's running backup is failed by the survivor once its
//     lease expired ("interrupted: controller replica <id> stopped"), with no
//     partial file left; nothing stays queued or running;
//   - the next slot is fired and its backups complete on the survivor;
//   - a session made on one replica is valid on the other.
// Runs for about three minutes (cron has minute resolution): label "slow".
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/postgres_server.h"

namespace clawback::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ReplicasE2eTest : public E2eTest {};

// GET `path` on `port` with a session cookie; the JSON body (null on error).
nlohmann::json GetWithCookie(uint16_t port, const std::string& path, const std::string& cookie) {
  PlainRequest r;
  r.target = path;
  r.timeout = 5s;
  if (!cookie.empty()) r.headers = {{"Cookie", cookie}, {"Accept", "application/json"}};
  auto res = SendPlain(port, r);
  if (!res.ok() || res->status != 200) return nullptr;
  return res->Json();
}

TEST_F(ReplicasE2eTest, LeaderKilledMidScheduleEverySlotFiredOnceSurvivorTakesOver) {
  const std::string url = FreshDatabaseUrl();
  ASSERT_FALSE(url.empty());
  StackOptions options;
  options.controller_args = {"--database", url};
  options.backups_dir = "";  // set below, shared by both replicas
  ASSERT_NO_FATAL_FAILURE(StartStack(options));
  const std::string shared_backups = stack_->tmp().Sub("shared-backups");
  fs::create_directories(shared_backups);
  stack_->set_backups_dir(shared_backups);
  ASSERT_TRUE(stack_->StartController().ok());  // replica A, now on the shared backups dir

  json alpha = AddInstance("alpha", BigRoot(), SlowAgentArgs());  // streams for many seconds
  json beta = AddInstance("beta", MakeSmallRoot(stack_->tmp().Sub("root-beta")));
  ASSERT_FALSE(HasFailure());

  // Replica B: its own data dir with the same PKI (agents trust one CA), the
  // same database and backups directory.
  const std::string b_data = stack_->tmp().Sub("replica-b-data");
  fs::create_directories(b_data);
  fs::copy(stack_->pki_dir(), b_data + "/pki", fs::copy_options::recursive);
  ControllerOptions bo;
  bo.binary = ClawbackBinary();
  bo.work_dir = stack_->tmp().Sub("replica-b");
  fs::create_directories(bo.work_dir);
  bo.data_dir = b_data;
  bo.backups_dir = shared_backups;
  bo.admin_password = E2eStack::kAdminPassword;
  bo.extra_args = {"--probe-interval", "1", "--database", url};
  auto b = ControllerProcess::Start(bo);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const uint16_t a_port = stack_->controller()->port();
  const uint16_t b_port = (*b)->port();

  json a_health, b_health;
  ASSERT_TRUE(WaitFor(
      [&] {
        a_health = GetWithCookie(a_port, "/healthz", "");
        b_health = GetWithCookie(b_port, "/healthz", "");
        return a_health.is_object() && b_health.is_object() && a_health["replica"]["leader"] == true &&
               b_health["replica"]["leader_id"] == a_health["replica"]["id"];
      },
      20s))
      << a_health.dump() << " " << b_health.dump();
  const std::string a_id = a_health["replica"]["id"];
  const std::string b_id = b_health["replica"]["id"];
  EXPECT_NE(a_id, b_id);
  EXPECT_EQ(b_health["replica"]["leader"], false);

  // A session made on A is valid on B (sessions live in the shared store).
  PlainRequest login;
  login.method = "POST";
  login.target = "/api/v1/auth/login";
  login.body = json{{"username", "admin"}, {"password", E2eStack::kAdminPassword}}.dump();
  auto signed_in = SendPlain(a_port, login);
  ASSERT_TRUE(signed_in.ok() && signed_in->status == 200);
  std::string cookie = signed_in->headers["set-cookie"];
  cookie = cookie.substr(0, cookie.find(';'));
  json on_b = GetWithCookie(b_port, "/api/v1/instances", cookie);
  ASSERT_TRUE(on_b.is_object() || on_b.is_array()) << "session from replica A refused by replica B";

  auto created = stack_->Call("POST", "/api/v1/backup-schedules",
                              json{{"name", "every-minute"}, {"all_instances", true}, {"cron", "* * * * *"}});
  ASSERT_EQ(created.status, 201) << created.Describe();
  const int64_t schedule_id = created.Json()["id"].get<int64_t>();

  // The fired slots, from the audit log (any replica answers).
  auto fired_slots = [&](uint16_t port) {
    std::map<int64_t, json> slots;  // slot -> its schedule.fire event
    std::vector<json> events;
    json page = GetWithCookie(port, "/api/v1/audit?action=schedule.fire&limit=500", cookie);
    if (page.is_object() && page.contains("events")) events = page["events"].get<std::vector<json>>();
    if (page.is_array()) events = page.get<std::vector<json>>();
    std::map<int64_t, int> seen;
    for (const json& e : events) {
      if (!e["detail"].contains("slot") || e["target"] != "schedule:every-minute") continue;
      const int64_t slot = e["detail"]["slot"].get<int64_t>();
      if (++seen[slot] > 1) ADD_FAILURE() << "slot " << slot << " fired twice";
      slots[slot] = e;
    }
    return slots;
  };

  // Slot 1 and slot 2 on A; A dies the moment slot 2 is recorded, while
  // alpha's slot-2 backup streams (slowly) from A.
  std::map<int64_t, json> slots;
  ASSERT_TRUE(WaitFor([&] { return (slots = fired_slots(a_port)).size() >= 2; }, 150s, 200ms))
      << stack_->Logs();
  stack_->KillController();
  const auto killed_at = std::chrono::steady_clock::now();
  const int64_t slot2 = slots.rbegin()->first;
  std::vector<int64_t> slot2_backups = slots.rbegin()->second["detail"]["backups"].get<std::vector<int64_t>>();
  ASSERT_FALSE(slot2_backups.empty()) << slots.rbegin()->second.dump();

  // B leads within seconds of the lease running out (10 s ttl, 2 s renewals).
  ASSERT_TRUE(WaitFor(
      [&] {
        b_health = GetWithCookie(b_port, "/healthz", "");
        return b_health.is_object() && b_health["replica"]["leader"] == true;
      },
      30s, 100ms));
  const double takeover_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  std::cout << "[ figures ] takeover after SIGKILL of the leader: " << takeover_s << " s\n";
  EXPECT_LE(takeover_s, 15.0);

  // Every slot-2 backup ends: completed by A before it died, adopted and
  // completed by B, or failed by B as interrupted. None stays unfinished.
  std::map<int64_t, json> finals;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int64_t id : slot2_backups) {
          json bk = GetWithCookie(b_port, "/api/v1/backups/" + std::to_string(id), cookie);
          if (!bk.is_object()) return false;
          const std::string st = bk["status"];
          if (st == "queued" || st == "running") return false;
          finals[id] = bk;
        }
        return true;
      },
      60s, 200ms))
      << (*b)->Log();
  int interrupted = 0;
  for (const auto& [id, bk] : finals) {
    if (bk["status"] == "failed") {
      EXPECT_EQ(bk["error_message"], "interrupted: controller replica " + a_id + " stopped") << bk.dump();
      ++interrupted;
    } else {
      EXPECT_EQ(bk["status"], "completed") << bk.dump();
    }
  }
  std::cout << "[ figures ] slot-2 backups: " << finals.size() << ", interrupted by the kill: " << interrupted
            << "\n";

  // Slot 3 fires on B (A is dead), once, and its backups complete.
  ASSERT_TRUE(WaitFor([&] { return (slots = fired_slots(b_port)).size() >= 3; }, 90s, 500ms)) << (*b)->Log();
  const int64_t slot3 = slots.rbegin()->first;
  EXPECT_EQ(slot3, slot2 + 60);
  std::vector<int64_t> slot3_backups = slots.rbegin()->second["detail"]["backups"].get<std::vector<int64_t>>();
  EXPECT_EQ(slot3_backups.size(), 2u) << slots.rbegin()->second.dump();
  for (int64_t id : slot3_backups) {
    bool ok = false;
    ASSERT_TRUE(WaitFor(
        [&] {
          json bk = GetWithCookie(b_port, "/api/v1/backups/" + std::to_string(id), cookie);
          ok = bk.is_object() && bk["status"] == "completed";
          return bk.is_object() && bk["status"] != "queued" && bk["status"] != "running";
        },
        120s, 500ms));
    EXPECT_TRUE(ok) << GetWithCookie(b_port, "/api/v1/backups/" + std::to_string(id), cookie).dump();
  }

  // Consecutive minutes, each fired once, none missing.
  int64_t expected = slots.begin()->first;
  for (const auto& [slot, event] : fired_slots(b_port)) {
    EXPECT_EQ(slot, expected) << "a slot is missing before " << slot;
    expected = slot + 60;
  }
  // No partial archive is left behind in the shared directory.
  for (const std::string& f : E2eStack::FilesUnder(shared_backups)) {
    EXPECT_EQ(f.find(".partial"), std::string::npos) << f;
  }
  // The store says B holds the leader lease.
  PostgresServer* pg = SharedPostgresServer();
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(*pg->QueryValue(DatabaseOf(url), "SELECT holder FROM leases WHERE name = 'leader'"), b_id);
  (*b)->Signal(SIGTERM);
  (*b)->WaitExit(20s);
}

}  // namespace
}  // namespace clawback::testing
