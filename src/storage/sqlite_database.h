// The SQLite backend (internal: use storage::openDatabase). One connection to one file, opened
// with WAL, synchronous=FULL, foreign keys on and a busy timeout; prepared statements are cached
// by their SQL text.
#pragma once

#include "storage/database.h"

#include <string>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace forge::storage::detail {

class SqliteDatabase final : public Database {
public:
  // Opens (creating if needed, mode 0600) the file at `path`; with `create_parent`, also the
  // directory it is in (mode 0700).
  static core::Result<DatabasePtr> open(const std::string& path, bool create_parent);

  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  const char* backend() const override { return "sqlite"; }
  std::string describe() const override { return path_; }

  core::Result<Rows> query(std::string_view sql, const std::vector<Value>& params = {}) override;
  core::Status execScript(std::string_view sql) override;
  core::Status begin() override;
  core::Status commit() override;
  core::Status rollback() override;

private:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  core::Result<sqlite3_stmt*> prepare(std::string_view sql);
  core::Error error(int code, std::string_view context) const;

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

inline core::Result<DatabasePtr> openSqlite(const std::string& path, bool create_parent) {
  return SqliteDatabase::open(path, create_parent);
}

} // namespace forge::storage::detail
