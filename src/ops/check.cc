#include "ops/check.h"

#include <algorithm>

namespace forge::ops {

std::string_view levelName(Level level) {
  switch (level) {
  case Level::kOk:
    return "ok";
  case Level::kWarning:
    return "warning";
  case Level::kCritical:
    return "critical";
  }
  return "unknown";
}

Level worst(const std::vector<Check>& checks) {
  Level level = Level::kOk;
  for (const auto& check : checks)
    level = std::max(level, check.level);
  return level;
}

Level grade(double value, Thresholds limits) {
  if (value >= limits.critical) return Level::kCritical;
  if (value >= limits.warning) return Level::kWarning;
  return Level::kOk;
}

int exitCodeOf(Level level) {
  switch (level) {
  case Level::kOk:
    return 0;
  case Level::kWarning:
    return 4; // cli::kExitWarning
  case Level::kCritical:
    return 3;
  }
  return 3;
}

} // namespace forge::ops
