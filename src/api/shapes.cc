#include "api/shapes.h"

#include "core/version.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace forge::api {
namespace {

constexpr std::size_t kMaxNameLength = 255;

json::value parsedOr(const std::string& text, json::value fallback) {
  if (text.empty()) return fallback;
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  return ec ? fallback : value;
}

json::array stringArray(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& item : list)
    out.emplace_back(item);
  return out;
}

json::object stringObject(const std::map<std::string, std::string>& map) {
  json::object out;
  for (const auto& [key, value] : map)
    out[key] = value;
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

core::Error invalid(const std::string& field, const std::string& message) {
  return core::Error{core::Errc::kUnprocessable, fmt::format("{}: {}", field, message)};
}

// Reads fields of a request body by their snake_case name or its camelCase alias, keeping the
// first problem found so that the answer names the field.
class BodyReader {
public:
  explicit BodyReader(const json::object& body) : body_(body) {}

  const json::value* find(const char* snake, const char* camel = nullptr) const {
    if (const auto* v = body_.if_contains(snake)) return v;
    return camel ? body_.if_contains(camel) : nullptr;
  }
  bool has(const char* snake, const char* camel = nullptr) const {
    const auto* v = find(snake, camel);
    return v && !v->is_null();
  }

  void string(const char* snake, const char* camel, std::string& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return fail(snake, "must be a string");
    out = std::string(v->get_string());
  }
  void boolean(const char* snake, const char* camel, bool& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_bool()) return fail(snake, "must be true or false");
    out = v->get_bool();
  }
  void integer(const char* snake, const char* camel, std::int64_t& out, std::int64_t min,
               std::int64_t max) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_int64() && !v->is_uint64()) return fail(snake, "must be an integer");
    const auto n = v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
    if (n < min || n > max) return fail(snake, fmt::format("must be between {} and {}", min, max));
    out = n;
  }
  // A list of strings; a comma-separated string is accepted too (ContextForge's forms).
  void list(const char* snake, const char* camel, std::vector<std::string>& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    std::vector<std::string> items;
    if (v->is_string()) {
      std::string_view rest = v->get_string();
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string item(rest.substr(0, comma));
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) items.push_back(std::move(item));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else if (v->is_array()) {
      for (const auto& item : v->get_array()) {
        if (item.is_string()) {
          items.emplace_back(item.get_string());
        } else if (item.is_object() && item.get_object().if_contains("id") &&
                   item.get_object().at("id").is_string()) {
          items.emplace_back(item.get_object().at("id").get_string()); // {"id": ...} objects
        } else {
          return fail(snake, "must be a list of strings");
        }
      }
    } else {
      return fail(snake, "must be a list of strings");
    }
    out = std::move(items);
  }
  void map(const char* snake, const char* camel, std::map<std::string, std::string>& out) {
    const auto* v = find(snake, camel);
    if (!v || v->is_null()) return;
    if (!v->is_object()) return fail(snake, "must be an object of strings");
    std::map<std::string, std::string> items;
    for (const auto& [key, value] : v->get_object()) {
      if (!value.is_string())
        return fail(fmt::format("{}.{}", snake, std::string(key)), "must be a string");
      items[std::string(key)] = std::string(value.get_string());
    }
    out = std::move(items);
  }

  void fail(const std::string& field, const std::string& message) {
    if (!error_) error_ = invalid(field, message);
  }
  const std::optional<core::Error>& error() const { return error_; }

private:
  const json::object& body_;
  std::optional<core::Error> error_;
};

void checkName(BodyReader& reader, const std::string& name) {
  if (name.empty()) return reader.fail("name", "field required");
  if (name.size() > kMaxNameLength)
    return reader.fail("name", fmt::format("at most {} characters", kMaxNameLength));
  if (storage::slugify(name).empty()) reader.fail("name", "must contain a letter or a digit");
  for (unsigned char c : name)
    if (c < 0x20) return reader.fail("name", "must not contain control characters");
}

} // namespace

core::Result<json::object> parseBody(const std::string& body) {
  if (body.empty())
    return core::Error{core::Errc::kBadRequest, "request body required (a JSON object)"};
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec)
    return core::Error{core::Errc::kBadRequest, fmt::format("body is not JSON: {}", ec.message())};
  if (!value.is_object()) return core::Error{core::Errc::kBadRequest, "body must be a JSON object"};
  return std::move(value.get_object());
}

