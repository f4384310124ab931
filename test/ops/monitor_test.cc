// Monitoring: /proc parsing, threshold settings from the configuration, and how a round's
// readings are graded.
#include "config/config.h"
#include "ops/monitor.h"
#include "ops/system_usage.h"
#include "server/gateway_config.h"

#include <gtest/gtest.h>

namespace forge::ops {
namespace {

TEST(SystemUsage, CpuPercentFromTwoReadingsOfProcStat) {
  const auto before = parseCpuTimes("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n");
  const auto after = parseCpuTimes("cpu  250 0 150 800 100 0 0 0 0 0\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(before && after);
  EXPECT_EQ(before->total, 1000U);
  EXPECT_EQ(before->busy, 200U); // idle and iowait are not busy
  // 200 busy ticks of 300.
  EXPECT_NEAR(cpuPercent(*before, *after), 200.0 / 300.0 * 100, 1e-9);
  EXPECT_EQ(cpuPercent(*after, *after), 0);
  EXPECT_FALSE(parseCpuTimes("intr 1 2 3\n"));
}

TEST(SystemUsage, MemoryPercentFromMeminfo) {
  const auto used = parseMemoryPercent("MemTotal:       16000 kB\nMemFree:  1000 kB\n"
                                       "MemAvailable:    4000 kB\nBuffers: 10 kB\n");
  ASSERT_TRUE(used);
  EXPECT_DOUBLE_EQ(*used, 75);
  EXPECT_FALSE(parseMemoryPercent("MemTotal: 16000 kB\n"));
}

TEST(SystemUsage, RealMachineFiguresAreInRange) {
  const auto memory = memoryPercent();
  ASSERT_TRUE(memory);
  EXPECT_GT(*memory, 0);
  EXPECT_LT(*memory, 100);
  const auto disk = diskPercent("/");
  ASSERT_TRUE(disk);
  EXPECT_GE(*disk, 0);
  EXPECT_LE(*disk, 100);
  EXPECT_FALSE(diskPercent("/no/such/directory/anywhere"));
  const auto sampled = sampleSystem("/", std::chrono::milliseconds(50), nullptr);
  ASSERT_TRUE(sampled.cpu);
  EXPECT_GE(*sampled.cpu, 0);
  EXPECT_LE(*sampled.cpu, 100);
  EXPECT_FALSE(sampled.gateway_cpu);
}

TEST(SystemUsage, GatewayCpuIsAShareOfTheMachine) {
  double seconds = 10;
  // The gateway used 0.05 s of CPU over at least 0.1 s: at most half of one CPU.
  const auto sampled = sampleSystem("/", std::chrono::milliseconds(100), [&seconds] {
    const double now = seconds;
    seconds += 0.05;
    return std::optional<double>(now);
  });
  ASSERT_TRUE(sampled.gateway_cpu);
  EXPECT_GT(*sampled.gateway_cpu, 0);
  EXPECT_LE(*sampled.gateway_cpu, 50.0 / sampled.cpus + 1e-9);
}

config::Config load(std::vector<std::pair<std::string, std::string>> flags) {
  config::LoadOptions options;
  options.default_path = "/nonexistent/forge.yaml";
  options.flags = std::move(flags);
  return config::load(server::gatewaySchema(), options);
}

TEST(MonitorSettings, DefaultsAreTheGuidesThresholds) {
  const auto s = monitorSettings(load({}));
  EXPECT_EQ(s.resources.cpu.warning, 80);
  EXPECT_EQ(s.resources.cpu.critical, 90);
  EXPECT_EQ(s.resources.memory.warning, 85);
  EXPECT_EQ(s.resources.memory.critical, 90);
  EXPECT_EQ(s.resources.disk.warning, 80);
  EXPECT_EQ(s.resources.disk.critical, 90);
  EXPECT_EQ(s.response_ms.warning, 2'000);
  EXPECT_EQ(s.response_ms.critical, 5'000);
  EXPECT_EQ(s.error_rate.warning, 5);
  EXPECT_EQ(s.error_rate.critical, 10);
  EXPECT_EQ(s.window, std::chrono::minutes(5));
  EXPECT_FALSE(s.auto_restart);
}

TEST(MonitorSettings, KeysOverrideAndAreChecked) {
  const auto s = monitorSettings(load({{"monitor.cpu_warning", "50"},
                                       {"monitor.response_time_warning", "500ms"},
                                       {"monitor.response_time_critical", "750ms"},
                                       {"monitor.window", "1m"}}));
  EXPECT_EQ(s.resources.cpu.warning, 50);
  EXPECT_EQ(s.response_ms.critical, 750);
  EXPECT_EQ(s.window, std::chrono::minutes(1));
  EXPECT_EQ(s.response_ms.warning, 500);
  EXPECT_THROW(monitorSettings(load({{"monitor.disk_warning", "95"}})), config::ConfigError);
  EXPECT_THROW(monitorSettings(load({{"monitor.response_time_critical", "1s"}})),
               config::ConfigError);
  EXPECT_THROW(load({{"monitor.memory_critical", "101"}}), config::ConfigError);
}

TEST(Threshold, GradesAtAndAboveEachLevel) {
  const Thresholds t{80, 90};
  EXPECT_EQ(grade(79.9, t), Level::kOk);
  EXPECT_EQ(grade(80, t), Level::kWarning);
  EXPECT_EQ(grade(89.9, t), Level::kWarning);
  EXPECT_EQ(grade(90, t), Level::kCritical);
  EXPECT_EQ(exitCodeOf(Level::kWarning), 4);
  EXPECT_EQ(exitCodeOf(Level::kCritical), 3);
}

Readings readings(double cpu, double memory, double disk) {
  Readings r;
  r.system.cpu = cpu;
  r.system.memory = memory;
  r.system.disk = disk;
  r.system.cpus = 2;
  r.disk_path = "/data";
  r.gateway_cpu_note = "the manager not reachable";
  return r;
}

const Measurement& find(const std::vector<Measurement>& all, const std::string& metric) {
  for (const auto& m : all)
    if (m.metric == metric) return m;
  throw std::runtime_error("no " + metric);
}

TEST(Evaluate, GradesEveryFigure) {
  auto r = readings(85, 95, 10);
  storage::LatencyHistogram calls;
  for (int i = 0; i < 19; ++i)
    calls.add(10, false);
  calls.add(6'000, true);
  r.calls = calls;
  const auto all = evaluate(r, MonitorSettings{});
  EXPECT_EQ(find(all, "cpu").level, Level::kWarning);
  EXPECT_EQ(find(all, "memory").level, Level::kCritical);
  EXPECT_EQ(find(all, "disk").level, Level::kOk);
  EXPECT_NE(find(all, "disk").detail.find("/data"), std::string::npos);
  // 1 of 20 calls failed: 5 % is the warning level; the p95 is the slow call's bucket start.
  EXPECT_EQ(find(all, "error_rate").level, Level::kWarning);
  EXPECT_DOUBLE_EQ(*find(all, "error_rate").value, 5);
  EXPECT_TRUE(find(all, "error_rate").gateway);
  EXPECT_EQ(find(all, "response_time").level, Level::kOk);
  EXPECT_NEAR(*find(all, "response_time").value, 10, 1e-9);
  const auto& gateway_cpu = find(all, "gateway_cpu");
  EXPECT_FALSE(gateway_cpu.value);
  EXPECT_EQ(gateway_cpu.level, Level::kOk);
  EXPECT_NE(gateway_cpu.detail.find("not reachable"), std::string::npos);
  EXPECT_EQ(worst(checksOf(all)), Level::kCritical);
}

TEST(Evaluate, NoCallsIsNotAProblem) {
  auto r = readings(1, 1, 1);
  r.calls = storage::LatencyHistogram{};
  const auto all = evaluate(r, MonitorSettings{});
  EXPECT_FALSE(find(all, "response_time").value);
  EXPECT_NE(find(all, "response_time").detail.find("no tool calls"), std::string::npos);
  EXPECT_EQ(worst(checksOf(all)), Level::kOk);
}

} // namespace
} // namespace forge::ops
