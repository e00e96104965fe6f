#include "controller/auth/rate_limiter.h"

#include <algorithm>

namespace clawback::controller::auth {
namespace {

std::string UserKey(std::string_view username) { return "u:" + std::string(username); }
std::string AddressKey(std::string_view address) { return "a:" + std::string(address); }

}  // namespace

SignInRateLimiter::SignInRateLimiter(const Clock& clock, RateLimitOptions options)
    : clock_(clock), options_(options) {}

int64_t SignInRateLimiter::BlockedForLocked(const std::string& key, UnixTime now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  std::deque<UnixTime>& times = it->second;
  while (!times.empty() && times.front() <= now - options_.window_seconds) times.pop_front();
  if (times.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(times.size()) < options_.max_failures) return 0;
  // Blocked until the failure that makes the count reach the limit expires.
  UnixTime unblock_at = times[times.size() - options_.max_failures] + options_.window_seconds;
  return std::max<int64_t>(1, unblock_at - now);
}

int64_t SignInRateLimiter::RetryAfter(std::string_view username, std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  UnixTime now = clock_.Now();
  return std::max(BlockedForLocked(UserKey(username), now), BlockedForLocked(AddressKey(address), now));
}

void SignInRateLimiter::RecordFailure(std::string_view username, std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  UnixTime now = clock_.Now();
  if (failures_.size() >= options_.max_tracked_keys) PruneLocked(now);
  for (const std::string& key : {UserKey(username), AddressKey(address)}) {
    auto it = failures_.find(key);
    if (it == failures_.end()) {
      if (failures_.size() >= options_.max_tracked_keys) continue;  // full of live entries
      it = failures_.emplace(key, std::deque<UnixTime>{}).first;
    }
    it->second.push_back(now);
    // Only the newest max_failures entries matter for the decision.
    while (static_cast<int>(it->second.size()) > options_.max_failures) it->second.pop_front();
  }
}

void SignInRateLimiter::RecordSuccess(std::string_view username) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(UserKey(username));
}

void SignInRateLimiter::PruneLocked(UnixTime now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    if (it->second.empty() || it->second.back() <= now - options_.window_seconds) {
      it = failures_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace clawback::controller::auth
