#include "controller/scheduler/fire_times.h"

#include <chrono>
#include <cstdio>
#include <exception>

#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

namespace clawback::controller {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using LocalMinutes = date::local_time<minutes>;
using SysSeconds = date::sys_seconds;

// Times outside this range are refused: the calendar arithmetic below (and the
// tz database) is only meaningful for real dates. 0001-01-01 .. 9000-01-01.
constexpr UnixTime kMinTime = -62135596800;
constexpr UnixTime kMaxTime = 221845392000;

Result<const date::time_zone*> LocateZone(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("timezone: must not be empty");
  if (name.size() > 128) return Status::InvalidArgument("timezone: name too long");
  try {
    return date::locate_zone(name);
  } catch (const std::runtime_error&) {
    return Status::InvalidArgument("timezone: unknown time zone " + std::string(name));
  } catch (const std::exception& e) {
    // The database itself failed to load (missing /usr/share/zoneinfo).
    return Status::Internal(std::string("timezone: time zone database unavailable: ") + e.what());
  }
}

Status CheckRange(UnixTime t) {
  if (t < kMinTime || t > kMaxTime) {
    return Status::InvalidArgument("time " + std::to_string(t) + " is outside the supported range");
  }
  return Status::Ok();
}

// First local minute >= from whose fields match, or nullopt past `limit`.
// Skips whole months, days and hours that cannot match.
std::optional<LocalMinutes> NextLocalMatch(const CronExpr& cron, LocalMinutes from, LocalMinutes limit) {
  LocalMinutes t = from;
  while (t <= limit) {
    date::local_days day = date::floor<days>(t);
    date::year_month_day ymd{day};
    unsigned month = static_cast<unsigned>(ymd.month());
    if (!cron.months.test(month)) {
      date::year_month next = date::year_month{ymd.year(), ymd.month()} + date::months{1};
      t = date::local_days{next / 1};
      continue;
    }
    unsigned weekday = date::weekday{day}.c_encoding();
    if (!cron.MatchesDay(static_cast<unsigned>(ymd.day()), month, weekday)) {
      t = day + days{1};
      continue;
    }
    minutes tod = t - day;
    int hour = static_cast<int>(tod.count() / 60);
    int minute = static_cast<int>(tod.count() % 60);
    int next_hour = hour;
    while (next_hour < 24 && !cron.hours.test(next_hour)) ++next_hour;
    if (next_hour == 24) {
      t = day + days{1};
      continue;
    }
    if (next_hour != hour) {
      hour = next_hour;
      minute = 0;
    }
    int next_minute = minute;
    while (next_minute < 60 && !cron.minutes.test(next_minute)) ++next_minute;
    if (next_minute == 60) {
      t = day + hours{hour + 1};
      continue;
    }
    return day + hours{hour} + minutes{next_minute};
  }
  return std::nullopt;
}

// The instant a matching local minute fires at (see the header's DST rules).
SysSeconds Resolve(const date::time_zone* tz, LocalMinutes local) {
  date::local_seconds ls{local};
  date::local_info info = tz->get_info(ls);
  switch (info.result) {
    case date::local_info::nonexistent:
      return info.first.end;  // the transition: first valid instant after the gap
    case date::local_info::unique:
    case date::local_info::ambiguous:  // first = the earlier occurrence
    default:
      return SysSeconds{ls.time_since_epoch() - info.first.offset};
  }
}

std::optional<SysSeconds> Next(const CronExpr& cron, const date::time_zone* tz, SysSeconds after,
                               SysSeconds until) {
  if (until <= after) return std::nullopt;
  LocalMinutes from = date::floor<minutes>(tz->to_local(after));
  // Slack for offset changes; the loop stops on the resolved instant anyway.
  LocalMinutes limit = date::floor<minutes>(tz->to_local(until)) + days{2};
  while (auto match = NextLocalMatch(cron, from, limit)) {
    SysSeconds t = Resolve(tz, *match);
    if (t > until) return std::nullopt;
    if (t > after) return t;
    from = *match + minutes{1};  // resolves to or before `after` (gap/overlap): keep going
  }
  return std::nullopt;
}

SysSeconds ToSys(UnixTime t) { return SysSeconds{seconds{t}}; }
UnixTime ToUnix(SysSeconds t) { return t.time_since_epoch().count(); }

}  // namespace

Status ValidateTimeZone(std::string_view name) {
  auto tz = LocateZone(name);
  return tz.ok() ? Status::Ok() : tz.status();
}

