// Alerts: what monitoring remembers between rounds, in the shared database (table alerts). A
// figure that crosses its warning or critical threshold opens an alert for its metric (one
// open alert per metric); a worse level raises it, a milder one lowers it, and the first round
// back under the warning threshold ends it. Each alert keeps when it started and ended, its
// current level, value and threshold, a message, and what was done about it.
#pragma once

#include "core/error.h"
#include "ops/monitor.h"
#include "storage/database.h"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace forge::ops {

struct Alert {
  std::string id;
  std::string metric;
  Level level = Level::kWarning;
  double value = 0;
  double threshold = 0;
  std::string message;
  std::string action; // what was done: "rolling restart of gateway requested"
  std::string started_at;
  std::string updated_at;
  std::string ended_at; // empty while open
  bool open() const { return ended_at.empty(); }
};

enum class AlertChange { kOpened, kRaised, kLowered, kUpdated, kEnded };
std::string_view alertChangeName(AlertChange change); // opened, raised, lowered, updated, ended

boost::json::object toJson(const Alert& alert);

struct AlertEvent {
  AlertChange change;
  Alert alert; // as it is after the change
};

class AlertBook {
public:
  explicit AlertBook(storage::Database& db) : db_(db) {}

  // Applies one round's measurements at `now` (ISO 8601 UTC), in one transaction; a metric
  // that was not measured keeps its alert as it is. Returns what changed.
  core::Result<std::vector<AlertEvent>> apply(const std::vector<Measurement>& measurements,
                                              const std::string& now);
  core::Result<std::vector<Alert>> open();
  // The newest `limit` alerts, open and ended, newest first.
  core::Result<std::vector<Alert>> recent(int limit);
  // Records what was done about an alert (appended to what is recorded).
  core::Status noteAction(const std::string& id, const std::string& action);

private:
  storage::Database& db_;
};

} // namespace forge::ops
