// The SQLite backend on libsqlite3.
#include "storage/sqlite_database.h"
#include "storage/sql_text.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace forge::storage::detail {

namespace {

constexpr int kBusyTimeoutMs = 5000;
// Statements cached per connection; a handful of stores each use a few dozen at most.
constexpr std::size_t kMaxCachedStatements = 256;

core::Errc errcFor(int code) {
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return core::Errc::kConflict;
  }
  switch (code & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_FULL:
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
    return core::Errc::kUnavailable;
  default:
    return core::Errc::kInternal;
  }
}

// Creates the file with mode 0600 if it does not exist, so that SQLite (which gives its -wal
// and -shm files the database file's mode) never creates it world-readable.
void createPrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  // Any failure (it exists, the directory is missing) is left to sqlite3_open_v2 to report.
}

// Resets a statement (and drops its bindings) when a query is done with it.
class StatementReset {
public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

private:
  sqlite3_stmt* stmt_;
};

} // namespace

core::Result<DatabasePtr> SqliteDatabase::open(const std::string& path, bool create_parent) {
  const bool in_memory = path == ":memory:";
  if (create_parent && !in_memory) {
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return core::Error{
            core::Errc::kUnavailable,
            fmt::format("sqlite: cannot create data directory {}: {}", dir.string(), ec.message())};
      }
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
  }
  if (!in_memory) createPrivateFile(path);

  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return core::Error{errcFor(rc), fmt::format("sqlite: cannot open {}: {}", path, message)};
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(raw, path));

  auto journal = db->query("PRAGMA journal_mode=WAL");
  if (!journal) return journal.error();
  std::string mode = journal->rows.empty() ? std::string() : journal->rows[0].text(0);
  if (mode != "wal" && !(in_memory && mode == "memory")) {
    return core::Error{
        core::Errc::kUnavailable,
        fmt::format("sqlite: cannot use WAL for {} (journal mode is '{}')", path, mode)};
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto status = db->execScript(pragma); !status) return status.error();
  }
  return DatabasePtr(std::move(db));
}

SqliteDatabase::~SqliteDatabase() {
  for (auto& [sql, stmt] : statements_)
    sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

core::Error SqliteDatabase::error(int code, std::string_view sql) const {
  core::Errc errc = errcFor(code);
  std::string message = fmt::format("sqlite: {}", sqlite3_errmsg(db_));
  if (errc == core::Errc::kInternal && !sql.empty()) {
    message += fmt::format(" (in \"{}\")", sqlExcerpt(sql));
  }
  return core::Error{errc, std::move(message)};
}

core::Result<sqlite3_stmt*> SqliteDatabase::prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = statements_.find(key); it != statements_.end()) return it->second;

  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return error(rc, sql);
  if (stmt == nullptr) {
    return core::Error{core::Errc::kInternal, "sqlite: empty statement"};
  }
  // Whatever follows the statement may only be whitespace, ';' and comments.
  std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
  while (!rest.empty() && (isSqlSpace(rest.front()) || rest.front() == ';'))
    rest.remove_prefix(1);
  if (!rest.empty()) {
    sqlite3_stmt* next = nullptr;
    int next_rc =
        sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &next, nullptr);
    sqlite3_finalize(next);
    if (next_rc != SQLITE_OK || next != nullptr) {
      sqlite3_finalize(stmt);
      return core::Error{core::Errc::kInternal,
                         fmt::format("sqlite: query() runs one statement, use execScript() for "
                                     "several (in \"{}\")",
                                     sqlExcerpt(sql))};
    }
  }

  if (statements_.size() >= kMaxCachedStatements) {
    for (auto& [text, cached] : statements_)
      sqlite3_finalize(cached);
    statements_.clear();
  }
  statements_.emplace(std::move(key), stmt);
  return stmt;
}

core::Result<Rows> SqliteDatabase::query(std::string_view sql, const std::vector<Value>& params) {
  auto prepared = prepare(sql);
  if (!prepared) return prepared.error();
  sqlite3_stmt* stmt = *prepared;
  StatementReset reset(stmt);

  int expected = sqlite3_bind_parameter_count(stmt);
  if (static_cast<std::size_t>(expected) != params.size()) {
    return core::Error{core::Errc::kInternal,
                       fmt::format("sqlite: statement has {} placeholders but {} values were "
                                   "given (in \"{}\")",
                                   expected, params.size(), sqlExcerpt(sql))};
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    // The values outlive the statement's execution (bindings are cleared before returning),
    // so SQLite need not copy them: a null destructor is SQLITE_STATIC.
    int rc = std::visit(
        [&](const auto& v) -> int {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::monostate>) {
            return sqlite3_bind_null(stmt, index);
          } else if constexpr (std::is_same_v<V, std::int64_t>) {
            return sqlite3_bind_int64(stmt, index, v);
          } else if constexpr (std::is_same_v<V, double>) {
            return sqlite3_bind_double(stmt, index, v);
          } else {
            return sqlite3_bind_text64(stmt, index, v.data(), v.size(), nullptr, SQLITE_UTF8);
          }
        },
        params[i]);
    if (rc != SQLITE_OK) return error(rc, sql);
  }

  Rows result;
  const int columns = sqlite3_column_count(stmt);
  result.columns.reserve(static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    const char* name = sqlite3_column_name(stmt, c);
    result.columns.emplace_back(name != nullptr ? name : "");
  }

  const sqlite3_int64 changes_before = sqlite3_total_changes64(db_);
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return error(rc, sql);
    Row row;
    row.values.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER:
        row.values.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
        break;
      case SQLITE_FLOAT:
        row.values.emplace_back(sqlite3_column_double(stmt, c));
        break;
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        std::size_t size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
        row.values.emplace_back(text == nullptr ? std::string() : std::string(text, size));
        break;
      }
      case SQLITE_BLOB: {
        const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, c));
        std::size_t size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
        row.values.emplace_back(blob == nullptr ? std::string() : std::string(blob, size));
        break;
      }
      default:
        row.values.emplace_back(std::monostate{});
        break;
      }
    }
    result.rows.push_back(std::move(row));
  }
  // sqlite3_changes64() is the count of the last INSERT/UPDATE/DELETE to complete, which is
  // this statement only if it changed something (DDL and SELECT leave it alone).
  if (sqlite3_total_changes64(db_) != changes_before) result.affected = sqlite3_changes64(db_);
  return result;
}

core::Status SqliteDatabase::execScript(std::string_view sql) {
  std::string script(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return core::Ok{};
  int code = sqlite3_extended_errcode(db_);
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  core::Errc errc = errcFor(code);
  if (errc == core::Errc::kInternal) {
    return core::Error{errc, fmt::format("sqlite: {} (in script \"{}\")", text, sqlExcerpt(sql))};
  }
  return core::Error{errc, fmt::format("sqlite: {}", text)};
}

// IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies, instead of failing
// at the first write when another connection wrote since this one's snapshot.
core::Status SqliteDatabase::begin() {
  auto result = query("BEGIN IMMEDIATE");
  if (!result) return result.error();
  return core::Ok{};
}

core::Status SqliteDatabase::commit() {
  auto result = query("COMMIT");
  if (!result) return result.error();
  return core::Ok{};
}

core::Status SqliteDatabase::rollback() {
  // Some errors (a full disk, an I/O error) have already rolled the transaction back.
  if (sqlite3_get_autocommit(db_) != 0) return core::Ok{};
  auto result = query("ROLLBACK");
  if (!result) return result.error();
  return core::Ok{};
}

} // namespace forge::storage::detail
