// Database: the one interface Forge's storage speaks to, with two backends: SQLite (the
// embedded default, a WAL file in the data directory) and PostgreSQL (libpq). SQL is written
// once, in the subset both understand: `?` placeholders (rewritten to $1.. for PostgreSQL),
// TEXT / BIGINT / DOUBLE PRECISION columns, INSERT ... ON CONFLICT ... DO UPDATE.
//
// A Database is a single connection and is not thread-safe: the StorageWorker owns it and runs
// every statement on its own thread, so that the I/O threads never wait for a disk or a socket.
// Errors are values: kUnavailable for a lost connection or a locked/full disk, kConflict for a
// unique-constraint violation, kInternal for anything else (bad SQL is a bug).
#pragma once

#include "core/error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace forge::storage {

// A value bound to a statement or read from a result: NULL, integer, real or text.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

// One result row; columns in the order of the SELECT list.
struct Row {
  std::vector<Value> values;

  bool isNull(std::size_t column) const;
  // Text of a column (integers and reals are formatted; NULL is "").
  std::string text(std::size_t column) const;
  // Integer of a column (text is parsed; NULL or unparsable is 0).
  std::int64_t integer(std::size_t column) const;
  double real(std::size_t column) const;
};

struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  std::int64_t affected = 0; // rows changed by INSERT/UPDATE/DELETE
};

class Database {
public:
  virtual ~Database() = default;

  // "sqlite" or "postgresql".
  virtual const char* backend() const = 0;
  // Where it is, fit for logs: a file path, or a URL without its password.
  virtual std::string describe() const = 0;

  // Runs one statement with `?` placeholders bound to `params` in order.
  virtual core::Result<Rows> query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  // Runs several statements separated by ';' with no parameters (migrations).
  virtual core::Status execScript(std::string_view sql) = 0;

  virtual core::Status begin() = 0;
  virtual core::Status commit() = 0;
  virtual core::Status rollback() = 0;
};
using DatabasePtr = std::unique_ptr<Database>;

// Opens the database a URL names:
//   ""                        SQLite file forge.db in `data_dir`
//   "sqlite:///abs/path.db"   SQLite file at that path ("sqlite://rel.db" relative to cwd)
//   "postgresql://user:pw@host:port/db?sslmode=..." (also "postgres://")
// SQLite is opened with WAL, synchronous=FULL, foreign_keys=ON and a busy timeout, so that a
// committed transaction survives a crash of the process or of the machine.
core::Result<DatabasePtr> openDatabase(const std::string& url, const std::string& data_dir);

// Runs `body` inside BEGIN/COMMIT; rolls back if it returns an error or commit fails.
core::Status transaction(Database& db, const std::function<core::Status()>& body);

// The password in a database URL replaced by "***" (for logs and error messages).
std::string redactUrl(const std::string& url);

} // namespace forge::storage
