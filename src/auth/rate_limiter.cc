#include "auth/rate_limiter.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace forge::auth {
namespace {

constexpr std::size_t kMaxShards = 16;
// How many of the least recently used keys a full shard inspects for idle ones.
constexpr int kIdleScan = 8;

// A map from key to State holding at most `capacity` keys, in least-recently-used order. Not
// thread-safe: the owner locks `mutex`. alignas keeps two shards' mutexes off one cache line.
template <class State>
class alignas(64) LruShard {
public:
  mutable std::mutex mutex;
  std::size_t capacity = 1;

  // key's state without changing its recency, or nullptr.
  const State* find(std::string_view key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->state;
  }

  // key's state, now the most recently used. An absent key is inserted as `fresh`, after making
  // room: first by dropping idle(state) keys among the least recent, else the least recent one.
  template <class Idle>
  State& touch(std::string_view key, const State& fresh, Idle idle) {
    if (const auto it = index_.find(key); it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->state;
    }
    if (order_.size() >= capacity) makeRoom(idle);
    order_.push_front(Node{std::string(key), fresh});
    // The index's string_view points into the list node, which never moves.
    index_.emplace(order_.front().key, order_.begin());
    return order_.front().state;
  }

  void erase(std::string_view key) {
    if (const auto it = index_.find(key); it != index_.end()) {
      const auto node = it->second;
      index_.erase(it);
      order_.erase(node);
    }
  }

  std::size_t size() const { return order_.size(); }

private:
  struct Node {
    std::string key;
    State state;
  };
  using List = std::list<Node>;

  template <class Idle>
  void makeRoom(Idle idle) {
    bool freed = false;
    auto it = order_.end();
    for (int i = 0; i < kIdleScan && it != order_.begin(); ++i) {
      --it;
      if (idle(it->state)) {
        index_.erase(it->key);
        it = order_.erase(it); // the next --it reaches the key before the erased one
        freed = true;
      }
    }
    if (!freed) erase(order_.back().key);
  }

  List order_; // most recent first
  std::unordered_map<std::string_view, typename List::iterator> index_;
};

// max_keys split over up to kMaxShards shards whose capacities add up to exactly max_keys (at
// least 1), so that the bound holds globally.
template <class State>
class ShardedLru {
public:
  explicit ShardedLru(std::size_t max_keys) {
    max_keys = std::max<std::size_t>(max_keys, 1);
    shards_ = std::vector<LruShard<State>>(std::min(max_keys, kMaxShards));
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      shards_[i].capacity = max_keys / shards_.size() + (i < max_keys % shards_.size() ? 1 : 0);
    }
  }

  LruShard<State>& shardFor(std::string_view key) {
    return shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  }
  const LruShard<State>& shardFor(std::string_view key) const {
    return shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  }

  std::size_t size() const {
    std::size_t total = 0;
    for (const auto& shard : shards_) {
      const std::lock_guard lock(shard.mutex);
      total += shard.size();
    }
    return total;
  }

private:
  std::vector<LruShard<State>> shards_;
};

using Clock = std::chrono::steady_clock;

double secondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Floating-point refills are inexact: a bucket that should hold exactly 1 token may hold
// 0.9999999999. Differences below this many tokens are treated as zero.
constexpr double kTokenTolerance = 1e-9;
// The longest retry_after reported (a bucket that never refills, or a tiny rate).
constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24);

struct Bucket {
  double tokens = 0;
  Clock::time_point updated;
  // The limit last used with this bucket, so that eviction can tell whether it has refilled.
  double per_second = 0;
  double burst = 0;
};

double refilledTokens(const Bucket& bucket, Clock::time_point now) {
  // A caller's `now` may be older than another thread's: time never runs backwards here.
  if (now <= bucket.updated || bucket.per_second <= 0) return bucket.tokens;
  return std::min(bucket.burst,
                  bucket.tokens + bucket.per_second * secondsBetween(bucket.updated, now));
}

// A full bucket is indistinguishable from an absent one.
bool bucketIdle(const Bucket& bucket, Clock::time_point now) {
  return refilledTokens(bucket, now) + kTokenTolerance >= bucket.burst;
}

std::chrono::milliseconds waitFor(double missing_tokens, double per_second) {
  if (per_second <= 0) return kMaxRetryAfter;
  // Shave a rounding error off before rounding up, or an exact 50 ms would become 51 ms.
  const double ms = std::ceil(missing_tokens / per_second * 1000.0 - 1e-6);
  const double capped = std::clamp(ms, 1.0, static_cast<double>(kMaxRetryAfter.count()));
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(capped));
}

