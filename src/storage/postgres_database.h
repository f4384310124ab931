// The PostgreSQL backend (internal: use storage::openDatabase). One libpq connection; `?`
// placeholders are rewritten to $1..$n, values travel as text and come back typed by their
// column's type. A lost connection is re-established (once per statement) before the next
// statement outside a transaction.
#pragma once

#include "storage/database.h"

#include <cstddef>
#include <string>
#include <string_view>

struct pg_conn;

namespace forge::storage::detail {

class PostgresDatabase final : public Database {
public:
  // Connects to a postgresql:// or postgres:// URL (connect_timeout 10 s unless it sets one).
  static core::Result<DatabasePtr> open(const std::string& url);

  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  const char* backend() const override { return "postgresql"; }
  std::string describe() const override;

  core::Result<Rows> query(std::string_view sql, const std::vector<Value>& params = {}) override;
  core::Status execScript(std::string_view sql) override;
  core::Status begin() override;
  core::Status commit() override;
  core::Status rollback() override;

private:
  PostgresDatabase(pg_conn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}

  core::Status setUpSession();
  core::Status ensureConnected();
  // Runs a statement without parameters; returns its command status ("COMMIT", "ROLLBACK").
  core::Result<std::string> command(std::string_view sql);

  pg_conn* conn_;
  std::string url_;
  bool in_transaction_ = false;
};

// `?` placeholders outside string literals, quoted identifiers and comments become $1, $2, ...;
// `count` receives how many there were.
std::string rewritePlaceholders(std::string_view sql, std::size_t& count);

inline core::Result<DatabasePtr> openPostgres(const std::string& url) {
  return PostgresDatabase::open(url);
}

} // namespace forge::storage::detail
