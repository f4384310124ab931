#include "support/api_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <fstream>

namespace forge::test {

std::filesystem::path freshTestDir(const std::string& prefix) {
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("{}-{}-{}", prefix, ::getpid(),
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void writeFixtureConfig(const std::filesystem::path& dir, const std::string& fixture_binary) {
  std::ofstream(dir / "forge.yaml")
      << fmt::format("gateway:\n  discovery_timeout: 8s\n"
                     "upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                     fixture_binary);
}

HttpReply request(std::uint16_t port, std::string_view method, std::string_view path,
                  std::string_view body, std::map<std::string, std::string> headers,
                  std::chrono::milliseconds timeout) {
  RawConnection connection;
  if (!connection.connect(port)) return {};
  std::string text = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
                                 method, path, port);
  if (!body.empty() && !headers.count("Content-Type")) headers["Content-Type"] = "application/json";
  for (const auto& [name, value] : headers)
    text += fmt::format("{}: {}\r\n", name, value);
  if (!body.empty() || method == "POST" || method == "PUT")
    text += fmt::format("Content-Length: {}\r\n", body.size());
  text += "\r\n";
  text += body;
  if (!connection.send(text)) return {};
  auto reply = connection.readReply(timeout);
  return reply ? *reply : HttpReply{};
}

json::value parse(const std::string& text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  return ec ? json::value(nullptr) : value;
}

std::string str(const json::value& value, std::string_view key) {
  if (!value.is_object()) return {};
  const auto* v = value.get_object().if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::value findBy(const json::value& list, std::string_view key, std::string_view wanted) {
  if (!list.is_array()) return nullptr;
  for (const auto& item : list.get_array())
    if (str(item, key) == wanted) return item;
  return nullptr;
}

std::set<std::string> namesOf(const json::value& list, std::string_view key) {
  std::set<std::string> out;
  if (list.is_array())
    for (const auto& item : list.get_array())
      out.insert(str(item, key));
  return out;
}

::testing::AssertionResult isJsonError(const HttpReply& reply, int status,
                                       std::string_view mentions) {
  if (reply.status != status)
    return ::testing::AssertionFailure()
           << "status " << reply.status << ", expected " << status << ": " << reply.body;
  const auto body = parse(reply.body);
  if (str(body, "detail").empty() || str(body, "error").empty())
    return ::testing::AssertionFailure()
           << "not a JSON error with detail and error: " << reply.body;
  if (!mentions.empty() && str(body, "detail").find(mentions) == std::string::npos)
    return ::testing::AssertionFailure()
           << "detail does not name '" << mentions << "': " << reply.body;
  return ::testing::AssertionSuccess();
}

bool McpClient::initialize() {
  auto reply = post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{)"
                    R"("protocolVersion":"2025-06-18","capabilities":{},)"
                    R"("clientInfo":{"name":"forge-test","version":"1"}}})");
  status_ = reply.status;
  session_ = reply.header("mcp-session-id");
  if (reply.status != 200 || session_.empty()) return false;
  post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  return true;
}

json::value McpClient::call(const std::string& method, json::object params) {
  const int id = ++next_id_;
  auto reply = post(json::serialize(
      json::object{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}));
  status_ = reply.status;
  if (reply.header("content-type").find("text/event-stream") == std::string::npos)
    return parse(reply.body);
  // An SSE answer: the data line that carries our id.
  std::string_view rest = reply.body;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (!line.starts_with("data:")) continue;
    auto message = parse(std::string(line.substr(5)));
    if (message.is_object() && message.get_object().if_contains("id") &&
        message.get_object().at("id") == json::value(id))
      return message;
  }
  return nullptr;
}

json::value McpClient::callTool(const std::string& name, json::object arguments) {
  return call("tools/call", json::object{{"name", name}, {"arguments", std::move(arguments)}});
}

std::set<std::string> McpClient::toolNames() {
  std::set<std::string> names;
  json::object params;
  for (int page = 0; page < 50; ++page) {
    auto answer = call("tools/list", params);
    const auto* result = answer.is_object() ? answer.get_object().if_contains("result") : nullptr;
    if (!result || !result->is_object()) return {"<error>"};
    names.merge(namesOf(result->get_object().at("tools")));
    const auto cursor = str(*result, "nextCursor");
    if (cursor.empty()) break;
    params["cursor"] = cursor;
  }
  return names;
}

HttpReply McpClient::post(const std::string& body) {
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"},
                                             {"Accept", "application/json, text/event-stream"}};
  if (!session_.empty()) headers["Mcp-Session-Id"] = session_;
  if (!token_.empty()) headers["Authorization"] = "Bearer " + token_;
  last_ = request(port_, "POST", path_, body, headers);
  return last_;
}

bool isError(const json::value& answer) {
  return answer.is_object() && answer.get_object().contains("error") &&
         !answer.get_object().contains("result");
}

std::string errorMessage(const json::value& answer) {
  if (!isError(answer)) return {};
  return str(answer.get_object().at("error"), "message");
}

std::string resultText(const json::value& answer) {
  if (!answer.is_object()) return {};
  const auto* result = answer.get_object().if_contains("result");
  if (!result || !result->is_object()) return {};
  const auto* content = result->get_object().if_contains("content");
  if (!content || !content->is_array() || content->get_array().empty()) return {};
  return str(content->get_array().front(), "text");
}

} // namespace forge::test
