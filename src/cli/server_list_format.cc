#include "cli/server_list_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace forge::cli {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits at `separator`, at most `max_parts` parts (the last keeps any further separators).
std::vector<std::string_view> split(std::string_view text, char separator, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const auto at = text.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  parts.push_back(text);
  return parts;
}

// The lines of a document, without their line ends ("\n", "\r\n").
std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

bool ignored(std::string_view line) {
  line = trim(line);
  return line.empty() || line.front() == '#';
}

} // namespace

std::optional<bool> parseEnabled(std::string_view text) {
  const std::string v = lower(trim(text));
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0") return false;
  return std::nullopt;
}

ServerList parseServerList(std::string_view text) {
  ServerList out;
  std::map<std::string, std::size_t, std::less<>> seen; // name -> line
  std::size_t number = 0;
  for (std::string_view line : lines(text)) {
    ++number;
    if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3); // UTF-8 BOM
    if (ignored(line)) continue;
    auto problem = [&](std::string message) {
      out.problems.push_back(ServerListProblem{number, std::move(message)});
    };
    const auto fields = split(line, '|', 4);
    if (fields.size() < 3) {
      problem(fmt::format("expected name|enabled|upstream1,upstream2|description, got '{}'",
                          trim(line)));
      continue;
    }
    ServerListEntry entry;
    entry.line = number;
    entry.name = std::string(trim(fields[0]));
    if (entry.name.empty()) {
      problem("the server name (first field) is empty");
      continue;
    }
    const auto enabled = parseEnabled(fields[1]);
    if (!enabled) {
      problem(fmt::format("server '{}': enabled (second field) must be true or false (also "
                          "yes/no, 1/0), got '{}'",
                          entry.name, trim(fields[1])));
      continue;
    }
    entry.enabled = *enabled;
    for (std::string_view upstream : split(fields[2], ',', std::string_view::npos)) {
      upstream = trim(upstream);
      if (upstream.empty()) continue;
      if (std::find(entry.upstreams.begin(), entry.upstreams.end(), upstream) ==
          entry.upstreams.end()) {
        entry.upstreams.emplace_back(upstream);
      }
    }
    if (entry.upstreams.empty()) {
      problem(fmt::format("server '{}': no upstreams (third field: names separated by commas)",
                          entry.name));
      continue;
    }
    if (fields.size() == 4) entry.description = std::string(trim(fields[3]));
    if (auto [it, fresh] = seen.emplace(entry.name, number); !fresh) {
      problem(fmt::format("server '{}' is already defined on line {}", entry.name, it->second));
      continue;
    }
    out.servers.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::string> everyToolOf(const std::vector<std::string>& slugs,
                                     std::string_view separator) {
  std::vector<std::string> out;
  out.reserve(slugs.size());
  for (const auto& slug : slugs)
    out.push_back(fmt::format("{}{}*", slug, separator));
  return out;
}

bool looksStructured(std::string_view text) {
  for (std::string_view line : lines(text)) {
    if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (ignored(line)) continue;
    const std::string_view content = trim(line);
    if (content.front() == '{' || content.front() == '[' || content == "---") return true;
    for (std::string_view key : {"gateways", "servers"}) {
      if (!line.starts_with(key)) continue;
      const std::string_view after = trim(line.substr(key.size()));
      if (after.starts_with(':')) return true;
    }
    return false; // the first significant line decides
  }
  return false;
}

} // namespace forge::cli
