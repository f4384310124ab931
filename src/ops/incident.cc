#include "ops/incident.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <ctime>

namespace forge::ops {

namespace json = boost::json;
using storage::Value;

namespace {

constexpr const char* kColumns = "id, title, severity, state, level, opened_at, updated_at, "
                                 "closed_at, opened_by, summary, resolution";

std::optional<IncidentState> parseState(std::string_view text) {
  for (auto state : {IncidentState::kOpen, IncidentState::kMitigated, IncidentState::kClosed}) {
    if (text == stateName(state)) return state;
  }
  return std::nullopt;
}

Incident incidentOf(const storage::Row& row) {
  Incident incident;
  incident.id = row.integer(0);
  incident.title = row.text(1);
  incident.severity = parseSeverity(row.text(2)).value_or(Severity::kCritical);
  incident.state = parseState(row.text(3)).value_or(IncidentState::kOpen);
  incident.level = static_cast<int>(row.integer(4));
  incident.opened_at = row.text(5);
  incident.updated_at = row.text(6);
  incident.closed_at = row.text(7);
  incident.opened_by = row.text(8);
  incident.summary = row.text(9);
  incident.resolution = row.text(10);
  return incident;
}

json::object parseObject(const std::string& text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object()) return {};
  return std::move(value.as_object());
}

core::Error notFound(std::int64_t id) {
  return core::Error{core::Errc::kNotFound,
                     fmt::format("no incident {} (see `forge incident list --all`)", id)};
}

} // namespace

std::string_view stateName(IncidentState state) {
  switch (state) {
  case IncidentState::kOpen:
    return "open";
  case IncidentState::kMitigated:
    return "mitigated";
  case IncidentState::kClosed:
    return "closed";
  }
  return "unknown";
}

json::object toJson(const Incident& incident) {
  return json::object{{"id", incident.id},
                      {"title", incident.title},
                      {"severity", severityName(incident.severity)},
                      {"state", stateName(incident.state)},
                      {"level", incident.level},
                      {"contact", levelContact(incident.level)},
                      {"opened_at", incident.opened_at},
                      {"updated_at", incident.updated_at},
                      {"closed_at", incident.closed_at},
                      {"opened_by", incident.opened_by},
                      {"summary", incident.summary},
                      {"resolution", incident.resolution}};
}

json::object toJson(const IncidentEvent& event) {
  return json::object{{"seq", event.seq},     {"at", event.at},     {"kind", event.kind},
                      {"actor", event.actor}, {"text", event.text}, {"data", event.data}};
}

std::chrono::seconds openFor(const Incident& incident, WallClock::time_point now) {
  const auto opened = parseUtc(incident.opened_at);
  if (!opened) return std::chrono::seconds(0);
  const auto until =
      incident.state == IncidentState::kClosed ? parseUtc(incident.closed_at).value_or(now) : now;
  return std::max(std::chrono::seconds(0),
                  std::chrono::duration_cast<std::chrono::seconds>(until - *opened));
}

std::string formatDuration(std::chrono::seconds duration) {
  const auto s = duration.count();
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min", s / 60);
  return s % 3600 >= 60 ? fmt::format("{} h {} min", s / 3600, (s % 3600) / 60)
                        : fmt::format("{} h", s / 3600);
}

std::vector<DueEscalation> dueEscalations(const std::vector<Incident>& incidents,
                                          const EscalationPolicy& policy,
                                          WallClock::time_point now) {
  std::vector<DueEscalation> out;
  for (const auto& incident : incidents) {
    if (incident.state != IncidentState::kOpen) continue;
    const auto open_for = openFor(incident, now);
    const int due = dueLevel(policy, incident.severity, open_for);
    if (due <= incident.level) continue;
    const auto deadline = nextDeadline(policy, incident.severity, due - 1).value_or(open_for);
    out.push_back({incident, due, open_for,
                   fmt::format("unresolved for {}: {} incidents reach level {} ({}) after {}",
                               formatDuration(open_for), severityName(incident.severity), due,
                               levelContact(due), formatDuration(deadline))});
  }
  return out;
}

