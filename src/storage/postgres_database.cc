// The PostgreSQL backend on libpq.
#include "storage/postgres_database.h"
#include "storage/sql_text.h"

#include "core/log.h"

#include <libpq-fe.h>

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <memory>
#include <system_error>
#include <utility>

namespace forge::storage::detail {

namespace {

// Type OIDs (pg_type.h is a server header; these values are fixed).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr const char* kDefaultConnectTimeoutSeconds = "10";

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

bool isIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string trimmedMessage(const char* message) {
  std::string_view s = message != nullptr ? message : "";
  while (!s.empty() && isSqlSpace(s.back()))
    s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

core::Errc errcForSqlState(std::string_view state) {
  if (state == "23505") return core::Errc::kConflict; // unique_violation
  // Connection exceptions, insufficient resources, the server shutting down or not yet up,
  // and the transient failures a retry resolves (serialization, deadlock, lock not available).
  if (startsWith(state, "08") || startsWith(state, "53") || state == "57P01" || state == "57P02" ||
      state == "57P03" || state == "40001" || state == "40P01" || state == "55P03") {
    return core::Errc::kUnavailable;
  }
  return core::Errc::kInternal;
}

// Text for a parameter of type float8: shortest round-trip form; PostgreSQL's spelling of the
// non-finite values.
std::string formatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", d);
}

Value convert(const char* text, int length, Oid type) {
  std::string_view s(text, static_cast<std::size_t>(length));
  switch (type) {
  case kInt8Oid:
  case kInt2Oid:
  case kInt4Oid: {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    break;
  }
  case kFloat4Oid:
  case kFloat8Oid:
  case kNumericOid: {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    break;
  }
  case kBoolOid:
    return std::int64_t{s == "t" ? 1 : 0};
  default:
    break;
  }
  return std::string(s);
}

// NOTICEs are silenced by client_min_messages; what is left (WARNINGs) goes to the debug log.
void onNotice(void* /*arg*/, const char* message) {
  log::debug("postgresql: {}", trimmedMessage(message));
}

} // namespace

std::string rewritePlaceholders(std::string_view sql, std::size_t& count) {
  count = 0;
  std::string out;
  out.reserve(sql.size() + 16);
  std::size_t i = 0;
  const std::size_t n = sql.size();
  while (i < n) {
    char c = sql[i];
    if (c == '\'') {
      // A string literal; '' is a quote inside it. E'...' also escapes with a backslash.
      bool escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !isIdentChar(sql[i - 2]));
      out += c;
      ++i;
      while (i < n) {
        char d = sql[i];
        out += d;
        ++i;
        if (escapes && d == '\\' && i < n) {
          out += sql[i];
          ++i;
        } else if (d == '\'') {
          break;
        }
      }
    } else if (c == '"') {
      // A quoted identifier.
      out += c;
      ++i;
      while (i < n) {
        char d = sql[i];
        out += d;
        ++i;
        if (d == '"') break;
      }
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      // A comment to the end of the line.
      while (i < n && sql[i] != '\n')
        out += sql[i++];
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      // A block comment; they nest in PostgreSQL.
      int depth = 0;
      while (i < n) {
        if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
          ++depth;
          out += "/*";
          i += 2;
        } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
          --depth;
          out += "*/";
          i += 2;
          if (depth == 0) break;
        } else {
          out += sql[i++];
        }
      }
    } else if (c == '?') {
      out += fmt::format("${}", ++count);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

core::Result<DatabasePtr> PostgresDatabase::open(const std::string& url) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error);
  if (options == nullptr) {
    std::string reason = parse_error != nullptr ? trimmedMessage(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("invalid PostgreSQL URL '{}': {}", redactUrl(url), reason)};
  }
  PQconninfoFree(options);

  // Later entries win, and the URL (expanded from dbname) comes last: it may override these.
  const char* const keywords[] = {"connect_timeout", "fallback_application_name", "dbname",
                                  nullptr};
  const char* const values[] = {kDefaultConnectTimeoutSeconds, "forge", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return core::Error{core::Errc::kUnavailable, "postgresql: out of memory"};
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = trimmedMessage(PQerrorMessage(conn));
    PQfinish(conn);
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("postgresql: cannot connect to {}: {}", redactUrl(url), reason)};
  }
  PQsetNoticeProcessor(conn, onNotice, nullptr);
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(conn, url));
  if (auto status = db->setUpSession(); !status) return status.error();
  return DatabasePtr(std::move(db));
}

PostgresDatabase::~PostgresDatabase() { PQfinish(conn_); }

std::string PostgresDatabase::describe() const { return redactUrl(url_); }

core::Status PostgresDatabase::setUpSession() {
  ResultPtr result(PQexec(conn_, "SET client_min_messages = warning"));
  if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("postgresql: cannot set up the session on {}: {}", describe(),
                                   trimmedMessage(PQerrorMessage(conn_)))};
  }
  return core::Ok{};
}

core::Status PostgresDatabase::ensureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return core::Ok{};
  if (in_transaction_) {
    return core::Error{core::Errc::kUnavailable,
                       "postgresql: the connection was lost inside a transaction"};
  }
  log::warn("postgresql: connection to {} lost; reconnecting", describe());
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("postgresql: connection to {} lost and reconnecting failed: {}",
                                   describe(), trimmedMessage(PQerrorMessage(conn_)))};
  }
  return setUpSession();
}

