#include "ops/db_maintenance.h"

#include "ops/files.h"
#include "storage/migrations.h"

#include <fmt/format.h>

#include <chrono>

namespace forge::ops {

namespace {

bool isSqlite(const storage::Database& db) { return std::string_view(db.backend()) == "sqlite"; }

core::Result<std::vector<std::string>> tableNames(storage::Database& db) {
  auto rows = isSqlite(db)
                  ? db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                             "LIKE 'sqlite_%' ORDER BY name")
                  : db.query("SELECT table_name FROM information_schema.tables WHERE "
                             "table_schema = current_schema() AND table_type = 'BASE TABLE' "
                             "ORDER BY table_name");
  if (!rows) return rows.error();
  std::vector<std::string> names;
  for (const auto& row : rows->rows)
    names.push_back(row.text(0));
  return names;
}

// A single integer a query answers (0 for no row).
core::Result<std::int64_t> scalar(storage::Database& db, const std::string& sql) {
  auto rows = db.query(sql);
  if (!rows) return rows.error();
  if (rows->rows.empty()) return std::int64_t{0};
  return rows->rows[0].integer(0);
}

struct SqliteSizes {
  std::uint64_t size = 0;
  std::uint64_t free = 0;
  std::uint64_t wal = 0;
};

core::Result<SqliteSizes> sqliteSizes(storage::Database& db) {
  auto page_size = scalar(db, "PRAGMA page_size");
  if (!page_size) return page_size.error();
  auto pages = scalar(db, "PRAGMA page_count");
  if (!pages) return pages.error();
  auto free_pages = scalar(db, "PRAGMA freelist_count");
  if (!free_pages) return free_pages.error();
  SqliteSizes sizes;
  sizes.size = static_cast<std::uint64_t>(*pages * *page_size);
  sizes.free = static_cast<std::uint64_t>(*free_pages * *page_size);
  sizes.wal = fileSize(db.describe() + "-wal");
  return sizes;
}

core::Result<std::uint64_t> postgresSize(storage::Database& db) {
  auto size = scalar(db, "SELECT pg_database_size(current_database())");
  if (!size) return size.error();
  return static_cast<std::uint64_t>(*size);
}

// SQLite: sizes from the dbstat table (absent from builds without SQLITE_ENABLE_DBSTAT_VTAB).
void addSqliteSizes(storage::Database& db, std::vector<TableStats>& tables) {
  auto sizes = db.query("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name");
  auto indexes = db.query("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'");
  if (!sizes || !indexes) return;
  std::map<std::string, std::uint64_t> bytes;
  for (const auto& row : sizes->rows)
    bytes[row.text(0)] = static_cast<std::uint64_t>(row.integer(1));
  for (auto& table : tables) {
    table.bytes = bytes[table.name];
    for (const auto& row : indexes->rows) {
      if (row.text(1) == table.name) table.indexes.push_back({row.text(0), bytes[row.text(0)]});
    }
  }
}

void addPostgresSizes(storage::Database& db, std::vector<TableStats>& tables) {
  auto sizes = db.query("SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN "
                        "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                        "current_schema() AND c.relkind = 'r'");
  auto indexes = db.query("SELECT t.relname, i.relname, pg_relation_size(i.oid) FROM pg_index x "
                          "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = "
                          "x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE "
                          "n.nspname = current_schema() ORDER BY i.relname");
  if (!sizes || !indexes) return;
  for (auto& table : tables) {
    for (const auto& row : sizes->rows) {
      if (row.text(0) == table.name) table.bytes = static_cast<std::uint64_t>(row.integer(1));
    }
    for (const auto& row : indexes->rows) {
      if (row.text(0) == table.name) {
        table.indexes.push_back({row.text(1), static_cast<std::uint64_t>(row.integer(2))});
      }
    }
  }
}

} // namespace

core::Result<std::map<std::string, std::int64_t>> tableCounts(storage::Database& db) {
  auto names = tableNames(db);
  if (!names) return names.error();
  std::map<std::string, std::int64_t> counts;
  for (const auto& name : *names) {
    auto count = scalar(db, fmt::format("SELECT COUNT(*) FROM \"{}\"", name));
    if (!count) return count.error();
    counts[name] = *count;
  }
  return counts;
}

core::Result<DatabaseStatus> databaseStatus(storage::Database& db) {
  DatabaseStatus status;
  status.backend = db.backend();
  status.location = db.describe();
  auto version = storage::schemaVersion(db);
  if (!version) return version.error();
  status.schema_version = *version;
  status.newest_schema = storage::migrations().back().version;
  for (const auto& migration : storage::migrations()) {
    if (migration.version > *version) {
      status.pending.push_back(fmt::format("{} ({})", migration.version, migration.name));
    }
  }
  if (isSqlite(db)) {
    auto sizes = sqliteSizes(db);
    if (!sizes) return sizes.error();
    status.size_bytes = sizes->size;
    status.free_bytes = sizes->free;
    status.wal_bytes = sizes->wal;
    status.file_bytes = fileSize(db.describe());
    auto server = db.query("SELECT sqlite_version()");
    if (server && !server->rows.empty())
      status.server_version = "SQLite " + server->rows[0].text(0);
  } else {
    auto size = postgresSize(db);
    if (!size) return size.error();
    status.size_bytes = *size;
    auto server = db.query("SHOW server_version");
    if (server && !server->rows.empty()) {
      status.server_version = "PostgreSQL " + server->rows[0].text(0);
    }
  }
  return status;
}

core::Result<std::vector<TableStats>> tableStats(storage::Database& db) {
  auto counts = tableCounts(db);
  if (!counts) return counts.error();
  std::vector<TableStats> tables;
  for (const auto& [name, rows] : *counts)
    tables.push_back({name, rows, std::nullopt, {}});
  if (isSqlite(db)) {
    addSqliteSizes(db, tables);
  } else {
    addPostgresSizes(db, tables);
  }
  return tables;
}

core::Result<VacuumReport> vacuumDatabase(storage::Database& db) {
  VacuumReport report;
  const auto started = std::chrono::steady_clock::now();
  if (isSqlite(db)) {
    auto before = sqliteSizes(db);
    if (!before) return before.error();
    report.size_before = before->size;
    report.wal_before = before->wal;
    report.statements = "VACUUM; PRAGMA wal_checkpoint(TRUNCATE)";
    if (auto status = db.execScript("VACUUM"); !status) return status.error();
    auto checkpoint = db.query("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!checkpoint) return checkpoint.error();
    // A reader (the running gateway) can keep the checkpoint from finishing: busy = 1.
    if (!checkpoint->rows.empty() && checkpoint->rows[0].integer(0) != 0) {
      report.statements += " (checkpoint incomplete: a reader was active)";
    }
    auto after = sqliteSizes(db);
    if (!after) return after.error();
    report.size_after = after->size;
    report.wal_after = after->wal;
  } else {
    auto before = postgresSize(db);
    if (!before) return before.error();
    report.size_before = *before;
    report.statements = "VACUUM ANALYZE";
    if (auto status = db.execScript("VACUUM ANALYZE"); !status) return status.error();
    auto after = postgresSize(db);
    if (!after) return after.error();
    report.size_after = *after;
  }
  report.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  return report;
}

core::Result<std::vector<PruneCount>> pruneRecords(storage::Database& db, const std::string& cutoff,
                                                   bool dry_run) {
  struct Target {
    const char* table;
    const char* column;
    const char* what;
  };
  static constexpr Target kTargets[] = {{"call_metrics", "hour", "hourly call metrics"},
                                        {"audit_log", "at", "audit entries"}};
  std::vector<PruneCount> counts;
  auto status = storage::transaction(db, [&]() -> core::Status {
    for (const auto& target : kTargets) {
      const std::string sql =
          dry_run ? fmt::format("SELECT COUNT(*) FROM {} WHERE {} < ?", target.table, target.column)
                  : fmt::format("DELETE FROM {} WHERE {} < ?", target.table, target.column);
      auto rows = db.query(sql, {cutoff});
      if (!rows) return rows.error();
      const std::int64_t n =
          dry_run ? (rows->rows.empty() ? 0 : rows->rows[0].integer(0)) : rows->affected;
      counts.push_back({target.table, target.what, n});
    }
    return core::Ok{};
  });
  if (!status) return status.error();
  return counts;
}

} // namespace forge::ops
