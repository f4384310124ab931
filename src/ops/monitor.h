// Monitoring: one round measures the machine (CPU, memory, the data directory's disk), the
// gateway's processes (CPU, from the manager) and the calls the gateways recorded (p95 response
// time and error rate over a window), and grades each figure against warning and critical
// thresholds. The thresholds are configuration keys (monitor.* in forge.yaml, FORGE_MONITOR_*,
// --monitor-* flags), with the operations guide's values as defaults.
#pragma once

#include "config/config.h"
#include "ops/check.h"
#include "ops/system_usage.h"
#include "storage/call_latency.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

struct MonitorSettings {
  ResourceLimits resources;                  // CPU, memory and disk, percent
  Thresholds response_ms{2'000, 5'000};      // p95 of the window, milliseconds
  Thresholds error_rate{5, 10};              // percent of the window's calls
  std::chrono::milliseconds window{300'000}; // what "recent" calls are
  std::string gateway_service = "gateway";   // the manager's name for the gateway
  bool auto_restart = false;
  std::string webhook; // empty: none
};

// Declares the monitor.* keys (the gateway's schema holds them too, so that one forge.yaml
// serves both).
void addMonitorKeys(config::Schema& schema);
// Throws config::ConfigError when a warning threshold is above its critical one.
MonitorSettings monitorSettings(const config::Values& config);

// What one round saw.
struct Readings {
  SystemReadings system;
  std::string disk_path;
  std::string gateway_cpu_note; // why gateway_cpu is missing ("the manager is not reachable")
  std::optional<storage::LatencyHistogram> calls; // the window's calls; none: not readable
  std::string calls_note;                         // why calls are missing
};

// One graded figure. A figure that could not be measured has no value and is ok.
struct Measurement {
  std::string metric; // cpu, gateway_cpu, memory, disk, response_time, error_rate
  std::optional<double> value;
  Thresholds limits;
  Level level = Level::kOk;
  bool gateway = false; // attributable to the gateway: a restart may help
  std::string detail;
};

std::vector<Measurement> evaluate(const Readings& readings, const MonitorSettings& settings);
// The threshold a level crossed (critical or warning), 0 for ok.
double thresholdOf(const Measurement& m);
// "87.5%" or "2300 ms", as the metric is measured.
std::string formatValue(const std::string& metric, double value);
std::vector<Check> checksOf(const std::vector<Measurement>& measurements);

} // namespace forge::ops
