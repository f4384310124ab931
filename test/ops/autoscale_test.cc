#include "ops/autoscale.h"
#include "ops/check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace forge::ops {
namespace {

using namespace std::chrono_literals;

ScalePolicy gatewayPolicy() {
  ScalePolicy p;
  p.service = "gateway";
  p.min_replicas = 1;
  p.max_replicas = 4;
  p.target_cpu_percent = 70;
  p.scale_down_below_percent = 25;
  return p;
}

TEST(CheckTest, GradesAgainstThresholdsAndTheWorstDecidesTheExitCode) {
  EXPECT_EQ(grade(79.9, {80, 90}), Level::kOk);
  EXPECT_EQ(grade(80, {80, 90}), Level::kWarning);
  EXPECT_EQ(grade(95, {80, 90}), Level::kCritical);
  std::vector<Check> checks{{"cpu", Level::kOk, ""}, {"disk", Level::kWarning, ""}};
  EXPECT_EQ(worst(checks), Level::kWarning);
  EXPECT_EQ(exitCodeOf(worst(checks)), 4);
  checks.push_back({"gateway", Level::kCritical, "down"});
  EXPECT_EQ(exitCodeOf(worst(checks)), 3);
  EXPECT_EQ(exitCodeOf(worst({})), 0);
}

TEST(AutoscaleTest, ScalesUpToBringTheLoadBackToTheTargetWithinTheBounds) {
  const auto p = gatewayPolicy();
  EXPECT_EQ(decide(p, 1, 140).replicas, 2); // 1 * 140 / 70
  EXPECT_EQ(decide(p, 2, 100).replicas, 3); // ceil(2 * 100 / 70)
  EXPECT_EQ(decide(p, 3, 100).replicas, 4); // ceil(4.28) = 5, capped at max
  EXPECT_EQ(decide(p, 4, 100).replicas, 4);
  EXPECT_EQ(decide(p, 2, 50).replicas, 2); // within the band
  EXPECT_EQ(decide(p, 3, 10).replicas, 2); // down one at a time
  EXPECT_EQ(decide(p, 1, 0).replicas, 1);  // never below min
  const auto out_of_bounds = decide(p, 6, 50);
  EXPECT_EQ(out_of_bounds.replicas, 4);
  EXPECT_NE(out_of_bounds.reason.find("outside"), std::string::npos);
  EXPECT_NE(decide(p, 1, 140).reason.find("140.0%"), std::string::npos);
}

TEST(AutoscaleTest, LoadIsMeasuredOverReplicasPresentInBothSamples) {
  const auto t0 = std::chrono::steady_clock::now();
  CpuSample before{t0, {{100, 10.0}, {101, 5.0}, {102, 7.0}}};
  // 2 s later: pid 100 used 1 s (50 %), pid 101 used 0.5 s (25 %), 102 was replaced by 103.
  CpuSample after{t0 + 2s, {{100, 11.0}, {101, 5.5}, {103, 0.1}}};
  auto load = meanCpuPercent(before, after);
  ASSERT_TRUE(load);
  EXPECT_NEAR(*load, 37.5, 1e-9);
  EXPECT_FALSE(meanCpuPercent(before, CpuSample{t0 + 2s, {{104, 1.0}}}));
  EXPECT_FALSE(meanCpuPercent(before, before)); // no time passed
}

TEST(AutoscaleTest, PoliciesAreValidatedAndKeptWithTheirEvents) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("forge-autoscale-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  AutoscaleStore store(dir.string());
  auto bad = gatewayPolicy();
  bad.max_replicas = 0;
  auto refused = store.save(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("max"), std::string::npos);
  bad = gatewayPolicy();
  bad.scale_down_below_percent = 80; // above the target: it would flap
  EXPECT_FALSE(store.save(bad));

  ASSERT_TRUE(store.save(gatewayPolicy()));
  auto other = gatewayPolicy();
  other.service = "translate";
  other.max_replicas = 2;
  ASSERT_TRUE(store.save(other));
  auto all = store.policies();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("translate").max_replicas, 2);
  EXPECT_EQ(all->at("gateway").cooldown, 60s);
  auto removed = store.remove("translate");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(*store.remove("translate"));
  EXPECT_EQ(store.policies()->size(), 1u);

  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store.record(
        {"2026-01-01T00:00:0" + std::to_string(i) + "Z", "gateway", i, i + 1, 90.0, "busy", "ok"}));
  // A line cut short by a crash is skipped, not fatal.
  std::ofstream(dir / "autoscale" / "events.jsonl", std::ios::app) << "{\"at\": \"2026";
  auto events = store.events(3);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(events->front().from, 2);
  EXPECT_EQ(events->back().to, 5);

  std::ofstream(dir / "autoscale" / "policies.json", std::ios::trunc) << "{not json";
  auto broken = store.policies();
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("policies.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace forge::ops
