// Time for the controller, injectable so schedulers, sessions and rate limits
// are tested without sleeping. SystemClock is the real one; tests use
// FakeClock (below), which only moves when told. Thread-safe.
#pragma once

#include <atomic>
#include <string>

#include "controller/store/model.h"

namespace clawback::controller {

// `t` as RFC 3339 in UTC, "2026-01-01T00:00:00Z" (API bodies, webhook
// events, S3 dates, CLI tables).
std::string FormatUtcRfc3339(UnixTime t);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixTime Now() const = 0;  // seconds since the epoch, UTC
};

class SystemClock final : public Clock {
 public:
  UnixTime Now() const override;
};

// A clock that moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixTime start) : now_(start) {}
  UnixTime Now() const override { return now_.load(); }
  void Set(UnixTime t) { now_.store(t); }
  void Advance(UnixTime seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<UnixTime> now_;
};

}  // namespace clawback::controller
