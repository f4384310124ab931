// Text helpers both database backends use for their error messages (internal to storage).
#pragma once

#include <string>
#include <string_view>

namespace forge::storage::detail {

inline bool isSqlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// The start of a statement's text on one line, for error messages about bad SQL.
inline std::string sqlExcerpt(std::string_view sql) {
  while (!sql.empty() && isSqlSpace(sql.front()))
    sql.remove_prefix(1);
  constexpr std::size_t kMax = 160;
  std::string out(sql.substr(0, kMax));
  for (char& c : out) {
    if (isSqlSpace(c)) c = ' ';
  }
  if (sql.size() > kMax) out += "...";
  return out;
}

} // namespace forge::storage::detail
