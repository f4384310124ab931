#include "ops/schedule.h"

#include "ops/files.h"
#include "ops/program.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace forge::ops {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUnitName = "forge-backup";

std::string unitFile(SystemdScope scope, const char* suffix) {
  return (fs::path(unitDirectory(scope)) / fmt::format("{}.{}", kUnitName, suffix)).string();
}

std::vector<std::string> systemctl(SystemdScope scope, std::vector<std::string> args) {
  std::vector<std::string> argv{"systemctl"};
  if (scope == SystemdScope::kUser) argv.emplace_back("--user");
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

} // namespace

std::string shellQuote(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./:=@%+,") == std::string::npos) {
    return text;
  }
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string backupCommandLine(const ScheduleSpec& spec) {
  std::string line = fmt::format(
      "{} backup create --reason scheduled --data-dir {} --backup-dir {}",
      shellQuote(spec.forge_binary), shellQuote(spec.data_dir), shellQuote(spec.backup_dir));
  if (spec.keep) line += fmt::format(" --keep {}", *spec.keep);
  if (spec.max_age_days) line += fmt::format(" --max-age {}", *spec.max_age_days);
  return line;
}

core::Result<std::string> cronLine(const ScheduleSpec& spec) {
  const auto seconds = spec.every.count();
  std::string when;
  if (seconds % 60 == 0 && seconds / 60 < 60 && 60 % (seconds / 60) == 0 && seconds >= 60) {
    when = seconds == 60 ? "* * * * *" : fmt::format("*/{} * * * *", seconds / 60);
  } else if (seconds % 3600 == 0 && seconds / 3600 < 24 && 24 % (seconds / 3600) == 0) {
    when = seconds == 3600 ? "0 * * * *" : fmt::format("0 */{} * * *", seconds / 3600);
  } else if (seconds == 86400) {
    when = "0 3 * * *";
  } else {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("cron cannot run something every {} s: choose N minutes "
                                   "dividing 60, N hours dividing 24, or 1d; or use --run",
                                   seconds)};
  }
  std::string command = backupCommandLine(spec);
  if (!spec.env_file.empty()) {
    command = fmt::format("sh -c {}", shellQuote(fmt::format("set -a; . {}; exec {}",
                                                             shellQuote(spec.env_file), command)));
  }
  return fmt::format("{} {}", when, command);
}

SystemdUnits systemdUnits(const ScheduleSpec& spec) {
  SystemdUnits units;
  units.service = fmt::format(
      "[Unit]\n"
      "Description=Forge backup (forge backup create, with retention)\n"
      "\n"
      "[Service]\n"
      "Type=oneshot\n"
      "{}"
      "ExecStart={}\n",
      spec.env_file.empty() ? std::string() : fmt::format("EnvironmentFile={}\n", spec.env_file),
      backupCommandLine(spec));
  units.timer = fmt::format("[Unit]\n"
                            "Description=Forge backup every {} s\n"
                            "\n"
                            "[Timer]\n"
                            "OnBootSec=5min\n"
                            "OnUnitActiveSec={}s\n"
                            "\n"
                            "[Install]\n"
                            "WantedBy=timers.target\n",
                            spec.every.count(), spec.every.count());
  return units;
}

SystemdScope availableSystemd() {
  std::error_code ec;
  if (!fs::is_directory("/run/systemd/system", ec) || !onPath("systemctl")) {
    return SystemdScope::kNone;
  }
  if (::geteuid() == 0) return SystemdScope::kSystem;
  auto user = runProgram({"systemctl", "--user", "is-system-running"});
  // "running" or "degraded" both mean a user manager answers; a failure to connect does not.
  if (user && (user->out.starts_with("running") || user->out.starts_with("degraded"))) {
    return SystemdScope::kUser;
  }
  return SystemdScope::kNone;
}

std::string unitDirectory(SystemdScope scope) {
  if (scope == SystemdScope::kSystem) return "/etc/systemd/system";
  const char* config = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = config != nullptr && *config != '\0'
                            ? fs::path(config)
                            : fs::path(home != nullptr ? home : ".") / ".config";
  return (base / "systemd" / "user").string();
}

core::Result<std::vector<std::string>> installSystemdTimer(const ScheduleSpec& spec,
                                                           SystemdScope scope) {
  if (scope == SystemdScope::kNone) {
    return core::Error{core::Errc::kUnavailable, "systemd is not running on this machine"};
  }
  if (auto made = makePrivateDirectory(unitDirectory(scope)); !made) return made.error();
  const SystemdUnits units = systemdUnits(spec);
  const std::vector<std::pair<std::string, std::string>> files{
      {unitFile(scope, "service"), units.service}, {unitFile(scope, "timer"), units.timer}};
  std::vector<std::string> written;
  for (const auto& [path, content] : files) {
    std::ofstream out(path, std::ios::trunc);
    out << content;
    if (!out.flush()) {
      return core::Error{core::Errc::kUnavailable, fmt::format("cannot write {}", path)};
    }
    written.push_back(path);
  }
  for (auto args :
       {std::vector<std::string>{"daemon-reload"},
        std::vector<std::string>{"enable", "--now", std::string(kUnitName) + ".timer"}}) {
    auto ran = runProgram(systemctl(scope, args));
    if (!ran) return ran.error();
    if (ran->exit_code != 0) {
      return core::Error{core::Errc::kUnavailable,
                         fmt::format("systemctl {} failed: {}", args.back(), lastErrorLine(*ran))};
    }
  }
  return written;
}

std::vector<std::string> installedSchedules() {
  std::vector<std::string> found;
  for (auto scope : {SystemdScope::kSystem, SystemdScope::kUser}) {
    const std::string timer = unitFile(scope, "timer");
    std::error_code ec;
    if (!fs::exists(timer, ec)) continue;
    std::ifstream in(timer);
    std::string every;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("OnUnitActiveSec=")) every = line.substr(16);
    }
    std::string state = "state unknown (systemd not answering)";
    if (availableSystemd() != SystemdScope::kNone) {
      auto active = runProgram(systemctl(scope, {"is-active", std::string(kUnitName) + ".timer"}));
      if (active) state = active->out.substr(0, active->out.find('\n'));
    }
    found.push_back(fmt::format("systemd timer {} every {} ({})", timer, every, state));
  }
  if (onPath("crontab")) {
    auto listed = runProgram({"crontab", "-l"});
    if (listed && listed->exit_code == 0) {
      std::stringstream lines(listed->out);
      for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("#") && line.find("backup create") != std::string::npos) {
          found.push_back("crontab: " + line);
        }
      }
    }
  }
  return found;
}

} // namespace forge::ops
