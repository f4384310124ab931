// Escalation levels and when an unresolved incident moves up them, after the operations guide:
//
//   level 1  on-call engineer          response timeline:  0-5 min    detection and alerting
//   level 2  senior engineer                               5-15 min   automated response
//   level 3  engineering manager                           15-30 min  manual intervention
//   level 4  CTO / VP engineering                          30+ min    escalation to senior team
//
// An EscalationPolicy gives, per severity, how long after opening an incident that is still open
// reaches level 2, 3 and 4. The guide's own figure is the CRITICAL one: unresolved after 30
// minutes, it goes to the senior team. Deadlines count from the opening, so an incident escalated
// by hand early is not pushed further until the next deadline of its severity passes.
#pragma once

#include "ops/severity.h"

#include <array>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace forge::ops {

inline constexpr int kMinLevel = 1;
inline constexpr int kMaxLevel = 4;

// Who is engaged at `level` (1-4): "on-call engineer" ... "CTO/VP engineering".
std::string_view levelContact(int level);
// The guide's phase of the response at `elapsed` since opening ("initial detection and alerting",
// "automated response attempts", "manual intervention", "escalation to senior team").
std::string_view responsePhase(std::chrono::seconds elapsed);

struct EscalationPolicy {
  // Per severity (indexed by Severity): the time since opening at which levels 2, 3, 4 are due,
  // ascending. Fewer than three entries: the incident is not escalated automatically beyond.
  std::array<std::vector<std::chrono::seconds>, 3> due_after;

  // CRITICAL 30 min / 1 h / 2 h; WARNING 1 h / 4 h; INFO never.
  static EscalationPolicy guide();

  const std::vector<std::chrono::seconds>& stepsFor(Severity severity) const {
    return due_after[static_cast<std::size_t>(severity)];
  }
};

// The level an incident of `severity` open for `elapsed` should have reached (1-4).
int dueLevel(const EscalationPolicy& policy, Severity severity, std::chrono::seconds elapsed);

// How long after opening the level after `level` is due, or nullopt if it never is
// automatically (level 4, or the policy stops before).
std::optional<std::chrono::seconds> nextDeadline(const EscalationPolicy& policy, Severity severity,
                                                 int level);

} // namespace forge::ops
