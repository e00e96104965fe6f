// SignInRateLimiter on its own, with a FakeClock: attempts are reserved
// before the password check (so the limit holds however many run at once),
// a correct password gives its reservation back, and at capacity the oldest
// entries make room: a new key is always counted, never waved through.
#include "controller/auth/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace clawback::controller::auth {
namespace {

TEST(RateLimiterTest, ReservationsNeverLetMoreThanTheLimitThrough) {
  FakeClock clock(1'800'000'000);
  SignInRateLimiter limiter(clock);
  std::atomic<int> through{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      if (limiter.Reserve("victim", "198.51.100.1") == 0) ++through;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(through.load(), 5);
  EXPECT_GT(limiter.RetryAfter("victim", "198.51.100.2"), 0) << "the username is locked";
  EXPECT_GT(limiter.RetryAfter("other", "198.51.100.1"), 0) << "the address is locked";
}

TEST(RateLimiterTest, ACorrectPasswordGivesItsReservationBack) {
  FakeClock clock(1'800'000'000);
  SignInRateLimiter limiter(clock);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(limiter.Reserve("bob", "198.51.100.1"), 0);  // four failures
  ASSERT_EQ(limiter.Reserve("bob", "198.51.100.1"), 0);
  limiter.Release("bob", "198.51.100.1");  // the fifth was right (e.g. a password change)
  EXPECT_EQ(limiter.RetryAfter("bob", "198.51.100.1"), 0);
  ASSERT_EQ(limiter.Reserve("bob", "198.51.100.1"), 0);
  limiter.RecordSuccess("bob", "198.51.100.1");  // signed in: the username starts over
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.Reserve("bob", "198.51.100.2"), 0) << i;
  // The first address kept its four failures: one more attempt, then locked.
  EXPECT_EQ(limiter.Reserve("carol", "198.51.100.1"), 0);
  EXPECT_GT(limiter.Reserve("dave", "198.51.100.1"), 0);
}

TEST(RateLimiterTest, AtCapacityNewKeysAreStillCountedAndTheOldestGo) {
  FakeClock clock(1'800'000'000);
  RateLimitOptions options;
  options.max_tracked_keys = 8;
  SignInRateLimiter limiter(clock, options);
  // Fill the table with live entries (four failures each, all in the window).
  for (int i = 0; i < 4; ++i) {
    for (int n = 0; n < 4; ++n) {
      ASSERT_EQ(limiter.Reserve("filler" + std::to_string(i), "203.0.113." + std::to_string(i)), 0);
    }
    clock.Advance(1);
  }
  ASSERT_EQ(limiter.tracked_keys(), 8u);
  // A new username and address are counted to the limit and locked.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Reserve("target", "198.51.100.9"), 0) << i;
  EXPECT_GT(limiter.Reserve("target", "198.51.100.9"), 0) << "a full table must not stop counting";
  EXPECT_GT(limiter.RetryAfter("target", "198.51.100.10"), 0);
  EXPECT_LE(limiter.tracked_keys(), 8u);
  // The entries that made room were the oldest: filler0 starts over, the
  // newest filler still has its four failures.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Reserve("filler0", "203.0.113.0"), 0) << i;
  EXPECT_EQ(limiter.Reserve("filler3", "203.0.113.3"), 0);
  EXPECT_GT(limiter.Reserve("filler3", "203.0.113.3"), 0);
}

}  // namespace
}  // namespace clawback::controller::auth