struct Failures {
  int count = 0;
  Clock::time_point last;
};

} // namespace

std::string rateLimitKey(std::string_view identity, std::string_view tool) {
  std::string key;
  key.reserve(identity.size() + 1 + tool.size());
  key.append(identity).append(1, '\x1f').append(tool);
  return key;
}

struct RateLimiter::Impl {
  explicit Impl(std::size_t max_keys) : buckets(max_keys) {}
  ShardedLru<Bucket> buckets;
};

RateLimiter::RateLimiter(std::size_t max_keys) : impl_(std::make_unique<Impl>(max_keys)) {}
RateLimiter::~RateLimiter() = default;

RateLimiter::Decision RateLimiter::take(std::string_view key, const RateLimit& limit,
                                        Clock::time_point now, double cost) {
  auto& shard = impl_->buckets.shardFor(key);
  const std::lock_guard lock(shard.mutex);
  const Bucket fresh{limit.burst, now, limit.per_second, limit.burst};
  Bucket& bucket =
      shard.touch(key, fresh, [&](const Bucket& other) { return bucketIdle(other, now); });
  bucket.tokens = std::min(refilledTokens(bucket, now), limit.burst);
  bucket.updated = std::max(bucket.updated, now);
  bucket.per_second = limit.per_second;
  bucket.burst = limit.burst;

  if (bucket.tokens + kTokenTolerance >= cost) {
    bucket.tokens = std::max(0.0, bucket.tokens - cost);
    return {
        .allowed = true, .retry_after = std::chrono::milliseconds(0), .remaining = bucket.tokens};
  }
  // A cost above burst can never be met; report the wait until the bucket is full.
  const double missing = std::min(cost, limit.burst) - bucket.tokens;
  return {.allowed = false,
          .retry_after = waitFor(missing, limit.per_second),
          .remaining = bucket.tokens};
}

std::size_t RateLimiter::size() const { return impl_->buckets.size(); }

struct LoginThrottle::Impl {
  Impl(LoginThrottlePolicy p, std::size_t max_keys) : policy(p), failures(max_keys) {}

  // Failures older than the window no longer count: such an entry is as good as absent.
  bool expired(const Failures& f, Clock::time_point now) const {
    return now - f.last >= policy.window;
  }

  // first_delay doubled once per failure beyond free_failures, capped at max_delay.
  std::chrono::milliseconds delayAfter(int count) const {
    if (count < policy.free_failures) return std::chrono::milliseconds(0);
    std::chrono::milliseconds delay = policy.first_delay;
    for (int i = policy.free_failures; i < count && delay < policy.max_delay; ++i) {
      delay = delay > policy.max_delay / 2 ? policy.max_delay : delay * 2;
    }
    return std::min(delay, policy.max_delay);
  }

  LoginThrottlePolicy policy;
  ShardedLru<Failures> failures;
};

LoginThrottle::LoginThrottle(LoginThrottlePolicy policy, std::size_t max_keys)
    : impl_(std::make_unique<Impl>(policy, max_keys)) {}
LoginThrottle::~LoginThrottle() = default;

std::chrono::milliseconds LoginThrottle::delayFor(std::string_view key,
                                                  Clock::time_point now) const {
  const auto& shard = impl_->failures.shardFor(key);
  const std::lock_guard lock(shard.mutex);
  const Failures* f = shard.find(key);
  if (f == nullptr || impl_->expired(*f, now)) return std::chrono::milliseconds(0);
  const Clock::time_point until = f->last + impl_->delayAfter(f->count);
  if (until <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(until - now);
}

void LoginThrottle::failed(std::string_view key, Clock::time_point now) {
  auto& shard = impl_->failures.shardFor(key);
  const std::lock_guard lock(shard.mutex);
  Failures& f = shard.touch(key, Failures{0, now},
                            [&](const Failures& other) { return impl_->expired(other, now); });
  if (impl_->expired(f, now)) f.count = 0;
  if (f.count < INT_MAX) ++f.count;
  f.last = std::max(f.last, now);
}

void LoginThrottle::succeeded(std::string_view key) {
  auto& shard = impl_->failures.shardFor(key);
  const std::lock_guard lock(shard.mutex);
  shard.erase(key);
}

std::size_t LoginThrottle::size() const { return impl_->failures.size(); }

} // namespace forge::auth