std::string transportLabel(const std::string& transport) {
  if (transport == "sse") return "SSE";
  if (transport == "streamable-http") return "STREAMABLEHTTP";
  return "STDIO";
}

std::optional<std::string> parseTransport(const std::string& label) {
  const std::string l = lower(label);
  if (l == "sse") return "sse";
  if (l == "streamablehttp" || l == "streamable-http" || l == "streamable_http" || l == "http")
    return "streamable-http";
  if (l == "stdio") return "stdio";
  return std::nullopt;
}

json::object metricsJson(const storage::CallMetrics* m) {
  const std::int64_t calls = m ? m->calls : 0;
  const std::int64_t errors = m ? m->errors : 0;
  json::object out{
      {"totalExecutions", calls},
      {"successfulExecutions", calls - errors},
      {"failedExecutions", errors},
      {"failureRate", calls ? static_cast<double>(errors) / static_cast<double>(calls) : 0.0}};
  if (m && calls) {
    out["minResponseTime"] = m->min_ms / 1000.0;
    out["maxResponseTime"] = m->max_ms / 1000.0;
    out["avgResponseTime"] = m->total_ms / 1000.0 / static_cast<double>(calls);
    out["lastExecutionTime"] = m->last_hour;
  } else {
    out["minResponseTime"] = nullptr;
    out["maxResponseTime"] = nullptr;
    out["avgResponseTime"] = nullptr;
    out["lastExecutionTime"] = nullptr;
  }
  return out;
}

json::object gatewayJson(const storage::GatewayRecord& g) {
  json::object out{
      {"id", g.id},
      {"name", g.name},
      {"slug", g.slug},
      {"description", g.description},
      {"transport", transportLabel(g.transport)},
      {"url", g.url},
      {"command", g.command},
      {"args", stringArray(g.args)},
      {"cwd", g.cwd},
      {"sessionMode", g.session_mode},
      {"callTimeoutMs", g.call_timeout_ms},
      {"maxConcurrency", g.max_concurrency},
      {"enabled", g.enabled},
      {"isActive", g.enabled},
      {"reachable", g.reachable},
      {"health", g.health},
      {"lastError", g.last_error},
      {"capabilities", parsedOr(g.capabilities, json::object{})},
      {"source", g.source},
      {"tags", stringArray(g.tags)},
      {"createdAt", g.created_at},
      {"updatedAt", g.updated_at},
      {"lastSeen", g.last_seen.empty() ? json::value(nullptr) : json::value(g.last_seen)}};
  // Header values and environment values may be credentials: names only.
  json::array header_names, env_names;
  for (const auto& [name, value] : g.headers)
    header_names.emplace_back(name);
  for (const auto& [name, value] : g.env)
    env_names.emplace_back(name);
  out["headerNames"] = std::move(header_names);
  out["envNames"] = std::move(env_names);
  return out;
}

json::object toolJson(const storage::ToolRecord& t, const storage::GatewayRecord* gateway,
                      const storage::CallMetrics* metrics) {
  json::object out{{"id", t.id},
                   {"name", t.name},
                   {"originalName", t.original_name},
                   {"displayName", t.name},
                   {"customName", t.original_name},
                   {"description", t.description},
                   {"inputSchema", parsedOr(t.input_schema, json::object{})},
                   {"outputSchema", parsedOr(t.output_schema, nullptr)},
                   {"annotations", parsedOr(t.annotations, json::object{})},
                   {"integrationType", "MCP"},
                   {"requestType", gateway ? transportLabel(gateway->transport) : "STDIO"},
                   {"enabled", t.enabled},
                   {"isActive", t.enabled},
                   {"reachable", gateway && gateway->reachable},
                   {"gatewayId", t.gateway_id},
                   {"gatewaySlug", gateway ? gateway->slug : ""},
                   {"tags", stringArray(t.tags)},
                   {"createdAt", t.created_at},
                   {"updatedAt", t.updated_at},
                   {"executionCount", metrics ? metrics->calls : 0},
                   {"metrics", metricsJson(metrics)}};
  return out;
}

