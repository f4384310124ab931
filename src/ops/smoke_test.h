// The smoke test: a real MCP client exchange with the gateway over Streamable HTTP
// (initialize, notifications/initialized, tools/list, one tools/call, DELETE of the session),
// each step timed. Used by `forge smoke-test` and `forge verify gateway`.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace forge::ops {

struct SmokeOptions {
  std::string base_url; // http://127.0.0.1:8000
  std::string path = "/mcp";
  std::string token; // bearer token; empty: none
  // The tool to call, by its exposed name; empty: the first tool without required arguments.
  std::string tool;
  std::string arguments = "{}";              // JSON object
  std::chrono::milliseconds timeout{30'000}; // for each step
  // https: false only for a replica on this machine reached by its own port (forge verify),
  // whose certificate names the public host, not 127.0.0.1 (net::HttpRequestSpec::verify_peer).
  bool verify_peer = true;
};

struct SmokeStep {
  std::string name;
  bool ok = false;
  double milliseconds = 0;
  std::string detail; // what was seen; for a failure, what to do
};

struct SmokeReport {
  std::vector<SmokeStep> steps;
  std::string tool;         // the tool called
  bool unreachable = false; // nothing answered initialize at all (connection refused, timeout)
  bool ok() const;
  double totalMilliseconds() const;
};

// Runs the exchange; stops at the first failed step (but still ends an opened session).
SmokeReport runSmokeTest(const SmokeOptions& options);

// An MCP initialize sent to a Streamable HTTP server (an upstream), its session ended again.
struct InitializeProbe {
  bool ok = false;
  double milliseconds = 0;
  std::string detail;      // "protocol 2025-06-18, server fixture", or what failed
  std::string date_header; // the answer's Date header, for clock skew; empty when none
};
InitializeProbe probeInitialize(const std::string& url, std::chrono::milliseconds timeout);

} // namespace forge::ops
