#include "storage/rows.h"

#include "storage/store.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace forge::storage::detail {

std::string toJson(const std::vector<std::string>& list) {
  boost::json::array out;
  for (const auto& item : list)
    out.emplace_back(item);
  return boost::json::serialize(out);
}

std::string toJson(const std::map<std::string, std::string>& map) {
  boost::json::object out;
  for (const auto& [key, value] : map)
    out[key] = value;
  return boost::json::serialize(out);
}

// Columns are written by the storage module only, so a malformed document means damage: read it as
// empty rather than failing every listing.
boost::json::value parseOrNull(const std::string& text) {
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  return ec ? boost::json::value() : value;
}

std::vector<std::string> stringList(const std::string& text) {
  std::vector<std::string> out;
  const auto value = parseOrNull(text);
  if (!value.is_array()) return out;
  for (const auto& item : value.get_array())
    if (item.is_string()) out.emplace_back(item.get_string());
  return out;
}

std::map<std::string, std::string> stringMap(const std::string& text) {
  std::map<std::string, std::string> out;
  const auto value = parseOrNull(text);
  if (!value.is_object()) return out;
  for (const auto& [key, item] : value.get_object())
    if (item.is_string()) out[std::string(key)] = std::string(item.get_string());
  return out;
}

// "INSERT INTO t (a, b) VALUES (?, ?)" for a column list.
std::string insertSql(const char* table, const char* columns) {
  const auto count = std::count(columns, columns + std::char_traits<char>::length(columns), ',');
  std::string marks = "?";
  for (long i = 0; i < count; ++i)
    marks += ", ?";
  return fmt::format("INSERT INTO {} ({}) VALUES ({})", table, columns, marks);
}

// "a = <value of a>, b = ..." for every column of a list but those in `skip`.
std::string assignments(const char* columns, std::initializer_list<std::string_view> skip,
                        std::string_view value) {
  std::string sets;
  std::string_view rest = columns;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view column = rest.substr(0, comma);
    while (!column.empty() && column.front() == ' ')
      column.remove_prefix(1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (std::find(skip.begin(), skip.end(), column) != skip.end()) continue;
    sets += fmt::format("{}{} = {}", sets.empty() ? "" : ", ", column,
                        fmt::format(fmt::runtime(value), column));
  }
  return sets;
}

// "UPDATE t SET a = ?, b = ? WHERE id = ?" for a column list that starts with id.
std::string updateSql(const char* table, const char* columns) {
  return fmt::format("UPDATE {} SET {} WHERE id = ?", table, assignments(columns, {"id"}, "?"));
}

void stamp(std::string& created, std::string& updated) {
  const std::string now = nowUtc();
  if (created.empty()) created = now;
  updated = now;
}

core::Result<bool> deleteById(Database& db, const char* table, const std::string& id) {
  auto rows = db.query(fmt::format("DELETE FROM {} WHERE id = ?", table), {id});
  if (!rows) return rows.error();
  return rows->affected > 0;
}

} // namespace forge::storage::detail
