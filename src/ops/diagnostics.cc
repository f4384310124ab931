#include "ops/diagnostics.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace forge::ops {

namespace json = boost::json;

namespace {

std::string textOf(const json::value& value) {
  if (value.is_string()) return std::string(value.get_string());
  if (value.is_null()) return "";
  return json::serialize(value);
}

const json::value& field(const json::value& object, std::string_view key) {
  static const json::value kNull;
  if (!object.is_object()) return kNull;
  const auto* found = object.as_object().if_contains(key);
  return found ? *found : kNull;
}

double number(const json::value& value) {
  return value.is_number() ? value.to_number<double>() : 0.0;
}

std::string mebibytes(double bytes) { return fmt::format("{:.0f} MiB", bytes / (1024 * 1024)); }

double percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

// Why a probe failed, for a detail line.
std::string failure(const Probe& probe) {
  if (!probe.reached) return probe.error;
  std::string detail = textOf(field(probe.body, "detail"));
  return detail.empty() ? fmt::format("answered {}", probe.status)
                        : fmt::format("answered {}: {}", probe.status, detail);
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool hasWord(const std::string& text, std::string_view word) {
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1]));
    const auto end = at + word.size();
    const bool ends = end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
    if (starts && ends) return true;
  }
  return false;
}

// The fields of one service of the manager's /services answer that are judged here.
struct ServiceView {
  std::string name;
  std::string state;
  std::int64_t restarts = 0;
  bool auto_start = true; // absent: assume it should run
  std::string summary() const {
    return fmt::format("{}, {} restart{}", state, restarts, restarts == 1 ? "" : "s");
  }
};

ServiceView viewOf(const json::value& service) {
  const auto& auto_start = field(service, "auto_start");
  return {textOf(field(service, "name")), textOf(field(service, "state")),
          static_cast<std::int64_t>(number(field(service, "restarts"))),
          !auto_start.is_bool() || auto_start.as_bool()};
}

Check gradeManager(const StackSnapshot& snapshot) {
  const auto& probe = snapshot.manager_services;
  if (!probe.reached) {
    return {"manager", Level::kWarning,
            fmt::format("{}; services not checked (no manager runs this stack? `forge up` runs "
                        "one, or give --manager-url)",
                        probe.error.empty() ? "not reachable at " + snapshot.manager_url
                                            : probe.error)};
  }
  if (!probe.ok()) {
    return {"manager", Level::kWarning,
            fmt::format("GET /services {} (check --token or --data-dir)", failure(probe))};
  }
  const auto count = probe.body.is_array() ? probe.body.as_array().size() : 0;
  return {"manager", Level::kOk,
          fmt::format("{} service{} supervised, answered in {:.0f} ms", count,
                      count == 1 ? "" : "s", probe.ms)};
}

Check gradeVersion(const Probe& version) {
  if (!version.ok()) {
    return {"gateway version", Level::kWarning,
            fmt::format("GET /version {} (check --token or --data-dir)", failure(version))};
  }
  const auto& app = field(version.body, "app");
  const auto& database = field(version.body, "database");
  const bool reachable = field(database, "reachable") == json::value(true);
  return {"gateway version", reachable ? Level::kOk : Level::kCritical,
          fmt::format("forge {} ({}), database {} schema {}{}", textOf(field(app, "version")),
                      textOf(field(app, "commit")), textOf(field(database, "backend")),
                      textOf(field(database, "schemaVersion")),
                      reachable ? "" : ": the gateway cannot reach its database")};
}

std::vector<Check> gradeResources(const Probe& resources, const ResourceLimits& limits) {
  if (!resources.ok()) return {};
  const auto& body = resources.body;
  std::vector<Check> out;
  const double total = number(field(body, "memory_total_bytes"));
  const double available = number(field(body, "memory_available_bytes"));
  if (total > 0) {
    const double used = percent(total - available, total);
    out.push_back({"memory", grade(used, limits.memory),
                   fmt::format("{:.1f} % used ({} of {} available)", used, mebibytes(available),
                               mebibytes(total))});
  }
  const double cpus = number(field(body, "cpus"));
  const auto& load = field(body, "load_average");
  if (cpus > 0 && load.is_array() && !load.as_array().empty()) {
    const double per_cpu = percent(number(load.as_array()[0]), cpus);
    out.push_back({"load", grade(per_cpu, limits.cpu),
                   fmt::format("{:.0f} % of {} CPUs (1-minute load {:.2f})", per_cpu, cpus,
                               number(load.as_array()[0]))});
  }
  return out;
}

Check gradeLog(const StackSnapshot& snapshot) {
  const auto errors = errorLines(snapshot.log_lines);
  const std::string name = snapshot.log_service + " log";
  if (errors.empty()) {
    return {name, Level::kOk,
            fmt::format("no error in the last {} lines", snapshot.log_lines.size())};
  }
  return {name, Level::kWarning,
          fmt::format("{} error line{} in the last {}; latest: {} (forge logs {})", errors.size(),
                      errors.size() == 1 ? "" : "s", snapshot.log_lines.size(),
                      errors.back().substr(0, 300), snapshot.log_service)};
}

} // namespace

json::object toJson(const Probe& probe) {
  json::object out{
      {"url", probe.url}, {"reached", probe.reached}, {"status", probe.status}, {"ms", probe.ms}};
  if (!probe.error.empty()) out["error"] = probe.error;
  if (!probe.body.is_null()) out["body"] = probe.body;
  return out;
}

