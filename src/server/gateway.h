// Gateway: the `forge gateway` process. It owns the event loop, the HTTP server and the route
// table, the upstreams (UpstreamRegistry), the catalog (database, REST API, virtual servers) and
// the MCP endpoints in front of them:
//   /mcp (Streamable HTTP), /sse + /message (HTTP+SSE), /rpc (plain JSON-RPC) for all upstreams,
//   /upstreams/<name>/mcp for each upstream alone, under its own names,
//   /servers/<id>/mcp, /servers/<id>/sse + /servers/<id>/message for each virtual server;
// serves /health, /ready, /openapi.json, /metrics, /admin/log-level, the REST API and the identity
// API; every request passes the identity component's AccessGuard first (authentication, rate
// limits, audit). It shuts down gracefully on SIGTERM/SIGINT: readiness turns 503 at once,
// in-flight requests finish within server.drain_timeout, upstream processes are stopped, then the
// process exits.
#pragma once

#include "api/openapi.h"
#include "core/error.h"
#include "gateway/registry.h"
#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/router.h"
#include "server/gateway_config.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace forge::transport {
class StreamableHttp;
class LegacySse;
class RpcEndpoint;
} // namespace forge::transport

namespace forge::catalog {
class Catalog;
}
namespace forge::api {
class RestApi;
}
namespace forge::identity {
class Identity;
}

namespace forge::server {

class GatewayMetrics;

class Gateway {
public:
  explicit Gateway(GatewayOptions options);
  ~Gateway();

  // Prepares the data directory, opens and migrates the database, seeds the configured
  // upstreams, registers the routes and binds the listener. Errors say what to fix.
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
  // The MCP endpoints of one upstream or one virtual server, made on first use.
  struct Endpoint {
    std::unique_ptr<transport::StreamableHttp> streamable;
    std::unique_ptr<transport::LegacySse> sse;
  };

  gateway::GatewayAppOptions appOptions() const; // the configured ones, with the catalog's filter
  void addBuiltinRoutes();
  // GET /metrics (Prometheus text) and the log level (admin_routes.h).
  void addOperationsRoutes();
  // An MCP application over the registry with `options`, its requests counted.
  std::shared_ptr<mcp::Application> app(const gateway::GatewayAppOptions& options);
  void addTlsReloadRoute();
  void addMcpRoutes();
  void addDynamicRoutes();
  Endpoint* upstreamEndpoint(const std::string& name);
  // The endpoint of a virtual server the request's caller may reach, or null (answered 404).
  Endpoint* serverEndpoint(const std::string& id, const net::Request& request);
  void forEachEndpoint(const std::function<void(Endpoint&)>& fn);

  GatewayOptions options_;
  std::unique_ptr<GatewayMetrics> metrics_; // first built, last destroyed: all others count
  net::EventLoop loop_;
  net::Router router_;
  api::OpenApiDocument openapi_;
  std::unique_ptr<net::HttpServer> http_;
  std::shared_ptr<gateway::UpstreamRegistry> registry_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<api::RestApi> rest_;
  std::unique_ptr<identity::Identity> identity_;
  std::shared_ptr<const gateway::AccessPolicy> mcp_access_;
  Endpoint global_;
  std::unique_ptr<transport::RpcEndpoint> rpc_;
  std::mutex endpoints_mutex_;
  std::map<std::string, Endpoint> upstream_endpoints_; // by upstream name
  std::map<std::string, Endpoint> server_endpoints_;   // by virtual server id
  std::chrono::steady_clock::time_point started_;
};

} // namespace forge::server
