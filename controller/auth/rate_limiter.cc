#include "controller/auth/rate_limiter.h"

#include <algorithm>
#include <vector>

namespace clawback::controller::auth {
namespace {

std::string UserKey(std::string_view username) {
  return "u:" + std::string(username);
}
std::string AddressKey(std::string_view address) {
  return "a:" + std::string(address);
}

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

int64_t SignInRateLimiter::Reserve(std::string_view username, std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  UnixTime now = clock_.Now();
  const std::string user_key = UserKey(username), address_key = AddressKey(address);
  int64_t wait = std::max(BlockedForLocked(user_key, now), BlockedForLocked(address_key, now));
  if (wait > 0) return wait;
  CountLocked(user_key, now);
  CountLocked(address_key, now);
  return 0;
}

void SignInRateLimiter::Release(std::string_view username, std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  UncountLocked(UserKey(username));
  UncountLocked(AddressKey(address));
}

void SignInRateLimiter::RecordSuccess(std::string_view username, std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(UserKey(username));
  UncountLocked(AddressKey(address));
}

size_t SignInRateLimiter::tracked_keys() {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_.size();
}

void SignInRateLimiter::CountLocked(const std::string& key, UnixTime now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) {
    if (failures_.size() >= options_.max_tracked_keys) MakeRoomLocked(now);
    it = failures_.emplace(key, std::deque<UnixTime>{}).first;
  }
  it->second.push_back(now);
  // Only the newest max_failures entries matter for the decision.
  while (static_cast<int>(it->second.size()) > options_.max_failures) it->second.pop_front();
}

void SignInRateLimiter::UncountLocked(const std::string& key) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return;
  if (!it->second.empty()) it->second.pop_back();
  if (it->second.empty()) failures_.erase(it);
}

void SignInRateLimiter::MakeRoomLocked(UnixTime now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    if (it->second.empty() || it->second.back() <= now - options_.window_seconds) {
      it = failures_.erase(it);
    } else {
      ++it;
    }
  }
  if (failures_.size() < options_.max_tracked_keys) return;
  // Still full of live entries: drop the least recently failed eighth (at
  // least one), so the next insertions do not pay for a scan each.
  std::vector<std::pair<UnixTime, std::string>> by_age;
  by_age.reserve(failures_.size());
  for (const auto& [key, times] : failures_) by_age.emplace_back(times.back(), key);
  const size_t drop =
      std::max<size_t>(1, failures_.size() - options_.max_tracked_keys + 1 + options_.max_tracked_keys / 8);
  const size_t n = std::min(drop, by_age.size());
  std::nth_element(by_age.begin(), by_age.begin() + (n - 1), by_age.end());
  for (size_t i = 0; i < n; ++i) failures_.erase(by_age[i].second);
}

}  // namespace clawback::controller::auth
