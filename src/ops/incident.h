// Incidents and their timelines, kept in the stack's database (schema version 6: tables
// `incidents` and `incident_events`), so that whoever is on call sees what was done, by whom and
// when: opening, assessments with their diagnostics, recovery steps and their results,
// escalations, notifications sent or failed, notes, and the closing resolution.
//
// An incident is open, then mitigated (the recovery worked, the cause may remain), then closed
// with a resolution. Ids are small integers (1, 2, ...) that people can say on a call.
#pragma once

#include "ops/utc_time.h"

#include "core/error.h"
#include "ops/escalation.h"
#include "ops/severity.h"
#include "storage/database.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forge::ops {

using WallClock = std::chrono::system_clock;

enum class IncidentState { kOpen, kMitigated, kClosed };
std::string_view stateName(IncidentState state); // "open", "mitigated", "closed"

struct Incident {
  std::int64_t id = 0;
  std::string title;
  Severity severity = Severity::kWarning;
  IncidentState state = IncidentState::kOpen;
  int level = 1;         // escalation level, 1-4 (ops/escalation.h)
  std::string opened_at; // ISO 8601 UTC, like every time below
  std::string updated_at;
  std::string closed_at; // "" while not closed
  std::string opened_by;
  std::string summary;
  std::string resolution; // "" while not closed
};

// One entry of an incident's timeline. `kind` is one of: opened, assessed, recovery, escalated,
// notified, notify-failed, note, mitigated, closed. `data` is JSON (diagnostics, step results).
struct IncidentEvent {
  std::int64_t incident_id = 0;
  std::int64_t seq = 0; // 1, 2, ... in the order recorded
  std::string at;
  std::string kind;
  std::string actor;
  std::string text;
  boost::json::object data;
};

boost::json::object toJson(const Incident& incident);
boost::json::object toJson(const IncidentEvent& event);

// Times are stored as formatUtcSeconds() writes them ("2026-12-04T17:03:26Z", ops/utc_time.h).
// How long `incident` has been open at `now` (until closing, for a closed one).
std::chrono::seconds openFor(const Incident& incident, WallClock::time_point now);

// "12 s", "42 min", "3 h 5 min": for messages.
std::string formatDuration(std::chrono::seconds duration);

// An open incident whose level is behind what its severity and age call for
// (ops/escalation.h), and why, in one line for the timeline and the notification.
struct DueEscalation {
  Incident incident;
  int to = 1;
  std::chrono::seconds open_for{0};
  std::string
      reason; // "unresolved for 31 min: CRITICAL incidents reach level 2 (...) after 30 min"
};
// Those of `incidents` (open ones only; mitigated and closed ones wait) due at `now`.
std::vector<DueEscalation> dueEscalations(const std::vector<Incident>& incidents,
                                          const EscalationPolicy& policy,
                                          WallClock::time_point now);

struct NewIncident {
  std::string title;
  Severity severity = Severity::kWarning;
  int level = 1;
  std::string opened_by;
  std::string summary;
};

enum class ListFilter { kUnresolved, kOpen, kAll }; // unresolved: open or mitigated

// Reads and writes incidents on a Database (not thread-safe, like the Database). Every change
// appends to the timeline in the same transaction. Errors: kNotFound for an unknown id,
// kConflict for a change a closed incident cannot take, kInvalidParams for a bad level.
class IncidentStore {
public:
  explicit IncidentStore(storage::Database& db) : db_(db) {}

  // Records the incident and its "opened" event.
  core::Result<Incident> open(const NewIncident& incident);
  core::Result<Incident> get(std::int64_t id);
  // Newest first.
  core::Result<std::vector<Incident>> list(ListFilter filter);
  core::Result<std::vector<IncidentEvent>> timeline(std::int64_t id);

  // Appends an event (any kind; the store's own changes below record theirs).
  core::Result<IncidentEvent> record(std::int64_t id, std::string_view kind, std::string_view actor,
                                     std::string_view text, boost::json::object data = {});
  // Raises the level to `level` (above the current one, at most 4) and records "escalated".
  core::Result<Incident> escalate(std::int64_t id, int level, std::string_view actor,
                                  std::string_view reason);
  // Open -> mitigated, recording "mitigated" with `text`.
  core::Result<Incident> mitigate(std::int64_t id, std::string_view actor, std::string_view text);
  // Any state but closed -> closed with `resolution`, recording "closed".
  core::Result<Incident> close(std::int64_t id, std::string_view actor,
                               std::string_view resolution);

private:
  core::Result<IncidentEvent> append(std::int64_t id, std::string_view kind, std::string_view actor,
                                     std::string_view text, const boost::json::object& data);
  core::Result<Incident> openIncident(std::int64_t id); // get(), refusing a closed one
  // `UPDATE incidents SET <set>` with `values`, and the event, in one transaction.
  core::Result<Incident> change(std::int64_t id, std::string_view set,
                                std::vector<storage::Value> values, std::string_view kind,
                                std::string_view actor, std::string_view text,
                                const boost::json::object& data);

  storage::Database& db_;
};

} // namespace forge::ops