core::Result<Incident> IncidentStore::open(const NewIncident& incident) {
  if (incident.level < kMinLevel || incident.level > kMaxLevel) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("level {} is not 1-4", incident.level)};
  }
  const std::string now = formatUtcSeconds(WallClock::now());
  std::int64_t id = 0;
  auto insert = [&]() -> core::Status {
    // The next id in one statement: two operators opening at once meet the primary key, and
    // the loser's transaction fails (and is tried again) rather than sharing an id.
    auto inserted =
        db_.query(fmt::format("INSERT INTO incidents ({}) SELECT COALESCE(MAX(id), 0) + 1, ?, ?, "
                              "?, ?, ?, ?, '', ?, ?, '' FROM incidents RETURNING id",
                              kColumns),
                  {incident.title, std::string(severityName(incident.severity)),
                   std::string(stateName(IncidentState::kOpen)), std::int64_t{incident.level}, now,
                   now, incident.opened_by, incident.summary});
    if (!inserted) return inserted.error();
    if (inserted->rows.empty()) return core::Error{core::Errc::kInternal, "no id returned"};
    id = inserted->rows[0].integer(0);
    auto opened = append(
        id, "opened", incident.opened_by,
        fmt::format("{} incident opened at level {} ({}): {}", severityName(incident.severity),
                    incident.level, levelContact(incident.level), incident.title),
        json::object{{"severity", severityName(incident.severity)}, {"level", incident.level}});
    if (!opened) return opened.error();
    return core::Ok{};
  };
  auto status = storage::transaction(db_, insert);
  for (int retry = 0; retry < 5 && !status && status.error().code == core::Errc::kConflict; ++retry)
    status = storage::transaction(db_, insert);
  if (!status) return status.error();
  return get(id);
}

core::Result<Incident> IncidentStore::get(std::int64_t id) {
  auto rows = db_.query(fmt::format("SELECT {} FROM incidents WHERE id = ?", kColumns), {id});
  if (!rows) return rows.error();
  if (rows->rows.empty()) return notFound(id);
  return incidentOf(rows->rows[0]);
}

core::Result<std::vector<Incident>> IncidentStore::list(ListFilter filter) {
  std::string where;
  if (filter == ListFilter::kOpen) where = " WHERE state = 'open'";
  if (filter == ListFilter::kUnresolved) where = " WHERE state <> 'closed'";
  auto rows =
      db_.query(fmt::format("SELECT {} FROM incidents{} ORDER BY id DESC", kColumns, where));
  if (!rows) return rows.error();
  std::vector<Incident> out;
  for (const auto& row : rows->rows)
    out.push_back(incidentOf(row));
  return out;
}

core::Result<std::vector<IncidentEvent>> IncidentStore::timeline(std::int64_t id) {
  if (auto incident = get(id); !incident) return incident.error();
  auto rows = db_.query("SELECT incident_id, seq, at, kind, actor, text, data FROM "
                        "incident_events WHERE incident_id = ? ORDER BY seq",
                        {id});
  if (!rows) return rows.error();
  std::vector<IncidentEvent> out;
  for (const auto& row : rows->rows) {
    out.push_back(IncidentEvent{row.integer(0), row.integer(1), row.text(2), row.text(3),
                                row.text(4), row.text(5), parseObject(row.text(6))});
  }
  return out;
}

