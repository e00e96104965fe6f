// Fuzz target for the cron parser (controller/scheduler/cron.h) and the fire
// time search built on it (fire_times.h).
//
// Input: a cron expression as text. The start instant of the search is
// derived from the text's hash (within 1971..2099), so every seed is plain
// text and runs are reproducible.
//
// Properties of an accepted expression:
//   - every field selects at least one value, only inside its range, and the
//     dom/dow "restricted" flags say whether the field misses a value;
//   - a field written as one plain number selects exactly that number;
//   - in UTC, NextFireTime returns an instant strictly after the start, on a
//     whole minute, whose civil minute/hour/month match the fields and whose
//     day matches under the cron day rule (re-implemented here from the
//     bitsets), and no minute in between (checked over the first two days)
//     matches: it is the NEXT fire time;
//   - FireTimesAfter (UTC and Europe/Berlin) is strictly increasing;
//   - DescribeCronExpr gives a non-empty text.
// A refused expression gets InvalidArgument naming "cron:".
#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controller/scheduler/cron.h"
#include "controller/scheduler/fire_times.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using clawback::controller::CronExpr;
using clawback::fuzz::Show;

constexpr int64_t kStartMin = 31536000;     // 1971-01-01
constexpr int64_t kStartSpan = 4038000000;  // .. ~2098

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Independent civil decomposition (libc, not the date library under test).
bool FieldsMatch(const CronExpr& c, int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  unsigned dom = tm.tm_mday, month = tm.tm_mon + 1, wday = tm.tm_wday;
  if (!c.minutes.test(tm.tm_min) || !c.hours.test(tm.tm_hour) || !c.months.test(month)) return false;
  bool dom_ok = c.days_of_month.test(dom);
  bool dow_ok = c.days_of_week.test(wday);
  return (c.dom_restricted && c.dow_restricted) ? (dom_ok || dow_ok) : (dom_ok && dow_ok);
}

std::vector<std::string_view> Fields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// A field that is one plain decimal number (no list, range, step or name).
bool PlainNumber(std::string_view f, int* value) {
  if (f.empty() || f.size() > 3) return false;
  int v = 0;
  for (char ch : f) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  *value = v;
  return true;
}

template <size_t N>
void CheckField(const std::bitset<N>& bits, int lo, int hi, const char* name, std::string_view text) {
  FUZZ_CHECK(bits.any(), std::string(name) + " selects nothing: " + Show(text));
  for (size_t v = 0; v < N; ++v) {
    FUZZ_CHECK(!bits.test(v) || (static_cast<int>(v) >= lo && static_cast<int>(v) <= hi),
               std::string(name) + " value " + std::to_string(v) + " out of range: " + Show(text));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = clawback::controller::ParseCron(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == clawback::Status::Code::kInvalidArgument &&
                   parsed.status().message().rfind("cron: ", 0) == 0,
               parsed.status().ToString());
    return 0;
  }
  const CronExpr& c = *parsed;
  FUZZ_CHECK(text.size() <= clawback::controller::kMaxCronLength, "overlong expression accepted");
  CheckField(c.minutes, 0, 59, "minutes", text);
  CheckField(c.hours, 0, 23, "hours", text);
  CheckField(c.days_of_month, 1, 31, "days_of_month", text);
  CheckField(c.months, 1, 12, "months", text);
  CheckField(c.days_of_week, 0, 6, "days_of_week", text);
  FUZZ_CHECK(c.dom_restricted == (c.days_of_month.count() != 31), "dom_restricted: " + Show(text));
  FUZZ_CHECK(c.dow_restricted == (c.days_of_week.count() != 7), "dow_restricted: " + Show(text));

  auto fields = Fields(text);
  if (fields.size() == 5) {
    int v = 0;
    if (PlainNumber(fields[0], &v)) FUZZ_CHECK(c.minutes.count() == 1 && c.minutes.test(v), "minute " + Show(text));
    if (PlainNumber(fields[1], &v)) FUZZ_CHECK(c.hours.count() == 1 && c.hours.test(v), "hour " + Show(text));
    if (PlainNumber(fields[2], &v))
      FUZZ_CHECK(c.days_of_month.count() == 1 && c.days_of_month.test(v), "day " + Show(text));
    if (PlainNumber(fields[3], &v)) FUZZ_CHECK(c.months.count() == 1 && c.months.test(v), "month " + Show(text));
    if (PlainNumber(fields[4], &v))
      FUZZ_CHECK(c.days_of_week.count() == 1 && c.days_of_week.test(v % 7), "weekday " + Show(text));
  }

  FUZZ_CHECK(!clawback::controller::DescribeCronExpr(c).empty(), "empty description: " + Show(text));

  const int64_t start = kStartMin + static_cast<int64_t>(Fnv1a(text) % kStartSpan);
  const int64_t until = start + int64_t{clawback::controller::kCronSearchYears} * 366 * 86400;
  auto next = clawback::controller::NextFireTime(c, "UTC", start, until);
  FUZZ_CHECK(next.ok(), next.status().ToString());
  // ParseCron refuses what never fires, and every accepted expression fires
  // within kCronSearchYears (see fire_times.h).
  FUZZ_CHECK(next->has_value(), "no fire time within the search bound: " + Show(text));
  const int64_t t = **next;
  FUZZ_CHECK(t > start && t % 60 == 0, "fire time " + std::to_string(t) + " after " + std::to_string(start));
  FUZZ_CHECK(FieldsMatch(c, t), "fire time " + std::to_string(t) + " does not match " + Show(text));
  const int64_t first_minute = (start / 60 + 1) * 60;
  for (int64_t m = first_minute; m < t && m < first_minute + 2 * 86400; m += 60) {
    FUZZ_CHECK(!FieldsMatch(c, m), "earlier match " + std::to_string(m) + " skipped before " + std::to_string(t) +
                                       " for " + Show(text));
  }

  for (const char* zone : {"UTC", "Europe/Berlin"}) {
    auto times = clawback::controller::FireTimesAfter(c, zone, start, 4);
    FUZZ_CHECK(times.ok() && times->size() == 4, std::string(zone) + ": " + times.status().ToString());
    int64_t prev = start;
    for (int64_t x : *times) {
      FUZZ_CHECK(x > prev, std::string(zone) + ": fire times not increasing for " + Show(text));
      prev = x;
    }
    if (std::string_view(zone) == "UTC") FUZZ_CHECK((*times)[0] == t, "FireTimesAfter disagrees with NextFireTime");
  }
  return 0;
}
