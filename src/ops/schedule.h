// Scheduled backups: `forge backup create` (with retention) every interval, as a systemd timer
// when systemd runs the machine, else as a crontab line for the operator to install; or, in a
// container without either, as a long-lived loop (`forge backup schedule --run`).
#pragma once

#include "core/error.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

struct ScheduleSpec {
  std::chrono::seconds every{6 * 3600};
  std::optional<int> keep;
  std::optional<int> max_age_days;
  std::string forge_binary; // absolute
  std::string data_dir;     // absolute
  std::string backup_dir;   // absolute
  std::string env_file;     // holds DATABASE_URL (mode 0600) when the database is PostgreSQL
};

// The command each run executes (without the environment file).
std::string backupCommandLine(const ScheduleSpec& spec);

// A crontab line; an error when cron cannot express the interval (it must divide an hour, a
// day, or be whole days... precisely: N minutes dividing 60, N hours dividing 24, or 1 day).
core::Result<std::string> cronLine(const ScheduleSpec& spec);

struct SystemdUnits {
  std::string service;
  std::string timer;
};
SystemdUnits systemdUnits(const ScheduleSpec& spec);

enum class SystemdScope { kNone, kSystem, kUser };
// kSystem when systemd is PID 1 and this is root, kUser when a user manager answers, else kNone.
SystemdScope availableSystemd();

// The directory units of `scope` go to.
std::string unitDirectory(SystemdScope scope);

// Writes forge-backup.service and forge-backup.timer for `scope`, reloads systemd and enables
// the timer. Returns the paths written.
core::Result<std::vector<std::string>> installSystemdTimer(const ScheduleSpec& spec,
                                                           SystemdScope scope);

// What is installed: forge-backup units (and `systemctl list-timers` about them) and crontab
// lines running `backup create`. One line each; empty when nothing is.
std::vector<std::string> installedSchedules();

// Quotes `text` for a POSIX shell when it needs it.
std::string shellQuote(const std::string& text);

} // namespace forge::ops
