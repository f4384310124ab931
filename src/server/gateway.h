// Gateway: the `forge gateway` process. It owns the event loop, the HTTP server and the route
// table, serves /health and /ready, and shuts down gracefully on SIGTERM/SIGINT: readiness turns
// 503 at once, in-flight requests finish within server.drain_timeout, then the process exits.
#pragma once

#include "core/error.h"
#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/router.h"
#include "server/gateway_config.h"

#include <chrono>
#include <memory>

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

private:
  void addBuiltinRoutes();

  GatewayOptions options_;
  net::EventLoop loop_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> http_;
  std::chrono::steady_clock::time_point started_;
};

} // namespace forge::server
