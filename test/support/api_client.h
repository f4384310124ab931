// Test helpers for the gateway's HTTP APIs: one-shot requests, JSON access, and a small MCP
// client over Streamable HTTP (with an optional bearer token). Used by the process tests.
#pragma once

#include "support/raw_http_client.h"

#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>

namespace forge::test {

namespace json = boost::json;

// A fresh, empty directory for the running test: <tmp>/<prefix>-<pid>-<test name>.
std::filesystem::path freshTestDir(const std::string& prefix);
// Writes <dir>/forge.yaml: one upstream, "fixture", forge-fixture over stdio.
void writeFixtureConfig(const std::filesystem::path& dir, const std::string& fixture_binary);

// One request on a fresh connection; status 0 when nothing (complete) came back in `timeout`.
HttpReply request(std::uint16_t port, std::string_view method, std::string_view path,
                  std::string_view body = {}, std::map<std::string, std::string> headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

json::value parse(const std::string& text);
std::string str(const json::value& value, std::string_view key);
// The element of an array whose `key` is `wanted`, or null.
json::value findBy(const json::value& list, std::string_view key, std::string_view wanted);
std::set<std::string> namesOf(const json::value& list, std::string_view key = "name");

// An error answer of the REST API: JSON with "detail" (and "error").
::testing::AssertionResult isJsonError(const HttpReply& reply, int status,
                                       std::string_view mentions = {});

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

// An MCP client over Streamable HTTP; with a token, every request carries
// "Authorization: Bearer <token>".
class McpClient {
public:
  McpClient(std::uint16_t port, std::string path, std::string token = {})
      : port_(port), path_(std::move(path)), token_(std::move(token)) {}

  // initialize, then notifications/initialized; false unless a session was opened.
  bool initialize();
  // One request; the JSON-RPC answer (with "result" or "error"), or null.
  json::value call(const std::string& method, json::object params = {});
  json::value callTool(const std::string& name, json::object arguments);
  // Every tool name tools/list gives (following nextCursor); {"<error>"} when it fails.
  std::set<std::string> toolNames();

  int status() const { return status_; }
  const std::string& session() const { return session_; }
  void setToken(std::string token) { token_ = std::move(token); }
  const HttpReply& lastReply() const { return last_; }

private:
  HttpReply post(const std::string& body);

  std::uint16_t port_;
  std::string path_;
  std::string token_;
  std::string session_;
  int next_id_ = 0;
  int status_ = 0;
  HttpReply last_;
};

bool isError(const json::value& answer);
std::string errorMessage(const json::value& answer);
// The first text content of a tools/call result.
std::string resultText(const json::value& answer);

} // namespace forge::test
