// Check: the result of looking at one thing (a service, a metric, a port), graded ok, warning or
// critical. Health checks, the doctor and the monitor all report lists of these, and a command's
// exit code is the worst of them (see exitCodeOf).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace forge::ops {

// Ordered: a later level is worse.
enum class Level { kOk, kWarning, kCritical };

std::string_view levelName(Level level); // "ok", "warning", "critical"

struct Check {
  std::string name; // what was looked at: "gateway", "disk /var/lib/forge", "upstream time"
  Level level = Level::kOk;
  std::string detail; // what was seen, and for a problem what to do
};

// kOk for an empty list.
Level worst(const std::vector<Check>& checks);

// Warning and critical limits of a figure that is bad when high (CPU %, error rate, seconds).
struct Thresholds {
  double warning = 0;
  double critical = 0;
};

// The operations guide's limits: the defaults wherever these figures are graded (the monitor's
// monitor.* keys override them there).
inline constexpr Thresholds kCpuPercent{80, 90};
inline constexpr Thresholds kMemoryPercent{85, 90};
inline constexpr Thresholds kDiskPercent{80, 90};

// The host's limits, in percent: the guide's by default, the monitor.* keys when configured
// (ops/monitor.h), so that `forge monitor` and `forge incident assess` grade alike.
struct ResourceLimits {
  Thresholds cpu = kCpuPercent; // of every CPU
  Thresholds memory = kMemoryPercent;
  Thresholds disk = kDiskPercent;
};

// kCritical at or above critical, kWarning at or above warning, else kOk.
Level grade(double value, Thresholds limits);

// The exit code a command that checks health returns for `level`: 0 ok, 4 warning,
// 3 critical (cli::kExitUnhealthy).
int exitCodeOf(Level level);

} // namespace forge::ops