Result<std::optional<UnixTime>> NextFireTime(const CronExpr& cron, std::string_view zone, UnixTime after,
                                             UnixTime until) {
  auto tz = LocateZone(zone);
  if (!tz.ok()) return tz.status();
  CLAWBACK_RETURN_IF_ERROR(CheckRange(after));
  CLAWBACK_RETURN_IF_ERROR(CheckRange(until));
  auto t = Next(cron, *tz, ToSys(after), ToSys(until));
  if (!t) return std::optional<UnixTime>();
  return std::optional<UnixTime>(ToUnix(*t));
}

Result<std::vector<UnixTime>> FireTimesAfter(const CronExpr& cron, std::string_view zone, UnixTime after,
                                             int count) {
  if (count < 1 || count > 1000) {
    return Status::InvalidArgument("count must be between 1 and 1000, got " + std::to_string(count));
  }
  auto tz = LocateZone(zone);
  if (!tz.ok()) return tz.status();
  CLAWBACK_RETURN_IF_ERROR(CheckRange(after));
  std::vector<UnixTime> out;
  SysSeconds cursor = ToSys(after);
  constexpr auto kBound = days{366 * kCronSearchYears};
  while (static_cast<int>(out.size()) < count) {
    auto t = Next(cron, *tz, cursor, cursor + kBound);
    if (!t) break;
    out.push_back(ToUnix(*t));
    cursor = *t;
    if (ToUnix(cursor) > kMaxTime) break;
  }
  if (out.empty()) {
    return Status::InvalidArgument("cron: expression never fires (no match within " +
                                   std::to_string(kCronSearchYears) + " years)");
  }
  return out;
}

Result<std::optional<UnixTime>> LatestFireTime(const CronExpr& cron, std::string_view zone, UnixTime after,
                                               UnixTime until) {
  auto tz = LocateZone(zone);
  if (!tz.ok()) return tz.status();
  CLAWBACK_RETURN_IF_ERROR(CheckRange(after));
  CLAWBACK_RETURN_IF_ERROR(CheckRange(until));
  const SysSeconds end = ToSys(until);
  if (!Next(cron, *tz, ToSys(after), end)) return std::optional<UnixTime>();
  // Bisect on the lower bound: "some slot in (lo, until]" holds at lo=after
  // and fails at lo=until. The newest slot is the first one after the
  // largest lo for which it still holds.
  UnixTime lo = after;
  UnixTime hi = until;
  while (hi - lo > 1) {
    UnixTime mid = lo + (hi - lo) / 2;
    if (Next(cron, *tz, ToSys(mid), end)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  auto t = Next(cron, *tz, ToSys(lo), end);
  if (!t) return Status::Internal("cron: bisection lost the latest slot");
  return std::optional<UnixTime>(ToUnix(*t));
}

Result<LocalTime> ToLocalTime(std::string_view zone, UnixTime t) {
  auto tz = LocateZone(zone);
  if (!tz.ok()) return tz.status();
  CLAWBACK_RETURN_IF_ERROR(CheckRange(t));
  date::sys_info info = (*tz)->get_info(ToSys(t));
  date::local_seconds local{ToSys(t).time_since_epoch() + info.offset};
  date::local_days day = date::floor<days>(local);
  date::year_month_day ymd{day};
  date::hh_mm_ss<seconds> hms{local - day};
  iso_week::year_weeknum_weekday iso{day};
  LocalTime out;
  out.year = static_cast<int>(ymd.year());
  out.month = static_cast<unsigned>(ymd.month());
  out.day = static_cast<unsigned>(ymd.day());
  out.hour = static_cast<unsigned>(hms.hours().count());
  out.minute = static_cast<unsigned>(hms.minutes().count());
  out.second = static_cast<unsigned>(hms.seconds().count());
  out.days_since_epoch = day.time_since_epoch().count();
  out.iso_year = static_cast<int>(iso.year());
  out.iso_week = static_cast<unsigned>(iso.weeknum());
  out.utc_offset_seconds = static_cast<int>(info.offset.count());
  return out;
}

Result<std::string> FormatLocalRfc3339(std::string_view zone, UnixTime t) {
  auto local = ToLocalTime(zone, t);
  if (!local.ok()) return local.status();
  int off = local->utc_offset_seconds;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u%c%02d:%02d", local->year, local->month,
                local->day, local->hour, local->minute, local->second, sign, off / 3600, (off % 3600) / 60);
  return std::string(buf);
}

}  // namespace clawback::controller
