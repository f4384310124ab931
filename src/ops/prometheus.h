// Reading Prometheus text exposition (what GET /metrics of the gateway and the manager answer),
// and the one-screen summary `forge stats` prints from the gateway's metrics.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace forge::ops {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;

  std::string label(const std::string& key) const {
    auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
  }
};

// Every sample of the text; comments, blank and malformed lines are skipped.
std::vector<Sample> parsePrometheus(std::string_view text);

// The sum of every sample named `name` (0 when none).
double total(const std::vector<Sample>& samples, std::string_view name);

// What `forge stats` shows, computed from one scrape of the gateway's /metrics.
struct ToolFigures {
  std::string upstream;
  std::string tool;
  double calls = 0;
  double errors = 0;
  double mean_seconds = 0;
  double p95_seconds = 0; // upper bound of the bucket holding the 95th percentile
};

struct UpstreamFigures {
  std::string name;
  bool up = false;
  double calls = 0;
  double errors = 0;
};

struct GatewayStats {
  double uptime_seconds = 0;
  double mcp_requests = 0;
  double mcp_errors = 0;
  double http_responses = 0;
  double http_errors = 0; // 5xx
  double tool_calls = 0;
  double tool_errors = 0;
  double sessions = 0;
  double connections = 0;
  double rss_bytes = 0;
  double cpu_seconds = 0;
  double open_fds = 0;
  int pid = 0;
  std::vector<ToolFigures> tools; // most called first
  std::vector<UpstreamFigures> upstreams;

  double callsPerSecond() const { return uptime_seconds > 0 ? tool_calls / uptime_seconds : 0; }
  // Percent of MCP requests answered with an error.
  double errorRate() const { return mcp_requests > 0 ? 100 * mcp_errors / mcp_requests : 0; }
};

GatewayStats gatewayStats(const std::vector<Sample>& samples);

// The upper bound of the bucket in which the `quantile` (0..1) of a histogram's observations
// falls; `buckets` are (le, cumulative count) in increasing order, +Inf last. 0 when empty;
// the largest finite bound when it falls in +Inf.
double histogramQuantile(const std::vector<std::pair<double, double>>& buckets, double quantile);

} // namespace forge::ops
