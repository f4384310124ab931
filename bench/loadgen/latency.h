// Latency samples of one run and their summary. Every sample is kept (8 bytes each, so a
// million calls cost 8 MB) and sorted once at the end: exact percentiles, no bucket error.
#pragma once

#include <cstdint>
#include <vector>

namespace forge::bench {

struct LatencySummary {
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
};

class LatencyRecorder {
public:
  void reserve(std::size_t n) { samples_.reserve(n); }
  void add(std::uint64_t nanoseconds) { samples_.push_back(nanoseconds); }
  void merge(const LatencyRecorder& other);
  std::size_t count() const { return samples_.size(); }
  // Sorts the samples (once; later calls are cheap) and summarises them.
  LatencySummary summarize();

private:
  std::vector<std::uint64_t> samples_;
};

} // namespace forge::bench
