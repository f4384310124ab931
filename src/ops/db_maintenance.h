// Database maintenance on either backend, through storage::Database: what is there (status,
// rows and sizes per table), compaction (VACUUM), and pruning of old records (hourly call
// metrics, the audit trail). Used by `forge db` and `forge prune`, and by backups, which record
// the rows per table they hold.
#pragma once

#include "core/error.h"
#include "storage/database.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forge::ops {

// Rows of every table (schema_migrations included), by table name.
core::Result<std::map<std::string, std::int64_t>> tableCounts(storage::Database& db);

struct DatabaseStatus {
  std::string backend;  // "sqlite" or "postgresql"
  std::string location; // the file, or the URL without its password
  std::string server_version;
  int schema_version = 0;
  int newest_schema = 0;            // the newest this binary knows
  std::vector<std::string> pending; // migrations not yet applied: "4 (name)"
  std::uint64_t size_bytes = 0;     // SQLite: pages in use and free; PostgreSQL: the database
  std::uint64_t free_bytes = 0;     // SQLite: free pages (VACUUM returns them)
  std::uint64_t wal_bytes = 0;      // SQLite: the -wal file
  std::uint64_t file_bytes = 0;     // SQLite: the database file itself
};
// Reads the status without migrating anything.
core::Result<DatabaseStatus> databaseStatus(storage::Database& db);

struct IndexSize {
  std::string name;
  std::uint64_t bytes = 0;
};
struct TableStats {
  std::string name;
  std::int64_t rows = 0;
  std::optional<std::uint64_t> bytes; // when the backend can tell (SQLite needs dbstat)
  std::vector<IndexSize> indexes;
};
core::Result<std::vector<TableStats>> tableStats(storage::Database& db);

struct VacuumReport {
  std::uint64_t size_before = 0;
  std::uint64_t size_after = 0;
  std::uint64_t wal_before = 0;
  std::uint64_t wal_after = 0;
  std::int64_t duration_ms = 0;
  std::string statements; // what ran
};
// SQLite: VACUUM, then PRAGMA wal_checkpoint(TRUNCATE); PostgreSQL: VACUUM ANALYZE.
core::Result<VacuumReport> vacuumDatabase(storage::Database& db);

struct PruneCount {
  std::string table;
  std::string what; // "hourly call metrics", "audit entries"
  std::int64_t rows = 0;
};
// Deletes (or with dry_run only counts) call metrics and audit entries older than `cutoff`
// (ISO 8601 UTC), in one transaction.
core::Result<std::vector<PruneCount>> pruneRecords(storage::Database& db, const std::string& cutoff,
                                                   bool dry_run);

} // namespace forge::ops
