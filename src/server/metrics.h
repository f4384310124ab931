// GatewayMetrics: what the gateway counts for GET /metrics (Prometheus text format 0.0.4):
//   forge_mcp_requests_total{method,outcome}       MCP requests answered, by method (unknown
//                                                  methods as "other") and ok|error
//   forge_tool_calls_total{upstream,tool}          tools/call forwarded and answered
//   forge_tool_errors_total{upstream,tool}         of those, JSON-RPC errors or isError results
//   forge_tool_call_duration_seconds{upstream,tool} latency histogram (_bucket, _sum, _count)
//   forge_http_responses_total{class}              HTTP responses by status class (2xx...)
// and, read when scraped, upstream health, open MCP sessions and the process's own figures
// (see render()).
//
// Counting is cheap on the request path: counters are atomics, and a tool's series is found in
// a per-thread cache, so a call takes a lock only the first time a thread sees that tool.
#pragma once

#include "gateway/registry.h"
#include "net/http.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace forge::mcp {
class Application;
}

namespace forge::server {

// The gateway process as the kernel sees it (/proc/self).
struct ProcessFigures {
  std::uint64_t rss_bytes = 0;
  double cpu_seconds = 0; // user + system
  std::size_t open_fds = 0;
  double uptime_seconds = 0;
  int pid = 0;
};
ProcessFigures processFigures(std::chrono::steady_clock::time_point started);

// What render() reads from the running gateway besides its own counters.
struct GatewayState {
  struct Upstream {
    std::string name;
    bool up = false;
  };
  std::vector<Upstream> upstreams;
  std::size_t sessions = 0; // open MCP sessions, every endpoint and transport
  std::size_t connections = 0;
  ProcessFigures process;
};

class GatewayMetrics final : public gateway::RegistryObserver {
public:
  GatewayMetrics();
  ~GatewayMetrics() override;

  // Wraps an MCP application so that every request its sessions answer is counted.
  std::shared_ptr<mcp::Application> meter(std::shared_ptr<mcp::Application> app);
  // Wraps a response writer so that the status it answers with is counted (and a Date header
  // added: `forge doctor` measures clock skew with it).
  net::ResponseWriterPtr countResponses(net::ResponseWriterPtr writer);

  // gateway::RegistryObserver (only tool calls are counted; state is read when scraped)
  void onUpstreamState(const std::string&, upstream::State, const std::string&) override {}
  void onListChanged(const std::string&, std::optional<gateway::ListKind>) override {}
  void onToolCall(const std::string& upstream, const std::string& tool, bool error,
                  double latency_ms) override;

  // Counts one answered MCP request (`method` as the client sent it).
  void countRequest(std::string_view method, bool ok);
  // Counts one HTTP response.
  void countStatus(int status);

  // The exposition text.
  std::string render(const GatewayState& state) const;

  // Latency buckets of the histograms, in seconds (upper bounds; +Inf is implied).
  static constexpr std::array<double, 12> kBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,   1,    2.5,   5,    10};
  // Distinct (upstream, tool) series kept; calls beyond go to tool="other" of their upstream.
  static constexpr std::size_t kMaxToolSeries = 10'000;

  struct ToolSeries {
    std::string upstream;
    std::string tool;
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> micros{0};                              // sum of latencies
    std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{}; // not cumulative
  };

private:
  ToolSeries& series(const std::string& upstream, const std::string& tool);

  const std::uint64_t id_; // tells this instance's per-thread cache entries from another's
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<ToolSeries>> series_; // "<upstream>\0<tool>"
  // [method index][0 ok, 1 error]
  std::vector<std::array<std::atomic<std::uint64_t>, 2>> requests_;
  std::array<std::atomic<std::uint64_t>, 5> statuses_{}; // 1xx..5xx
};

} // namespace forge::server
