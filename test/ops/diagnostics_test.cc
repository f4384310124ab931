// Grading what `forge incident assess` gathers, the suggested severity, and the recovery plan.
#include "ops/diagnostics.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace forge::test {
namespace {

namespace json = boost::json;
using ops::Level;

ops::Probe answered(int status, const std::string& body) {
  ops::Probe probe;
  probe.reached = true;
  probe.status = status;
  probe.body = json::parse(body);
  probe.ms = 3;
  return probe;
}

ops::Probe unreachable() {
  ops::Probe probe;
  probe.error = "cannot connect to http://127.0.0.1:1: Connection refused";
  return probe;
}

const char* kServices = R"([
  {"name": "gateway", "kind": "gateway", "state": "running", "restarts": 0, "auto_start": true},
  {"name": "echo", "kind": "mcp", "state": "sleeping", "restarts": 1, "auto_start": true},
  {"name": "crasher", "kind": "process", "state": "crash-loop", "restarts": 5, "auto_start": true},
  {"name": "stopped", "kind": "process", "state": "stopped", "restarts": 0, "auto_start": true},
  {"name": "manual", "kind": "process", "state": "stopped", "restarts": 0, "auto_start": false},
  {"name": "sick", "kind": "process", "state": "unhealthy", "restarts": 2, "auto_start": true}
])";

const ops::Check* find(const std::vector<ops::Check>& checks, const std::string& name) {
  for (const auto& check : checks)
    if (check.name == name) return &check;
  return nullptr;
}

TEST(DiagnosticsTest, TheGatewayIsCriticalWhenDownAndAWarningWhenNotReady) {
  EXPECT_EQ(ops::gradeGateway("http://g", unreachable(), unreachable()).level, Level::kCritical);
  EXPECT_NE(ops::gradeGateway("http://g", unreachable(), unreachable()).detail.find("http://g"),
            std::string::npos);
  EXPECT_EQ(ops::gradeGateway("u", answered(500, "{}"), answered(200, "{}")).level,
            Level::kCritical);
  EXPECT_EQ(ops::gradeGateway("u", answered(200, R"({"uptime_seconds": 5})"),
                              answered(503, R"({"status": "draining"})"))
                .level,
            Level::kWarning);
  EXPECT_EQ(ops::gradeGateway("u", answered(200, "{}"), answered(200, "{}")).level, Level::kOk);
}

TEST(DiagnosticsTest, ServicesAreGradedByStateAndUsage) {
  std::map<std::string, ops::ServiceUsage> usage{{"gateway", {95.0, 100 << 20}}};
  const auto checks = ops::gradeServices(json::parse(kServices), usage, 1LL << 30);
  ASSERT_EQ(checks.size(), 6u);
  EXPECT_EQ(checks[0].level, Level::kCritical) << checks[0].detail; // CPU 95 %
  EXPECT_NE(checks[0].detail.find("CPU 95.0 %"), std::string::npos) << checks[0].detail;
  EXPECT_EQ(checks[1].level, Level::kOk);       // sleeping is fine
  EXPECT_EQ(checks[2].level, Level::kCritical); // crash-loop
  EXPECT_EQ(checks[3].level, Level::kCritical); // stopped, though it starts on its own
  EXPECT_EQ(checks[4].level, Level::kOk);       // stopped on purpose
  EXPECT_EQ(checks[5].level, Level::kCritical); // unhealthy
  EXPECT_NE(checks[2].detail.find("forge restart crasher"), std::string::npos);
  std::map<std::string, ops::ServiceUsage> heavy{{"gateway", {1.0, 950LL << 20}}};
  EXPECT_EQ(ops::gradeServices(json::parse(kServices), heavy, 1LL << 30)[0].level,
            Level::kCritical); // 93 % of memory
}

TEST(DiagnosticsTest, DiskFollowsTheGuidesLimits) {
  auto disk = [](std::uint64_t free) {
    return ops::gradeDisk("/data", ops::DiskUsage{1000, free}).level;
  };
  EXPECT_EQ(disk(500), Level::kOk);
  EXPECT_EQ(disk(200), Level::kWarning);
  EXPECT_EQ(disk(100), Level::kCritical);
  EXPECT_EQ(ops::gradeDisk("/data", core::Error{core::Errc::kUnavailable, "gone"}).level,
            Level::kWarning);
  // The monitor's keys move the limits (monitor.disk_warning: 40, monitor.disk_critical: 60).
  const ops::ResourceLimits configured{
      .cpu = ops::kCpuPercent, .memory = ops::kMemoryPercent, .disk = {40, 60}};
  EXPECT_EQ(ops::gradeDisk("/data", ops::DiskUsage{1000, 500}, configured).level, Level::kWarning);
  EXPECT_EQ(ops::gradeDisk("/data", ops::DiskUsage{1000, 300}, configured).level, Level::kCritical);
  auto real = ops::diskUsage("/");
  ASSERT_TRUE(real);
  EXPECT_GT(real->total_bytes, 0u);
  EXPECT_FALSE(ops::diskUsage("/no/such/dir"));
}

