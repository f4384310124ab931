#include "ops/call_stats.h"

#include "storage/store.h"

namespace forge::ops {

CallWindow lastWindow(std::chrono::milliseconds length, Clock::time_point now) {
  return CallWindow{now - length, now};
}

core::Result<std::vector<storage::CallMinute>> loadMinutes(storage::Database& db,
                                                           const CallWindow& window) {
  // A minute row is named by its start: the one `to` falls in is still being counted, so it is
  // included (an end one minute later, exclusive).
  storage::Store store(db);
  return store.callMinutes(storage::minuteUtc(window.from),
                           storage::minuteUtc(window.to + std::chrono::minutes(1)));
}

storage::LatencyHistogram totalOf(const std::vector<storage::CallMinute>& minutes) {
  storage::LatencyHistogram total;
  for (const auto& m : minutes)
    total.merge(m.histogram);
  return total;
}

std::map<std::string, storage::LatencyHistogram>
byUpstream(const std::vector<storage::CallMinute>& minutes) {
  std::map<std::string, storage::LatencyHistogram> out;
  for (const auto& m : minutes)
    out[m.gateway].merge(m.histogram);
  return out;
}

std::map<std::pair<std::string, std::string>, storage::LatencyHistogram>
byTool(const std::vector<storage::CallMinute>& minutes) {
  std::map<std::pair<std::string, std::string>, storage::LatencyHistogram> out;
  for (const auto& m : minutes)
    out[{m.gateway, m.tool}].merge(m.histogram);
  return out;
}

std::map<std::string, storage::LatencyHistogram>
byPeriod(const std::vector<storage::CallMinute>& minutes, Period period) {
  // "2026-12-04T17:05:00Z": the day is 10 characters long, the hour 13, the minute 16.
  const std::size_t length = period == Period::kDay ? 10 : period == Period::kHour ? 13 : 16;
  std::map<std::string, storage::LatencyHistogram> out;
  for (const auto& m : minutes)
    out[m.minute.substr(0, length)].merge(m.histogram);
  return out;
}

} // namespace forge::ops
