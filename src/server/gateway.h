// Gateway: the `forge gateway` process. It owns the event loop, the HTTP server and the route
// table, the upstreams (UpstreamRegistry) and the MCP endpoints in front of them:
//   /mcp (Streamable HTTP), /sse + /message (HTTP+SSE), /rpc (plain JSON-RPC) for all upstreams,
//   /upstreams/<name>/mcp for each upstream alone, under its own names;
// serves /health and /ready, and shuts down gracefully on SIGTERM/SIGINT: readiness turns 503 at
// once, in-flight requests finish within server.drain_timeout, upstream processes are stopped,
// then the process exits.
#pragma once

#include "core/error.h"
#include "gateway/registry.h"
#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/router.h"
#include "server/gateway_config.h"

#include <chrono>
#include <memory>
#include <vector>

namespace forge::transport {
class StreamableHttp;
class LegacySse;
class RpcEndpoint;
} // namespace forge::transport

namespace forge::server {

class Gateway {
public:
  explicit Gateway(GatewayOptions options);
  ~Gateway();

  // Prepares the data directory and binds the listener. Errors say what to fix.
  core::Status start();
  // Serves until shutdown completes; installs the SIGTERM/SIGINT handlers.
  void run();
  // Starts a graceful shutdown (thread-safe).
  void shutdown();

  std::uint16_t port() const;
  net::Router& router() { return router_; }
  net::EventLoop& loop() { return loop_; }
  gateway::UpstreamRegistry& upstreams() { return *registry_; }

private:
  void addBuiltinRoutes();
  void addMcpRoutes();

  GatewayOptions options_;
  net::EventLoop loop_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> http_;
  std::shared_ptr<gateway::UpstreamRegistry> registry_;
  std::vector<std::unique_ptr<transport::StreamableHttp>> streamable_;
  std::unique_ptr<transport::LegacySse> sse_;
  std::unique_ptr<transport::RpcEndpoint> rpc_;
  std::chrono::steady_clock::time_point started_;
};

} // namespace forge::server
