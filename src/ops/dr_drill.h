// The disaster-recovery drill: a backup restored into a scratch stack (a new temporary data
// directory; for PostgreSQL also a scratch database), a real `forge gateway` started on it on a
// free 127.0.0.1 port, checked through its APIs like a recovered production gateway would be,
// and stopped. It measures what an outage would cost: the recovery time (RTO: from the start
// of the restore until the gateway answers /ready, less the drill's own look at the restored
// rows in between) and the data that would be lost (RPO: the backup's age when the restore
// starts).
#pragma once

#include "core/error.h"
#include "ops/backup.h"
#include "ops/check.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace forge::ops {

struct DrillOptions {
  std::string gateway_binary; // the forge binary (the CLI passes /proc/self/exe)
  std::string config_file;    // given to the gateway as --config; empty for none
  std::chrono::seconds ready_timeout{60};
  bool keep_scratch = false; // leave the scratch data directory (it is kept on failure anyway)
  // A bearer token for the scratch gateway, given its data directory (the restored secrets).
  std::function<core::Result<std::string>(const std::string& data_dir)> token;
  Progress progress;
};

struct DrillReport {
  Manifest backup;
  std::int64_t rpo_ms = 0;     // the backup's age when the restore started
  std::int64_t restore_ms = 0; // files (or pg_restore) in place
  std::int64_t start_ms = 0;   // gateway launched until /ready
  std::int64_t rto_ms = 0;     // restore_ms + start_ms: what a real recovery takes
  std::string scratch_dir;     // removed after a successful drill unless kept
  bool scratch_kept = false;
  int port = 0;
  std::string scheme = "http"; // https when the configuration gives the gateway a certificate
  std::vector<Check> checks;
};

// Runs the drill on backup `manifest` of `repository`. `production` is the stack the backup is
// of (its PostgreSQL server hosts the scratch database). Errors are for a drill that could not
// run; what it found wrong is in the checks.
core::Result<DrillReport> runDrill(const BackupRepository& repository, const Manifest& manifest,
                                   const Stack& production, const DrillOptions& options);

} // namespace forge::ops
