#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace forge::auth {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Clock = RateLimiter::Clock;

// An injected clock: an arbitrary fixed origin, moved by hand.
const Clock::time_point t0 = Clock::time_point(hours(1000));

TEST(RateLimiterTest, AllowsBurstThenDenies) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 10, .burst = 5};
  for (int i = 0; i < 5; ++i) {
    const auto d = limiter.take("alice", limit, t0);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.retry_after, milliseconds(0));
    EXPECT_DOUBLE_EQ(d.remaining, 4 - i);
  }
  const auto denied = limiter.take("alice", limit, t0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, milliseconds(100)); // one token at 10/s
  EXPECT_DOUBLE_EQ(denied.remaining, 0);
}

TEST(RateLimiterTest, RefillsAtTheConfiguredRateUpToBurst) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 10, .burst = 5};
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(limiter.take("k", limit, t0).allowed);
  // 250 ms later: 2.5 tokens.
  EXPECT_TRUE(limiter.take("k", limit, t0 + milliseconds(250)).allowed);
  EXPECT_TRUE(limiter.take("k", limit, t0 + milliseconds(250)).allowed);
  const auto denied = limiter.take("k", limit, t0 + milliseconds(250));
  EXPECT_FALSE(denied.allowed);
  EXPECT_DOUBLE_EQ(denied.remaining, 0.5);
  EXPECT_EQ(denied.retry_after, milliseconds(50));
  // Exactly retry_after later the token is there.
  EXPECT_TRUE(limiter.take("k", limit, t0 + milliseconds(300)).allowed);
  // A long pause refills only up to burst.
  int allowed = 0;
  for (int i = 0; i < 20; ++i)
    allowed += limiter.take("k", limit, t0 + hours(1)).allowed;
  EXPECT_EQ(allowed, 5);
}

TEST(RateLimiterTest, RetryAfterIsRoundedUpToWholeMillisecondsAndAtLeastOne) {
  RateLimiter limiter;
  const RateLimit thirds{.per_second = 3, .burst = 1};
  ASSERT_TRUE(limiter.take("thirds", thirds, t0).allowed);
  EXPECT_EQ(limiter.take("thirds", thirds, t0).retry_after, milliseconds(334)); // 333.3 ms

  const RateLimit fast{.per_second = 1e6, .burst = 1};
  ASSERT_TRUE(limiter.take("fast", fast, t0).allowed);
  const auto denied = limiter.take("fast", fast, t0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, milliseconds(1)); // 1 us rounds up to 1 ms

  const RateLimit never{.per_second = 0, .burst = 1};
  ASSERT_TRUE(limiter.take("never", never, t0).allowed);
  const auto stuck = limiter.take("never", never, t0 + hours(100));
  EXPECT_FALSE(stuck.allowed);
  EXPECT_EQ(stuck.retry_after, hours(24)); // capped, not infinite
}

TEST(RateLimiterTest, CostTakesSeveralTokens) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 10, .burst = 5};
  const auto first = limiter.take("k", limit, t0, 3);
  EXPECT_TRUE(first.allowed);
  EXPECT_DOUBLE_EQ(first.remaining, 2);
  const auto second = limiter.take("k", limit, t0, 3);
  EXPECT_FALSE(second.allowed);
  EXPECT_EQ(second.retry_after, milliseconds(100)); // 1 token missing
  EXPECT_DOUBLE_EQ(second.remaining, 2);            // a denial takes nothing
  // More than burst can never pass; the wait reported is until the bucket is full.
  const auto huge = limiter.take("k", limit, t0, 50);
  EXPECT_FALSE(huge.allowed);
  EXPECT_EQ(huge.retry_after, milliseconds(300));
}

TEST(RateLimiterTest, KeysAreIsolated) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 1, .burst = 2};
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(limiter.take("alice", limit, t0).allowed);
  EXPECT_FALSE(limiter.take("alice", limit, t0).allowed);
  EXPECT_TRUE(limiter.take("bob", limit, t0).allowed);
  EXPECT_TRUE(limiter.take(rateLimitKey("alice", "search"), limit, t0).allowed);
  EXPECT_EQ(rateLimitKey("alice", "search"), std::string("alice\x1f"
                                                         "search"));
  EXPECT_EQ(limiter.size(), 3U);
}

