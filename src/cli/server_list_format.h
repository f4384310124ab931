// The virtual-server list of the original project, one server per line:
//
//   # name|enabled|upstreams|description
//   all-tools|true|github,jira|Everything from GitHub and Jira
//
// enabled is true/false (also yes/no, 1/0); upstreams are gateway names or slugs separated by
// commas; the description is optional and may itself contain '|'. Blank lines and lines whose
// first non-blank character is '#' are ignored. Pure parsing: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forge::cli {

struct ServerListEntry {
  std::size_t line = 0; // 1-based
  std::string name;
  bool enabled = true;
  std::vector<std::string> upstreams; // as written, trimmed, without duplicates
  std::string description;
};

struct ServerListProblem {
  std::size_t line = 0;
  std::string message; // without the file name: "expected name|enabled|..."
};

struct ServerList {
  std::vector<ServerListEntry> servers;
  std::vector<ServerListProblem> problems; // malformed lines; the others are still in servers
};

ServerList parseServerList(std::string_view text);

// "true"/"yes"/"1" and "false"/"no"/"0", in any case.
std::optional<bool> parseEnabled(std::string_view text);

// The selectors that pick every tool of these upstreams: "<slug><separator>*" for each.
std::vector<std::string> everyToolOf(const std::vector<std::string>& slugs,
                                     std::string_view separator);

// Whether a file's text is YAML/JSON (a document starting with '{' or '[', or with a top-level
// `gateways:` or `servers:` key) rather than a server list. For files whose extension says
// neither.
bool looksStructured(std::string_view text);

} // namespace forge::cli
