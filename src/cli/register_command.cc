// `forge register [--url URL] [--token T] [--dry-run] [--json] FILE...`: registers upstreams
// ("gateways") and virtual servers with a running gateway through its REST API, from YAML/JSON
// files or from the original project's server list (name|enabled|upstreams|description).
//
// Idempotent: the gateway's current gateways and servers are read first; an item absent is
// created (POST), one present with every field the file sets equal is left alone, one that
// differs is updated (PUT, the fields the file sets). A 409 on POST (another registrar was
// faster) is treated as "present". Gateways are applied before servers, so that a server list
// can name an upstream registered by the same run.
#include "api/shapes.h"
#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/server_list_format.h"
#include "net/http_client.h"
#include "storage/store.h"

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <variant>

namespace forge::cli {
namespace {

namespace json = boost::json;

constexpr const char* kDefaultUrl = "http://127.0.0.1:8000";
constexpr double kDefaultTimeoutSeconds = 30;

// ---------------------------------------------------------------------------------------------
// The fields a file may set, how the API names them in its answers, and how they compare.
// ---------------------------------------------------------------------------------------------

enum class Kind { kGateway, kServer };

const char* kindName(Kind kind) { return kind == Kind::kGateway ? "gateway" : "server"; }
const char* collectionOf(Kind kind) { return kind == Kind::kGateway ? "/gateways" : "/servers"; }

enum class FieldType { kString, kBool, kInt, kStringList, kStringMap, kTransport };

struct FieldSpec {
  const char* key;      // what the file and the request body say (snake_case)
  const char* reported; // what GET answers with (camelCase)
  FieldType type;
  std::vector<const char*> aliases = {};
};

const std::vector<FieldSpec>& gatewayFields() {
  static const std::vector<FieldSpec> fields{
      {"name", "name", FieldType::kString},
      {"description", "description", FieldType::kString},
      {"url", "url", FieldType::kString},
      {"command", "command", FieldType::kString},
      {"args", "args", FieldType::kStringList},
      {"env", "envNames", FieldType::kStringMap},
      {"cwd", "cwd", FieldType::kString},
      {"headers", "headerNames", FieldType::kStringMap, {"passthroughHeaders"}},
      {"transport", "transport", FieldType::kTransport},
      {"session_mode", "sessionMode", FieldType::kString, {"sessionMode"}},
      {"call_timeout_ms", "callTimeoutMs", FieldType::kInt, {"callTimeoutMs"}},
      {"max_concurrency", "maxConcurrency", FieldType::kInt, {"maxConcurrency"}},
      {"enabled", "enabled", FieldType::kBool, {"isActive"}},
      {"tags", "tags", FieldType::kStringList},
  };
  return fields;
}

const std::vector<FieldSpec>& serverFields() {
  static const std::vector<FieldSpec> fields{
      {"name", "name", FieldType::kString},
      {"description", "description", FieldType::kString},
      {"icon", "icon", FieldType::kString},
      {"enabled", "enabled", FieldType::kBool, {"isActive"}},
      {"max_tools", "maxTools", FieldType::kInt, {"maxTools"}},
      {"tags", "tags", FieldType::kStringList},
      {"associated_tools", "associatedTools", FieldType::kStringList, {"tools", "associatedTools"}},
      {"associated_resources",
       "associatedResources",
       FieldType::kStringList,
       {"resources", "associatedResources"}},
      {"associated_prompts",
       "associatedPrompts",
       FieldType::kStringList,
       {"prompts", "associatedPrompts"}},
  };
  return fields;
}

const std::vector<FieldSpec>& fieldsOf(Kind kind) {
  return kind == Kind::kGateway ? gatewayFields() : serverFields();
}

const FieldSpec* findField(Kind kind, std::string_view key) {
  for (const auto& spec : fieldsOf(kind)) {
    if (key == spec.key) return &spec;
    for (const char* alias : spec.aliases)
      if (key == alias) return &spec;
  }
  return nullptr;
}

std::string knownFields(Kind kind) {
  std::string out;
  for (const auto& spec : fieldsOf(kind))
    out += (out.empty() ? "" : ", ") + std::string(spec.key);
  return out;
}

std::string trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return std::string(text);
}

// A scalar as the text a string field would hold (YAML `8080` in an args list or env map).
std::optional<std::string> scalarText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_double()) return fmt::format("{}", v.get_double());
  return std::nullopt;
}

