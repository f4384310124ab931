// Reports computed from seeded per-minute rows in a real database.
#include "ops/call_stats.h"
#include "ops/report.h"
#include "storage/backends.h"
#include "storage/migrations.h"
#include "storage/store.h"

#include <gtest/gtest.h>

namespace forge::ops {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// 2026-12-04 10:00 UTC.
const Clock::time_point kStart = sys_days{year{2026} / 12 / 4} + 10h;

class ReportTest : public ::testing::Test {
protected:
  void SetUp() override {
    db_ = test::openTestDatabase("sqlite");
    ASSERT_TRUE(db_);
    ASSERT_TRUE(storage::migrate(*db_).ok());
  }

  // `calls` calls of `ms` each (`errors` of them failed) in the minute `offset` after kStart.
  void seed(minutes offset, const std::string& upstream, const std::string& tool, int calls,
            double ms, int errors = 0) {
    storage::CallTally tally;
    for (int i = 0; i < calls; ++i)
      tally.add(upstream, tool, i < errors, ms);
    storage::Store store(*db_);
    ASSERT_TRUE(
        store.addCallMinutes(storage::rollUpMinute(tally, storage::minuteUtc(kStart + offset)))
            .ok());
  }

  std::vector<storage::CallMinute> load(const CallWindow& window) {
    auto minutes = loadMinutes(*db_, window);
    EXPECT_TRUE(minutes.ok());
    return minutes.ok() ? *minutes : std::vector<storage::CallMinute>{};
  }

