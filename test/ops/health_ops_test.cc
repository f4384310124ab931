// What the health and debugging commands compute without a network: Prometheus text parsing and
// the stats summary, histogram quantiles, redaction, URLs and HTTP dates.
#include "ops/bundle.h"
#include "ops/probe.h"
#include "ops/prometheus.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

namespace forge::ops {
namespace {

constexpr const char* kScrape = R"(# HELP forge_mcp_requests_total MCP requests
# TYPE forge_mcp_requests_total counter
forge_mcp_requests_total{method="tools/call",outcome="ok"} 8
forge_mcp_requests_total{method="tools/call",outcome="error"} 2
forge_http_responses_total{class="2xx"} 9
forge_http_responses_total{class="5xx"} 1
forge_tool_calls_total{upstream="a",tool="slow"} 2
forge_tool_calls_total{upstream="a",tool="fast \"quoted\""} 6
forge_tool_errors_total{upstream="a",tool="slow"} 1
forge_tool_call_duration_seconds_bucket{upstream="a",tool="slow",le="0.1"} 0
forge_tool_call_duration_seconds_bucket{upstream="a",tool="slow",le="1"} 1
forge_tool_call_duration_seconds_bucket{upstream="a",tool="slow",le="+Inf"} 2
forge_tool_call_duration_seconds_sum{upstream="a",tool="slow"} 3
forge_tool_call_duration_seconds_sum{upstream="a",tool="fast \"quoted\""} 0.06
forge_upstream_up{upstream="a"} 1
forge_upstream_up{upstream="b"} 0
forge_uptime_seconds 4
forge_build_info{version="0.1.0",pid="42"} 1
not a sample line
)";

TEST(PrometheusTest, ParsesSamplesWithEscapedLabels) {
  const auto samples = parsePrometheus(kScrape);
  ASSERT_EQ(samples.size(), 16u);
  EXPECT_EQ(samples[0].name, "forge_mcp_requests_total");
  EXPECT_EQ(samples[0].label("method"), "tools/call");
  EXPECT_EQ(samples[0].value, 8);
  EXPECT_EQ(samples[5].label("tool"), "fast \"quoted\"");
  EXPECT_EQ(total(samples, "forge_tool_calls_total"), 8);
  EXPECT_EQ(parsePrometheus("x 1 1700000000000\n")[0].value, 1); // timestamp ignored
}

TEST(PrometheusTest, GatewayStatsSummariseAScrape) {
  const auto stats = gatewayStats(parsePrometheus(kScrape));
  EXPECT_EQ(stats.mcp_requests, 10);
  EXPECT_EQ(stats.errorRate(), 20);
  EXPECT_EQ(stats.http_errors, 1);
  EXPECT_EQ(stats.tool_calls, 8);
  EXPECT_EQ(stats.callsPerSecond(), 2);
  EXPECT_EQ(stats.pid, 42);
  ASSERT_EQ(stats.tools.size(), 2u);
  EXPECT_EQ(stats.tools[0].tool, "fast \"quoted\""); // most called first
  EXPECT_DOUBLE_EQ(stats.tools[1].mean_seconds, 1.5);
  EXPECT_EQ(stats.tools[1].p95_seconds, 1); // +Inf bucket: the largest finite bound
  ASSERT_EQ(stats.upstreams.size(), 2u);
  EXPECT_TRUE(stats.upstreams[0].up);
  EXPECT_EQ(stats.upstreams[0].errors, 1);
  EXPECT_FALSE(stats.upstreams[1].up);
}

TEST(PrometheusTest, HistogramQuantileFindsTheBucket) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(histogramQuantile({{0.1, 50}, {0.5, 95}, {1, 100}, {inf, 100}}, 0.95), 0.5);
  EXPECT_EQ(histogramQuantile({{0.1, 96}, {inf, 100}}, 0.95), 0.1);
  EXPECT_EQ(histogramQuantile({{0.1, 0}, {inf, 0}}, 0.95), 0);
}

TEST(BundleTest, RedactsEveryOccurrenceOfEachSecret) {
  EXPECT_EQ(redact("a=s3cr3t b=s3cr3t c=other", {"s3cr3t", "no"}),
            "a=[REDACTED] b=[REDACTED] c=other"); // "no" is too short to redact
  // A secret that contains the marker's text cannot loop.
  EXPECT_EQ(redact("x[REDACTED]x", {"[REDACTED]"}), "x[REDACTED]x");
}

TEST(ProbeTest, HostAndPortOfUrls) {
  EXPECT_EQ(hostPortOf("http://127.0.0.1:8000/mcp")->port, 8000);
  EXPECT_EQ(hostPortOf("https://example.com/x")->port, 443);
  EXPECT_EQ(hostPortOf("redis://:pw@cache:6380/0")->host, "cache");
  EXPECT_EQ(hostPortOf("redis://:pw@cache:6380/0")->port, 6380);
  EXPECT_EQ(hostPortOf("http://[::1]:9000")->host, "::1");
  EXPECT_FALSE(hostPortOf("not a url"));
  EXPECT_FALSE(hostPortOf("http://host:99999999/"));
}

TEST(ProbeTest, ParsesHttpDates) {
  const auto t = parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 784111777);
  EXPECT_FALSE(parseHttpDate("yesterday"));
}

TEST(ProbeTest, FindsExecutablesOnThePath) {
  EXPECT_TRUE(findExecutable("sh"));
  EXPECT_FALSE(findExecutable("no-such-command-anywhere"));
  const auto plain = std::filesystem::temp_directory_path() /
                     ("forge-not-executable-" + std::to_string(::getpid()));
  std::ofstream(plain) << "#!/bin/sh\n";
  std::filesystem::permissions(plain, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write);
  EXPECT_FALSE(findExecutable(plain.string())); // not executable
  std::filesystem::remove(plain);
}

} // namespace
} // namespace forge::ops
