// SQLite files for backups, on connections of their own (never the gateway's):
//  - onlineBackup copies a live database with SQLite's online backup API in one step, inside one
//    read transaction: the copy is the database as of one commit, while the gateway goes on
//    writing (WAL lets writers proceed beside a reader).
//  - sqliteUseRollbackJournal turns a copy into a single self-contained file (journal mode
//    DELETE: no -wal beside it), so that its checksum stays what it was.
//  - checkCopy opens a copy read-only and immutable (no lock, no -wal/-shm created) and runs
//    PRAGMA integrity_check.
#pragma once

#include "core/error.h"

#include <filesystem>
#include <string>

namespace forge::ops {

core::Status sqliteOnlineBackup(const std::filesystem::path& source,
                                const std::filesystem::path& destination);

core::Status sqliteUseRollbackJournal(const std::filesystem::path& file);

struct SqliteCopyCheck {
  std::string integrity; // "ok", or what integrity_check found
  int schema_version = 0;
};
core::Result<SqliteCopyCheck> checkSqliteCopy(const std::filesystem::path& file);

// Folds a live database's WAL into its file and truncates the WAL (before the file is replaced).
core::Status sqliteCheckpoint(const std::filesystem::path& file);

// The SQLite file a database URL names ("" = <data_dir>/forge.db, sqlite:///abs, sqlite://rel),
// or an empty path for PostgreSQL URLs.
std::filesystem::path sqliteFileOf(const std::string& database_url, const std::string& data_dir);

bool isPostgresUrl(const std::string& database_url);

} // namespace forge::ops
