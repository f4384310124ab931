#include "latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace forge::bench {
namespace {

// The nearest-rank percentile of sorted samples, in microseconds.
double percentileUs(const std::vector<std::uint64_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  const std::size_t index = rank == 0 ? 0 : std::min(rank, sorted.size()) - 1;
  return static_cast<double>(sorted[index]) / 1000.0;
}

} // namespace

void LatencyRecorder::merge(const LatencyRecorder& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
}

LatencySummary LatencyRecorder::summarize() {
  std::sort(samples_.begin(), samples_.end());
  LatencySummary s;
  if (samples_.empty()) return s;
  s.p50_us = percentileUs(samples_, 0.50);
  s.p90_us = percentileUs(samples_, 0.90);
  s.p99_us = percentileUs(samples_, 0.99);
  s.p999_us = percentileUs(samples_, 0.999);
  s.max_us = static_cast<double>(samples_.back()) / 1000.0;
  const long double total = std::accumulate(samples_.begin(), samples_.end(), 0.0L);
  s.mean_us = static_cast<double>(total / static_cast<long double>(samples_.size()) / 1000.0L);
  return s;
}

} // namespace forge::bench
