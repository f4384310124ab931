// What the monitoring and report commands gather besides the database: the machine's figures
// (/proc, the data directory's disk), the manager's view of the gateway service (its CPU time
// and replicas) and the gateway's open sessions. A peer that does not answer leaves its figures
// out, with a note saying why, instead of failing the command. Also the tables both print.
#pragma once

#include "cli/connection.h"
#include "cli/output.h"
#include "ops/report.h"
#include "ops/system_usage.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace forge::cli {

struct StackFigures {
  ops::SystemReadings system;
  std::string disk_path;
  std::string gateway_cpu_note; // why system.gateway_cpu is missing
  std::optional<int> replicas;  // running replicas of the gateway service
  std::optional<std::int64_t> sessions;
};

// Samples the machine over `interval`, and the gateway service's CPU over the same interval
// when the manager answers; with `counts`, also its replicas and the gateway's sessions.
StackFigures sampleStack(Connection& connection, const std::string& gateway_service,
                         std::chrono::milliseconds interval, bool counts);

// A window such as "1h", "30m", "7d" (a bare number is seconds).
core::Result<std::chrono::milliseconds> parseWindow(const std::string& text);

// Calls per upstream (with_tool false) or per tool, as a table.
Table figuresTable(const std::vector<ops::CallFigures>& figures, bool with_tool);
// 12.3 -> "12.3"; none -> "-".
std::string number(std::optional<double> value, int decimals = 1);

} // namespace forge::cli
