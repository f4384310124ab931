#include "cli/output.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace forge::cli {

std::string Table::render() const {
  std::vector<std::size_t> widths;
  for (const auto& c : columns_)
    widths.push_back(c.size());
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      out += i + 1 == widths.size() ? cell : fmt::format("{:<{}}  ", cell, widths[i]);
    }
    while (!out.empty() && out.back() == ' ')
      out.pop_back();
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const auto& c : columns_) {
    std::string upper = c;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    header.push_back(upper);
  }
  std::string out = line(header);
  for (const auto& row : rows_)
    out += line(row);
  return out;
}

void printResult(bool as_json, const Table& table, const boost::json::value& json) {
  if (as_json) {
    fmt::print("{}\n", boost::json::serialize(json));
  } else {
    fmt::print("{}", table.render());
  }
}

int printChecks(bool as_json, const std::vector<ops::Check>& checks,
                const boost::json::object* extra) {
  const ops::Level worst = ops::worst(checks);
  Table table({"check", "state", "detail"});
  boost::json::array items;
  for (const auto& check : checks) {
    table.addRow({check.name, std::string(ops::levelName(check.level)), check.detail});
    items.push_back(boost::json::object{
        {"name", check.name}, {"status", ops::levelName(check.level)}, {"detail", check.detail}});
  }
  if (as_json) {
    boost::json::object out = extra != nullptr ? *extra : boost::json::object{};
    out["status"] = ops::levelName(worst);
    out["checks"] = std::move(items);
    printResult(true, table, out);
  } else {
    fmt::print("{}overall: {}\n", table.render(), ops::levelName(worst));
  }
  return ops::exitCodeOf(worst);
}

} // namespace forge::cli