core::Result<IncidentEvent> IncidentStore::append(std::int64_t id, std::string_view kind,
                                                  std::string_view actor, std::string_view text,
                                                  const json::object& data) {
  const std::string now = formatUtcSeconds(WallClock::now());
  auto inserted =
      db_.query("INSERT INTO incident_events (incident_id, seq, at, kind, actor, text, data) "
                "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM incident_events "
                "WHERE incident_id = ? RETURNING seq",
                {id, now, std::string(kind), std::string(actor), std::string(text),
                 json::serialize(data), id});
  if (!inserted) return inserted.error();
  auto touched = db_.query("UPDATE incidents SET updated_at = ? WHERE id = ?", {now, id});
  if (!touched) return touched.error();
  return IncidentEvent{id,
                       inserted->rows.empty() ? 0 : inserted->rows[0].integer(0),
                       now,
                       std::string(kind),
                       std::string(actor),
                       std::string(text),
                       data};
}

core::Result<IncidentEvent> IncidentStore::record(std::int64_t id, std::string_view kind,
                                                  std::string_view actor, std::string_view text,
                                                  json::object data) {
  if (auto incident = get(id); !incident) return incident.error();
  std::optional<IncidentEvent> event;
  auto status = storage::transaction(db_, [&]() -> core::Status {
    auto appended = append(id, kind, actor, text, data);
    if (!appended) return appended.error();
    event = std::move(*appended);
    return core::Ok{};
  });
  if (!status) return status.error();
  return std::move(*event);
}

core::Result<Incident> IncidentStore::openIncident(std::int64_t id) {
  auto incident = get(id);
  if (!incident) return incident.error();
  if (incident->state == IncidentState::kClosed) {
    return core::Error{
        core::Errc::kConflict,
        fmt::format("incident {} is closed ({}): open a new one", id, incident->resolution)};
  }
  return incident;
}

core::Result<Incident> IncidentStore::change(std::int64_t id, std::string_view set,
                                             std::vector<Value> values, std::string_view kind,
                                             std::string_view actor, std::string_view text,
                                             const json::object& data) {
  values.emplace_back(id);
  auto status = storage::transaction(db_, [&]() -> core::Status {
    auto updated = db_.query(fmt::format("UPDATE incidents SET {} WHERE id = ?", set), values);
    if (!updated) return updated.error();
    auto recorded = append(id, kind, actor, text, data);
    if (!recorded) return recorded.error();
    return core::Ok{};
  });
  if (!status) return status.error();
  return get(id);
}

core::Result<Incident> IncidentStore::escalate(std::int64_t id, int level, std::string_view actor,
                                               std::string_view reason) {
  auto incident = openIncident(id);
  if (!incident) return incident.error();
  if (level <= incident->level || level > kMaxLevel) {
    return core::Error{
        core::Errc::kInvalidParams,
        incident->level == kMaxLevel
            ? fmt::format("incident {} is already at level {} ({})", id, kMaxLevel,
                          levelContact(kMaxLevel))
            : fmt::format("level {} is not above incident {}'s level {} (and at most {})", level,
                          id, incident->level, kMaxLevel)};
  }
  return change(id, "level = ?", {std::int64_t{level}}, "escalated", actor,
                fmt::format("escalated from level {} to {} ({}): {}", incident->level, level,
                            levelContact(level), reason),
                json::object{{"from", incident->level}, {"to", level}, {"reason", reason}});
}

core::Result<Incident> IncidentStore::mitigate(std::int64_t id, std::string_view actor,
                                               std::string_view text) {
  if (auto incident = openIncident(id); !incident) return incident.error();
  return change(id, "state = ?", {std::string(stateName(IncidentState::kMitigated))}, "mitigated",
                actor, text, {});
}

core::Result<Incident> IncidentStore::close(std::int64_t id, std::string_view actor,
                                            std::string_view resolution) {
  if (auto incident = openIncident(id); !incident) return incident.error();
  return change(id, "state = ?, closed_at = ?, resolution = ?",
                {std::string(stateName(IncidentState::kClosed)), formatUtcSeconds(WallClock::now()),
                 std::string(resolution)},
                "closed", actor, fmt::format("closed: {}", resolution), {});
}

} // namespace forge::ops