TEST(RateLimiterTest, TimeNeverRunsBackwards) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 1, .burst = 1};
  ASSERT_TRUE(limiter.take("k", limit, t0 + seconds(10)).allowed);
  // A thread that read the clock earlier arrives later: it must not refill anything.
  EXPECT_FALSE(limiter.take("k", limit, t0).allowed);
  EXPECT_FALSE(limiter.take("k", limit, t0 + seconds(10)).allowed);
  EXPECT_TRUE(limiter.take("k", limit, t0 + seconds(11)).allowed);
}

TEST(RateLimiterTest, ShrunkBurstClipsTheBucket) {
  RateLimiter limiter;
  ASSERT_TRUE(limiter.take("k", {.per_second = 1, .burst = 10}, t0).allowed);
  const auto d = limiter.take("k", {.per_second = 1, .burst = 2}, t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_DOUBLE_EQ(d.remaining, 1);
}

TEST(RateLimiterTest, MemoryStaysBoundedWithAMillionKeys) {
  constexpr std::size_t kMaxKeys = 100'000;
  RateLimiter limiter(kMaxKeys);
  const RateLimit limit{.per_second = 1, .burst = 1};
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(limiter.take("client-" + std::to_string(i), limit, t0 + microseconds(i)).allowed);
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LE(limiter.size(), kMaxKeys);
  EXPECT_GE(limiter.size(), kMaxKeys - 16 * 8); // evictions drop at most a scan per shard
  // The newest keys are still remembered (their buckets are empty).
  EXPECT_FALSE(limiter.take("client-999999", limit, t0 + seconds(1)).allowed);
  // Constant work per key: a generous bound that only catches a linear scan per insert.
  EXPECT_LT(took, seconds(60));
  RecordProperty("million_keys_ms",
                 std::to_string(std::chrono::duration_cast<milliseconds>(took).count()));
}

TEST(RateLimiterTest, EvictionDropsFullBucketsBeforeUsedOnes) {
  RateLimiter limiter(1000);
  const RateLimit slow{.per_second = 1.0 / 3600, .burst = 1};
  ASSERT_TRUE(limiter.take("victim", slow, t0).allowed); // empty bucket: real state
  // Many keys that take nothing: their buckets stay full, so they are free to drop.
  for (int i = 0; i < 100'000; ++i)
    limiter.take("idle-" + std::to_string(i), slow, t0, 0);
  EXPECT_LE(limiter.size(), 1000U);
  EXPECT_FALSE(limiter.take("victim", slow, t0).allowed); // still remembered

  // Keys with state of their own: now the least recently used key goes, victim among them.
  for (int i = 0; i < 100'000; ++i)
    limiter.take("busy-" + std::to_string(i), slow, t0);
  EXPECT_LE(limiter.size(), 1000U);
  EXPECT_TRUE(limiter.take("victim", slow, t0).allowed); // forgotten: starts full
}

TEST(RateLimiterTest, TinyCapacitiesStillHold) {
  for (const std::size_t max_keys : {0U, 1U, 3U, 17U}) {
    RateLimiter limiter(max_keys);
    for (int i = 0; i < 1000; ++i)
      limiter.take(std::to_string(i), {1, 1}, t0);
    EXPECT_LE(limiter.size(), std::max<std::size_t>(max_keys, 1)) << max_keys;
    EXPECT_GE(limiter.size(), 1U);
  }
}

TEST(RateLimiterTest, ConcurrentTakesNeverOverGrantAtOneInstant) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 1000, .burst = 100};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i)
        allowed += limiter.take("shared", limit, t0).allowed;
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(RateLimiterTest, ConcurrentTakesNeverOverGrantInRealTime) {
  RateLimiter limiter;
  const RateLimit limit{.per_second = 2000, .burst = 50};
  std::atomic<int> allowed{0};
  std::atomic<int> other_keys{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string own = "thread-" + std::to_string(t);
      while (Clock::now() - start < milliseconds(200)) {
        allowed += limiter.take("shared", limit, Clock::now()).allowed;
        other_keys += limiter.take(own, limit).allowed; // other shards meanwhile
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LE(allowed.load(), 50 + 2000 * elapsed + 1e-6);
  EXPECT_GE(allowed.load(), 50);
  EXPECT_GT(other_keys.load(), 0);
  EXPECT_EQ(limiter.size(), 5U);
}

TEST(LoginThrottleTest, CleanKeysHaveNoDelay) {
  LoginThrottle throttle;
  EXPECT_EQ(throttle.delayFor("alice", t0), milliseconds(0));
  for (int i = 0; i < 4; ++i)
    throttle.failed("alice", t0);
  EXPECT_EQ(throttle.delayFor("alice", t0), milliseconds(0)); // 4 failures are free
  EXPECT_EQ(throttle.size(), 1U);
}

TEST(LoginThrottleTest, DelayDoublesAfterFreeFailuresUpToFiveMinutes) {
  LoginThrottle throttle;
  Clock::time_point now = t0;
  for (int i = 0; i < 4; ++i)
    throttle.failed("alice", now);
  const std::vector<milliseconds> expected = {seconds(1),   seconds(2),  seconds(4),  seconds(8),
                                              seconds(16),  seconds(32), seconds(64), seconds(128),
                                              seconds(256), minutes(5),  minutes(5)};
  for (const milliseconds delay : expected) {
    throttle.failed("alice", now);
    EXPECT_EQ(throttle.delayFor("alice", now), delay);
    // The delay runs from the last failure.
    EXPECT_EQ(throttle.delayFor("alice", now + delay / 4), delay - delay / 4);
    now += delay;
    EXPECT_EQ(throttle.delayFor("alice", now), milliseconds(0));
  }
}

TEST(LoginThrottleTest, RoundsTheDelayUpToWholeMilliseconds) {
  LoginThrottle throttle;
  for (int i = 0; i < 5; ++i)
    throttle.failed("alice", t0);
  EXPECT_EQ(throttle.delayFor("alice", t0 + microseconds(1500)), milliseconds(999));
}

TEST(LoginThrottleTest, FailuresExpireAfterAQuietWindow) {
  LoginThrottle throttle;
  for (int i = 0; i < 7; ++i)
    throttle.failed("alice", t0);
  EXPECT_EQ(throttle.delayFor("alice", t0), seconds(4));
  EXPECT_EQ(throttle.delayFor("alice", t0 + minutes(15)), milliseconds(0));
  // The next failure after the window starts a fresh count.
  throttle.failed("alice", t0 + minutes(15));
  EXPECT_EQ(throttle.delayFor("alice", t0 + minutes(15)), milliseconds(0));
  // A failure inside the window keeps the count going.
  for (int i = 0; i < 4; ++i)
    throttle.failed("bob", t0);
  throttle.failed("bob", t0 + minutes(14));
  EXPECT_EQ(throttle.delayFor("bob", t0 + minutes(14)), seconds(1));
}

TEST(LoginThrottleTest, SuccessResetsAndKeysAreIsolated) {
  LoginThrottle throttle;
  for (int i = 0; i < 6; ++i) {
    throttle.failed("account:alice", t0);
    throttle.failed("address:10.0.0.1", t0);
  }
  EXPECT_EQ(throttle.delayFor("account:alice", t0), seconds(2));
  EXPECT_EQ(throttle.delayFor("account:bob", t0), milliseconds(0));
  throttle.succeeded("account:alice");
  EXPECT_EQ(throttle.delayFor("account:alice", t0), milliseconds(0));
  EXPECT_EQ(throttle.delayFor("address:10.0.0.1", t0), seconds(2));
  EXPECT_EQ(throttle.size(), 1U);
  throttle.succeeded("never-seen"); // harmless
}

TEST(LoginThrottleTest, CustomPolicy) {
  LoginThrottle throttle({.free_failures = 1,
                          .window = minutes(1),
                          .first_delay = milliseconds(100),
                          .max_delay = milliseconds(250)});
  throttle.failed("k", t0);
  EXPECT_EQ(throttle.delayFor("k", t0), milliseconds(100));
  throttle.failed("k", t0);
  EXPECT_EQ(throttle.delayFor("k", t0), milliseconds(200));
  throttle.failed("k", t0);
  EXPECT_EQ(throttle.delayFor("k", t0), milliseconds(250));
}

TEST(LoginThrottleTest, MemoryStaysBounded) {
  // The same container as RateLimiter's (tested with a million keys), so fewer keys suffice.
  constexpr std::size_t kMaxKeys = 10'000;
  LoginThrottle throttle({}, kMaxKeys);
  for (int i = 0; i < 200'000; ++i) {
    throttle.failed("address:" + std::to_string(i), t0 + microseconds(i));
  }
  EXPECT_LE(throttle.size(), kMaxKeys);
  // The newest keys are kept.
  for (int i = 0; i < 4; ++i)
    throttle.failed("address:199999", t0 + seconds(1));
  EXPECT_EQ(throttle.delayFor("address:199999", t0 + seconds(1)), seconds(1));
}

} // namespace
} // namespace forge::auth
