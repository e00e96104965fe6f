// JsonText (controller/api/json_text.h) and the records written with it
// (WriteInstance, WriteBackup, WriteProtection): the streamed bytes must be
// exactly Dump() of the tree the API documents (docs/api.md "Objects"), which
// this test builds field by field as its reference: escapes, non-ASCII and
// invalid UTF-8, null and present values, nested objects, large numbers.
#include <gtest/gtest.h>

#include <ctime>
#include <optional>
#include <random>
#include <string>

#include "controller/api/json_codec.h"
#include "controller/api/json_text.h"
#include "controller/api/trust_json.h"

namespace clawback::controller::api {
namespace {

std::string NlohmannString(const std::string& s) { return Dump(Json(s)); }

TEST(JsonText, StringsEscapedLikeNlohmann) {
  std::vector<std::string> cases = {"",
                                    "plain",
                                    "quote \" backslash \\ slash /",
                                    std::string("nul \0 inside", 12),
                                    "\b\f\n\r\t\x01\x1f\x7f",
                                    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x92\xbe",
                                    "bad \xff\xfe utf-8",
                                    "truncated \xe2\x9c",
                                    "overlong \xc0\xaf",
                                    "surrogate \xed\xa0\x80"};
  std::mt19937 rng(20261203);
  for (int n = 0; n < 3000; ++n) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) c = static_cast<char>(n % 2 ? rng() % 256 : 0x20 + rng() % 0x60);
    cases.push_back(s);
  }
  for (const std::string& s : cases) {
    std::string got;
    AppendJsonString(got, s);
    ASSERT_EQ(got, NlohmannString(s)) << "input bytes: " << s.size();
  }
}

TEST(JsonText, CommasAndNesting) {
  std::string out;
  JsonText w(out);
  w.BeginObject();
  w.Key("a").BeginArray().EndArray();
  w.Key("b").BeginArray().Int(-1).Uint(18446744073709551615ull).BeginObject().EndObject().Null().EndArray();
  w.Key("c").BeginObject().Key("d").Bool(true).Key("e").Bool(false).EndObject();
  w.Key("f").Strings({"x", "y\n"});
  w.Key("g").Value(Json{{"ratio", 0.25}, {"n", nullptr}});
  w.Key("h").String("end");
  w.EndObject();
  Json expected = {{"a", Json::array()},
                   {"b", {-1, 18446744073709551615ull, Json::object(), nullptr}},
                   {"c", {{"d", true}, {"e", false}}},
                   {"f", {"x", "y\n"}},
                   {"g", {{"ratio", 0.25}, {"n", nullptr}}},
                   {"h", "end"}};
  EXPECT_EQ(out, Dump(expected));
}

