#include "api/shapes.h"

#include "api/body_reader.h"

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

// Header and environment values may be credentials: exports name them and hide the values.
json::object maskedObject(const std::map<std::string, std::string>& map) {
  json::object out;
  for (const auto& [key, value] : map)
    out[key] = kMaskedValue;
  return out;
}

// OAuth scopes: separated by spaces (RFC 6749 §3.3) or commas.
std::vector<std::string> splitScopes(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ' ' || c == ',' || c == '\t') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

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

// OAuth as ContextForge shows it, the client secret masked; null without OAuth.
json::value oauthJson(const storage::GatewayRecord& g) {
  if (g.oauth_token_url.empty()) return nullptr;
  json::array scopes;
  for (auto& scope : splitScopes(g.oauth_scope))
    scopes.emplace_back(std::move(scope));
  return json::object{{"grant_type", "client_credentials"},
                      {"token_url", g.oauth_token_url},
                      {"client_id", g.oauth_client_id},
                      {"client_secret", g.oauth_client_secret.empty() ? json::value(nullptr)
                                                                      : json::value(kMaskedValue)},
                      {"scopes", std::move(scopes)},
                      {"audience", g.oauth_audience.empty() ? json::value(nullptr)
                                                            : json::value(g.oauth_audience)}};
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
      {"teamId", g.team_id.empty() ? json::value(nullptr) : json::value(g.team_id)},
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
  out["authType"] = g.oauth_token_url.empty() ? json::value(nullptr) : json::value("oauth");
  out["oauthConfig"] = oauthJson(g);
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
                      {"teamId", s.team_id.empty() ? json::value(nullptr) : json::value(s.team_id)},
                      {"associatedTools", std::move(tools)},
                      {"associatedResources", std::move(resources)},
                      {"associatedPrompts", std::move(prompts)},
                      {"tags", stringArray(s.tags)},
                      {"endpoints", json::object{{"mcp", fmt::format("/servers/{}/mcp", s.id)},
                                                 {"sse", fmt::format("/servers/{}/sse", s.id)}}},
                      {"createdAt", s.created_at},
                      {"updatedAt", s.updated_at}};
}

