// Recorded tool calls over a window: the per-minute latency histograms the gateways write
// (storage call_latency), read back and summed by upstream, by tool, by period or in total.
// Monitoring and every report read calls through here.
#pragma once

#include "core/error.h"
#include "storage/call_latency.h"
#include "storage/database.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace forge::ops {

using Clock = std::chrono::system_clock;

// [from, to): minutes are counted from the one `from` falls in to the one before `to`'s end.
struct CallWindow {
  Clock::time_point from;
  Clock::time_point to;
  double seconds() const { return std::chrono::duration<double>(to - from).count(); }
};

// The last `length` up to now.
CallWindow lastWindow(std::chrono::milliseconds length, Clock::time_point now = Clock::now());

core::Result<std::vector<storage::CallMinute>> loadMinutes(storage::Database& db,
                                                           const CallWindow& window);

storage::LatencyHistogram totalOf(const std::vector<storage::CallMinute>& minutes);
std::map<std::string, storage::LatencyHistogram>
byUpstream(const std::vector<storage::CallMinute>& minutes);
// Keyed by (upstream, tool).
std::map<std::pair<std::string, std::string>, storage::LatencyHistogram>
byTool(const std::vector<storage::CallMinute>& minutes);

enum class Period { kMinute, kHour, kDay };
// Keyed by the period's start as stored text ("2026-12-04T17:05", "2026-12-04T17", "2026-12-04").
std::map<std::string, storage::LatencyHistogram>
byPeriod(const std::vector<storage::CallMinute>& minutes, Period period);

} // namespace forge::ops
