// Severity of an incident or a notification, as the operations guide defines it:
//   CRITICAL  service down, data loss, security breach
//   WARNING   high resource usage, performance degradation
//   INFO      routine maintenance, informational events
#pragma once

#include "ops/check.h"

#include <optional>
#include <string_view>

namespace forge::ops {

// Ordered: a later severity is worse.
enum class Severity { kInfo, kWarning, kCritical };

std::string_view severityName(Severity severity); // "INFO", "WARNING", "CRITICAL"
// Case-insensitive; nullopt for anything else.
std::optional<Severity> parseSeverity(std::string_view text);
// The severity a check's level calls for: critical is CRITICAL, warning WARNING, ok INFO.
Severity severityOf(Level level);

} // namespace forge::ops