namespace {

void clearOAuth(storage::GatewayRecord& g) {
  g.oauth_token_url.clear();
  g.oauth_client_id.clear();
  g.oauth_client_secret.clear();
  g.oauth_scope.clear();
  g.oauth_audience.clear();
}

// ContextForge's OAuth fields: auth_type "oauth" with oauth_config {grant_type, client_id,
// client_secret, token_url, scopes|scope, audience} (snake_case or camelCase). Only the
// client-credentials grant. On an update, fields not given keep their value, and a secret not
// given (or given as the mask that responses show) keeps the stored one. auth_type "none" (or
// "") removes OAuth.
void readOAuth(BodyReader& in, storage::GatewayRecord& g) {
  std::optional<std::string> auth_type;
  if (in.has("auth_type", "authType")) {
    std::string text;
    in.string("auth_type", "authType", text);
    auth_type = lower(text);
  }
  const json::value* config = in.find("oauth_config", "oauthConfig");
  const bool has_config = config && !config->is_null();
  if (auth_type && *auth_type != "oauth") {
    if (!auth_type->empty() && *auth_type != "none") {
      return in.fail("auth_type", "must be oauth or none (send other credentials as headers)");
    }
    if (has_config) return in.fail("oauth_config", "not allowed with auth_type none");
    return clearOAuth(g);
  }
  if (!auth_type && !has_config) return; // unchanged
  if (!has_config) {
    if (g.oauth_token_url.empty()) in.fail("oauth_config", "field required for auth_type oauth");
    return;
  }
  if (!config->is_object()) return in.fail("oauth_config", "must be an object");
  BodyReader oc(config->get_object());
  std::string grant = "client_credentials";
  std::string secret;
  oc.string("grant_type", "grantType", grant);
  oc.string("token_url", "tokenUrl", g.oauth_token_url);
  oc.string("client_id", "clientId", g.oauth_client_id);
  oc.string("client_secret", "clientSecret", secret);
  oc.string("audience", nullptr, g.oauth_audience);
  if (const auto* scopes = oc.find("scopes"); scopes && !scopes->is_null()) {
    std::vector<std::string> list;
    if (scopes->is_string()) {
      list = splitScopes(std::string(scopes->get_string()));
    } else {
      oc.list("scopes", nullptr, list);
    }
    g.oauth_scope.clear();
    for (const auto& scope : list)
      g.oauth_scope += (g.oauth_scope.empty() ? "" : " ") + scope;
  } else {
    oc.string("scope", nullptr, g.oauth_scope);
  }
  if (const auto& error = oc.error()) { // "field: problem" -> "oauth_config.field: problem"
    const std::string& message = error->message;
    const auto colon = message.find(": ");
    return in.fail("oauth_config." + message.substr(0, colon), message.substr(colon + 2));
  }
  if (!secret.empty() && secret != kMaskedValue) g.oauth_client_secret = secret;
  if (grant != "client_credentials")
    return in.fail("oauth_config.grant_type", "only client_credentials is supported");
  if (g.oauth_token_url.empty()) return in.fail("oauth_config.token_url", "field required");
  if (!g.oauth_token_url.starts_with("http://") && !g.oauth_token_url.starts_with("https://"))
    return in.fail("oauth_config.token_url", "must be an http:// or https:// URL");
  if (g.oauth_client_id.empty()) return in.fail("oauth_config.client_id", "field required");
  if (g.oauth_client_secret.empty()) return in.fail("oauth_config.client_secret", "field required");
}

// Stored credentials go only where they were configured to go: a change of destination (the
// URL, the command, the token URL) must come with the credentials again, or someone allowed to
// edit the gateway could send its secrets to a server of their own.
void keepCredentialsWhereTheyWere(BodyReader& in, const json::object& body,
                                  const storage::GatewayRecord& base,
                                  const storage::GatewayRecord& g) {
  auto resent = [&](const char* snake, const char* camel,
                    const std::map<std::string, std::string>& values) {
    if (!in.has(snake, camel)) return false;
    return std::none_of(values.begin(), values.end(),
                        [](const auto& kv) { return kv.second == kMaskedValue; });
  };
  if (g.url != base.url && !base.headers.empty() &&
      !resent("headers", "passthroughHeaders", g.headers)) {
    in.fail("headers", "send the headers again when the URL changes (stored credentials are not "
                       "sent to a new destination)");
  }
  if ((g.command != base.command || g.args != base.args) && !base.env.empty() &&
      !resent("env", nullptr, g.env)) {
    in.fail("env", "send env again when the command changes (stored values are not given to "
                   "another program)");
  }
  const auto* config = body.if_contains("oauth_config");
  if (!config) config = body.if_contains("oauthConfig");
  bool secret_resent = false;
  if (config && config->is_object()) {
    for (const char* key : {"client_secret", "clientSecret"}) {
      const auto* v = config->get_object().if_contains(key);
      if (v && v->is_string() && !v->get_string().empty() && v->get_string() != kMaskedValue)
        secret_resent = true;
    }
  }
  if (!g.oauth_token_url.empty() && g.oauth_token_url != base.oauth_token_url &&
      !base.oauth_client_secret.empty() && !secret_resent) {
    in.fail("oauth_config.client_secret", "send the client secret again when the token URL "
                                          "changes (it is not sent to a new destination)");
  }
}

} // namespace

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
  in.string("team_id", "teamId", g.team_id);
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
  readOAuth(in, g);
  if (!g.oauth_token_url.empty() && g.transport == "stdio")
    in.fail("auth_type", "oauth needs an SSE or STREAMABLEHTTP upstream");
  if (base) keepCredentialsWhereTheyWere(in, body, *base, g);
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
  in.string("team_id", "teamId", s.team_id);
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
                                        {"env", maskedObject(g.env)},
                                        {"cwd", g.cwd},
                                        {"headers", maskedObject(g.headers)},
                                        {"session_mode", g.session_mode},
                                        {"call_timeout_ms", g.call_timeout_ms},
                                        {"max_concurrency", g.max_concurrency},
                                        {"enabled", g.enabled},
                                        {"team_id", g.team_id},
                                        {"auth_type", g.oauth_token_url.empty() ? "none" : "oauth"},
                                        {"oauth_config", oauthJson(g)},
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
                                       {"team_id", s.team_id},
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

json::object auditJson(const storage::AuditRecord& r) {
  return json::object{{"id", r.id},
                      {"at", r.at},
                      {"actor", r.actor},
                      {"action", r.action},
                      {"targetType", r.target_type},
                      {"targetId", r.target_id},
                      {"result", r.result},
                      {"status", r.status},
                      {"detail", r.detail},
                      {"remote", r.remote},
                      {"requestId", r.request_id}};
}

} // namespace forge::api