json::object resourceJson(const storage::ResourceRecord& r, const storage::GatewayRecord* gateway) {
  return json::object{{"id", r.id},
                      {"uri", r.uri},
                      {"name", r.name},
                      {"description", r.description},
                      {"mimeType", r.mime_type},
                      {"isTemplate", r.is_template},
                      {"enabled", r.enabled},
                      {"isActive", r.enabled},
                      {"gatewayId", r.gateway_id},
                      {"gatewaySlug", gateway ? gateway->slug : ""},
                      {"tags", stringArray(r.tags)},
                      {"createdAt", r.created_at},
                      {"updatedAt", r.updated_at}};
}

json::object promptJson(const storage::PromptRecord& p, const storage::GatewayRecord* gateway) {
  return json::object{{"id", p.id},
                      {"name", p.name},
                      {"originalName", p.original_name},
                      {"description", p.description},
                      {"arguments", parsedOr(p.arguments, json::array{})},
                      {"enabled", p.enabled},
                      {"isActive", p.enabled},
                      {"gatewayId", p.gateway_id},
                      {"gatewaySlug", gateway ? gateway->slug : ""},
                      {"tags", stringArray(p.tags)},
                      {"createdAt", p.created_at},
                      {"updatedAt", p.updated_at}};
}

json::object serverJson(const storage::ServerRecord& s) {
  json::array tools, resources, prompts;
  for (const auto& m : s.members) {
    auto& list = m.kind == storage::MemberKind::kTool       ? tools
                 : m.kind == storage::MemberKind::kResource ? resources
                                                            : prompts;
    list.emplace_back(m.selector);
  }
  return json::object{{"id", s.id},
                      {"name", s.name},
                      {"description", s.description},
                      {"icon", s.icon},
                      {"enabled", s.enabled},
                      {"isActive", s.enabled},
                      {"maxTools", s.max_tools},
                      {"associatedTools", std::move(tools)},
                      {"associatedResources", std::move(resources)},
                      {"associatedPrompts", std::move(prompts)},
                      {"tags", stringArray(s.tags)},
                      {"endpoints", json::object{{"mcp", fmt::format("/servers/{}/mcp", s.id)},
                                                 {"sse", fmt::format("/servers/{}/sse", s.id)}}},
                      {"createdAt", s.created_at},
                      {"updatedAt", s.updated_at}};
}

