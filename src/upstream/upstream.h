// Upstream: one MCP server behind the gateway, and the client session Forge holds with it.
// It starts the connection (a child process or an HTTP endpoint), performs initialize, keeps
// a table of calls in flight with their deadlines, limits concurrency, and when the connection
// dies answers every call in flight with an error at once, then reconnects with back-off and
// initializes again. Every call gets exactly one answer.
#pragma once

#include "mcp/message.h"
#include "net/event_loop.h"
#include "upstream/channel.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace forge::upstream {

struct UpstreamConfig {
  std::string name;
  std::string transport = "stdio"; // stdio | streamable-http | sse
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;
  std::string url;
  std::map<std::string, std::string> headers;
  // HTTP transports: OAuth 2.0 client credentials; each request carries a bearer token.
  std::optional<OAuthClientCredentials> oauth;
  std::chrono::milliseconds call_timeout{60'000};
  std::chrono::milliseconds init_timeout{30'000};
  std::size_t max_concurrency = 64; // calls in flight; more wait in a queue
  std::size_t max_queue = 1024;     // beyond: refused at once
  std::chrono::milliseconds restart_initial{250};
  std::chrono::milliseconds restart_max{30'000};
  // Each client session gets an upstream session of its own (for stdio: its own process), so
  // that server-to-client requests can never be attributed to the wrong client.
  bool per_client_sessions = false;
};

enum class State { kStarting, kReady, kRestarting, kStopped };
const char* stateName(State state);

// Receives what an upstream sends besides answers. Called from I/O threads.
class UpstreamListener {
public:
  virtual ~UpstreamListener() = default;
  // `related` is the upstream-side id of the call it belongs to, when the transport says so.
  virtual void onNotification(const std::string& upstream, const mcp::Message& notification,
                              const std::optional<mcp::json::value>& related) = 0;
  // A server-to-client request (sampling, elicitation, roots). Answer through `respond` once.
  virtual void onServerRequest(const std::string& upstream, const mcp::Message& request,
                               const std::optional<mcp::json::value>& related,
                               std::function<void(mcp::Message response)> respond) = 0;
  // The upstream (re)initialized or went down.
  virtual void onStateChange(const std::string& upstream, State state,
                             const std::string& detail) = 0;
};

// An answer to a call: a result or an error message (also for timeouts and crashes). The
// handler owns it (a result can move on to the client without a copy).
using CallHandler = std::function<void(mcp::Message response)>;

class Upstream {
public:
  virtual ~Upstream() = default;
  virtual const UpstreamConfig& config() const = 0;
  virtual void start() = 0;
  // Stops for good: calls in flight are answered with an error. Does not wait.
  virtual void stop() = 0;
  // After stop(): waits (at most `limit`) until the connection is gone, e.g. the process exited.
  virtual void waitStopped(std::chrono::milliseconds limit) = 0;
  virtual State state() const = 0;
  virtual std::string lastError() const = 0;
  // The current session's initialize result (protocolVersion, capabilities, serverInfo).
  virtual mcp::json::object initializeResult() const = 0;
  virtual std::size_t inFlight() const = 0;
  virtual int pid() const = 0;

  // Sends a request: its method and params (or raw_params), and forward_only: the caller only
  // passes the result on, so it may come as raw_result instead of parsed. The upstream gives it
  // an id of its own and returns it (for cancel() and for matching related messages).
  // `on_answer` runs exactly once. `on_id`, when given, runs with that id before the request can
  // reach the upstream, so that messages related to it can already be matched.
  virtual mcp::json::value
  call(mcp::Message request, CallHandler on_answer,
       std::function<void(const mcp::json::value& id)> on_id = nullptr) = 0;
  mcp::json::value call(std::string method, mcp::json::value params, CallHandler on_answer) {
    return call(mcp::makeRequest(nullptr, std::move(method), std::move(params)),
                std::move(on_answer));
  }
  // Cancels a call: notifications/cancelled upstream, and the caller is answered with an error.
  virtual void cancel(const mcp::json::value& upstream_id, const std::string& reason) = 0;
  virtual void notify(std::string method, mcp::json::value params) = 0;
};
using UpstreamPtr = std::shared_ptr<Upstream>;

// The listener must outlive the upstream.
UpstreamPtr makeUpstream(net::EventLoop& loop, UpstreamConfig config, UpstreamListener& listener);

// Makes the channel for a configuration (used by makeUpstream; tests may use it directly). An
// HTTP channel with `config.oauth` uses `tokens`, or tokens of its own when that is null.
ChannelPtr makeChannel(net::EventLoop& loop, const UpstreamConfig& config,
                       AccessTokensPtr tokens = nullptr);

} // namespace forge::upstream