// Checks one field's value and brings it to the form the API answers with, so that it can be
// compared: lists may be written as "a, b" strings; list and map entries may be numbers.
core::Result<json::value> normalize(const FieldSpec& spec, const json::value& v) {
  const auto wrong = [&](const char* what) {
    return core::Error{core::Errc::kUnprocessable, fmt::format("{}: must be {}", spec.key, what)};
  };
  switch (spec.type) {
  case FieldType::kString:
  case FieldType::kTransport:
    if (!v.is_string()) return wrong("a string");
    if (spec.type == FieldType::kTransport && !api::parseTransport(std::string(v.get_string())))
      return wrong("one of stdio, sse, streamable-http");
    return v;
  case FieldType::kBool:
    if (!v.is_bool()) return wrong("true or false");
    return v;
  case FieldType::kInt:
    if (v.is_int64()) return v;
    if (v.is_uint64()) return json::value(static_cast<std::int64_t>(v.get_uint64()));
    return wrong("an integer");
  case FieldType::kStringList: {
    json::array out;
    if (v.is_string()) {
      std::string_view rest = v.get_string();
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        if (auto item = trimmed(rest.substr(0, comma)); !item.empty()) out.emplace_back(item);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
      return json::value(std::move(out));
    }
    if (!v.is_array()) return wrong("a list of strings");
    for (const auto& item : v.get_array()) {
      auto text = scalarText(item);
      if (!text) return wrong("a list of strings");
      out.emplace_back(*text);
    }
    return json::value(std::move(out));
  }
  case FieldType::kStringMap: {
    if (!v.is_object()) return wrong("a mapping of names to strings");
    json::object out;
    for (const auto& [key, value] : v.get_object()) {
      auto text = scalarText(value);
      if (!text) {
        return core::Error{core::Errc::kUnprocessable,
                           fmt::format("{}.{}: must be a string", spec.key, std::string(key))};
      }
      out[key] = *text;
    }
    return json::value(std::move(out));
  }
  }
  return v;
}

// The fields an item of a file sets, under their request names. Unknown fields are errors:
// the API would ignore them, and the item would never compare equal.
core::Result<json::object> desiredFields(Kind kind, const json::object& item) {
  json::object out;
  for (const auto& [key, value] : item) {
    const FieldSpec* spec = findField(kind, key);
    if (!spec) {
      return core::Error{core::Errc::kUnprocessable,
                         fmt::format("unknown field '{}' (a {} takes: {})", std::string(key),
                                     kindName(kind), knownFields(kind))};
    }
    if (out.contains(spec->key)) {
      return core::Error{core::Errc::kUnprocessable,
                         fmt::format("'{}' is given twice (under two names)", spec->key)};
    }
    if (value.is_null()) continue;
    auto normalized = normalize(*spec, value);
    if (!normalized) return normalized.error();
    out[spec->key] = std::move(*normalized);
  }
  const auto* name = out.if_contains("name");
  if (!name || name->get_string().empty())
    return core::Error{core::Errc::kUnprocessable, "name: required"};
  return out;
}

std::set<std::string> namesOf(const json::value& v) {
  std::set<std::string> out;
  if (v.is_object()) {
    for (const auto& [key, value] : v.get_object())
      out.emplace(key);
  } else if (v.is_array()) {
    for (const auto& item : v.get_array())
      if (item.is_string()) out.emplace(item.get_string());
  }
  return out;
}

