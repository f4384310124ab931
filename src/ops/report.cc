#include "ops/report.h"

#include "storage/store.h"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace forge::ops {
namespace {

namespace json = boost::json;

template <class T>
json::value optionalJson(const std::optional<T>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::object windowJson(const CallWindow& window) {
  return json::object{{"from", storage::isoUtc(window.from)},
                      {"to", storage::isoUtc(window.to)},
                      {"seconds", window.seconds()}};
}

json::array figuresJson(const std::vector<CallFigures>& list) {
  json::array out;
  for (const auto& figures : list)
    out.push_back(toJson(figures));
  return out;
}

std::optional<double> growth(double before, double after) {
  if (before <= 0) return std::nullopt;
  return 100.0 * (after - before) / before;
}

TrendPoint pointOf(std::string period, const storage::LatencyHistogram& h) {
  return TrendPoint{std::move(period), h.calls, h.errors, h.errorPercent(), h.percentile(0.95)};
}

json::object pointJson(const TrendPoint& p) {
  return json::object{{"period", p.period},
                      {"calls", p.calls},
                      {"errors", p.errors},
                      {"error_percent", p.error_percent},
                      {"p95_ms", p.p95_ms}};
}

} // namespace

CallFigures figuresOf(const storage::LatencyHistogram& h, double seconds) {
  CallFigures f;
  f.calls = h.calls;
  f.errors = h.errors;
  f.error_percent = h.errorPercent();
  f.calls_per_second = seconds > 0 ? static_cast<double>(h.calls) / seconds : 0;
  f.mean_ms = h.meanMs();
  f.p50_ms = h.percentile(0.50);
  f.p90_ms = h.percentile(0.90);
  f.p95_ms = h.percentile(0.95);
  f.p99_ms = h.percentile(0.99);
  f.max_ms = h.max_ms;
  return f;
}

json::object toJson(const CallFigures& f) {
  json::object out;
  if (!f.upstream.empty()) out["upstream"] = f.upstream;
  if (!f.tool.empty()) out["tool"] = f.tool;
  out["calls"] = f.calls;
  out["errors"] = f.errors;
  out["error_percent"] = f.error_percent;
  out["calls_per_second"] = f.calls_per_second;
  out["mean_ms"] = f.mean_ms;
  out["p50_ms"] = f.p50_ms;
  out["p90_ms"] = f.p90_ms;
  out["p95_ms"] = f.p95_ms;
  out["p99_ms"] = f.p99_ms;
  out["max_ms"] = f.max_ms;
  return out;
}

// ---- performance --------------------------------------------------------------------------------

PerformanceReport performanceReport(const std::vector<storage::CallMinute>& minutes,
                                    const CallWindow& window) {
  PerformanceReport report{window, figuresOf(totalOf(minutes), window.seconds()), {}, {}};
  for (const auto& [upstream, h] : byUpstream(minutes)) {
    auto figures = figuresOf(h, window.seconds());
    figures.upstream = upstream;
    report.upstreams.push_back(std::move(figures));
  }
  for (const auto& [key, h] : byTool(minutes)) {
    auto figures = figuresOf(h, window.seconds());
    figures.upstream = key.first;
    figures.tool = key.second;
    report.tools.push_back(std::move(figures));
  }
  return report;
}

json::object toJson(const PerformanceReport& r) {
  return json::object{{"window", windowJson(r.window)},
                      {"total", toJson(r.total)},
                      {"upstreams", figuresJson(r.upstreams)},
                      {"tools", figuresJson(r.tools)}};
}

// ---- capacity -----------------------------------------------------------------------------------

CapacityReport capacityReport(const std::vector<storage::CallMinute>& minutes,
                              const CallWindow& window, const CapacityInputs& in) {
  CapacityReport r;
  r.window = window;
  const auto per_minute = byPeriod(minutes, Period::kMinute);
  std::int64_t total = 0;
  for (const auto& [minute, h] : per_minute) {
    total += h.calls;
    if (static_cast<double>(h.calls) > r.peak_per_minute) {
      r.peak_per_minute = static_cast<double>(h.calls);
      r.peak_minute = minute;
    }
  }
  const double window_minutes = window.seconds() / 60.0;
  if (window_minutes > 0) r.average_per_minute = static_cast<double>(total) / window_minutes;
  // Current throughput: the recent minutes of the window, averaged.
  const std::string recent_from = storage::minuteUtc(window.to - in.recent).substr(0, 16);
  std::int64_t recent = 0;
  for (const auto& [minute, h] : per_minute)
    recent += minute >= recent_from ? h.calls : 0;
  r.current_per_minute = static_cast<double>(recent) / static_cast<double>(in.recent.count());

  if (in.system.cpu) r.cpu_headroom = 100.0 - *in.system.cpu;
  if (in.system.memory) r.memory_headroom = 100.0 - *in.system.memory;
  r.gateway_cpu = in.system.gateway_cpu;
  r.replicas = in.replicas;
  r.sessions = in.sessions;
  if (r.replicas && *r.replicas > 0) r.peak_per_replica = r.peak_per_minute / *r.replicas;

  if (!r.gateway_cpu || !r.replicas || *r.replicas <= 0) {
    r.note = "the gateway's CPU and replicas come from the manager, which was not reachable";
  } else if (r.current_per_minute <= 0) {
    r.note = "no calls in the last minutes: no CPU cost per call to project from";
  } else {
    r.projected_peak_cpu = *r.gateway_cpu * r.peak_per_minute / r.current_per_minute;
    const double needed = *r.replicas * *r.projected_peak_cpu / in.target_utilisation;
    r.suggested_replicas = std::max(1, static_cast<int>(std::ceil(needed)));
    r.additional_replicas = std::max(0, *r.suggested_replicas - *r.replicas);
  }
  return r;
}

json::object toJson(const CapacityReport& r) {
  return json::object{{"window", windowJson(r.window)},
                      {"current_per_minute", r.current_per_minute},
                      {"average_per_minute", r.average_per_minute},
                      {"peak_per_minute", r.peak_per_minute},
                      {"peak_minute", r.peak_minute},
                      {"cpu_headroom_percent", optionalJson(r.cpu_headroom)},
                      {"memory_headroom_percent", optionalJson(r.memory_headroom)},
                      {"gateway_cpu_percent", optionalJson(r.gateway_cpu)},
                      {"replicas", optionalJson(r.replicas)},
                      {"sessions", optionalJson(r.sessions)},
                      {"peak_per_replica_per_minute", optionalJson(r.peak_per_replica)},
                      {"projected_peak_cpu_percent", optionalJson(r.projected_peak_cpu)},
                      {"suggested_replicas", optionalJson(r.suggested_replicas)},
                      {"additional_replicas", optionalJson(r.additional_replicas)},
                      {"note", r.note}};
}

// ---- trends -------------------------------------------------------------------------------------

TrendsReport trendsReport(const std::vector<storage::CallMinute>& minutes,
                          const CallWindow& window) {
  TrendsReport r;
  r.window = window;
  r.period = window.to - window.from >= std::chrono::hours(48) ? Period::kDay : Period::kHour;
  for (const auto& [period, h] : byPeriod(minutes, r.period))
    r.points.push_back(pointOf(period, h));

  const std::string middle = storage::minuteUtc(window.from + (window.to - window.from) / 2);
  storage::LatencyHistogram first, second;
  for (const auto& m : minutes)
    (m.minute < middle ? first : second).merge(m.histogram);
  r.first_half = pointOf("first half", first);
  r.second_half = pointOf("second half", second);
  r.calls_growth = growth(static_cast<double>(first.calls), static_cast<double>(second.calls));
  if (first.calls > 0 && second.calls > 0)
    r.p95_growth = growth(r.first_half.p95_ms, r.second_half.p95_ms);
  r.error_rate_change = r.second_half.error_percent - r.first_half.error_percent;
  return r;
}

json::object toJson(const TrendsReport& r) {
  json::array points;
  for (const auto& p : r.points)
    points.push_back(pointJson(p));
  return json::object{{"window", windowJson(r.window)},
                      {"period", r.period == Period::kDay ? "day" : "hour"},
                      {"points", std::move(points)},
                      {"first_half", pointJson(r.first_half)},
                      {"second_half", pointJson(r.second_half)},
                      {"calls_growth_percent", optionalJson(r.calls_growth)},
                      {"p95_growth_percent", optionalJson(r.p95_growth)},
                      {"error_rate_change_points", r.error_rate_change}};
}

// ---- bottlenecks --------------------------------------------------------------------------------

BottlenecksReport bottlenecksReport(const std::vector<storage::CallMinute>& minutes,
                                    const CallWindow& window,
                                    const std::vector<UpstreamLimit>& limits,
                                    std::optional<double> cpu, double cpu_warning,
                                    std::size_t top) {
  BottlenecksReport r;
  r.window = window;
  const auto tools = performanceReport(minutes, window).tools;

  r.slowest = tools;
  std::sort(r.slowest.begin(), r.slowest.end(),
            [](const auto& a, const auto& b) { return a.p95_ms > b.p95_ms; });
  if (r.slowest.size() > top) r.slowest.resize(top);

  for (const auto& f : tools)
    if (f.errors > 0) r.most_failing.push_back(f);
  std::sort(r.most_failing.begin(), r.most_failing.end(),
            [](const auto& a, const auto& b) { return a.error_percent > b.error_percent; });
  if (r.most_failing.size() > top) r.most_failing.resize(top);

  // Calls in flight on average during a minute = the time they took together / 60 s (Little's
  // law); the busiest minute is set against the upstream's limit.
  std::map<std::pair<std::string, std::string>, double> busy_ms; // (upstream, minute)
  for (const auto& m : minutes)
    busy_ms[{m.gateway, m.minute}] += m.histogram.total_ms;
  for (const auto& limit : limits) {
    if (limit.max_concurrency <= 0) continue;
    ConcurrencyFigure figure{limit.name, limit.max_concurrency, 0, 0};
    for (const auto& [key, ms] : busy_ms)
      if (key.first == limit.name)
        figure.peak_concurrency = std::max(figure.peak_concurrency, ms / 60'000.0);
    figure.percent_of_limit =
        100.0 * figure.peak_concurrency / static_cast<double>(limit.max_concurrency);
    r.concurrency.push_back(figure);
  }
  std::sort(r.concurrency.begin(), r.concurrency.end(),
            [](const auto& a, const auto& b) { return a.percent_of_limit > b.percent_of_limit; });

  r.cpu = cpu;
  r.cpu_saturated = cpu && *cpu >= cpu_warning;

  if (!r.slowest.empty() && r.slowest.front().calls > 0) {
    const auto& s = r.slowest.front();
    r.findings.push_back(fmt::format("slowest tool: {} on {}, p95 {:.0f} ms over {} call(s)",
                                     s.tool, s.upstream, s.p95_ms, s.calls));
  }
  for (const auto& f : r.most_failing)
    r.findings.push_back(fmt::format("{} on {} fails {:.1f}% of calls ({} of {})", f.tool,
                                     f.upstream, f.error_percent, f.errors, f.calls));
  for (const auto& c : r.concurrency)
    if (c.percent_of_limit >= 80)
      r.findings.push_back(fmt::format("{} ran {:.1f} calls at once at its peak, {:.0f}% of its "
                                       "max_concurrency {}: raise it or add capacity upstream",
                                       c.upstream, c.peak_concurrency, c.percent_of_limit,
                                       c.max_concurrency));
  if (r.cpu_saturated)
    r.findings.push_back(fmt::format("CPU at {:.1f}%: the machine is saturated", *cpu));
  return r;
}

json::object toJson(const BottlenecksReport& r) {
  json::array concurrency;
  for (const auto& c : r.concurrency)
    concurrency.push_back(json::object{{"upstream", c.upstream},
                                       {"max_concurrency", c.max_concurrency},
                                       {"peak_concurrency", c.peak_concurrency},
                                       {"percent_of_limit", c.percent_of_limit}});
  json::array findings;
  for (const auto& f : r.findings)
    findings.push_back(json::value(f));
  return json::object{{"window", windowJson(r.window)},
                      {"slowest", figuresJson(r.slowest)},
                      {"most_failing", figuresJson(r.most_failing)},
                      {"concurrency", std::move(concurrency)},
                      {"cpu_percent", optionalJson(r.cpu)},
                      {"cpu_saturated", r.cpu_saturated},
                      {"findings", std::move(findings)}};
}

} // namespace forge::ops