TEST(DiagnosticsTest, ErrorLinesAreFoundInTextAndJsonLogs) {
  const auto errors = ops::errorLines({
      "2026-12-04T17:00:00.000Z info  listening on 127.0.0.1:8000",
      "2026-12-04T17:00:01.000Z error upstream everything failed",
      R"({"ts":"...","level":"error","msg":"database locked"})",
      "2026-12-04T17:00:02.000Z info  0 errors so far",
      "2026-12-04T17:00:03.000Z warn  FATAL: too many clients",
  });
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("upstream everything failed"), std::string::npos);
  EXPECT_NE(errors[2].find("FATAL"), std::string::npos);
}

TEST(DiagnosticsTest, ASnapshotIsGradedWholeAndSuggestsASeverity) {
  ops::StackSnapshot s;
  s.gateway_url = "http://127.0.0.1:8000";
  s.gateway_health = answered(200, R"({"status": "ok", "uptime_seconds": 12})");
  s.gateway_ready = answered(200, R"({"status": "ready"})");
  s.gateway_version = answered(200, R"({"app": {"version": "0.9", "commit": "abc"},
      "database": {"backend": "sqlite", "schemaVersion": 6, "reachable": true}})");
  s.manager_url = "http://127.0.0.1:9000";
  s.manager_services = answered(200, R"([{"name": "gateway", "kind": "gateway",
      "state": "running", "restarts": 0, "auto_start": true}])");
  s.manager_resources = answered(200, R"({"cpus": 2, "load_average": [0.5, 0.4, 0.3],
      "memory_total_bytes": 1000, "memory_available_bytes": 600})");
  s.data_dir = "/data";
  s.disk = ops::DiskUsage{1000, 900};
  s.log_service = "gateway";
  s.log_lines = {"info started"};
  auto checks = ops::gradeSnapshot(s);
  std::vector<std::string> names;
  for (const auto& c : checks)
    names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"gateway", "gateway version", "manager", "service gateway",
                                      "memory", "load", "disk /data", "gateway log"}));
  EXPECT_EQ(ops::worst(checks), Level::kOk) << find(checks, "memory")->detail;
  EXPECT_NE(find(checks, "gateway version")->detail.find("schema 6"), std::string::npos);
  auto verdict = ops::assess(checks);
  EXPECT_EQ(verdict.severity, ops::Severity::kInfo);
  EXPECT_FALSE(verdict.escalate_now);

  s.manager_resources = answered(200, R"({"cpus": 2, "load_average": [1.7, 1, 1],
      "memory_total_bytes": 1000, "memory_available_bytes": 120})");
  s.log_lines.push_back("error: upstream died");
  checks = ops::gradeSnapshot(s);
  EXPECT_EQ(find(checks, "memory")->level, Level::kWarning); // 88 %
  EXPECT_EQ(find(checks, "load")->level, Level::kWarning);   // 85 % of 2 CPUs
  EXPECT_EQ(find(checks, "gateway log")->level, Level::kWarning);
  verdict = ops::assess(checks);
  EXPECT_EQ(verdict.severity, ops::Severity::kWarning);

  s.gateway_health = unreachable();
  s.manager_services = answered(200, kServices);
  checks = ops::gradeSnapshot(s);
  EXPECT_EQ(find(checks, "gateway version"), nullptr); // not asked of a gateway that is down
  verdict = ops::assess(checks);
  EXPECT_EQ(verdict.severity, ops::Severity::kCritical);
  EXPECT_TRUE(verdict.escalate_now);
  EXPECT_NE(verdict.reason.find("3 services down"), std::string::npos) << verdict.reason;
}

TEST(DiagnosticsTest, WithoutAManagerTheServicesAreAWarningNotAGuess) {
  ops::StackSnapshot s;
  s.gateway_health = answered(200, "{}");
  s.gateway_ready = answered(200, "{}");
  s.gateway_version = answered(200, "{}");
  s.manager_url = "http://127.0.0.1:9000";
  s.manager_services = unreachable();
  s.disk = ops::DiskUsage{1000, 900};
  const auto checks = ops::gradeSnapshot(s);
  ASSERT_NE(find(checks, "manager"), nullptr);
  EXPECT_EQ(find(checks, "manager")->level, Level::kWarning);
  EXPECT_NE(find(checks, "manager")->detail.find("forge up"), std::string::npos);
  EXPECT_EQ(find(checks, "service gateway"), nullptr);
}

TEST(DiagnosticsTest, RecoveryStartsWhatShouldRunAndRestartsWhatIsSick) {
  const auto plan = ops::planRecovery(json::parse(kServices));
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].service, "crasher");
  EXPECT_EQ(plan[0].action, "restart");
  EXPECT_EQ(plan[0].reason, "state crash-loop, 5 restarts");
  EXPECT_EQ(plan[1].service, "stopped");
  EXPECT_EQ(plan[1].action, "start");
  EXPECT_EQ(plan[2].service, "sick");
  EXPECT_EQ(plan[2].action, "restart");
  EXPECT_TRUE(ops::planRecovery(json::parse("[]")).empty());
  EXPECT_TRUE(ops::planRecovery(json::value()).empty());
}

} // namespace
} // namespace forge::test
