// Backups of a Forge stack: its database and the data directory's secrets.json (the keys that
// decrypt credentials sealed at rest and sign tokens: a database restored without them is
// useless). Each backup is a directory <backup-dir>/<id>/ holding
//   forge.db       SQLite: a consistent copy made with the online backup API, or
//   forge.dump     PostgreSQL: pg_dump -Fc of one snapshot,
//   secrets.json   mode 0600, when the data directory has one,
//   manifest.json  what the backup is (Manifest), with the SHA-256 of every file.
// A backup is written under "<id>.partial" and renamed to "<id>" once whole, so an interrupted
// backup never looks like one. The directory is 0700.
#pragma once

#include "core/error.h"
#include "ops/check.h"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

struct BackupFile {
  std::string name; // relative to the backup's directory
  std::uint64_t size = 0;
  std::string sha256;
};

struct Manifest {
  std::string id; // "20261204T170324Z" (a suffix "-2", "-3" when taken in one second)
  std::string forge_version;
  int schema_version = 0;
  std::string backend;    // "sqlite" or "postgresql"
  std::string created_at; // ISO 8601 UTC with milliseconds
  std::string source;     // the database, its password redacted
  std::string reason;     // "manual", "scheduled", "before restoring <id>"
  std::uint64_t size = 0; // bytes of every file
  std::int64_t duration_ms = 0;
  std::vector<BackupFile> files;
  std::map<std::string, std::int64_t> tables; // rows per table, of the backed-up snapshot

  const BackupFile* file(const std::string& name) const;
};

boost::json::value toJson(const Manifest& manifest);
core::Result<Manifest> manifestFromJson(const boost::json::value& json);

// The stack a backup is taken from or restored to.
struct Stack {
  std::string data_dir;     // secrets.json, and SQLite's forge.db when database_url is empty
  std::string database_url; // "" (SQLite in data_dir), sqlite://..., postgresql://...
};

using Progress = std::function<void(const std::string&)>;

struct CreateOptions {
  std::string reason = "manual";
  Progress progress;
};

struct RetentionPolicy {
  std::optional<int> keep;         // the newest N are kept
  std::optional<int> max_age_days; // older ones are removed
};

struct VerifyReport {
  Manifest manifest;
  std::vector<Check> checks;
};

struct RestoreReport {
  Manifest restored;
  std::optional<Manifest> safety; // the backup of what was there before
  std::int64_t duration_ms = 0;
};

struct VerifyRestoreReport {
  Manifest manifest;
  std::vector<Check> checks;
  std::map<std::string, std::int64_t> tables; // rows per table after the restore
  std::int64_t duration_ms = 0;
};

// The backups in one directory.
class BackupRepository {
public:
  explicit BackupRepository(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }

  // Backs `stack` up: a new complete backup, or an error (nothing is left behind).
  core::Result<Manifest> create(const Stack& stack, const CreateOptions& options) const;

  // Every complete backup, newest first. Directories without a readable manifest are skipped.
  std::vector<Manifest> list() const;

  // One backup by id, or the newest for "latest".
  core::Result<Manifest> find(const std::string& id) const;

  // Checksums, the database copy's integrity (SQLite: PRAGMA integrity_check; PostgreSQL:
  // pg_restore --list) and its schema version against the manifest.
  core::Result<VerifyReport> verify(const std::string& id) const;

  // Replaces `stack`'s database and secrets.json with the backup's: checks it first, takes a
  // safety backup of what is there (unless `safety_backup` is false), then restores (SQLite:
  // temporary file, fsync, rename over forge.db; PostgreSQL: pg_restore --clean --if-exists in
  // one transaction). The caller makes sure nothing uses the database.
  core::Result<RestoreReport> restore(const std::string& id, const Stack& stack, bool safety_backup,
                                      const Progress& progress) const;

  // Restores into a scratch place (a temporary directory; for PostgreSQL a scratch database on
  // the server of `stack`), opens it with the storage layer and compares rows per table and
  // the schema version with the manifest. The scratch place is removed afterwards.
  core::Result<VerifyRestoreReport> verifyRestore(const std::string& id, const Stack& stack,
                                                  const Progress& progress) const;

  // Removes the backups the policy does not keep (the newest backup is always kept); with
  // dry_run only says which. Returns the removed ones.
  core::Result<std::vector<Manifest>> prune(const RetentionPolicy& policy, bool dry_run) const;

private:
  std::filesystem::path dir_;
};

// Restores a backup's files into `stack` without checks or a safety backup: the building block
// of restore, verify-restore and the recovery drill. For PostgreSQL the target database must
// exist; `clean` drops what the dump holds first.
core::Status restoreInto(const std::filesystem::path& backup_dir, const Manifest& manifest,
                         const Stack& stack, bool clean);

// A scratch PostgreSQL database on the server of `url` ("forge_scratch_<random>"): created
// empty, dropped by dropScratchDatabase. Needs CREATEDB.
core::Result<std::string> createScratchDatabase(const std::string& url);
core::Status dropScratchDatabase(const std::string& admin_url, const std::string& scratch_url);

// One check per table: the rows `found` after a restore against the manifest's.
std::vector<Check> compareRowCounts(const Manifest& manifest,
                                    const std::map<std::string, std::int64_t>& found);

// The default backup directory of a data directory: <data-dir>/backups.
std::filesystem::path defaultBackupDir(const std::string& data_dir);

} // namespace forge::ops
