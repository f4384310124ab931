// Command output: one place decides between the human form (an aligned table) and JSON
// (--json), so every command prints the same way. Results go to stdout, diagnostics to stderr.
#pragma once

#include "ops/check.h"

#include <boost/json/fwd.hpp>

#include <string>
#include <vector>

namespace forge::cli {

class Table {
public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Prints `json` (pretty, with a trailing newline) when as_json, else the table.
void printResult(bool as_json, const Table& table, const boost::json::value& json);

// Prints checks as a table (CHECK, STATE, DETAIL) ending with the worst state, or as JSON
// {"status": worst, "checks": [{"name", "status", "detail"}]} (plus the fields of `extra`, when
// given); returns ops::exitCodeOf(worst).
int printChecks(bool as_json, const std::vector<ops::Check>& checks,
                const boost::json::object* extra = nullptr);

} // namespace forge::cli
