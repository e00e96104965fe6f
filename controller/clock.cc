#include "controller/clock.h"

#include <chrono>
#include <cstdio>

namespace clawback::controller {

UnixTime SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Civil date from the proleptic Gregorian calendar (<chrono>), not gmtime:
// no time zone state, no lock, so a list of 1,000 records formats quickly.
std::string FormatUtcRfc3339(UnixTime t) {
  using namespace std::chrono;
  const sys_seconds at{seconds{t}};
  const sys_days day = floor<days>(at);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{at - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace clawback::controller
