// Diagnostics of a live stack, graded: what `forge incident assess` looks at and how it judges
// it. The command gathers (HTTP calls to the gateway and the manager, the data directory's file
// system); the functions here turn what was gathered into Checks (ops/check.h) and a suggested
// severity, and the manager's service list into a recovery plan. They do no I/O of their own
// (the disk is measured with ops/system_usage.h).
//
// Limits are ResourceLimits (ops/check.h): the guide's memory 85/90 %, disk 80/90 %, CPU 80/90 %
// unless the monitor.* keys say otherwise (CPU here is the load average per CPU, and each
// service's CPU share measured between two samples).
#pragma once

#include "core/error.h"
#include "ops/check.h"
#include "ops/severity.h"
#include "ops/system_usage.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace forge::ops {

// One GET made while assessing: what came back, or why nothing did.
struct Probe {
  std::string url;
  bool reached = false;
  int status = 0;
  boost::json::value body; // null unless JSON
  std::string error;
  double ms = 0;
  bool ok() const { return reached && status >= 200 && status < 300; }
};
boost::json::object toJson(const Probe& probe);

// A service's resource use, from two samples of the manager's /services/NAME/metrics.
struct ServiceUsage {
  double cpu_percent = 0; // of one CPU, over the sampling interval
  std::int64_t rss_bytes = 0;
};

// Everything gathered; a probe the command could not make stays unreached with its error.
struct StackSnapshot {
  std::string gateway_url;
  Probe gateway_health, gateway_ready, gateway_version;
  std::string manager_url;
  Probe manager_services, manager_resources;
  std::map<std::string, ServiceUsage> usage; // by service name
  std::string log_service;                   // whose log was read ("" if none)
  std::vector<std::string> log_lines;        // its recent lines
  std::string data_dir;
  core::Result<DiskUsage> disk = core::Error{core::Errc::kNotFound, "not measured"};
};

// The checks, in this order: gateway, gateway version, manager, one per service, memory, load,
// disk, gateway log.
std::vector<Check> gradeSnapshot(const StackSnapshot& snapshot, const ResourceLimits& limits = {});

Check gradeGateway(const std::string& url, const Probe& health, const Probe& ready);
Check gradeDisk(const std::string& path, const core::Result<DiskUsage>& disk,
                const ResourceLimits& limits = {});
// One check per service of the manager's /services answer.
std::vector<Check> gradeServices(const boost::json::value& services,
                                 const std::map<std::string, ServiceUsage>& usage,
                                 std::int64_t memory_total_bytes,
                                 const ResourceLimits& limits = {});
// Error lines (level error or critical, or the words error / fatal / panic) among `lines`.
std::vector<std::string> errorLines(const std::vector<std::string>& lines);

// The severity the checks call for, and whether the guide asks for immediate escalation
// (several services down, or the gateway down).
struct Assessment {
  Severity severity = Severity::kInfo;
  bool escalate_now = false;
  std::string reason; // why, in one line
};
Assessment assess(const std::vector<Check>& checks);

// What `forge incident recover` does for the manager's services: start a stopped service that
// starts automatically, restart one that is unhealthy, backing off or crash-looping; leave
// running, starting, sleeping and waking ones, and ones stopped that do not start on their own.
struct RecoveryStep {
  std::string service;
  std::string action; // "start" or "restart"
  std::string reason; // "state crash-loop, 5 restarts"
};
std::vector<RecoveryStep> planRecovery(const boost::json::value& services);

// True for a service state that needs nothing done.
bool isServing(const std::string& state);

} // namespace forge::ops
