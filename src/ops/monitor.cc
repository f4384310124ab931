#include "ops/monitor.h"

#include <fmt/format.h>

namespace forge::ops {
namespace {

using config::Type;

struct PercentKey {
  const char* metric;
  const char* what;
  Thresholds defaults;
};
constexpr PercentKey kPercentKeys[] = {
    {"cpu", "CPU in use, percent of every core (also the gateway's processes alone)", kCpuPercent},
    {"memory", "memory in use, percent", kMemoryPercent},
    {"disk", "disk space used on the data directory's file system, percent", kDiskPercent},
    {"error_rate", "tool calls that failed over monitor.window, percent", {5, 10}},
};

void addPercent(config::Schema& schema, const PercentKey& key) {
  for (const bool warning : {true, false}) {
    schema.add(
        {.key = fmt::format("monitor.{}_{}", key.metric, warning ? "warning" : "critical"),
         .type = Type::kInt,
         .default_value = fmt::format("{}", warning ? key.defaults.warning : key.defaults.critical),
         .help = fmt::format("{} level of {}", warning ? "Warning" : "Critical", key.what),
         .min = 0,
         .max = 100});
  }
}

Thresholds thresholds(const config::Values& config, const std::string& metric) {
  const Thresholds out{static_cast<double>(config.integer("monitor." + metric + "_warning")),
                       static_cast<double>(config.integer("monitor." + metric + "_critical"))};
  if (out.warning > out.critical) {
    throw config::ConfigError(
        {fmt::format("{}: 'monitor.{}_warning' ({}) is above 'monitor.{}_critical' ({})",
                     config.origin("monitor." + metric + "_warning"), metric, out.warning, metric,
                     out.critical)});
  }
  return out;
}

Measurement graded(std::string metric, std::optional<double> value, Thresholds limits,
                   bool gateway) {
  Measurement m{std::move(metric), value, limits, Level::kOk, gateway, {}};
  if (value) m.level = grade(*value, limits);
  return m;
}

std::string limitsText(const Measurement& m) {
  return fmt::format("warning at {}, critical at {}", formatValue(m.metric, m.limits.warning),
                     formatValue(m.metric, m.limits.critical));
}

// "87.5% (warning at 80%, critical at 90%)", or why there is no figure.
void describe(Measurement& m, const std::string& what, const std::string& missing) {
  if (!m.value) {
    m.detail = missing;
    return;
  }
  m.detail = fmt::format("{}{} ({})", formatValue(m.metric, *m.value), what, limitsText(m));
}

std::string minutesText(std::chrono::milliseconds window) {
  return fmt::format("{:g} min", std::chrono::duration<double, std::ratio<60>>(window).count());
}

} // namespace

void addMonitorKeys(config::Schema& schema) {
  for (const auto& key : kPercentKeys)
    addPercent(schema, key);
  schema.add({.key = "monitor.response_time_warning",
              .type = Type::kDuration,
              .default_value = "2s",
              .help = "Warning level of the p95 tool call time over monitor.window"});
  schema.add({.key = "monitor.response_time_critical",
              .type = Type::kDuration,
              .default_value = "5s",
              .help = "Critical level of the p95 tool call time over monitor.window"});
  schema.add({.key = "monitor.window",
              .type = Type::kDuration,
              .default_value = "5m",
              .help = "The recent calls response time and error rate are computed over"});
  schema.add({.key = "monitor.gateway_service",
              .type = Type::kString,
              .default_value = "gateway",
              .help = "The gateway's service name in the manager (CPU figures, restarts)"});
  schema.add({.key = "monitor.auto_restart",
              .type = Type::kBool,
              .default_value = "false",
              .help = "Ask the manager for a rolling restart of the gateway when a figure of "
                      "the gateway turns critical"});
  schema.add({.key = "monitor.webhook",
              .type = Type::kString,
              .help = "URL that receives a JSON POST for every new or escalated alert"});
}

MonitorSettings monitorSettings(const config::Values& config) {
  MonitorSettings out;
  out.resources.cpu = thresholds(config, "cpu");
  out.resources.memory = thresholds(config, "memory");
  out.resources.disk = thresholds(config, "disk");
  out.error_rate = thresholds(config, "error_rate");
  out.response_ms = {
      static_cast<double>(config.duration("monitor.response_time_warning").count()),
      static_cast<double>(config.duration("monitor.response_time_critical").count())};
  if (out.response_ms.warning > out.response_ms.critical) {
    throw config::ConfigError({fmt::format(
        "{}: 'monitor.response_time_warning' is above 'monitor.response_time_critical'",
        config.origin("monitor.response_time_warning"))});
  }
  out.window = config.duration("monitor.window");
  if (out.window.count() <= 0) {
    throw config::ConfigError(
        {fmt::format("{}: 'monitor.window' must be positive", config.origin("monitor.window"))});
  }
  out.gateway_service = config.string("monitor.gateway_service");
  out.auto_restart = config.boolean("monitor.auto_restart");
  out.webhook = config.string("monitor.webhook");
  return out;
}

std::string formatValue(const std::string& metric, double value) {
  if (metric == "response_time") return fmt::format("{:.0f} ms", value);
  return fmt::format("{:.1f}%", value);
}

double thresholdOf(const Measurement& m) {
  switch (m.level) {
  case Level::kCritical:
    return m.limits.critical;
  case Level::kWarning:
    return m.limits.warning;
  case Level::kOk:
    break;
  }
  return 0;
}

std::vector<Measurement> evaluate(const Readings& r, const MonitorSettings& settings) {
  std::vector<Measurement> out;
  const auto& sys = r.system;

  auto cpu = graded("cpu", sys.cpu, settings.resources.cpu, false);
  describe(cpu, fmt::format(" of {} CPU(s)", sys.cpus), "cannot read /proc/stat");
  out.push_back(std::move(cpu));

  auto gateway_cpu = graded("gateway_cpu", sys.gateway_cpu, settings.resources.cpu, true);
  describe(gateway_cpu,
           fmt::format(" of {} CPU(s) used by '{}'", sys.cpus, settings.gateway_service),
           "not measured: " + r.gateway_cpu_note);
  out.push_back(std::move(gateway_cpu));

  auto memory = graded("memory", sys.memory, settings.resources.memory, false);
  describe(memory, " in use", "cannot read /proc/meminfo");
  out.push_back(std::move(memory));

  auto disk = graded("disk", sys.disk, settings.resources.disk, false);
  describe(disk, " used on the file system of " + r.disk_path, "cannot stat " + r.disk_path);
  out.push_back(std::move(disk));

  // Without calls there is no response time or error rate to judge: ok, and said so.
  const auto* calls = r.calls ? &*r.calls : nullptr;
  const bool any = calls && calls->calls > 0;
  const std::string window = minutesText(settings.window);
  const std::string none =
      calls ? fmt::format("no tool calls in the last {}", window) : "not measured: " + r.calls_note;

  auto response =
      graded("response_time", any ? std::optional<double>(calls->percentile(0.95)) : std::nullopt,
             settings.response_ms, true);
  describe(response,
           any ? fmt::format(" p95 of {} call(s) in the last {}", calls->calls, window) : "", none);
  out.push_back(std::move(response));

  auto errors =
      graded("error_rate", any ? std::optional<double>(calls->errorPercent()) : std::nullopt,
             settings.error_rate, true);
  describe(errors,
           any ? fmt::format(" failed: {} of {} call(s) in the last {}", calls->errors,
                             calls->calls, window)
               : "",
           none);
  out.push_back(std::move(errors));
  return out;
}

std::vector<Check> checksOf(const std::vector<Measurement>& measurements) {
  std::vector<Check> out;
  out.reserve(measurements.size());
  for (const auto& m : measurements) {
    std::string name = m.metric;
    for (auto& c : name)
      c = c == '_' ? ' ' : c;
    out.push_back(Check{std::move(name), m.level, m.detail});
  }
  return out;
}

} // namespace forge::ops
