#include "ops/severity.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace forge::ops {

std::string_view severityName(Severity severity) {
  switch (severity) {
  case Severity::kInfo:
    return "INFO";
  case Severity::kWarning:
    return "WARNING";
  case Severity::kCritical:
    return "CRITICAL";
  }
  return "UNKNOWN";
}

std::optional<Severity> parseSeverity(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (auto severity : {Severity::kInfo, Severity::kWarning, Severity::kCritical}) {
    if (upper == severityName(severity)) return severity;
  }
  return std::nullopt;
}

Severity severityOf(Level level) {
  switch (level) {
  case Level::kOk:
    return Severity::kInfo;
  case Level::kWarning:
    return Severity::kWarning;
  case Level::kCritical:
    return Severity::kCritical;
  }
  return Severity::kCritical;
}

} // namespace forge::ops
