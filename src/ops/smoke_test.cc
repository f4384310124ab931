#include "ops/smoke_test.h"

#include "net/http_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace forge::ops {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kProtocolVersion = "2025-06-18";

// The JSON-RPC answer in a response body: plain JSON, or the last message of an SSE stream
// that carries an id (progress and logging notifications come before it).
json::value answerIn(const std::string& body) {
  boost::system::error_code ec;
  auto whole = json::parse(body, ec);
  if (!ec) return whole;
  json::value found;
  std::size_t at = 0;
  while ((at = body.find("data:", at)) != std::string::npos) {
    at += 5;
    const auto end = body.find('\n', at);
    auto message = json::parse(body.substr(at, end - at), ec);
    if (!ec && message.is_object() && message.as_object().contains("id")) found = message;
    if (end == std::string::npos) break;
    at = end;
  }
  return found;
}

std::string errorText(const json::value& answer) {
  if (const auto* error = answer.as_object().if_contains("error"); error && error->is_object()) {
    const auto* message = error->as_object().if_contains("message");
    return message && message->is_string() ? std::string(message->as_string())
                                           : json::serialize(*error);
  }
  return {};
}

// A tool whose input schema requires nothing.
bool needsNoArguments(const json::object& tool) {
  const auto* schema = tool.if_contains("inputSchema");
  if (!schema || !schema->is_object()) return true;
  const auto* required = schema->as_object().if_contains("required");
  return !required || !required->is_array() || required->as_array().empty();
}

class Client {
public:
  explicit Client(const SmokeOptions& options) : options_(options) {}

  // One POST; on success the JSON-RPC answer (or null for a notification's 202).
  net::Response post(const json::value& message, std::string& failure) {
    net::HttpRequestSpec spec;
    spec.method = net::Method::kPost;
    spec.url = options_.base_url + options_.path;
    spec.timeout = options_.timeout;
    spec.body = json::serialize(message);
    headers(spec);
    spec.headers.set("Content-Type", "application/json");
    auto response = net::fetch(spec);
    if (!response) {
      failure = response.error().message;
      unreachable = true;
      return {};
    }
    return std::move(*response);
  }

  net::Response remove(std::string& failure) {
    net::HttpRequestSpec spec;
    spec.method = net::Method::kDelete;
    spec.url = options_.base_url + options_.path;
    spec.timeout = options_.timeout;
    headers(spec);
    auto response = net::fetch(spec);
    if (!response) {
      failure = response.error().message;
      return {};
    }
    return std::move(*response);
  }

  std::string session;
  bool unreachable = false; // the last POST got no answer at all

private:
  void headers(net::HttpRequestSpec& spec) const {
    spec.verify_peer = options_.verify_peer;
    spec.headers.set("Accept", "application/json, text/event-stream");
    if (!options_.token.empty()) spec.headers.set("Authorization", "Bearer " + options_.token);
    if (!session.empty()) {
      spec.headers.set("Mcp-Session-Id", session);
      spec.headers.set("MCP-Protocol-Version", kProtocolVersion);
    }
  }

  const SmokeOptions& options_;
};

// Times `step`, which fills detail and returns whether it passed.
template <class Step>
bool timed(SmokeReport& report, std::string name, Step step) {
  SmokeStep result;
  result.name = std::move(name);
  const auto started = Clock::now();
  result.ok = step(result.detail);
  result.milliseconds = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  report.steps.push_back(std::move(result));
  return report.steps.back().ok;
}

json::object request(int id, const char* method, json::object params) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

// Checks an answer to a request; false with detail set when it is not a result.
bool isResult(const net::Response& response, const json::value& answer, const std::string& failure,
              std::string& detail) {
  if (!failure.empty()) {
    detail = failure;
    return false;
  }
  if (response.status != 200) {
    detail = fmt::format("HTTP {}: {}", response.status, response.body.substr(0, 200));
    return false;
  }
  if (!answer.is_object()) {
    detail = "the answer is not JSON-RPC: " + response.body.substr(0, 200);
    return false;
  }
  if (auto error = errorText(answer); !error.empty()) {
    detail = "error: " + error;
    return false;
  }
  return true;
}

json::object initializeRequest() {
  return request(
      1, "initialize",
      json::object{{"protocolVersion", kProtocolVersion},
                   {"capabilities", json::object{}},
                   {"clientInfo", json::object{{"name", "forge-smoke-test"}, {"version", "1"}}}});
}

// "protocol 2025-06-18, server fixture" from an initialize result.
std::string describeInitialize(const json::object& result) {
  const auto* info = result.if_contains("serverInfo");
  const auto* name = info && info->is_object() ? info->as_object().if_contains("name") : nullptr;
  const auto* version = result.if_contains("protocolVersion");
  return fmt::format("protocol {}, server {}",
                     version && version->is_string() ? std::string(version->as_string()) : "?",
                     name && name->is_string() ? std::string(name->as_string()) : "?");
}

} // namespace

