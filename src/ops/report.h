// Reports over recorded calls (the per-minute latency histograms) and the machine's figures:
//   performance  per upstream and per tool: calls, calls/s, error rate, p50/p90/p95/p99, max
//   capacity     throughput now against the peak minute, CPU and memory headroom, replicas, and
//                the replicas the observed load suggests for a target utilisation
//   trends       per hour or day: calls, errors, p95; growth between the window's two halves
//   bottlenecks  the slowest tools, the most failing ones, upstreams near their concurrency
//                limit (estimated from throughput and latency), CPU saturation
// Everything here is computed from its inputs: the command gathers them (database, /proc,
// manager) and prints the result.
#pragma once

#include "ops/call_stats.h"
#include "ops/system_usage.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

struct CallFigures {
  std::string upstream; // empty for a total
  std::string tool;     // empty for an upstream's or a total
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  double error_percent = 0;
  double calls_per_second = 0;
  double mean_ms = 0;
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0;
  double max_ms = 0;
};

CallFigures figuresOf(const storage::LatencyHistogram& histogram, double seconds);
boost::json::object toJson(const CallFigures& figures);

struct PerformanceReport {
  CallWindow window;
  CallFigures total;
  std::vector<CallFigures> upstreams; // by name
  std::vector<CallFigures> tools;     // by upstream, then tool
};
PerformanceReport performanceReport(const std::vector<storage::CallMinute>& minutes,
                                    const CallWindow& window);
boost::json::object toJson(const PerformanceReport& report);

// What the capacity report needs besides the recorded calls.
struct CapacityInputs {
  SystemReadings system;
  std::optional<int> replicas;          // the gateway's running replicas (manager)
  std::optional<std::int64_t> sessions; // open MCP sessions (gateway)
  double target_utilisation = 70;       // percent of the machine's CPU the gateway may use
  std::chrono::minutes recent{5};       // "current" throughput is averaged over this
};

struct CapacityReport {
  CallWindow window;
  double current_per_minute = 0; // average over CapacityInputs::recent
  double average_per_minute = 0; // over the window
  double peak_per_minute = 0;    // the busiest minute of the window
  std::string peak_minute;
  std::optional<double> cpu_headroom;    // percent of the machine not in use
  std::optional<double> memory_headroom; // percent
  std::optional<double> gateway_cpu;     // percent of the machine, the gateway's processes
  std::optional<int> replicas;
  std::optional<std::int64_t> sessions;
  std::optional<double> peak_per_replica; // calls per minute at the peak
  // The gateway's CPU at the peak throughput, at the CPU cost per call seen now, and the
  // replicas that keep it under the target utilisation (assuming each replica brings the
  // capacity one has now).
  std::optional<double> projected_peak_cpu;
  std::optional<int> suggested_replicas;
  std::optional<int> additional_replicas;
  std::string note; // why no suggestion
};
CapacityReport capacityReport(const std::vector<storage::CallMinute>& minutes,
                              const CallWindow& window, const CapacityInputs& inputs);
boost::json::object toJson(const CapacityReport& report);

struct TrendPoint {
  std::string period; // "2026-12-04" or "2026-12-04T17"
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  double error_percent = 0;
  double p95_ms = 0;
};
struct TrendsReport {
  CallWindow window;
  Period period = Period::kHour;
  std::vector<TrendPoint> points;
  TrendPoint first_half, second_half; // period: "first half", "second half"
  std::optional<double> calls_growth; // percent from the first half to the second
  std::optional<double> p95_growth;   // percent
  double error_rate_change = 0;       // percentage points
};
// Periods of a day for windows of two days and more, else of an hour.
TrendsReport trendsReport(const std::vector<storage::CallMinute>& minutes,
                          const CallWindow& window);
boost::json::object toJson(const TrendsReport& report);

// An upstream's configured concurrency limit (from the catalog).
struct UpstreamLimit {
  std::string name; // as calls record it (the slug)
  std::int64_t max_concurrency = 0;
};

struct ConcurrencyFigure {
  std::string upstream;
  std::int64_t max_concurrency = 0;
  double peak_concurrency = 0; // calls in flight on average in the busiest minute
  double percent_of_limit = 0;
};

struct BottlenecksReport {
  CallWindow window;
  std::vector<CallFigures> slowest;           // tools by p95, slowest first
  std::vector<CallFigures> most_failing;      // tools with errors by error rate, worst first
  std::vector<ConcurrencyFigure> concurrency; // upstreams by share of their limit
  std::optional<double> cpu;                  // percent of the machine
  bool cpu_saturated = false;                 // at or above the warning threshold
  std::vector<std::string> findings;          // one line per problem found
};
BottlenecksReport bottlenecksReport(const std::vector<storage::CallMinute>& minutes,
                                    const CallWindow& window,
                                    const std::vector<UpstreamLimit>& limits,
                                    std::optional<double> cpu, double cpu_warning,
                                    std::size_t top = 5);
boost::json::object toJson(const BottlenecksReport& report);

} // namespace forge::ops
