// Rate limiting and login throttling, both keyed by strings that clients choose (identities,
// addresses, tool names), so both keep a bounded number of keys whatever the traffic.
//
// Memory bound: at most max_keys keys are kept. Keys are spread over up to 16 shards by hash,
// each with its own mutex and an equal share of max_keys, so two I/O threads rarely wait for
// each other. A shard that is full makes room before it adds a key: among its 8 least recently
// used keys it drops every one that carries no state (a bucket that has refilled, a throttle
// whose failures have expired); dropping those changes no decision. Only if none of them is
// idle does it drop the least recently used key, which forgets that key's history: a bucket
// starts full again, a throttle starts clean. The bound is per shard, so eviction is an
// approximation of global LRU; with keys hashed evenly it is a close one.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace forge::auth {

// A token bucket's parameters: it holds at most burst tokens and gains per_second tokens each
// second. Both should be positive; a bucket with per_second <= 0 never refills.
struct RateLimit {
  double per_second = 0;
  double burst = 0;
};

// The key for a per-tool limit: identity + "\x1f" + tool. U+001F (unit separator) is a control
// character no tool name contains, so two (identity, tool) pairs never share a key.
std::string rateLimitKey(std::string_view identity, std::string_view tool);

// Token buckets keyed by string; thread-safe.
class RateLimiter {
public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = false;
    // 0 when allowed; otherwise the wait until the bucket holds cost tokens (for cost > burst,
    // which can never be allowed, until it is full), rounded up to whole milliseconds, at least
    // 1 ms. Suitable for a Retry-After header.
    std::chrono::milliseconds retry_after{0};
    // Tokens left in the bucket after this decision.
    double remaining = 0;
  };

  explicit RateLimiter(std::size_t max_keys = 100'000);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes cost tokens from key's bucket if it holds that many. A key seen for the first time
  // starts with a full bucket. The limit is the caller's to choose on every call (it may differ
  // per key); a bucket whose burst shrank is clipped to the new burst.
  Decision take(std::string_view key, const RateLimit& limit, Clock::time_point now = Clock::now(),
                double cost = 1);

  // Keys currently held (never more than max_keys).
  std::size_t size() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LoginThrottlePolicy {
  // Failures allowed without any delay.
  int free_failures = 5;
  // A key forgets its failures once it has had none for this long.
  std::chrono::milliseconds window = std::chrono::minutes(15);
  // The delay after failure free_failures; each further failure doubles it, up to max_delay.
  std::chrono::milliseconds first_delay = std::chrono::seconds(1);
  std::chrono::milliseconds max_delay = std::chrono::minutes(5);
};

// Slows down password guessing: failed logins are counted per key (call it once with the
// account name and once with the client address), and after policy.free_failures of them the
// next attempt must wait 1 s, then 2 s, 4 s, ... up to 5 min, counted from the last failure.
// Thread-safe; bounded like RateLimiter (an evicted key starts clean, so an attacker who can
// fill max_keys with fresh keys can reset a throttle: keep max_keys well above the number of
// accounts and addresses expected within one window).
class LoginThrottle {
public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(LoginThrottlePolicy policy = {}, std::size_t max_keys = 100'000);
  ~LoginThrottle();
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // How long key must wait before its next attempt is checked; 0 for a clean key. A login
  // handler refuses (429 with Retry-After) without checking the password while this is > 0.
  std::chrono::milliseconds delayFor(std::string_view key,
                                     Clock::time_point now = Clock::now()) const;

  // Records a failed attempt for key.
  void failed(std::string_view key, Clock::time_point now = Clock::now());

  // Forgets key's failures (a successful login).
  void succeeded(std::string_view key);

  // Keys currently held (never more than max_keys).
  std::size_t size() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace forge::auth
