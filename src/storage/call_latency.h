// Latency histograms of tool calls. Every gateway process counts its calls in the same fixed
// buckets, so histograms of several processes and of several minutes add up (in SQL or here),
// and a percentile of any window can be estimated from their sum.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace forge::storage {

// Upper bounds of the buckets in milliseconds (a call of exactly a bound counts in its bucket);
// one more bucket holds the calls slower than the last bound.
inline constexpr std::array<double, 15> kLatencyBounds{
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1'000, 2'000, 5'000, 10'000, 30'000, 60'000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBounds.size() + 1;

// The bucket a latency falls in.
std::size_t latencyBucket(double ms);

struct LatencyHistogram {
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  double total_ms = 0;
  double max_ms = 0;
  std::array<std::int64_t, kLatencyBuckets> buckets{};

  void add(double ms, bool error);
  void merge(const LatencyHistogram& other);

  // The estimated q-quantile (q in [0, 1]) in milliseconds: interpolated linearly inside the
  // bucket that holds it, never above the slowest call seen; 0 without calls.
  double percentile(double q) const;
  double meanMs() const { return calls ? total_ms / static_cast<double>(calls) : 0; }
  // Errors in percent of calls; 0 without calls.
  double errorPercent() const {
    return calls ? 100.0 * static_cast<double>(errors) / static_cast<double>(calls) : 0;
  }
};

// One minute of one tool's calls, as recorded in call_latency.
struct CallMinute {
  std::string minute; // "2026-12-04T17:05:00Z"
  std::string gateway;
  std::string tool;
  LatencyHistogram histogram;
};

// The calls of one (gateway, tool) since the last flush.
struct CallTotals {
  LatencyHistogram histogram; // calls, errors, total and slowest ms, buckets
  double min_ms = 0;

  void add(double ms, bool error);
};

// Finished calls folded per (gateway, tool) as they come: a gateway process keeps one and hands
// it to storage on every flush. Its size follows the number of tools called, not the number of
// calls, so neither a busy gateway nor a stalled database makes it grow, and no call is dropped.
class CallTally {
public:
  void add(std::string_view gateway, std::string_view tool, bool error, double latency_ms);
  bool empty() const { return by_gateway_.empty(); }
  // Calls fn(gateway, tool, totals) for each pair, ordered by gateway, then tool.
  void forEach(const std::function<void(const std::string&, const std::string&, const CallTotals&)>&
                   fn) const;

private:
  using ToolTotals = std::map<std::string, CallTotals, std::less<>>;
  std::map<std::string, ToolTotals, std::less<>> by_gateway_;
};

} // namespace forge::storage