namespace {

// The error a failed result (or a null one: no memory, no connection) stands for.
core::Error resultError(PGconn* conn, const PGresult* result, std::string_view sql) {
  if (result == nullptr) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("postgresql: {}", trimmedMessage(PQerrorMessage(conn)))};
  }
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = trimmedMessage(primary != nullptr ? primary : PQresultErrorMessage(result));
  if (message.empty()) message = trimmedMessage(PQerrorMessage(conn));
  core::Errc errc = core::Errc::kInternal;
  if (state != nullptr) {
    errc = errcForSqlState(state);
  } else if (PQstatus(conn) != CONNECTION_OK) {
    errc = core::Errc::kUnavailable; // libpq's own report of a broken connection
  }
  if (errc == core::Errc::kInternal) {
    return core::Error{errc,
                       fmt::format("postgresql: {} [{}] (in \"{}\")", message,
                                   state != nullptr ? state : "no SQLSTATE", sqlExcerpt(sql))};
  }
  return core::Error{errc, fmt::format("postgresql: {}", message)};
}

} // namespace

core::Result<Rows> PostgresDatabase::query(std::string_view sql, const std::vector<Value>& params) {
  std::size_t placeholders = 0;
  std::string text = rewritePlaceholders(sql, placeholders);
  if (placeholders != params.size()) {
    return core::Error{core::Errc::kInternal,
                       fmt::format("postgresql: statement has {} placeholders but {} values "
                                   "were given (in \"{}\")",
                                   placeholders, params.size(), sqlExcerpt(sql))};
  }

  std::vector<std::string> formatted(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  std::vector<Oid> types(params.size(), 0);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Value& v = params[i];
    if (const auto* integer = std::get_if<std::int64_t>(&v)) {
      formatted[i] = std::to_string(*integer);
      values[i] = formatted[i].c_str();
      types[i] = kInt8Oid;
    } else if (const auto* real = std::get_if<double>(&v)) {
      formatted[i] = formatDouble(*real);
      values[i] = formatted[i].c_str();
      types[i] = kFloat8Oid;
    } else if (const auto* string = std::get_if<std::string>(&v)) {
      if (string->find('\0') != std::string::npos) {
        return core::Error{core::Errc::kInternal,
                           fmt::format("postgresql: text value {} contains a NUL byte", i + 1)};
      }
      values[i] = string->c_str(); // type left to the server: a string may fill any column
    }
  }

  if (auto connected = ensureConnected(); !connected) return connected.error();
  ResultPtr result(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), types.data(),
                                values.data(), nullptr, nullptr, 0));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_EMPTY_QUERY) {
    return core::Error{core::Errc::kInternal, "postgresql: empty statement"};
  }
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return resultError(conn_, result.get(), sql);
  }

  Rows rows;
  const PGresult* res = result.get();
  const int columns = PQnfields(res);
  const int count = PQntuples(res);
  rows.columns.reserve(static_cast<std::size_t>(columns));
  std::vector<Oid> column_types;
  column_types.reserve(static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    rows.columns.emplace_back(PQfname(res, c));
    column_types.push_back(PQftype(res, c));
  }
  rows.rows.reserve(static_cast<std::size_t>(count));
  for (int r = 0; r < count; ++r) {
    Row row;
    row.values.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(res, r, c) != 0) {
        row.values.emplace_back(std::monostate{});
      } else {
        row.values.push_back(convert(PQgetvalue(res, r, c), PQgetlength(res, r, c),
                                     column_types[static_cast<std::size_t>(c)]));
      }
    }
    rows.rows.push_back(std::move(row));
  }
  // Only INSERT/UPDATE/DELETE (and MERGE) count as changes; "SELECT n" is not one.
  std::string_view tag = PQcmdStatus(result.get());
  if (startsWith(tag, "INSERT ") || startsWith(tag, "UPDATE ") || startsWith(tag, "DELETE ") ||
      startsWith(tag, "MERGE ")) {
    std::string_view tuples = PQcmdTuples(result.get());
    std::int64_t affected = 0;
    std::from_chars(tuples.data(), tuples.data() + tuples.size(), affected);
    rows.affected = affected;
  }
  return rows;
}

core::Result<std::string> PostgresDatabase::command(std::string_view sql) {
  if (auto connected = ensureConnected(); !connected) return connected.error();
  std::string text(sql);
  ResultPtr result(PQexec(conn_, text.c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    return resultError(conn_, result.get(), sql);
  }
  return std::string(PQcmdStatus(result.get()));
}

core::Status PostgresDatabase::execScript(std::string_view sql) {
  // PQexec runs every statement of the string; outside BEGIN/COMMIT they form one transaction.
  auto result = command(sql);
  if (!result) return result.error();
  return core::Ok{};
}

core::Status PostgresDatabase::begin() {
  auto result = command("BEGIN");
  if (!result) return result.error();
  in_transaction_ = true;
  return core::Ok{};
}

core::Status PostgresDatabase::commit() {
  auto result = command("COMMIT");
  in_transaction_ = false; // a COMMIT that fails ends the transaction too
  if (!result) return result.error();
  // COMMIT of a transaction in which a statement failed rolls it back, successfully.
  if (*result == "ROLLBACK") {
    return core::Error{core::Errc::kInternal,
                       "postgresql: the transaction was rolled back because a statement in it "
                       "failed"};
  }
  return core::Ok{};
}

core::Status PostgresDatabase::rollback() {
  bool was_in_transaction = in_transaction_;
  in_transaction_ = false;
  // The server rolled back when the connection went; the next statement reconnects.
  if (was_in_transaction && PQstatus(conn_) != CONNECTION_OK) return core::Ok{};
  auto result = command("ROLLBACK");
  if (!result) return result.error();
  return core::Ok{};
}

} // namespace forge::storage::detail
