// Limits failed sign-ins, per username and per client address, so a
// password cannot be guessed online at speed.
//
// A key (username or address) that collected `max_failures` failures within
// the last `window` seconds is blocked until the oldest of them leaves the
// window; the caller answers 429 with Retry-After. Both keys are checked, so
// spraying one password over many usernames from one address is limited as
// well as hammering one username from many addresses. A success clears the
// username's count (the owner got in) but not the address's, so an attacker
// cannot reset their budget by signing into their own account.
//
// An attempt is reserved (counted as a failure) before the password is
// hashed, under the same lock as the check, so concurrent attempts can never
// get more than `max_failures` through to hashing; a success or a correct
// password then releases the reservation.
//
// Trade-off, documented for operators: anyone can lock a username out for
// one window by failing on purpose. Entries are kept in memory only (a
// restart forgets them). At most `max_tracked_keys` are tracked: at capacity
// expired entries go first, then the least recently used ones (oldest newest
// failure), so new keys are always counted.
//
// Thread-safe (one internal mutex). Time comes from the injected Clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "controller/clock.h"

namespace clawback::controller::auth {

struct RateLimitOptions {
  int max_failures = 5;
  int64_t window_seconds = 15 * 60;
  size_t max_tracked_keys = 100000;
};

class SignInRateLimiter {
 public:
  explicit SignInRateLimiter(const Clock& clock, RateLimitOptions options = {});
  SignInRateLimiter(const SignInRateLimiter&) = delete;
  SignInRateLimiter& operator=(const SignInRateLimiter&) = delete;

  // 0 when a sign-in attempt may proceed, else the seconds until one may.
  // Records nothing.
  int64_t RetryAfter(std::string_view username, std::string_view address);

  // Checks and, when the attempt may proceed (returns 0), counts it as a
  // failure for both keys at once. Otherwise returns the seconds to wait
  // and counts nothing.
  int64_t Reserve(std::string_view username, std::string_view address);
  // The reserved attempt was not a failure (e.g. a correct current password):
  // removes one count from both keys.
  void Release(std::string_view username, std::string_view address);
  // The reserved attempt signed in: clears the username's count (the owner
  // got in) and releases the address's reservation.
  void RecordSuccess(std::string_view username, std::string_view address);

  size_t tracked_keys();  // for tests

 private:
  int64_t BlockedForLocked(const std::string& key, UnixTime now);  // requires mu_
  void CountLocked(const std::string& key, UnixTime now);         // requires mu_
  void UncountLocked(const std::string& key);                     // requires mu_
  void MakeRoomLocked(UnixTime now);                               // requires mu_

  const Clock& clock_;
  const RateLimitOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<UnixTime>> failures_;  // guarded by mu_; key "u:<name>" / "a:<addr>"
};

}  // namespace clawback::controller::auth
