#include "api/openapi.h"

#include <fmt/format.h>

#include <cctype>
#include <map>

namespace forge::api {
namespace json = boost::json;
namespace {

json::object schemaRef(const std::string& name) {
  return json::object{{"$ref", "#/components/schemas/" + name}};
}

json::object schemaFor(const std::string& name) {
  if (name.empty()) return json::object{{"type", "object"}};
  if (name.front() == '[')
    return json::object{{"type", "array"}, {"items", schemaRef(name.substr(1, name.size() - 2))}};
  return schemaRef(name);
}

json::object stringProp() { return json::object{{"type", "string"}}; }
json::object boolProp() { return json::object{{"type", "boolean"}}; }
json::object intProp() { return json::object{{"type", "integer"}}; }
json::object listProp() { return json::object{{"type", "array"}, {"items", stringProp()}}; }
json::object mapProp() {
  return json::object{{"type", "object"}, {"additionalProperties", stringProp()}};
}

json::object objectSchema(json::object properties, std::vector<std::string> required = {}) {
  json::object out{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) {
    json::array names;
    for (auto& r : required)
      names.emplace_back(r);
    out["required"] = std::move(names);
  }
  return out;
}

// The routes served without a token (see identity::AccessGuard).
bool isPublic(const Operation& op) {
  const std::string& p = op.path;
  return p == "/health" || p == "/ready" || p == "/openapi.json" || p == "/auth/email/login" ||
         p.starts_with("/.well-known/");
}

json::object components() {
  json::object metrics = objectSchema({{"totalExecutions", intProp()},
                                       {"successfulExecutions", intProp()},
                                       {"failedExecutions", intProp()},
                                       {"failureRate", json::object{{"type", "number"}}},
                                       {"avgResponseTime", json::object{{"type", "number"}}}});
  json::object schemas{
      {"Error",
       objectSchema({{"detail", stringProp()}, {"error", stringProp()}}, {"detail", "error"})},
      {"GatewayCreate",
       objectSchema({{"name", stringProp()},
                     {"url", stringProp()},
                     {"transport", json::object{{"type", "string"},
                                                {"enum", {"SSE", "STREAMABLEHTTP", "STDIO"}}}},
                     {"command", stringProp()},
                     {"args", listProp()},
                     {"env", mapProp()},
                     {"cwd", stringProp()},
                     {"headers", mapProp()},
                     {"description", stringProp()},
                     {"session_mode", stringProp()},
                     {"call_timeout_ms", intProp()},
                     {"max_concurrency", intProp()},
                     {"enabled", boolProp()},
                     {"team_id", stringProp()},
                     {"auth_type", json::object{{"type", "string"}, {"enum", {"none", "oauth"}}}},
                     {"oauth_config", objectSchema({{"grant_type", stringProp()},
                                                    {"token_url", stringProp()},
                                                    {"client_id", stringProp()},
                                                    {"client_secret", stringProp()},
                                                    {"scopes", listProp()},
                                                    {"audience", stringProp()}},
                                                   {"token_url", "client_id", "client_secret"})},
                     {"tags", listProp()}},
                    {"name"})},
      {"Gateway", objectSchema({{"id", stringProp()},
                                {"name", stringProp()},
                                {"slug", stringProp()},
                                {"transport", stringProp()},
                                {"url", stringProp()},
                                {"enabled", boolProp()},
                                {"reachable", boolProp()},
                                {"health", stringProp()},
                                {"lastError", stringProp()},
                                {"tags", listProp()},
                                {"createdAt", stringProp()},
                                {"updatedAt", stringProp()}})},
      {"ServerCreate", objectSchema({{"server", objectSchema({{"name", stringProp()},
                                                              {"description", stringProp()},
                                                              {"icon", stringProp()},
                                                              {"associated_tools", listProp()},
                                                              {"associated_resources", listProp()},
                                                              {"associated_prompts", listProp()},
                                                              {"max_tools", intProp()},
                                                              {"enabled", boolProp()},
                                                              {"team_id", stringProp()},
                                                              {"tags", listProp()}},
                                                             {"name"})}})},
      {"Server", objectSchema({{"id", stringProp()},
                               {"name", stringProp()},
                               {"description", stringProp()},
                               {"enabled", boolProp()},
                               {"maxTools", intProp()},
                               {"associatedTools", listProp()},
                               {"associatedResources", listProp()},
                               {"associatedPrompts", listProp()},
                               {"tags", listProp()}})},
      {"Tool", objectSchema({{"id", stringProp()},
                             {"name", stringProp()},
                             {"originalName", stringProp()},
                             {"description", stringProp()},
                             {"inputSchema", json::object{{"type", "object"}}},
                             {"annotations", json::object{{"type", "object"}}},
                             {"enabled", boolProp()},
                             {"gatewayId", stringProp()},
                             {"gatewaySlug", stringProp()},
                             {"tags", listProp()},
                             {"metrics", metrics}})},
      {"Resource", objectSchema({{"id", stringProp()},
                                 {"uri", stringProp()},
                                 {"name", stringProp()},
                                 {"mimeType", stringProp()},
                                 {"isTemplate", boolProp()},
                                 {"enabled", boolProp()},
                                 {"gatewayId", stringProp()}})},
      {"Prompt", objectSchema({{"id", stringProp()},
                               {"name", stringProp()},
                               {"originalName", stringProp()},
                               {"description", stringProp()},
                               {"arguments", json::object{{"type", "array"}}},
                               {"enabled", boolProp()},
                               {"gatewayId", stringProp()}})},
      {"Tag", objectSchema({{"name", stringProp()},
                            {"stats", json::object{{"type", "object"}}},
                            {"entities", json::object{{"type", "array"}}}})},
      {"StateChange", objectSchema({{"status", stringProp()}, {"message", stringProp()}})},
  };
  // Bearer tokens: JWTs (login, `forge token create`) and API tokens ("forge_...").
  json::object security{
      {"bearerAuth",
       json::object{{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}};
  return json::object{{"schemas", std::move(schemas)}, {"securitySchemes", std::move(security)}};
}

const char* reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 400:
    return "Malformed request or body";
  case 404:
    return "Not found";
  case 409:
    return "Conflict (duplicate name, or state does not allow it)";
  case 422:
    return "Invalid field value (the message names the field)";
  case 502:
    return "The upstream failed";
  case 503:
    return "Not ready or draining";
  default:
    return "Response";
  }
}

std::string lowerMethod(net::Method method) {
  std::string name = net::methodName(method);
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string operationId(const Operation& op) {
  std::string id = lowerMethod(op.method);
  bool upper = true;
  for (char c : op.path) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      id += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    } else {
      upper = true;
    }
  }
  return id;
}

} // namespace