// The fields of `desired` whose value differs from what the gateway reports. Values of env and
// headers are never reported (they may be credentials): only their names compare.
std::vector<std::string> differences(Kind kind, const json::object& desired,
                                     const json::object& current) {
  std::vector<std::string> out;
  for (const auto& [key, want] : desired) {
    if (key == "name") continue;
    const FieldSpec* spec = findField(kind, key);
    const json::value* have = spec ? current.if_contains(spec->reported) : nullptr;
    bool same = false;
    if (have) {
      switch (spec->type) {
      case FieldType::kStringMap:
        same = namesOf(want) == namesOf(*have);
        break;
      case FieldType::kTransport:
        same = have->is_string() && api::parseTransport(std::string(want.get_string())) ==
                                        api::parseTransport(std::string(have->get_string()));
        break;
      default:
        same = want == *have;
      }
    }
    if (!same) out.emplace_back(key);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

// One gateway or server a file asks for.
struct Desired {
  Kind kind = Kind::kGateway;
  std::string name;
  json::object fields;                // request names; associated_tools filled late for lists
  std::string origin;                 // "servers.txt:3", "register.yaml:12"
  std::vector<std::string> upstreams; // server-list entries: the gateways whose tools it gets
  bool from_server_list = false;
};

// A problem that is not about one named item: a malformed line, a file that does not parse.
struct FileProblem {
  std::string where;
  std::string message;
};

struct Plan {
  std::vector<Desired> items;
  std::vector<FileProblem> problems;
};

// YAML scalars as YAML 1.2's core schema types them: quoted ones are strings, plain ones may be
// null, booleans, integers or floats.
json::value scalarJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::value(text);
  static const std::regex kNull("~|null|Null|NULL|");
  static const std::regex kTrue("true|True|TRUE");
  static const std::regex kFalse("false|False|FALSE");
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(text, kNull)) return nullptr;
  if (std::regex_match(text, kTrue)) return true;
  if (std::regex_match(text, kFalse)) return false;
  const bool hex = std::regex_match(text, kHex);
  if (hex || std::regex_match(text, kOctal) || std::regex_match(text, kInt)) {
    const char* begin = text.data() + (hex || text.starts_with("0o") ? 2 : 0);
    if (*begin == '+') ++begin;
    const char* end = text.data() + text.size();
    const int base = hex ? 16 : text.starts_with("0o") ? 8 : 10;
    std::int64_t n = 0;
    if (auto [ptr, ec] = std::from_chars(begin, end, n, base); ec == std::errc() && ptr == end)
      return n;
    std::uint64_t u = 0;
    if (auto [ptr, ec] = std::from_chars(begin, end, u, base); ec == std::errc() && ptr == end)
      return u;
    return json::value(text); // too large for JSON integers: keep the digits
  }
  if (std::regex_match(text, kFloat)) return std::strtod(text.c_str(), nullptr);
  return json::value(text);
}

json::value yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Scalar:
    return scalarJson(node);
  case YAML::NodeType::Sequence: {
    json::array out;
    for (const auto& item : node)
      out.push_back(yamlToJson(item));
    return out;
  }
  case YAML::NodeType::Map: {
    json::object out;
    for (const auto& entry : node)
      out[entry.first.Scalar()] = yamlToJson(entry.second);
    return out;
  }
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    break;
  }
  return nullptr;
}

// A parsed YAML or JSON document, with the line of each list item when known (YAML).
struct Document {
  json::value root;
  std::map<std::pair<std::string, std::size_t>, std::size_t> lines; // (section, index) -> line
};

// A document that does not parse: where (the line) and why.
struct SyntaxError {
  std::size_t line = 0;
  std::string message;
};

std::variant<Document, SyntaxError> parseYaml(const std::string& text) {
  Document doc;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return SyntaxError{static_cast<std::size_t>(e.mark.line) + 1,
                       fmt::format("not valid YAML: {}", e.msg)};
  }
  doc.root = yamlToJson(root);
  if (root.IsMap()) {
    for (const char* section : {"gateways", "servers"}) {
      const YAML::Node list = root[section];
      if (!list.IsSequence()) continue;
      for (std::size_t i = 0; i < list.size(); ++i)
        doc.lines[{section, i}] = static_cast<std::size_t>(list[i].Mark().line) + 1;
    }
  }
  return doc;
}

std::variant<Document, SyntaxError> parseJson(const std::string& text) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    const auto end = text.begin() + static_cast<std::ptrdiff_t>(std::min(used, text.size()));
    return SyntaxError{static_cast<std::size_t>(1 + std::count(text.begin(), end, '\n')),
                       fmt::format("not valid JSON: {}", ec.message())};
  }
  return Document{parser.release(), {}};
}

