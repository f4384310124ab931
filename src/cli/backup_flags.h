// What the backup, database and recovery commands share: the stack (Connection: --data-dir,
// --database-url, --gateway-url, --token, --json) and where backups are (--backup-dir).
#pragma once

#include "cli/connection.h"
#include "ops/backup.h"

#include <chrono>
#include <string>

namespace CLI {
class App;
}

namespace forge::cli {

class BackupFlags {
public:
  // Declares the options on `app` (one call per subcommand: they share the values).
  void addTo(CLI::App& app, bool with_backup_dir = true);

  Connection& connection() { return connection_; }
  bool json() const { return connection_.json(); }
  // The stack named by --data-dir and --database-url ($DATABASE_URL).
  ops::Stack stack();
  // --backup-dir, else <data-dir>/backups.
  ops::BackupRepository repository() const;

private:
  Connection connection_;
  std::string backup_dir_;
};

// "30m", "6h", "1d", "90s" (a bare number is seconds); at least one second.
core::Result<std::chrono::seconds> parseInterval(const std::string& text);

} // namespace forge::cli
