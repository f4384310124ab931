#include "ops/utc_time.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdio>
#include <ctime>

namespace forge::ops {

std::string formatUtc(SystemTime time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(time)), millis);
}

std::string formatUtcSeconds(SystemTime time) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(time)));
}

std::optional<SystemTime> parseUtc(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  if (rest.starts_with(".")) {
    int digits = 0;
    if (std::sscanf(rest.c_str(), ".%3d%n", &millis, &digits) != 1) return std::nullopt;
    rest = rest.substr(static_cast<std::size_t>(digits));
  }
  if (rest != "Z") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

std::string humanDuration(std::chrono::milliseconds duration) {
  const double ms = static_cast<double>(duration.count());
  if (ms < 1000) return fmt::format("{} ms", duration.count());
  if (ms < 60'000) return fmt::format("{:.1f} s", ms / 1000);
  if (ms < 3'600'000) return fmt::format("{:.1f} min", ms / 60'000);
  if (ms < 86'400'000) return fmt::format("{:.1f} h", ms / 3'600'000);
  return fmt::format("{:.1f} d", ms / 86'400'000);
}

std::string humanBytes(std::uint64_t bytes) {
  const double value = static_cast<double>(bytes);
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", value / 1024);
  if (bytes < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", value / (1024 * 1024));
  return fmt::format("{:.2f} GiB", value / (1024.0 * 1024 * 1024));
}

} // namespace forge::ops