bool SmokeReport::ok() const {
  return !steps.empty() &&
         std::all_of(steps.begin(), steps.end(), [](const SmokeStep& s) { return s.ok; });
}

double SmokeReport::totalMilliseconds() const {
  double total = 0;
  for (const auto& s : steps)
    total += s.milliseconds;
  return total;
}

InitializeProbe probeInitialize(const std::string& url, std::chrono::milliseconds timeout) {
  SmokeOptions options;
  options.base_url = url;
  options.path = "";
  options.timeout = timeout;
  Client client(options);
  InitializeProbe probe;
  const auto started = Clock::now();
  std::string failure;
  const auto response = client.post(initializeRequest(), failure);
  probe.milliseconds = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  probe.date_header = std::string(response.headers.get("Date").value_or(""));
  const auto answer = answerIn(response.body);
  probe.ok = isResult(response, answer, failure, probe.detail);
  if (!probe.ok) return probe;
  probe.detail = describeInitialize(answer.at("result").as_object());
  client.session = std::string(response.headers.get("Mcp-Session-Id").value_or(""));
  if (!client.session.empty()) client.remove(failure); // leave nothing open behind
  return probe;
}

SmokeReport runSmokeTest(const SmokeOptions& options) {
  SmokeReport report;
  Client client(options);
  json::object tool_to_call;
  bool passed = timed(report, "initialize", [&](std::string& detail) {
    std::string failure;
    const auto response = client.post(initializeRequest(), failure);
    const auto answer = answerIn(response.body);
    if (!isResult(response, answer, failure, detail)) return false;
    client.session = std::string(response.headers.get("Mcp-Session-Id").value_or(""));
    detail = fmt::format("{}, session {}", describeInitialize(answer.at("result").as_object()),
                         client.session.empty() ? "none" : client.session.substr(0, 8) + "...");
    return true;
  });
  report.unreachable = !passed && client.unreachable;
  passed =
      passed && timed(report, "notifications/initialized", [&](std::string& detail) {
        std::string failure;
        const auto response = client.post(
            json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, failure);
        if (!failure.empty())
          detail = failure;
        else
          detail = fmt::format("HTTP {}", response.status);
        return failure.empty() && response.status == 202;
      });
  passed = passed && timed(report, "tools/list", [&](std::string& detail) {
             std::string failure;
             const auto response = client.post(request(2, "tools/list", {}), failure);
             const auto answer = answerIn(response.body);
             if (!isResult(response, answer, failure, detail)) return false;
             const auto* tools = answer.at("result").as_object().if_contains("tools");
             if (!tools || !tools->is_array()) {
               detail = "the result has no tools array";
               return false;
             }
             for (const auto& t : tools->as_array()) {
               const auto& tool = t.as_object();
               const std::string name(tool.at("name").as_string());
               const bool wanted =
                   options.tool.empty() ? needsNoArguments(tool) : name == options.tool;
               if (wanted && tool_to_call.empty()) tool_to_call = tool;
             }
             detail = fmt::format("{} tool(s)", tools->as_array().size());
             if (tool_to_call.empty()) {
               detail += options.tool.empty()
                             ? ": none takes no arguments; choose one with --tool NAME --args JSON"
                             : fmt::format(": '{}' is not among them (see the list with --json or "
                                           "GET /tools)",
                                           options.tool);
               return false;
             }
             return true;
           });
  passed =
      passed && timed(report, "tools/call", [&](std::string& detail) {
        report.tool = std::string(tool_to_call.at("name").as_string());
        boost::system::error_code ec;
        auto arguments = json::parse(options.arguments, ec);
        if (ec || !arguments.is_object()) {
          detail = "--args must be a JSON object";
          return false;
        }
        std::string failure;
        const auto response = client.post(
            request(3, "tools/call", json::object{{"name", report.tool}, {"arguments", arguments}}),
            failure);
        const auto answer = answerIn(response.body);
        if (!isResult(response, answer, failure, detail)) {
          detail = fmt::format("{}: {}", report.tool, detail);
          return false;
        }
        const auto& result = answer.at("result").as_object();
        const auto* is_error = result.if_contains("isError");
        if (is_error && is_error->is_bool() && is_error->as_bool()) {
          detail = fmt::format("{} answered isError: {}", report.tool,
                               json::serialize(result.at("content")).substr(0, 200));
          return false;
        }
        detail = report.tool;
        return true;
      });
  (void)passed;
  if (!client.session.empty()) {
    timed(report, "DELETE session", [&](std::string& detail) {
      std::string failure;
      const auto response = client.remove(failure);
      if (!failure.empty())
        detail = failure;
      else
        detail = fmt::format("HTTP {}", response.status);
      return failure.empty() && (response.status == 200 || response.status == 204);
    });
  }
  return report;
}

} // namespace forge::ops