void addStructured(const std::string& path, const Document& doc, Plan& plan) {
  if (doc.root.is_null()) return; // an empty file: nothing to register, like an empty list
  if (!doc.root.is_object()) {
    plan.problems.push_back(
        {path, "expected a mapping with `gateways:` and/or `servers:` lists at the top level"});
    return;
  }
  const auto& root = doc.root.get_object();
  for (const auto& [key, value] : root) {
    if (key != "gateways" && key != "servers") {
      plan.problems.push_back({path, fmt::format("unknown top-level key '{}' (expected "
                                                 "`gateways:` and/or `servers:`)",
                                                 std::string(key))});
    }
  }
  for (const auto& [section, kind] :
       {std::pair{"gateways", Kind::kGateway}, std::pair{"servers", Kind::kServer}}) {
    const auto* list = root.if_contains(section);
    if (!list || list->is_null()) continue;
    if (!list->is_array()) {
      plan.problems.push_back({path, fmt::format("`{}:` must be a list", section)});
      continue;
    }
    const auto& items = list->get_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto line = doc.lines.find({section, i});
      const std::string where = line != doc.lines.end()
                                    ? fmt::format("{}:{}", path, line->second)
                                    : fmt::format("{}: {}[{}]", path, section, i);
      if (!items[i].is_object()) {
        plan.problems.push_back({where, fmt::format("each of `{}` must be a mapping", section)});
        continue;
      }
      auto fields = desiredFields(kind, items[i].get_object());
      if (!fields) {
        std::string name;
        if (const auto* n = items[i].get_object().if_contains("name"); n && n->is_string())
          name = std::string(n->get_string());
        plan.problems.push_back({where, name.empty() ? fields.error().message
                                                     : fmt::format("{} '{}': {}", kindName(kind),
                                                                   name, fields.error().message)});
        continue;
      }
      Desired d;
      d.kind = kind;
      d.name = std::string(fields->at("name").get_string());
      d.fields = std::move(*fields);
      d.origin = where;
      plan.items.push_back(std::move(d));
    }
  }
}

void addServerList(const std::string& path, const std::string& text, std::int64_t max_tools,
                   Plan& plan) {
  auto list = parseServerList(text);
  for (auto& problem : list.problems)
    plan.problems.push_back({fmt::format("{}:{}", path, problem.line), problem.message});
  for (auto& entry : list.servers) {
    Desired d;
    d.kind = Kind::kServer;
    d.name = entry.name;
    d.origin = fmt::format("{}:{}", path, entry.line);
    d.upstreams = std::move(entry.upstreams);
    d.from_server_list = true;
    d.fields = json::object{{"name", entry.name},
                            {"description", entry.description},
                            {"enabled", entry.enabled},
                            {"max_tools", max_tools}};
    plan.items.push_back(std::move(d));
  }
}

enum class Format { kYaml, kJson, kServerList };

Format formatOf(const std::filesystem::path& path, const std::string& text) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".yaml" || ext == ".yml") return Format::kYaml;
  if (ext == ".json") return Format::kJson;
  return looksStructured(text) ? Format::kYaml : Format::kServerList;
}

// ---------------------------------------------------------------------------------------------
// The gateway's REST API
// ---------------------------------------------------------------------------------------------

// The gateway's REST API, with the listing this command needs.
class GatewayApi : public ApiClient {
public:
  using ApiClient::ApiClient;

