#include "cli/backup_flags.h"

#include "config/config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace forge::cli {

void BackupFlags::addTo(CLI::App& app, bool with_backup_dir) {
  connection_.addOptions(app, Reach::kGateway | Reach::kDatabase);
  if (with_backup_dir) {
    app.add_option("--backup-dir", backup_dir_, "Where backups are (default: <data-dir>/backups)");
  }
}

ops::Stack BackupFlags::stack() { return {connection_.dataDir(), connection_.databaseUrl()}; }

ops::BackupRepository BackupFlags::repository() const {
  return ops::BackupRepository(backup_dir_.empty() ? ops::defaultBackupDir(connection_.dataDir())
                                                   : std::filesystem::path(backup_dir_));
}

core::Result<std::chrono::seconds> parseInterval(const std::string& text) {
  std::string spelled = text;
  // "1d" reads as days: the configuration's durations stop at hours.
  if (spelled.ends_with("d") && spelled.size() > 1 &&
      spelled.find_first_not_of("0123456789") == spelled.size() - 1) {
    spelled = fmt::format("{}h", std::stoll(spelled.substr(0, spelled.size() - 1)) * 24);
  }
  config::KeySpec spec;
  spec.key = "every";
  spec.type = config::Type::kDuration;
  auto parsed = config::parseScalar(spec, spelled);
  if (const auto* problem = std::get_if<std::string>(&parsed)) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("--every {}: {} (write 30m, 6h or 1d)", text, *problem)};
  }
  const auto& value = std::get<config::Value>(parsed);
  const auto* duration = std::get_if<std::chrono::milliseconds>(&value);
  if (duration == nullptr || *duration < std::chrono::seconds(1)) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("--every {}: at least one second", text)};
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*duration);
}

} // namespace forge::cli