// Times are written without gmtime/strftime; the text must be theirs.
TEST(JsonText, TimesAsGmtimeWritesThem) {
  auto reference = [](UnixTime t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[48];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  std::vector<UnixTime> cases = {0, 1, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 951868799, 4107542400 /* 2100-02-28 */,
                                 4107628800, 1764900000, 253402300799 /* 9999-12-31T23:59:59Z */};
  std::mt19937_64 rng(7);
  for (int n = 0; n < 20000; ++n) cases.push_back(static_cast<UnixTime>(rng() % 253402300800ull));
  for (UnixTime t : cases) ASSERT_EQ(FormatRfc3339(t), reference(t)) << t;
}

// --- the reference trees ---------------------------------------------------------

Json ReferenceTime(UnixTime t) { return t == 0 ? Json(nullptr) : Json(FormatRfc3339(t)); }

Json ReferenceBackup(const Backup& b, std::optional<uint64_t> live) {
  return {{"id", b.id},
          {"instance_id", b.instance_id},
          {"instance_name", b.instance_name},
          {"status", std::string(BackupStatusName(b.status))},
          {"paths", b.paths},
          {"excludes", b.excludes},
          {"exclude_presets", b.exclude_presets},
          {"strict", b.strict},
          {"note", b.note},
          {"file_name", b.status == BackupStatus::kCompleted ? BackupFileName(b) : std::string()},
          {"size_bytes", b.size_bytes},
          {"sha256", b.sha256},
          {"entries", b.entries},
          {"databases_captured", b.databases_captured},
          {"databases_raw", b.databases_raw},
          {"progress_bytes", live.value_or(b.progress_bytes)},
          {"error_message", b.error_message},
          {"warnings", b.warnings},
          {"created_by", b.created_by_name},
          {"schedule_id", b.schedule_id ? Json(*b.schedule_id) : Json(nullptr)},
          {"created_at", ReferenceTime(b.created_at)},
          {"started_at", ReferenceTime(b.started_at)},
          {"completed_at", ReferenceTime(b.completed_at)}};
}

Json ReferenceInstance(const Instance& i, const InstanceHealth& h, const std::optional<Backup>& latest) {
  return {{"id", i.id},
          {"name", i.name},
          {"agent_url", i.agent_url},
          {"status", h.status},
          {"status_reason", h.reason},
          {"agent_version", h.agent_version},
          {"checked_at", ReferenceTime(h.checked_at)},
          {"created_at", ReferenceTime(i.created_at)},
          {"latest_backup", latest ? ReferenceBackup(*latest, std::nullopt) : Json(nullptr)}};
}

Instance VariedInstance(int n) {
  Instance i;
  i.id = n + 1;
  i.name = "web-" + std::to_string(n);
  i.agent_url = "https://10.0." + std::to_string(n % 256) + ".1:7443";
  i.created_by = 1;
  i.created_at = n % 11 == 0 ? 0 : 1764000000 + n * 3600;
  return i;
}

InstanceHealth VariedHealth(int n) {
  InstanceHealth h;
  switch (n % 4) {
    case 0:
      h.status = "running";
      h.agent_version = "1.4.0";
      h.checked_at = 1764900000 + n;
      break;
    case 1:
      h.status = "unreachable";
      h.reason = "connect: \"refused\"\n\ttab \\ slash \x01 ctl \xc3\xa9t\xc3\xa9 \xe2\x9c\x93";
      break;
    case 2:
      h.reason = std::string("bad utf-8 \xff\xfe here ") + std::to_string(n);
      break;
    default:
      break;
  }
  return h;
}

std::optional<Backup> VariedBackup(int n, Id instance_id) {
  if (n % 3 == 0) return std::nullopt;
  Backup b;
  b.id = 100000 + n;
  b.instance_id = instance_id;
  b.instance_name = "web-" + std::to_string(n);
  b.status = n % 3 == 1 ? BackupStatus::kCompleted : BackupStatus::kFailed;
  b.paths = {"/data", "/home/\xe2\x82\xac"};
  b.excludes = n % 2 ? std::vector<std::string>{"*.tmp", "cache/"} : std::vector<std::string>{};
  b.exclude_presets = {"logs"};
  b.strict = n % 2 == 0;
  b.note = n % 5 == 0 ? "note with \"quotes\" and </script>" : "";
  b.file_path = "/backups/web-" + std::to_string(n) + "/web-" + std::to_string(n) + "-1.tar.zst";
  b.size_bytes = 18446744073709551000ull - static_cast<uint64_t>(n);
  b.sha256 = std::string(64, static_cast<char>('a' + n % 6));
  b.entries = static_cast<uint64_t>(n) * 1000;
  b.databases_captured = n % 4;
  b.databases_raw = n % 5 == 1 ? 1 : 0;
  b.progress_bytes = 4096ull * n;
  b.error_message = b.status == BackupStatus::kFailed ? "agent: disk full \xff" : "";
  b.warnings = {"skipped socket /run/x.sock"};
  b.created_by_name = n % 7 == 0 ? "" : "scheduler";
  if (n % 2) b.schedule_id = 7;
  b.created_at = 1764900000 + n;
  b.started_at = b.created_at + 1;
  b.completed_at = n % 4 == 3 ? 0 : b.created_at + 30;
  return b;
}

BackupCheck VariedCheck(int n, Id backup_id, CheckKind kind) {
  BackupCheck c;
  c.backup_id = backup_id;
  c.kind = kind;
  c.status = n % 2 ? CheckStatus::kPassed : CheckStatus::kFailed;
  c.at = 1764990000 + n;
  c.duration_s = 0.125 * n;
  c.error = n % 2 ? "" : "frame 3: bad checksum \"x\"";
  c.detail_json = "{\"bytes\":" + std::to_string(n * 100) + ",\"frames\":3,\"status\":\"ignored\"}";
  return c;
}

TEST(RecordsAsText, InstanceListSameBytesAsTheTree) {
  for (int count : {0, 1, 2, 17, 300}) {
    Json items = Json::array();
    std::string got;
    JsonText w(got);
    w.BeginObject().Key("instances").BeginArray();
    for (int n = 0; n < count; ++n) {
      const Instance i = VariedInstance(n);
      const InstanceHealth h = VariedHealth(n);
      InstanceProtection p;
      p.instance_id = i.id;
      p.latest = VariedBackup(n, i.id);
      if (p.latest && p.latest->status == BackupStatus::kCompleted) p.last_good = p.latest;
      if (n % 5 == 2) p.last_verification = VariedCheck(n, 100000 + n, CheckKind::kVerify);
      if (n % 9 == 0) p.last_drill = VariedCheck(n + 1, 100000 + n, CheckKind::kDrill);
      p.state = n % 2 ? "protected" : "unprotected";
      p.reason = n % 2 ? "last good backup 3 min ago" : "no completed backup";
      const UnixTime now = 1765000000 + n;

      Json j = ReferenceInstance(i, h, p.latest);
      Json good = nullptr;
      if (p.last_good) {
        good = {{"id", p.last_good->id},
                {"completed_at", ReferenceTime(p.last_good->completed_at)},
                {"age_s", now - p.last_good->completed_at}};
      }
      auto check = [](const std::optional<BackupCheck>& c) {
        if (!c) return Json(nullptr);
        Json out = CheckJson(*c);
        out["backup_id"] = c->backup_id;
        return out;
      };
      j["protection"] = {{"state", p.state},
                         {"reason", p.reason},
                         {"last_good_backup", good},
                         {"last_verification", check(p.last_verification)},
                         {"last_drill", check(p.last_drill)},
                         {"unprotected_after_s", 2 * 86400}};
      items.push_back(j);

      WriteInstance(w, i, h, p.latest, [&](JsonText& out) { WriteProtection(out, p, now, 2 * 86400); });
    }
    w.EndArray().EndObject();
    EXPECT_EQ(got, Dump({{"instances", items}})) << count << " instances";
    EXPECT_FALSE(Json::parse(got, nullptr, false).is_discarded());
  }
}

TEST(RecordsAsText, BackupWithChecksSameBytesAsTheTree) {
  for (int n = 1; n < 60; ++n) {
    if (n % 3 == 0) continue;
    const Backup b = *VariedBackup(n, n);
    const BackupCheck verify = VariedCheck(n, b.id, CheckKind::kVerify);
    const BackupCheck drill = VariedCheck(n + 1, b.id, CheckKind::kDrill);
    BackupChecks checks;
    if (n % 2) checks.verification = &verify;
    if (n % 4 == 1) checks.drill = &drill;
    const std::optional<uint64_t> live = n % 5 ? std::nullopt : std::optional<uint64_t>(777);

    Json expected = ReferenceBackup(b, live);
    expected["verification"] = checks.verification ? CheckJson(verify) : Json(nullptr);
    expected["drill"] = checks.drill ? CheckJson(drill) : Json(nullptr);
    std::string got;
    JsonText w(got);
    WriteBackup(w, b, live, &checks);
    EXPECT_EQ(got, Dump(expected)) << n;

    // Without checks: no such keys, and BackupJson is the same tree.
    std::string plain;
    JsonText p(plain);
    WriteBackup(p, b, live);
    EXPECT_EQ(plain, Dump(ReferenceBackup(b, live))) << n;
    EXPECT_EQ(Dump(BackupJson(b, live)), Dump(ReferenceBackup(b, live))) << n;
  }
}

}  // namespace
}  // namespace clawback::controller::api