core::Result<storage::GatewayRecord> gatewayFromBody(const json::object& body,
                                                     const storage::GatewayRecord* base) {
  storage::GatewayRecord g = base ? *base : storage::GatewayRecord{};
  BodyReader in(body);
  in.string("name", nullptr, g.name);
  in.string("description", nullptr, g.description);
  in.string("url", nullptr, g.url);
  in.string("command", nullptr, g.command);
  in.list("args", nullptr, g.args);
  in.map("env", nullptr, g.env);
  in.string("cwd", nullptr, g.cwd);
  in.map("headers", "passthroughHeaders", g.headers);
  in.string("session_mode", "sessionMode", g.session_mode);
  in.integer("call_timeout_ms", "callTimeoutMs", g.call_timeout_ms, 1, 86'400'000);
  in.integer("max_concurrency", "maxConcurrency", g.max_concurrency, 1, 100'000);
  in.boolean("enabled", "isActive", g.enabled);
  in.list("tags", nullptr, g.tags);
  std::string transport;
  in.string("transport", nullptr, transport);
  if (in.error()) return *in.error();
  checkName(in, g.name);
  if (!transport.empty()) {
    auto parsed = parseTransport(transport);
    if (!parsed)
      in.fail("transport", "must be one of SSE, STREAMABLEHTTP, STDIO");
    else
      g.transport = *parsed;
  } else if (!base || in.has("url") || in.has("command")) {
    // ContextForge's inference: a command is stdio; a URL ending in /sse is SSE; else HTTP.
    if (!g.command.empty())
      g.transport = "stdio";
    else if (g.url.ends_with("/sse") || g.url.find("/sse?") != std::string::npos)
      g.transport = "sse";
    else
      g.transport = "streamable-http";
  }
  if (g.session_mode != "shared" && g.session_mode != "per-client")
    in.fail("session_mode", "must be shared or per-client");
  if (g.transport == "stdio" && g.command.empty()) in.fail("command", "required for STDIO");
  if (g.transport != "stdio") {
    if (g.url.empty())
      in.fail("url", "field required");
    else if (!g.url.starts_with("http://") && !g.url.starts_with("https://"))
      in.fail("url", "must be an http:// or https:// URL");
  }
  if (in.error()) return *in.error();
  // The slug is fixed at registration: tool names and servers' selectors are built on it.
  if (!base) g.slug = storage::slugify(g.name);
  return g;
}

core::Result<storage::ServerRecord> serverFromBody(const json::object& outer,
                                                   const storage::ServerRecord* base) {
  const json::object* body = &outer;
  if (const auto* wrapped = outer.if_contains("server")) {
    if (!wrapped->is_object()) return invalid("server", "must be an object");
    body = &wrapped->get_object();
  }
  storage::ServerRecord s = base ? *base : storage::ServerRecord{};
  BodyReader in(*body);
  in.string("name", nullptr, s.name);
  in.string("description", nullptr, s.description);
  in.string("icon", nullptr, s.icon);
  in.boolean("enabled", "isActive", s.enabled);
  in.integer("max_tools", "maxTools", s.max_tools, 0, 100'000);
  in.list("tags", nullptr, s.tags);
  struct KindField {
    storage::MemberKind kind;
    const char* snake;
    const char* camel;
  };
  for (const auto& [kind, snake, camel] :
       {KindField{storage::MemberKind::kTool, "associated_tools", "associatedTools"},
        KindField{storage::MemberKind::kResource, "associated_resources", "associatedResources"},
        KindField{storage::MemberKind::kPrompt, "associated_prompts", "associatedPrompts"}}) {
    if (!in.has(snake, camel)) continue;
    std::vector<std::string> selectors;
    in.list(snake, camel, selectors);
    std::erase_if(s.members, [kind = kind](const storage::Member& m) { return m.kind == kind; });
    for (auto& selector : selectors)
      s.members.push_back(storage::Member{kind, std::move(selector)});
  }
  if (in.error()) return *in.error();
  checkName(in, s.name);
  if (in.error()) return *in.error();
  return s;
}

json::object exportJson(const std::vector<storage::GatewayRecord>& gateways,
                        const std::vector<storage::ServerRecord>& servers,
                        const std::vector<storage::ToolRecord>& tools) {
  std::map<std::string, std::string> gateway_names;
  json::array gateways_out;
  for (const auto& g : gateways) {
    gateway_names[g.id] = g.name;
    gateways_out.push_back(json::object{{"name", g.name},
                                        {"description", g.description},
                                        {"transport", transportLabel(g.transport)},
                                        {"url", g.url},
                                        {"command", g.command},
                                        {"args", stringArray(g.args)},
                                        {"env", stringObject(g.env)},
                                        {"cwd", g.cwd},
                                        {"headers", stringObject(g.headers)},
                                        {"session_mode", g.session_mode},
                                        {"call_timeout_ms", g.call_timeout_ms},
                                        {"max_concurrency", g.max_concurrency},
                                        {"enabled", g.enabled},
                                        {"tags", stringArray(g.tags)}});
  }
  json::array servers_out;
  for (const auto& s : servers) {
    auto server = serverJson(s);
    servers_out.push_back(json::object{{"name", s.name},
                                       {"description", s.description},
                                       {"icon", s.icon},
                                       {"enabled", s.enabled},
                                       {"max_tools", s.max_tools},
                                       {"tags", stringArray(s.tags)},
                                       {"associated_tools", server["associatedTools"]},
                                       {"associated_resources", server["associatedResources"]},
                                       {"associated_prompts", server["associatedPrompts"]}});
  }
  // Tools are discovered, not exported; what an operator set on them is.
  json::array tools_out;
  for (const auto& t : tools) {
    if (t.enabled && t.tags.empty()) continue;
    tools_out.push_back(json::object{{"gateway", gateway_names[t.gateway_id]},
                                     {"original_name", t.original_name},
                                     {"enabled", t.enabled},
                                     {"tags", stringArray(t.tags)}});
  }
  return json::object{
      {"version", "forge-export/1"},       {"exported_by", fmt::format("forge {}", core::kVersion)},
      {"exported_at", storage::nowUtc()},  {"gateways", std::move(gateways_out)},
      {"servers", std::move(servers_out)}, {"tools", std::move(tools_out)}};
}

core::Result<bool> boolParam(const std::optional<std::string>& value, const char* name,
                             bool fallback) {
  if (!value) return fallback;
  const std::string v = lower(*value);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return core::Error{core::Errc::kUnprocessable,
                     fmt::format("query parameter {}: must be true or false", name)};
}

} // namespace forge::api
