#include "ops/alerts.h"

#include "storage/store.h"

#include <fmt/format.h>

#include <map>

namespace forge::ops {
namespace {

using storage::Row;
using storage::Value;

constexpr const char* kColumns =
    "id, metric, level, value, threshold, message, action, started_at, updated_at, ended_at";

Level levelOf(const std::string& name) {
  return name == "critical" ? Level::kCritical : name == "warning" ? Level::kWarning : Level::kOk;
}

Alert alertFrom(const Row& row) {
  return Alert{row.text(0), row.text(1), levelOf(row.text(2)), row.real(3), row.real(4),
               row.text(5), row.text(6), row.text(7),          row.text(8), row.text(9)};
}

core::Result<std::vector<Alert>> select(storage::Database& db, const std::string& sql,
                                        const std::vector<Value>& params = {}) {
  auto rows = db.query(sql, params);
  if (!rows) return rows.error();
  std::vector<Alert> out;
  for (const auto& row : rows->rows)
    out.push_back(alertFrom(row));
  return out;
}

std::string messageOf(const Measurement& m) {
  return fmt::format("{} {}: {}", m.metric, levelName(m.level), m.detail);
}

} // namespace

boost::json::object toJson(const Alert& a) {
  return boost::json::object{{"id", a.id},
                             {"metric", a.metric},
                             {"level", levelName(a.level)},
                             {"value", a.value},
                             {"threshold", a.threshold},
                             {"message", a.message},
                             {"action", a.action},
                             {"started_at", a.started_at},
                             {"updated_at", a.updated_at},
                             {"ended_at", a.ended_at.empty() ? boost::json::value(nullptr)
                                                             : boost::json::value(a.ended_at)},
                             {"open", a.open()}};
}

std::string_view alertChangeName(AlertChange change) {
  switch (change) {
  case AlertChange::kOpened:
    return "opened";
  case AlertChange::kRaised:
    return "raised";
  case AlertChange::kLowered:
    return "lowered";
  case AlertChange::kUpdated:
    return "updated";
  case AlertChange::kEnded:
    return "ended";
  }
  return "updated";
}

core::Result<std::vector<Alert>> AlertBook::open() {
  return select(
      db_, fmt::format("SELECT {} FROM alerts WHERE ended_at = '' ORDER BY started_at", kColumns));
}

core::Result<std::vector<Alert>> AlertBook::recent(int limit) {
  return select(db_,
                fmt::format("SELECT {} FROM alerts ORDER BY started_at DESC, id LIMIT ?", kColumns),
                {std::int64_t{limit}});
}

core::Status AlertBook::noteAction(const std::string& id, const std::string& action) {
  auto rows = db_.query("UPDATE alerts SET action = CASE WHEN action = '' THEN ? ELSE action || "
                        "'; ' || ? END WHERE id = ?",
                        {action, action, id});
  if (!rows) return rows.error();
  return core::Ok{};
}

core::Result<std::vector<AlertEvent>> AlertBook::apply(const std::vector<Measurement>& measurements,
                                                       const std::string& now) {
  std::vector<AlertEvent> events;
  auto status = storage::transaction(db_, [&]() -> core::Status {
    auto current = open();
    if (!current) return current.error();
    std::map<std::string, Alert> by_metric;
    for (auto& alert : *current)
      by_metric.emplace(alert.metric, std::move(alert));

    for (const auto& m : measurements) {
      if (!m.value) continue; // not measured this round: nothing is known to have changed
      auto it = by_metric.find(m.metric);
      if (m.level == Level::kOk) {
        if (it == by_metric.end()) continue;
        Alert ended = it->second;
        ended.ended_at = now;
        ended.updated_at = now;
        ended.value = *m.value;
        auto rows = db_.query("UPDATE alerts SET ended_at = ?, updated_at = ?, value = ? WHERE "
                              "id = ?",
                              {now, now, *m.value, ended.id});
        if (!rows) return rows.error();
        events.push_back({AlertChange::kEnded, std::move(ended)});
        continue;
      }
      if (it == by_metric.end()) {
        Alert opened{storage::newId(), m.metric, m.level, *m.value, thresholdOf(m),
                     messageOf(m),     "",       now,     now,      ""};
        auto rows = db_.query(
            fmt::format("INSERT INTO alerts ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", kColumns),
            {opened.id, opened.metric, std::string(levelName(opened.level)), opened.value,
             opened.threshold, opened.message, opened.action, opened.started_at, opened.updated_at,
             opened.ended_at});
        if (!rows) return rows.error();
        events.push_back({AlertChange::kOpened, std::move(opened)});
        continue;
      }
      Alert changed = it->second;
      const AlertChange change = m.level > changed.level   ? AlertChange::kRaised
                                 : m.level < changed.level ? AlertChange::kLowered
                                                           : AlertChange::kUpdated;
      changed.level = m.level;
      changed.value = *m.value;
      changed.threshold = thresholdOf(m);
      changed.message = messageOf(m);
      changed.updated_at = now;
      auto rows = db_.query("UPDATE alerts SET level = ?, value = ?, threshold = ?, message = ?, "
                            "updated_at = ? WHERE id = ?",
                            {std::string(levelName(changed.level)), changed.value,
                             changed.threshold, changed.message, now, changed.id});
      if (!rows) return rows.error();
      events.push_back({change, std::move(changed)});
    }
    return core::Ok{};
  });
  if (!status) return status.error();
  return events;
}

} // namespace forge::ops