  // Every gateway or server, the inactive ones included, by name.
  core::Result<std::map<std::string, json::object>> list(Kind kind) const {
    const std::string path = fmt::format("{}?include_inactive=true&limit=0", collectionOf(kind));
    auto answer = call(net::Method::kGet, path);
    if (!answer) return answer.error();
    if (answer->status == 401 || answer->status == 403) {
      return core::Error{core::Errc::kUnauthorized,
                         fmt::format("GET {}{} was refused ({}); give a token with --token or "
                                     "MCP_GATEWAY_TOKEN",
                                     base(), collectionOf(kind), detail(*answer))};
    }
    const json::array* items = nullptr;
    if (answer->status == 200 && answer->body.is_array()) items = &answer->body.get_array();
    if (answer->status == 200 && answer->body.is_object()) {
      const auto* inner = answer->body.get_object().if_contains(collectionOf(kind) + 1);
      if (inner && inner->is_array()) items = &inner->get_array();
    }
    if (!items) {
      return core::Error{core::Errc::kBadGateway, fmt::format("GET {}{} answered {}", base(),
                                                              collectionOf(kind), detail(*answer))};
    }
    std::map<std::string, json::object> out;
    for (const auto& item : *items) {
      if (!item.is_object()) continue;
      const auto* name = item.get_object().if_contains("name");
      if (name && name->is_string()) out[std::string(name->get_string())] = item.get_object();
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Outcomes and output
// ---------------------------------------------------------------------------------------------

struct Outcome {
  std::string type; // gateway | server | file
  std::string name;
  std::string action; // created | updated | unchanged | failed
  std::vector<std::string> changed;
  std::string note; // e.g. "not reachable yet: ..."
  std::string error;
};

class Reporter {
public:
  Reporter(bool as_json, bool dry_run) : json_(as_json), dry_run_(dry_run) {}

  void add(Outcome outcome) {
    if (!json_) print(outcome);
    outcomes_.push_back(std::move(outcome));
  }

  std::size_t count(std::string_view action) const {
    return static_cast<std::size_t>(std::count_if(
        outcomes_.begin(), outcomes_.end(), [&](const Outcome& o) { return o.action == action; }));
  }

  void finish() const {
    if (json_) {
      json::object out{{"created", json::array{}},
                       {"updated", json::array{}},
                       {"unchanged", json::array{}},
                       {"failed", json::array{}},
                       {"dry_run", dry_run_}};
      for (const auto& o : outcomes_) {
        json::object item{{"type", o.type}, {"name", o.name}};
        if (!o.changed.empty()) {
          json::array changed;
          for (const auto& c : o.changed)
            changed.emplace_back(c);
          item["changed"] = std::move(changed);
        }
        if (!o.note.empty()) item["note"] = o.note;
        if (!o.error.empty()) item["error"] = o.error;
        out[o.action].as_array().push_back(std::move(item));
      }
      fmt::print("{}\n", json::serialize(out));
      return;
    }
    if (dry_run_) {
      fmt::print("dry run: {} to create, {} to update, {} unchanged, {} failed (nothing was "
                 "written)\n",
                 count("created"), count("updated"), count("unchanged"), count("failed"));
    } else {
      fmt::print("{} created, {} updated, {} unchanged, {} failed\n", count("created"),
                 count("updated"), count("unchanged"), count("failed"));
    }
    if (count("failed") > 0) {
      std::fprintf(stderr,
                   "forge register: %zu item(s) failed (see above). Fix them and run "
                   "again: what succeeded stays registered, and running again is safe.\n",
                   count("failed"));
    }
  }

private:
  void print(const Outcome& o) const {
    std::string verb = o.action;
    if (dry_run_ && o.action == "created") verb = "would create";
    if (dry_run_ && o.action == "updated") verb = "would update";
    std::string line = fmt::format("{} {} {}", verb, o.type, o.name);
    if (!o.changed.empty()) line += fmt::format(" ({})", fmt::join(o.changed, ", "));
    if (!o.note.empty()) line += fmt::format(" ({})", o.note);
    if (o.action == "failed") {
      std::fprintf(stderr, "%s: %s\n", line.c_str(), o.error.c_str());
    } else {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    }
  }

  bool json_;
  bool dry_run_;
  std::vector<Outcome> outcomes_;
};

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

class RegisterCommand final : public Command {
public:
  std::string name() const override { return "register"; }
  std::string synopsis() const override {
    return "Register upstreams and virtual servers with a running gateway (idempotent)";
  }

  void setup(CLI::App& app) override {
    app.add_option("files", files_, "YAML/JSON files or server lists (see below)");
    app.add_option("--url", url_,
                   fmt::format("The gateway, http:// or https:// (default: $MCP_GATEWAY_URL, else "
                               "{}; $FORGE_CA_FILE trusts a private CA)",
                               kDefaultUrl));
    app.add_option("--token", token_,
                   "Bearer token sent as Authorization (default: $MCP_GATEWAY_TOKEN)");
    app.add_flag("--dry-run", dry_run_, "Print what would change; write nothing");
    app.add_flag("--json", json_, "Print {created, updated, unchanged, failed} as JSON");
    app.add_option("--separator", separator_,
                   "Between an upstream's slug and its tool names (the gateway's "
                   "gateway.name_separator)")
        ->capture_default_str();
    app.add_option("--max-tools", max_tools_,
                   "max_tools of the servers of a server list (0: no limit)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.footer(
        "Files (the format follows the extension: .yaml/.yml/.json are YAML/JSON; any other is\n"
        "a server list unless it starts with `gateways:`, `servers:` or '{'):\n"
        "\n"
        "  YAML/JSON: `gateways:` with the fields of POST /gateways, `servers:` with those of\n"
        "  POST /servers (tools/resources/prompts stand for associated_tools/...):\n"
        "    gateways:\n"
        "      - name: github\n"
        "        url: http://127.0.0.1:3101/mcp\n"
        "        headers: {Authorization: \"Bearer ...\"}\n"
        "      - name: files\n"
        "        command: npx\n"
        "        args: [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/srv\"]\n"
        "    servers:\n"
        "      - name: reviewers\n"
        "        description: What code reviewers need\n"
        "        tools: [github__get_pull_request, \"files__read_*\"]\n"
        "        max_tools: 20\n"
        "\n"
        "  Server list (the original project's format), one server per line,\n"
        "  name|enabled|upstream1,upstream2|description; '#' starts a comment:\n"
        "    # every tool of github and jira\n"
        "    dev-tools|true|github,jira|Everything for developers\n"
        "    archive|false|files|Not served for now\n"
        "  A server gets every tool of its upstreams (selectors like github__*; see\n"
        "  --separator) and max_tools 60 (--max-tools).\n"
        "\n"
        "Each item is created if absent, updated if a field the file sets differs (env and\n"
        "header values are not readable back: only their names compare), else left unchanged.\n"
        "Exit codes: 0 done; 1 an item failed (the others are applied); 2 bad usage or an\n"
        "unreadable file; 3 the gateway cannot be reached. Timeout: $MCP_GATEWAY_TIMEOUT\n"
        "seconds (default 30).\n"
        "\n"
        "Examples:\n"
        "  forge register upstreams.yaml servers.txt\n"
        "  forge register --dry-run --url http://gateway.internal:8000 servers.conf\n");
  }

  int run() override {
    if (files_.empty()) {
      std::fprintf(stderr, "forge register: no files given; e.g. forge register upstreams.yaml "
                           "(see forge register --help for the formats)\n");
      return kExitUsage;
    }
    if (separator_.empty()) {
      std::fprintf(stderr, "forge register: --separator must not be empty\n");
      return kExitUsage;
    }
    if (url_.empty()) {
      const char* env = std::getenv("MCP_GATEWAY_URL");
      url_ = env && *env ? env : kDefaultUrl;
    }
    while (!url_.empty() && url_.back() == '/')
      url_.pop_back();
    if (token_.empty()) {
      if (const char* env = std::getenv("MCP_GATEWAY_TOKEN")) token_ = env;
    }
    auto timeout = timeoutFromEnvironment();
    if (!timeout) {
      std::fprintf(stderr, "forge register: %s\n", timeout.error().message.c_str());
      return kExitUsage;
    }

    Plan plan;
    std::set<std::filesystem::path> read; // a file named twice is read once
    for (const auto& file : files_) {
      std::error_code ec;
      if (!read.insert(std::filesystem::weakly_canonical(file, ec)).second) continue;
      if (int code = readFile(file, plan); code != kExitOk) return code;
    }
    markDuplicates(plan);

    GatewayApi api(url_, token_, *timeout);
    auto gateways = api.list(Kind::kGateway);
    if (!gateways) return unreachable(gateways.error());
    auto servers = api.list(Kind::kServer);
    if (!servers) return unreachable(servers.error());

    Reporter report(json_, dry_run_);
    for (const auto& problem : plan.problems)
      report.add(Outcome{"file", problem.where, "failed", {}, {}, problem.message});

    for (const auto& d : plan.items) {
      if (d.kind == Kind::kGateway) report.add(apply(api, d, *gateways));
    }
    for (auto& d : plan.items) {
      if (d.kind != Kind::kServer) continue;
      if (d.from_server_list) {
        if (auto problem = resolveUpstreams(d, *gateways); !problem.empty()) {
          report.add(Outcome{
              "server", d.name, "failed", {}, {}, fmt::format("{}: {}", d.origin, problem)});
          continue;
        }
      }
      report.add(apply(api, d, *servers));
    }
    report.finish();
    return report.count("failed") > 0 ? kExitFailure : kExitOk;
  }

private:
  static core::Result<std::chrono::milliseconds> timeoutFromEnvironment() {
    const char* env = std::getenv("MCP_GATEWAY_TIMEOUT");
    double seconds = kDefaultTimeoutSeconds;
    if (env && *env) {
      char* end = nullptr;
      errno = 0;
      seconds = std::strtod(env, &end);
      if (errno != 0 || end == env || *end != '\0' || !(seconds > 0) || seconds > 86'400) {
        return core::Error{core::Errc::kInvalidParams,
                           fmt::format("MCP_GATEWAY_TIMEOUT='{}': expected a number of seconds "
                                       "(e.g. 30)",
                                       env)};
      }
    }
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }

  int readFile(const std::string& file, Plan& plan) const {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
      std::fprintf(stderr, "forge register: %s is a directory; give the files in it\n",
                   file.c_str());
      return kExitUsage;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "forge register: cannot read %s: %s\n", file.c_str(),
                   std::strerror(errno));
      return kExitUsage;
    }
    std::ostringstream content;
    content << in.rdbuf();
    const std::string text = content.str();
    switch (formatOf(file, text)) {
    case Format::kServerList:
      addServerList(file, text, max_tools_, plan);
      break;
    case Format::kJson:
    case Format::kYaml: {
      auto doc = formatOf(file, text) == Format::kJson ? parseJson(text) : parseYaml(text);
      if (const auto* error = std::get_if<SyntaxError>(&doc)) {
        plan.problems.push_back({fmt::format("{}:{}", file, error->line), error->message});
        break;
      }
      addStructured(file, std::get<Document>(doc), plan);
      break;
    }
    }
    return kExitOk;
  }

  // A name given twice (in one file or across files) is a problem: which one would win?
  static void markDuplicates(Plan& plan) {
    std::map<std::pair<Kind, std::string>, std::string> first;
    std::vector<Desired> kept;
    for (auto& d : plan.items) {
      auto [it, fresh] = first.emplace(std::pair{d.kind, d.name}, d.origin);
      if (fresh) {
        kept.push_back(std::move(d));
      } else {
        plan.problems.push_back({d.origin, fmt::format("{} '{}' is already defined at {}",
                                                       kindName(d.kind), d.name, it->second)});
      }
    }
    plan.items = std::move(kept);
  }

  int unreachable(const core::Error& error) const {
    std::fprintf(stderr, "forge register: %s\n", error.message.c_str());
    switch (error.code) {
    case core::Errc::kInvalidParams:
      std::fprintf(stderr,
                   "Give the gateway's address with --url (or MCP_GATEWAY_URL), e.g. "
                   "--url %s\n",
                   kDefaultUrl);
      return kExitUsage;
    case core::Errc::kUnavailable:
      std::fprintf(stderr, "Start it with `forge gateway`, or point --url (or MCP_GATEWAY_URL) "
                           "at the running gateway.\n");
      return kExitUnhealthy;
    case core::Errc::kTimeout:
      std::fprintf(stderr, "The gateway did not answer in time: check that it is healthy, or "
                           "allow more time with MCP_GATEWAY_TIMEOUT=SECONDS.\n");
      return kExitUnhealthy;
    case core::Errc::kBadGateway:
      std::fprintf(stderr, "Check that --url (or MCP_GATEWAY_URL) is the address of a Forge "
                           "gateway.\n");
      return kExitFailure;
    default:
      return kExitFailure;
    }
  }

  // Turns a server list's upstream names into tool selectors, from the gateways known now.
  // Returns a problem, or "" when every upstream is known.
  std::string resolveUpstreams(Desired& d,
                               const std::map<std::string, json::object>& gateways) const {
    std::vector<std::string> slugs, missing;
    for (const auto& ref : d.upstreams) {
      std::string slug;
      for (const auto& [name, g] : gateways) {
        const std::string s = g.contains("slug") && g.at("slug").is_string()
                                  ? std::string(g.at("slug").get_string())
                                  : storage::slugify(name);
        if (name == ref || s == ref || s == storage::slugify(ref)) {
          slug = s;
          if (name == ref) break;
        }
      }
      if (slug.empty()) {
        missing.push_back(ref);
      } else {
        slugs.push_back(slug);
      }
    }
    if (!missing.empty()) {
      std::vector<std::string> known;
      for (const auto& [name, g] : gateways)
        known.push_back(name);
      return fmt::format("unknown upstream{} '{}' (the gateway has: {})",
                         missing.size() > 1 ? "s" : "", fmt::join(missing, "', '"),
                         known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", ")));
    }
    json::array tools;
    for (auto& selector : everyToolOf(slugs, separator_))
      tools.emplace_back(selector);
    d.fields["associated_tools"] = std::move(tools);
    return "";
  }

  static json::value requestBody(const Desired& d) {
    if (d.kind == Kind::kServer) return json::object{{"server", d.fields}};
    return d.fields;
  }

  // Creates, updates or leaves one item; `current` (by name) follows what was written.
  Outcome apply(const GatewayApi& api, const Desired& d,
                std::map<std::string, json::object>& current) const {
    Outcome out{kindName(d.kind), d.name, "", {}, {}, {}};
    const auto failed = [&](const std::string& error) {
      out.action = "failed";
      out.error = fmt::format("{}: {}", d.origin, error);
      return out;
    };
    auto existing = current.find(d.name);
    if (existing == current.end()) {
      if (dry_run_) {
        out.action = "created";
        json::object planned = d.fields;
        planned["slug"] = storage::slugify(d.name);
        current[d.name] = std::move(planned);
        return out;
      }
      const auto body = requestBody(d);
      auto answer = api.call(net::Method::kPost, collectionOf(d.kind), &body);
      if (!answer) return failed(answer.error().message);
      if (answer->status == 409) {
        // Registered meanwhile (another registrar): compare with what is there now.
        auto now = api.list(d.kind);
        if (!now) return failed(now.error().message);
        current = std::move(*now);
        existing = current.find(d.name);
        if (existing == current.end()) return failed(GatewayApi::detail(*answer));
      } else if (answer->status / 100 == 2 && answer->body.is_object()) {
        out.action = "created";
        noteHealth(answer->body.get_object(), out);
        current[d.name] = answer->body.get_object();
        return out;
      } else {
        return failed(GatewayApi::detail(*answer));
      }
    }

    out.changed = differences(d.kind, d.fields, existing->second);
    if (out.changed.empty()) {
      out.action = "unchanged";
      return out;
    }
    if (dry_run_) {
      out.action = "updated";
      return out;
    }
    const auto* id = existing->second.if_contains("id");
    if (!id || !id->is_string()) return failed("the gateway's answer has no id for it");
    const auto body = requestBody(d);
    auto answer = api.call(net::Method::kPut,
                           fmt::format("{}/{}", collectionOf(d.kind), id->get_string()), &body);
    if (!answer) return failed(answer.error().message);
    if (answer->status / 100 != 2 || !answer->body.is_object())
      return failed(GatewayApi::detail(*answer));
    out.action = "updated";
    noteHealth(answer->body.get_object(), out);
    existing->second = answer->body.get_object();
    return out;
  }

  // An upstream that did not come up is registered all the same: say so.
  static void noteHealth(const json::object& record, Outcome& out) {
    const auto* reachable = record.if_contains("reachable");
    const auto* enabled = record.if_contains("enabled");
    if (out.type != "gateway" || !reachable || !reachable->is_bool() || reachable->get_bool())
      return;
    if (enabled && enabled->is_bool() && !enabled->get_bool()) return;
    std::string why;
    if (const auto* e = record.if_contains("lastError"); e && e->is_string())
      why = std::string(e->get_string());
    out.note = why.empty() ? "not reachable yet" : fmt::format("not reachable yet: {}", why);
  }

  std::vector<std::string> files_;
  std::string url_;
  std::string token_;
  bool dry_run_ = false;
  bool json_ = false;
  std::string separator_ = "__";
  std::int64_t max_tools_ = 60;
};

} // namespace

CommandPtr makeRegisterCommand() { return std::make_unique<RegisterCommand>(); }

} // namespace forge::cli
