// JsonListWriter (controller/api/json_list_writer.h) writes the instance
// list item by item; its bytes must be exactly those of the document it
// replaced, Dump({"instances": [...]}), for lists with varied fields:
// escapes, non-ASCII and invalid UTF-8, null and present latest backups,
// nested protection objects, large and negative numbers.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "controller/api/json_codec.h"
#include "controller/api/json_list_writer.h"

namespace clawback::controller::api {
namespace {

Json VariedInstance(int n) {
  Instance i;
  i.id = n + 1;
  i.name = "web-" + std::to_string(n);
  i.agent_url = "https://10.0." + std::to_string(n % 256) + ".1:7443";
  i.created_by = 1;
  i.created_at = 1764000000 + n * 3600;
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
  std::optional<Backup> latest;
  if (n % 3 != 0) {
    Backup b;
    b.id = 100000 + n;
    b.instance_id = i.id;
    b.instance_name = i.name;
    b.status = n % 3 == 1 ? BackupStatus::kCompleted : BackupStatus::kFailed;
    b.paths = {"/data", "/home/\xe2\x82\xac"};
    b.excludes = n % 2 ? std::vector<std::string>{"*.tmp", "cache/"} : std::vector<std::string>{};
    b.exclude_presets = {"logs"};
    b.strict = n % 2 == 0;
    b.note = n % 5 == 0 ? "note with \"quotes\" and </script>" : "";
    b.size_bytes = 18446744073709551000ull - static_cast<uint64_t>(n);
    b.sha256 = std::string(64, 'a' + n % 6);
    b.entries = static_cast<uint64_t>(n) * 1000;
    b.error_message = b.status == BackupStatus::kFailed ? "agent: disk full \xff" : "";
    b.warnings = {"skipped socket /run/x.sock"};
    b.created_by_name = n % 7 == 0 ? "" : "scheduler";
    if (n % 2) b.schedule_id = 7;
    b.created_at = 1764900000 + n;
    b.started_at = b.created_at + 1;
    b.completed_at = n % 4 == 3 ? 0 : b.created_at + 30;
    latest = b;
  }
  Json j = InstanceJson(i, h, latest);
  Json good = nullptr;
  if (latest && latest->status == BackupStatus::kCompleted) {
    good = {{"id", latest->id}, {"completed_at", TimeJson(latest->completed_at)}, {"age_s", -n}};
  }
  j["protection"] = {{"state", n % 2 ? "protected" : "unprotected"},
                     {"reason", n % 2 ? "" : "no completed backup"},
                     {"last_good_backup", good},
                     {"last_verification", nullptr},
                     {"last_drill", n % 9 == 0 ? Json{{"ok", true}, {"ratio", 0.5 + n / 1000.0}}
                                               : Json(nullptr)},
                     {"unprotected_after_s", 93600}};
  return j;
}

TEST(JsonListWriter, SameBytesAsTheWholeDocument) {
  for (int count : {0, 1, 2, 17, 300}) {
    Json items = Json::array();
    JsonListWriter writer("instances", count);
    for (int n = 0; n < count; ++n) {
      Json j = VariedInstance(n);
      writer.Add(j);
      items.push_back(std::move(j));
    }
    const std::string expected = Dump({{"instances", items}});
    const std::string got = std::move(writer).Finish();
    EXPECT_EQ(got, expected) << count << " instances";
    EXPECT_FALSE(Json::parse(got, nullptr, false).is_discarded());
  }
}

TEST(JsonListWriter, KeyIsEscapedLikeAnyString) {
  JsonListWriter writer("a\"b\xff", 1);
  writer.Add(Json{{"x", 1}});
  EXPECT_EQ(std::move(writer).Finish(), Dump({{"a\"b\xff", Json::array({Json{{"x", 1}}})}}));
}

}  // namespace
}  // namespace clawback::controller::api
