// Manager: the `forge manager` process. It owns the event loop, the HTTP server on
// manager.host:manager.port (9000), the Supervisor of the services in services.yml, the MCP
// proxy through which supervised MCP servers are reached (so that their traffic is seen, idle
// ones sleep and the next request wakes them), and the same identity component as the gateway
// (users, tokens, roles, audit, in the shared database), so the API is authenticated alike.
//
// API: GET /health (public), GET /services, GET /services/{name},
// POST /services/{name}/start|stop|restart|sleep|wake, POST /services/{name}/scale,
// GET /services/{name}/logs?tail=N, GET /services/{name}/metrics, GET /system/resources,
// GET /metrics (Prometheus), GET|PUT /admin/log-level (server/admin_routes.h),
// /services/{name}/mcp (the service's MCP endpoint, proxied),
// POST /reload (services.yml read again), GET /bluegreen and POST /bluegreen/switch.
//
// Blue-green: with `bluegreen.port` set the manager also serves that port itself (a second HTTP
// server, without the manager's authentication: the services authenticate) and proxies every
// request to a running replica of the live colour. A switch changes the colour new requests go
// to; requests in flight finish where they started. The live colour is kept in
// <data_dir>/manager/bluegreen-live across restarts of the manager.
#pragma once

#include "core/error.h"
#include "manager/service_config.h"
#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/router.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace forge::identity {
class Identity;
}
namespace forge::net {
class HttpProxy;
}
namespace forge::storage {
class StorageWorker;
}
namespace forge::api {
class OpenApiDocument;
}

namespace forge::manager {

class Supervisor;

class Manager {
public:
  explicit Manager(ManagerOptions options);
  ~Manager();

  // Opens the shared database, prepares authentication, binds the port, kills what a previous
  // manager left running and starts the auto_start services. Errors say what to fix.
  core::Status start();
  // Serves until SIGTERM/SIGINT, then stops every service (SIGTERM, SIGKILL after each
  // service's grace period) and returns.
  void run();
  void shutdown();
  std::uint16_t port() const;

private:
  void addRoutes();
  void proxy(const net::RequestPtr& request, const net::ResponseWriterPtr& writer);
  void addBlueGreenRoutes();
  // The front of a blue-green pair: forwards to the live colour.
  void forwardToLive(const net::RequestPtr& request, const net::ResponseWriterPtr& writer);
  std::string liveColour() const;
  std::string liveFile() const;

  ManagerOptions options_;
  net::EventLoop loop_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> http_;
  std::unique_ptr<net::HttpServer> front_; // the blue-green port, when configured
  mutable std::mutex live_mutex_;
  std::string live_ = "blue"; // the colour the front forwards to
  std::unique_ptr<storage::StorageWorker> storage_;
  std::unique_ptr<identity::Identity> identity_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<net::HttpProxy> proxy_;
  std::chrono::steady_clock::time_point started_;
};

} // namespace forge::manager
