// Helpers shared by the storage module's stores (internal): JSON text columns, SQL built from
// column lists, and rows mapped to records.
#pragma once

#include "storage/database.h"

#include <boost/json/value.hpp>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forge::storage::detail {

std::string toJson(const std::vector<std::string>& list);
std::string toJson(const std::map<std::string, std::string>& map);
// A JSON text column, or null when it does not parse.
boost::json::value parseOrNull(const std::string& text);
std::vector<std::string> stringList(const std::string& text);
std::map<std::string, std::string> stringMap(const std::string& text);
inline std::int64_t flag(bool value) { return value ? 1 : 0; }

// "INSERT INTO t (a, b) VALUES (?, ?)" for a column list.
std::string insertSql(const char* table, const char* columns);
// "a = V, b = V" for the columns of a list except `skip`; V is `value` with "{}" standing for
// the column's name ("?", or "excluded.{}" for an upsert).
std::string assignments(const char* columns, std::initializer_list<std::string_view> skip,
                        std::string_view value);
// "UPDATE t SET a = ?, b = ? WHERE id = ?" for a column list that starts with id.
std::string updateSql(const char* table, const char* columns);
// Sets created (when empty) and updated to now.
void stamp(std::string& created, std::string& updated);
// Deletes a row by id; false if there was none.
core::Result<bool> deleteById(Database& db, const char* table, const std::string& id);

template <class T, class From>
core::Result<std::vector<T>> selectAll(Database& db, const std::string& sql,
                                       const std::vector<Value>& params, From from) {
  auto rows = db.query(sql, params);
  if (!rows) return rows.error();
  std::vector<T> out;
  out.reserve(rows->rows.size());
  for (const auto& row : rows->rows)
    out.push_back(from(row));
  return out;
}

template <class T, class From>
core::Result<std::optional<T>> selectOne(Database& db, const std::string& sql,
                                         const std::vector<Value>& params, From from) {
  auto all = selectAll<T>(db, sql, params, from);
  if (!all) return all.error();
  if (all->empty()) return std::optional<T>();
  return std::optional<T>(std::move(all->front()));
}

} // namespace forge::storage::detail
