// Row accessors, the URL dispatch to a backend, transaction() and redactUrl().
#include "storage/database.h"

#include "storage/postgres_database.h"
#include "storage/sqlite_database.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>
#include <type_traits>

namespace forge::storage {

namespace {

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A double as an integer: truncated toward zero, clamped to the int64 range, NaN is 0.
std::int64_t clampToInt64(double d) {
  if (std::isnan(d)) return 0;
  // 2^63 is exactly representable; anything at or above it does not fit.
  constexpr double kLimit = 9223372036854775808.0;
  if (d >= kLimit) return std::numeric_limits<std::int64_t>::max();
  if (d < -kLimit) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(d);
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

} // namespace

bool Row::isNull(std::size_t column) const {
  return column >= values.size() || std::holds_alternative<std::monostate>(values[column]);
}

std::string Row::text(std::size_t column) const {
  if (column >= values.size()) return {};
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<V, std::string>) {
          return v;
        } else {
          return fmt::format("{}", v); // shortest text that reads back as the same number
        }
      },
      values[column]);
}

std::int64_t Row::integer(std::size_t column) const {
  if (column >= values.size()) return 0;
  return std::visit(
      [](const auto& v) -> std::int64_t {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return 0;
        } else if constexpr (std::is_same_v<V, std::int64_t>) {
          return v;
        } else if constexpr (std::is_same_v<V, double>) {
          return clampToInt64(v);
        } else {
          std::string_view s = trimmed(v);
          std::int64_t out = 0;
          auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
          if (ec == std::errc() && end == s.data() + s.size()) return out;
          // "12.0" or "1e3": read as a real and truncate.
          double d = 0;
          auto [dend, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
          if (dec == std::errc() && dend == s.data() + s.size()) return clampToInt64(d);
          return 0;
        }
      },
      values[column]);
}

double Row::real(std::size_t column) const {
  if (column >= values.size()) return 0;
  return std::visit(
      [](const auto& v) -> double {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return 0;
        } else if constexpr (std::is_same_v<V, std::int64_t>) {
          return static_cast<double>(v);
        } else if constexpr (std::is_same_v<V, double>) {
          return v;
        } else {
          std::string_view s = trimmed(v);
          double d = 0;
          auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
          if (ec == std::errc() && end == s.data() + s.size()) return d;
          return 0;
        }
      },
      values[column]);
}

core::Result<DatabasePtr> openDatabase(const std::string& url, const std::string& data_dir) {
  if (url.empty()) {
    std::string dir = data_dir.empty() ? std::string(".") : data_dir;
    if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return detail::openSqlite(dir + "/forge.db", /*create_parent=*/true);
  }
  if (startsWith(url, "sqlite://")) {
    // sqlite:///abs/path.db keeps its leading '/'; sqlite://rel.db is relative to the cwd.
    std::string path = url.substr(std::string_view("sqlite://").size());
    if (path.empty()) {
      return core::Error{core::Errc::kInvalidParams,
                         "database URL 'sqlite://' names no file: use sqlite:///absolute/path.db "
                         "or sqlite://relative/path.db"};
    }
    return detail::openSqlite(path, /*create_parent=*/false);
  }
  if (startsWith(url, "postgresql://") || startsWith(url, "postgres://")) {
    return detail::openPostgres(url);
  }
  return core::Error{core::Errc::kInvalidParams,
                     fmt::format("unsupported database URL '{}': expected an empty URL (SQLite "
                                 "file forge.db in the data directory), sqlite:///absolute/"
                                 "path.db, sqlite://relative/path.db, or postgresql://user:"
                                 "password@host:port/database (also postgres://)",
                                 redactUrl(url))};
}

core::Status transaction(Database& db, const std::function<core::Status()>& body) {
  if (auto began = db.begin(); !began) return began;
  core::Status result = core::Ok{};
  try {
    result = body();
  } catch (...) {
    (void)db.rollback();
    throw;
  }
  if (!result) {
    (void)db.rollback(); // the body's error is the one worth reporting
    return result;
  }
  if (auto committed = db.commit(); !committed) {
    (void)db.rollback(); // a failed COMMIT may leave the transaction open (SQLite: BUSY)
    return committed;
  }
  return core::Ok{};
}

std::string redactUrl(const std::string& url) {
  std::string out = url;
  auto scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  const std::size_t start = scheme + 3;

  // libpq also takes the password as a query parameter, ?password=....
  if (std::size_t query = out.find('?', start); query != std::string::npos) {
    std::size_t pos = query + 1;
    while (pos < out.size()) {
      std::size_t end = out.find('&', pos);
      if (end == std::string::npos) end = out.size();
      std::string_view param(out.data() + pos, end - pos);
      auto eq = param.find('=');
      if (eq != std::string_view::npos && param.substr(0, eq) == "password") {
        out.replace(pos + eq + 1, end - (pos + eq + 1), "***");
        end = pos + eq + 1 + 3;
      }
      pos = end + 1;
    }
  }

  // user:password@host. The password ends at the last '@' of the URL, so that an unescaped
  // '@', '/' or '?' in it is still hidden; an '@' further on (in the path or query) hides too
  // much rather than too little.
  std::size_t at = out.rfind('@');
  if (at == std::string::npos || at < start) return out;
  std::size_t colon = out.find(':', start);
  if (colon == std::string::npos || colon > at) return out;
  out.replace(colon + 1, at - colon - 1, "***");
  return out;
}

} // namespace forge::storage
