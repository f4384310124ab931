#include "storage/call_latency.h"

#include <algorithm>

namespace forge::storage {

std::size_t latencyBucket(double ms) {
  const auto it = std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), ms);
  return static_cast<std::size_t>(it - kLatencyBounds.begin());
}

void LatencyHistogram::add(double ms, bool error) {
  ++calls;
  errors += error ? 1 : 0;
  total_ms += ms;
  max_ms = std::max(max_ms, ms);
  ++buckets[latencyBucket(ms)];
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  calls += other.calls;
  errors += other.errors;
  total_ms += other.total_ms;
  max_ms = std::max(max_ms, other.max_ms);
  for (std::size_t i = 0; i < kLatencyBuckets; ++i)
    buckets[i] += other.buckets[i];
}

double LatencyHistogram::percentile(double q) const {
  std::int64_t counted = 0;
  for (std::int64_t n : buckets)
    counted += n;
  if (counted == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the wanted call among `counted`, 1-based: the median of 3 calls is the 2nd.
  const double rank = std::max(1.0, q * static_cast<double>(counted));
  std::int64_t below = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    const std::int64_t in_bucket = buckets[i];
    if (in_bucket == 0 || static_cast<double>(below + in_bucket) < rank) {
      below += in_bucket;
      continue;
    }
    // The slowest call caps every bucket: a bucket's calls are no slower than the maximum.
    const double upper = std::min(i < kLatencyBounds.size() ? kLatencyBounds[i] : max_ms, max_ms);
    const double lower = std::min(i == 0 ? 0.0 : kLatencyBounds[i - 1], upper);
    const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
    return lower + (upper - lower) * fraction;
  }
  return max_ms;
}

void CallTotals::add(double ms, bool error) {
  min_ms = histogram.calls == 0 ? ms : std::min(min_ms, ms);
  histogram.add(ms, error);
}

void CallTally::add(std::string_view gateway, std::string_view tool, bool error,
                    double latency_ms) {
  // Looked up before inserting: the names are copied once per tool, not once per call.
  auto g = by_gateway_.find(gateway);
  if (g == by_gateway_.end()) g = by_gateway_.emplace(std::string(gateway), ToolTotals{}).first;
  auto t = g->second.find(tool);
  if (t == g->second.end()) t = g->second.emplace(std::string(tool), CallTotals{}).first;
  t->second.add(latency_ms, error);
}

void CallTally::forEach(const std::function<void(const std::string&, const std::string&,
                                                 const CallTotals&)>& fn) const {
  for (const auto& [gateway, tools] : by_gateway_)
    for (const auto& [tool, totals] : tools)
      fn(gateway, tool, totals);
}

} // namespace forge::storage
