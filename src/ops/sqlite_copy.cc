#include "ops/sqlite_copy.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <vector>

namespace forge::ops {

namespace fs = std::filesystem;

namespace {

constexpr int kBusyTimeoutMs = 10'000;

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, Closer>;

core::Result<Connection> openFile(const std::string& name, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags | SQLITE_OPEN_URI, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("sqlite: cannot open {}: {}", name,
                                   raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))};
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

core::Status exec(sqlite3* db, const char* sql, const fs::path& file) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return core::Ok{};
  std::string text = message != nullptr ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  return core::Error{core::Errc::kUnavailable,
                     fmt::format("sqlite: {} on {}: {}", sql, file.string(), text)};
}

// Every row's first column, as text, of a query.
core::Result<std::vector<std::string>> column(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("sqlite: {}: {}", sql, sqlite3_errmsg(db))};
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
  std::vector<std::string> values;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
    values.emplace_back(text != nullptr ? text : "");
  }
  if (rc != SQLITE_DONE) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("sqlite: {}: {}", sql, sqlite3_errmsg(db))};
  }
  return values;
}

} // namespace

core::Status sqliteOnlineBackup(const fs::path& source, const fs::path& destination) {
  // Read-write without CREATE: a missing source is an error, and a WAL database can be read
  // even when its -shm file must be created.
  auto from = openFile(source.string(), SQLITE_OPEN_READWRITE);
  if (!from) return from.error();
  auto to = openFile(destination.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!to) return to.error();
  sqlite3_backup* backup = sqlite3_backup_init(to->get(), "main", from->get(), "main");
  if (backup == nullptr) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("sqlite: cannot start the backup of {}: {}", source.string(),
                                   sqlite3_errmsg(to->get()))};
  }
  // One step (-1) copies every page under one read transaction: a consistent snapshot. Busy
  // means a writer held a lock SQLite could not wait out; try again a few times.
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 20; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    sqlite3_sleep(100);
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return core::Error{core::Errc::kUnavailable, fmt::format("sqlite: backup of {} failed: {}",
                                                             source.string(), sqlite3_errstr(rc))};
  }
  return core::Ok{};
}

core::Status sqliteUseRollbackJournal(const fs::path& file) {
  auto db = openFile(file.string(), SQLITE_OPEN_READWRITE);
  if (!db) return db.error();
  return exec(db->get(), "PRAGMA journal_mode=DELETE", file);
}

core::Result<SqliteCopyCheck> checkSqliteCopy(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return core::Error{core::Errc::kNotFound, fmt::format("{} is missing", file.string())};
  }
  auto db =
      openFile(fmt::format("file:{}?mode=ro&immutable=1", file.string()), SQLITE_OPEN_READONLY);
  if (!db) return db.error();
  SqliteCopyCheck check;
  auto integrity = column(db->get(), "PRAGMA integrity_check");
  if (!integrity) return integrity.error();
  for (const auto& line : *integrity)
    check.integrity += (check.integrity.empty() ? "" : "; ") + line;
  auto version = column(db->get(), "SELECT MAX(version) FROM schema_migrations");
  if (!version) return version.error();
  if (!version->empty()) check.schema_version = std::atoi(version->front().c_str());
  return check;
}

core::Status sqliteCheckpoint(const fs::path& file) {
  auto db = openFile(file.string(), SQLITE_OPEN_READWRITE);
  if (!db) return db.error();
  return exec(db->get(), "PRAGMA wal_checkpoint(TRUNCATE)", file);
}

bool isPostgresUrl(const std::string& database_url) {
  return database_url.starts_with("postgresql://") || database_url.starts_with("postgres://");
}

fs::path sqliteFileOf(const std::string& database_url, const std::string& data_dir) {
  if (database_url.empty()) return fs::path(data_dir.empty() ? "." : data_dir) / "forge.db";
  constexpr std::string_view kScheme = "sqlite://";
  if (database_url.starts_with(kScheme)) return database_url.substr(kScheme.size());
  return {};
}

} // namespace forge::ops