  storage::DatabasePtr db_;
};

TEST_F(ReportTest, WindowsSelectTheirMinutes) {
  seed(0min, "fx", "echo", 1, 1);
  seed(30min, "fx", "echo", 2, 1);
  seed(59min, "fx", "echo", 4, 1);
  seed(61min, "fx", "echo", 8, 1);
  EXPECT_EQ(totalOf(load({kStart, kStart + 60min})).calls, 7);
  // The minute `to` falls in is counted (it is still being filled).
  EXPECT_EQ(totalOf(load({kStart + 30min, kStart + 59min + 30s})).calls, 6);
  EXPECT_EQ(totalOf(load(lastWindow(10min, kStart + 65min))).calls, 12);
}

TEST_F(ReportTest, PerformancePerUpstreamAndTool) {
  seed(0min, "fx", "echo", 90, 3);
  seed(1min, "fx", "echo", 10, 4'000, 10);
  seed(1min, "fx", "add", 20, 15, 1);
  seed(2min, "other", "search", 30, 150);
  const CallWindow window{kStart, kStart + 10min};
  const auto r = performanceReport(load(window), window);
  EXPECT_EQ(r.total.calls, 150);
  EXPECT_EQ(r.total.errors, 11);
  EXPECT_NEAR(r.total.calls_per_second, 150 / 600.0, 1e-9);
  ASSERT_EQ(r.upstreams.size(), 2U);
  EXPECT_EQ(r.upstreams[0].upstream, "fx");
  EXPECT_EQ(r.upstreams[0].calls, 120);
  EXPECT_NEAR(r.upstreams[0].error_percent, 11.0 / 120 * 100, 1e-9);
  ASSERT_EQ(r.tools.size(), 3U);
  const auto& echo = r.tools[1]; // (fx, add), (fx, echo), (other, search)
  EXPECT_EQ(echo.tool, "echo");
  EXPECT_EQ(echo.calls, 100);
  EXPECT_DOUBLE_EQ(echo.error_percent, 10);
  EXPECT_LE(echo.p50_ms, 5);
  EXPECT_NEAR(echo.p95_ms, 3'000, 1e-9); // across two minutes' histograms
  EXPECT_NEAR(echo.p99_ms, 3'800, 1e-9);
  EXPECT_DOUBLE_EQ(echo.max_ms, 4'000);
  // 30 calls of 150 ms: their bucket (100, 200] capped at the slowest (150), the median halfway.
  EXPECT_DOUBLE_EQ(r.tools[2].p50_ms, 125);
  EXPECT_DOUBLE_EQ(r.tools[2].p99_ms, 100 + 50 * 29.7 / 30);
  const auto json = toJson(r);
  EXPECT_EQ(json.at("tools").as_array().size(), 3U);
  EXPECT_EQ(json.at("total").at("calls").as_int64(), 150);
}

TEST_F(ReportTest, TrendsCompareTheHalves) {
  // Two hours: 10 calls a minute in the first, 15 in the second, slower and failing more.
  for (int m = 0; m < 120; m += 10) {
    if (m < 60)
      seed(minutes(m), "fx", "echo", 10, 20);
    else
      seed(minutes(m), "fx", "echo", 15, 80, 3);
  }
  const CallWindow window{kStart, kStart + 120min};
  const auto r = trendsReport(load(window), window);
  EXPECT_EQ(r.period, Period::kHour);
  ASSERT_EQ(r.points.size(), 2U);
  EXPECT_EQ(r.points[0].period, "2026-12-04T10");
  EXPECT_EQ(r.points[0].calls, 60);
  EXPECT_EQ(r.points[1].calls, 90);
  EXPECT_EQ(r.points[1].errors, 18);
  ASSERT_TRUE(r.calls_growth);
  EXPECT_NEAR(*r.calls_growth, 50, 1e-9);
  ASSERT_TRUE(r.p95_growth);
  EXPECT_GT(*r.p95_growth, 0);
  EXPECT_NEAR(r.error_rate_change, 20, 1e-9);

  const CallWindow week{kStart - 6 * 24h, kStart + 120min};
  EXPECT_EQ(trendsReport(load(week), week).period, Period::kDay);
}

TEST_F(ReportTest, CapacityProjectsThePeakFromTheCostPerCall) {
  seed(0min, "fx", "echo", 600, 5); // the peak minute
  for (int m = 55; m < 60; ++m)
    seed(minutes(m), "fx", "echo", 100, 5); // the last five minutes: 100 a minute
  const CallWindow window{kStart, kStart + 59min + 30s};
  CapacityInputs in;
  in.system.cpu = 40;
  in.system.memory = 30;
  in.system.gateway_cpu = 14; // at 100 calls a minute
  in.replicas = 2;
  in.sessions = 7;
  in.target_utilisation = 70;
  const auto r = capacityReport(load(window), window, in);
  EXPECT_DOUBLE_EQ(r.peak_per_minute, 600);
  EXPECT_EQ(r.peak_minute, "2026-12-04T10:00");
  EXPECT_DOUBLE_EQ(r.current_per_minute, 100);
  EXPECT_DOUBLE_EQ(*r.cpu_headroom, 60);
  EXPECT_DOUBLE_EQ(*r.memory_headroom, 70);
  EXPECT_DOUBLE_EQ(*r.peak_per_replica, 300);
  ASSERT_TRUE(r.projected_peak_cpu);
  EXPECT_NEAR(*r.projected_peak_cpu, 84, 1e-9); // six times the load, six times the CPU
  // 2 replicas at 84 % would need 2 * 84 / 70 = 2.4 -> 3 replicas to stay under 70 %.
  EXPECT_EQ(*r.suggested_replicas, 3);
  EXPECT_EQ(*r.additional_replicas, 1);

  in.system.gateway_cpu.reset();
  const auto unknown = capacityReport(load(window), window, in);
  EXPECT_FALSE(unknown.suggested_replicas);
  EXPECT_FALSE(unknown.note.empty());
}

TEST_F(ReportTest, BottlenecksRankToolsAndConcurrency) {
  seed(0min, "fx", "slow", 10, 4'000);   // 40 s of calls in a minute: 0.67 in flight
  seed(0min, "fx", "echo", 100, 2, 50);  // fails half the time
  seed(1min, "big", "query", 60, 1'000); // 60 s in a minute: 1 in flight of 1 allowed
  const CallWindow window{kStart, kStart + 10min};
  const auto r = bottlenecksReport(load(window), window, {{"fx", 64}, {"big", 1}}, 95, 80, 2);
  ASSERT_EQ(r.slowest.size(), 2U);
  EXPECT_EQ(r.slowest[0].tool, "slow");
  EXPECT_EQ(r.slowest[1].tool, "query");
  ASSERT_EQ(r.most_failing.size(), 1U);
  EXPECT_EQ(r.most_failing[0].tool, "echo");
  ASSERT_EQ(r.concurrency.size(), 2U);
  EXPECT_EQ(r.concurrency[0].upstream, "big");
  EXPECT_NEAR(r.concurrency[0].peak_concurrency, 1, 1e-9);
  EXPECT_NEAR(r.concurrency[0].percent_of_limit, 100, 1e-9);
  EXPECT_TRUE(r.cpu_saturated);
  // The slowest tool, the failing one, the saturated upstream and the CPU.
  EXPECT_EQ(r.findings.size(), 4U);
}

} // namespace
} // namespace forge::ops
