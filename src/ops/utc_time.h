// Times as operations records write them: ISO 8601 UTC text ("2026-12-04T17:03:24.512Z" with
// milliseconds, or without), which sorts in time order as text.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace forge::ops {

using SystemTime = std::chrono::system_clock::time_point;

// "2026-12-04T17:03:24.512Z".
std::string formatUtc(SystemTime time);
// "2026-12-04T17:03:24Z" (the storage layer's form).
std::string formatUtcSeconds(SystemTime time);
// Parses either form; nullopt if `text` is neither.
std::optional<SystemTime> parseUtc(const std::string& text);

// "3 s", "12 min", "5.2 h", "3.1 d": an age or a duration for people.
std::string humanDuration(std::chrono::milliseconds duration);
// "512 B", "1.5 MiB".
std::string humanBytes(std::uint64_t bytes);

} // namespace forge::ops
