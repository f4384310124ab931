#include "ops/escalation.h"

namespace forge::ops {

using namespace std::chrono_literals;

std::string_view levelContact(int level) {
  switch (level) {
  case 1:
    return "on-call engineer";
  case 2:
    return "senior engineer";
  case 3:
    return "engineering manager";
  case 4:
    return "CTO/VP engineering";
  }
  return "unknown";
}

std::string_view responsePhase(std::chrono::seconds elapsed) {
  if (elapsed < 5min) return "initial detection and alerting";
  if (elapsed < 15min) return "automated response attempts";
  if (elapsed < 30min) return "manual intervention";
  return "escalation to senior team";
}

EscalationPolicy EscalationPolicy::guide() {
  EscalationPolicy policy;
  policy.due_after[static_cast<std::size_t>(Severity::kCritical)] = {30min, 60min, 120min};
  policy.due_after[static_cast<std::size_t>(Severity::kWarning)] = {60min, 240min};
  policy.due_after[static_cast<std::size_t>(Severity::kInfo)] = {};
  return policy;
}

int dueLevel(const EscalationPolicy& policy, Severity severity, std::chrono::seconds elapsed) {
  int level = kMinLevel;
  for (const auto after : policy.stepsFor(severity)) {
    if (elapsed < after || level == kMaxLevel) break;
    ++level;
  }
  return level;
}

std::optional<std::chrono::seconds> nextDeadline(const EscalationPolicy& policy, Severity severity,
                                                 int level) {
  const auto& steps = policy.stepsFor(severity);
  // steps[0] is level 2's deadline.
  const auto index = static_cast<std::size_t>(level - kMinLevel);
  if (level < kMinLevel || level >= kMaxLevel || index >= steps.size()) return std::nullopt;
  return steps[index];
}

} // namespace forge::ops