Check gradeGateway(const std::string& url, const Probe& health, const Probe& ready) {
  if (!health.reached) {
    return {"gateway", Level::kCritical,
            fmt::format("not reachable at {}: {} (start it: `forge up`, or `forge incident "
                        "recover ID` under a manager)",
                        url, health.error)};
  }
  if (!health.ok()) {
    return {"gateway", Level::kCritical, fmt::format("GET /health {}", failure(health))};
  }
  const auto uptime = number(field(health.body, "uptime_seconds"));
  if (!ready.ok()) {
    return {
        "gateway", Level::kWarning,
        fmt::format("alive but not ready: GET /ready {} (draining or starting)", failure(ready))};
  }
  return {"gateway", Level::kOk,
          fmt::format("healthy and ready, up {:.0f} s, /health in {:.0f} ms", uptime, health.ms)};
}

Check gradeDisk(const std::string& path, const core::Result<DiskUsage>& disk,
                const ResourceLimits& limits) {
  const std::string name = fmt::format("disk {}", path);
  if (!disk) return {name, Level::kWarning, disk.error().message};
  const double total = static_cast<double>(disk->total_bytes);
  const double used = percent(total - static_cast<double>(disk->free_bytes), total);
  return {name, grade(used, limits.disk),
          fmt::format("{:.1f} % used ({} free of {})", used,
                      mebibytes(static_cast<double>(disk->free_bytes)), mebibytes(total))};
}

bool isServing(const std::string& state) {
  return state == "running" || state == "starting" || state == "sleeping" || state == "waking";
}

std::vector<Check> gradeServices(const json::value& services,
                                 const std::map<std::string, ServiceUsage>& usage,
                                 std::int64_t memory_total_bytes, const ResourceLimits& limits) {
  std::vector<Check> out;
  if (!services.is_array()) return out;
  for (const auto& service : services.as_array()) {
    const auto view = viewOf(service);
    const auto& name = view.name;
    const auto& state = view.state;
    std::string detail = view.summary();
    Level level = Level::kOk;
    if (state == "starting" || state == "waking") {
      level = Level::kWarning;
    } else if (state == "stopped" && !view.auto_start) {
      detail += " (not started automatically)";
    } else if (!isServing(state)) {
      level = Level::kCritical;
    }
    if (auto found = usage.find(name); found != usage.end()) {
      const auto& use = found->second;
      const double memory =
          percent(static_cast<double>(use.rss_bytes), static_cast<double>(memory_total_bytes));
      detail += fmt::format(", CPU {:.1f} %, memory {}", use.cpu_percent,
                            mebibytes(static_cast<double>(use.rss_bytes)));
      level = std::max({level, grade(use.cpu_percent, limits.cpu),
                        memory_total_bytes > 0 ? grade(memory, limits.memory) : Level::kOk});
    }
    if (level == Level::kCritical && !isServing(state))
      detail += fmt::format(" (`forge incident recover ID` or `forge restart {}`)", name);
    out.push_back({"service " + name, level, detail});
  }
  return out;
}

std::vector<std::string> errorLines(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines) {
    const auto text = lower(line);
    if (text.find("\"level\":\"error\"") != std::string::npos ||
        text.find("\"level\":\"critical\"") != std::string::npos || hasWord(text, "error") ||
        hasWord(text, "fatal") || hasWord(text, "panic")) {
      out.push_back(line);
    }
  }
  return out;
}

std::vector<Check> gradeSnapshot(const StackSnapshot& snapshot, const ResourceLimits& limits) {
  std::vector<Check> checks{
      gradeGateway(snapshot.gateway_url, snapshot.gateway_health, snapshot.gateway_ready)};
  if (snapshot.gateway_health.reached) checks.push_back(gradeVersion(snapshot.gateway_version));
  checks.push_back(gradeManager(snapshot));
  const auto memory_total = static_cast<std::int64_t>(
      number(field(snapshot.manager_resources.body, "memory_total_bytes")));
  if (snapshot.manager_services.ok()) {
    for (auto& check :
         gradeServices(snapshot.manager_services.body, snapshot.usage, memory_total, limits))
      checks.push_back(std::move(check));
  }
  for (auto& check : gradeResources(snapshot.manager_resources, limits))
    checks.push_back(std::move(check));
  checks.push_back(gradeDisk(snapshot.data_dir, snapshot.disk, limits));
  if (!snapshot.log_service.empty()) checks.push_back(gradeLog(snapshot));
  return checks;
}

Assessment assess(const std::vector<Check>& checks) {
  Assessment out;
  out.severity = severityOf(worst(checks));
  int services_down = 0;
  bool gateway_down = false;
  for (const auto& check : checks) {
    if (check.level != Level::kCritical) continue;
    if (check.name.starts_with("service ")) ++services_down;
    if (check.name == "gateway") gateway_down = true;
  }
  if (services_down >= 2) {
    out.escalate_now = true;
    out.reason =
        fmt::format("{} services down: the guide asks for immediate escalation", services_down);
  } else if (gateway_down) {
    out.escalate_now = true;
    out.reason = "the gateway is down: service down is CRITICAL";
  } else {
    std::vector<std::string> problems;
    for (const auto& check : checks) {
      if (check.level != Level::kOk)
        problems.push_back(fmt::format("{} ({})", check.name, levelName(check.level)));
    }
    out.reason = problems.empty() ? "every check is ok"
                                  : fmt::format("not ok: {}", fmt::join(problems, ", "));
  }
  return out;
}

std::vector<RecoveryStep> planRecovery(const json::value& services) {
  std::vector<RecoveryStep> plan;
  if (!services.is_array()) return plan;
  for (const auto& service : services.as_array()) {
    const auto view = viewOf(service);
    if (isServing(view.state) || view.state == "stopping") continue;
    if (view.state == "stopped" && !view.auto_start) continue; // stopped on purpose
    plan.push_back(
        {view.name, view.state == "stopped" ? "start" : "restart", "state " + view.summary()});
  }
  return plan;
}

} // namespace forge::ops
