// Fuzz target for the REST API's request body decoding
// (controller/api/json_codec.h ParseObject + controller/api/requests.h).
//
// Input: a request body, as the server hands it to the router. It is parsed
// once and decoded as every request type (backup create, restore, schedule
// create/change, user create/change/instances).
//
// Properties:
//   - ParseObject accepts only JSON objects (or the empty body), and a refusal
//     is InvalidArgument;
//   - a refused body names a reason; an accepted one satisfies the
//     request's rules (resolved backup paths are normalized and outside the
//     excluded dirs, notes at most 1000 bytes, ids positive, retention counts
//     in 0..100000);
//   - the canonical re-encoding of an accepted request, dumped to text the way
//     the API writes JSON and parsed again, decodes to an EQUAL request.
#include <cstdint>
#include <string>

#include "controller/api/json_codec.h"
#include "controller/api/requests.h"
#include "shared/path_rules.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace api = clawback::controller::api;
using api::Json;
using clawback::fuzz::Show;

// Decode, check, re-encode, re-decode, compare.
template <typename T, typename Check>
void RoundTrip(const char* what, const Json& body, api::Decoded<T> (*decode)(const Json&), Json (*encode)(const T&),
               Check check) {
  api::Decoded<T> first = decode(body);
  if (!first.ok()) {
    FUZZ_CHECK(first.error().status.code() == clawback::Status::Code::kInvalidArgument &&
                   !first.error().status.message().empty(),
               std::string(what) + ": " + first.error().status.ToString());
    return;
  }
  check(*first);
  const std::string wire = api::Dump(encode(*first));
  auto reparsed = api::ParseObject(wire);
  FUZZ_CHECK(reparsed.ok(), std::string(what) + ": re-encoded body does not parse: " + Show(wire));
  api::Decoded<T> second = decode(*reparsed);
  FUZZ_CHECK(second.ok(), std::string(what) + ": re-encoded body refused (" + second.error().status.message() +
                              "): " + Show(wire));
  FUZZ_CHECK(*second == *first, std::string(what) + ": re-encoded body decodes differently: " + Show(wire));
}

void CheckIds(const std::vector<clawback::controller::Id>& ids) {
  for (auto id : ids) FUZZ_CHECK(id > 0, "non-positive id " + std::to_string(id) + " accepted");
}

void CheckRetention(const std::optional<int>& v) {
  FUZZ_CHECK(!v || (*v >= 0 && *v <= api::kMaxRetentionKeep), "retention count " + std::to_string(*v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto parsed = api::ParseObject(body);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == clawback::Status::Code::kInvalidArgument, parsed.status().ToString());
    return 0;
  }
  const Json& obj = *parsed;
  FUZZ_CHECK(obj.is_object(), "ParseObject returned a non-object for " + Show(body));

  RoundTrip<api::BackupCreateBody>("backup create", obj, api::DecodeBackupCreate, api::EncodeBackupCreate,
                                   [](const api::BackupCreateBody& b) {
                                     FUZZ_CHECK(!b.paths.empty() && b.paths.size() <= clawback::kMaxBackupPaths,
                                                "path count");
                                     for (const std::string& p : b.paths) {
                                       auto n = clawback::NormalizeAbsolutePath(p);
                                       FUZZ_CHECK(n.ok() && *n == p && !clawback::IsExcludedSystemPath(p),
                                                  "bad resolved path " + Show(p));
                                     }
                                     FUZZ_CHECK(b.note.size() <= api::kMaxNoteBytes, "overlong note accepted");
                                   });
  RoundTrip<api::RestoreCreateBody>("restore", obj, api::DecodeRestoreCreate, api::EncodeRestoreCreate,
                                    [](const api::RestoreCreateBody& b) { CheckIds({b.instance_id}); });
  RoundTrip<api::ScheduleFields>("schedule", obj, api::DecodeScheduleFields, api::EncodeScheduleFields,
                                 [](const api::ScheduleFields& f) {
                                   if (f.instance_ids) CheckIds(*f.instance_ids);
                                   CheckRetention(f.retention.keep_last);
                                   CheckRetention(f.retention.keep_hourly);
                                   CheckRetention(f.retention.keep_daily);
                                   CheckRetention(f.retention.keep_weekly);
                                   CheckRetention(f.retention.keep_monthly);
                                   clawback::controller::Schedule s;
                                   s.instance_ids = {7};
                                   api::ApplyScheduleFields(f, &s);
                                   FUZZ_CHECK(!s.all_instances || s.instance_ids.empty(),
                                              "all_instances with instance ids");
                                 });
  RoundTrip<api::UserCreateBody>("user create", obj, api::DecodeUserCreate, api::EncodeUserCreate,
                                 [](const api::UserCreateBody& b) { CheckIds(b.instance_ids); });
  RoundTrip<api::UserUpdateBody>("user update", obj, api::DecodeUserUpdate, api::EncodeUserUpdate,
                                 [](const api::UserUpdateBody&) {});
  RoundTrip<api::UserInstancesBody>("user instances", obj, api::DecodeUserInstances, api::EncodeUserInstances,
                                    [](const api::UserInstancesBody& b) { CheckIds(b.instance_ids); });
  // Whatever was accepted, the API can always write it back out.
  (void)api::Dump(obj);
  return 0;
}
