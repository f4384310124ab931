// The REST API's JSON shapes, as ContextForge clients know them: records to JSON (camelCase
// fields), and request bodies to records (snake_case or camelCase accepted) with validation
// that names the offending field. Pure functions: no I/O.
#pragma once

#include "core/error.h"
#include "storage/store.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forge::api {

namespace json = boost::json;

// Parses a request body that must be a JSON object (400 otherwise).
core::Result<json::object> parseBody(const std::string& body);

// "STDIO" / "SSE" / "STREAMABLEHTTP" for a stored transport, and back (case-insensitive;
// "streamable-http" and "http" accepted too).
std::string transportLabel(const std::string& transport);
std::optional<std::string> parseTransport(const std::string& label);

// Metrics of one tool as ContextForge reports them.
json::object metricsJson(const storage::CallMetrics* metrics);

json::object gatewayJson(const storage::GatewayRecord& g);
json::object toolJson(const storage::ToolRecord& t, const storage::GatewayRecord* gateway,
                      const storage::CallMetrics* metrics);
json::object resourceJson(const storage::ResourceRecord& r, const storage::GatewayRecord* gateway);
json::object promptJson(const storage::PromptRecord& p, const storage::GatewayRecord* gateway);
json::object serverJson(const storage::ServerRecord& s);
json::object auditJson(const storage::AuditRecord& r);

// What exports show instead of header and environment values (credentials are never exported in
// clear); importing a gateway that still carries it is refused.
inline constexpr std::string_view kMaskedValue = "********";

// A gateway from a POST body (every required field) or merged into `base` from a PUT body (the
// fields given). Errors are kUnprocessable and name the field.
core::Result<storage::GatewayRecord> gatewayFromBody(const json::object& body,
                                                     const storage::GatewayRecord* base);
// A server from {"server": {...}} or a flat body; the same merge rule.
core::Result<storage::ServerRecord> serverFromBody(const json::object& body,
                                                   const storage::ServerRecord* base);

// The export document: everything needed to rebuild the catalog elsewhere.
json::object exportJson(const std::vector<storage::GatewayRecord>& gateways,
                        const std::vector<storage::ServerRecord>& servers,
                        const std::vector<storage::ToolRecord>& tools);

// A boolean query parameter ("true"/"false"/"1"/"0"); `fallback` when absent.
core::Result<bool> boolParam(const std::optional<std::string>& value, const char* name,
                             bool fallback);

} // namespace forge::api