json::object OpenApiDocument::render(const std::string& title, const std::string& version) const {
  std::map<std::string, json::object> paths;
  for (const auto& op : operations_) {
    json::array parameters;
    std::string_view rest = op.path;
    for (auto open = rest.find('{'); open != std::string_view::npos; open = rest.find('{')) {
      const auto close = rest.find('}', open);
      std::string name(rest.substr(open + 1, close - open - 1));
      if (name.ends_with("...")) name.resize(name.size() - 3);
      parameters.push_back(json::object{
          {"name", name}, {"in", "path"}, {"required", true}, {"schema", stringProp()}});
      rest = rest.substr(close + 1);
    }
    for (const auto& query : op.queries)
      parameters.push_back(json::object{
          {"name", query}, {"in", "query"}, {"required", false}, {"schema", stringProp()}});
    json::object responses{
        {std::to_string(op.success_status),
         json::object{{"description", reason(op.success_status)},
                      {"content",
                       json::object{{"application/json",
                                     json::object{{"schema", schemaFor(op.response_schema)}}}}}}}};
    for (int status : op.errors) {
      responses[std::to_string(status)] = json::object{
          {"description", reason(status)},
          {"content",
           json::object{{"application/json", json::object{{"schema", schemaRef("Error")}}}}}};
    }
    json::object operation{{"summary", op.summary},
                           {"operationId", operationId(op)},
                           {"tags", json::array{json::value(op.tag)}},
                           {"responses", std::move(responses)}};
    if (!parameters.empty()) operation["parameters"] = std::move(parameters);
    if (isPublic(op)) operation["security"] = json::array{}; // no token needed
    if (!op.request_schema.empty()) {
      operation["requestBody"] = json::object{
          {"required", true},
          {"content", json::object{{"application/json",
                                    json::object{{"schema", schemaFor(op.request_schema)}}}}}};
    }
    std::string path = op.path;
    if (auto dots = path.find("...}"); dots != std::string::npos) path.erase(dots, 3);
    paths[path][lowerMethod(op.method)] = std::move(operation);
  }
  json::object paths_out;
  for (auto& [path, ops] : paths)
    paths_out[path] = std::move(ops);
  return json::object{
      {"openapi", "3.0.3"},
      {"info", json::object{{"title", title},
                            {"version", version},
                            {"description", "Forge MCP gateway: MCP endpoints and the management "
                                            "REST API (ContextForge-compatible shapes)."}}},
      {"paths", std::move(paths_out)},
      {"components", components()},
      {"security", json::array{json::object{{"bearerAuth", json::array{}}}}}};
}

} // namespace forge::api
