#include "server/gateway.h"

#include "api/rest_api.h"
#include "catalog/catalog.h"
#include "core/log.h"
#include "core/version.h"
#include "gateway/gateway_app.h"
#include "identity/identity.h"
#include "server/admin_routes.h"
#include "server/metrics.h"
#include "storage/database.h"
#include "storage/worker.h"
#include "transport/legacy_sse.h"
#include "transport/rpc_endpoint.h"
#include "transport/streamable_http.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace forge::server {
namespace {

using net::Method;

// Creates the data directory (0700) if needed and checks that it is writable.
core::Status prepareDataDir(const std::string& dir) {
  std::error_code ec;
  // The database and generated secrets live here: readable by the owner alone.
  const bool created = std::filesystem::create_directories(dir, ec);
  if (created && !ec)
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  if (ec) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot create data directory '{}': {}", dir, ec.message())};
  }
  const auto probe = std::filesystem::path(dir) / ".write-test";
  std::FILE* f = std::fopen(probe.c_str(), "w");
  if (!f) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("data directory '{}' is not writable", dir)};
  }
  std::fclose(f);
  std::filesystem::remove(probe, ec);
  return core::Ok{};
}

void notFound(const net::ResponseWriterPtr& writer, const char* what, std::string_view id) {
  writer->send(
      net::Response::error(core::Errc::kNotFound, fmt::format("{} '{}' not found", what, id)));
}

} // namespace

Gateway::Gateway(GatewayOptions options)
    : options_(std::move(options)), metrics_(std::make_unique<GatewayMetrics>()),
      loop_(options_.io_threads), registry_(std::make_shared<gateway::UpstreamRegistry>(loop_)),
      started_(std::chrono::steady_clock::now()) {
  http_ = net::makeHttpServer(
      loop_, options_.http,
      [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
        identity_->handle(request, metrics_->countResponses(writer),
                          [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
                            router_.dispatch(r, w);
                          });
      });
}

Gateway::~Gateway() {
  registry_->stopAll();
  if (identity_) identity_->stop();
  if (catalog_) catalog_->stop();
}

gateway::GatewayAppOptions Gateway::appOptions() const {
  gateway::GatewayAppOptions app = options_.app;
  app.filter = catalog_->globalFilter();
  app.access = mcp_access_;
  return app;
}

std::shared_ptr<mcp::Application> Gateway::app(const gateway::GatewayAppOptions& options) {
  return metrics_->meter(gateway::makeGatewayApp(registry_, options));
}

void Gateway::addMcpRoutes() {
  auto all = app(appOptions());
  global_.streamable = std::make_unique<transport::StreamableHttp>(loop_, all, options_.transport);
  global_.streamable->addRoutes(router_, "/mcp");
  global_.sse = std::make_unique<transport::LegacySse>(loop_, all, options_.transport);
  global_.sse->addRoutes(router_, "/sse", "/message");
  rpc_ = std::make_unique<transport::RpcEndpoint>(loop_, all, options_.transport);
  rpc_->addRoutes(router_, "/rpc");
  for (Method m : {Method::kPost, Method::kGet, Method::kDelete})
    openapi_.add({m, "/mcp", "MCP Streamable HTTP endpoint: every upstream, aggregated", "mcp"});
  openapi_.add({Method::kGet, "/sse", "MCP HTTP+SSE event stream (2024-11-05 clients)", "mcp"});
  openapi_.add(
      {Method::kPost, "/message", "MCP HTTP+SSE message (?sessionId=...)", "mcp", "", "", 202});
  openapi_.add({Method::kPost, "/rpc", "One JSON-RPC request, answered in the response", "mcp"});
}

void Gateway::addDynamicRoutes() {
  const std::vector<Method> streamable{Method::kPost, Method::kGet, Method::kDelete};
  if (options_.upstream_endpoints) {
    router_.add(streamable, "/upstreams/{name}/mcp",
                [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                  const std::string name(request->param("name"));
                  // Another team's upstream does not exist for the caller.
                  const auto team = catalog_->upstreamTeam(name);
                  const bool visible =
                      !request->principal || (team && request->principal->roleFor(*team));
                  auto* endpoint = visible ? upstreamEndpoint(name) : nullptr;
                  if (!endpoint) return notFound(writer, "upstream", name);
                  endpoint->streamable->handle(request, writer);
                });
    for (Method m : streamable)
      openapi_.add(
          {m, "/upstreams/{name}/mcp", "MCP endpoint of one upstream, its own names", "mcp"});
  }
  router_.add(streamable, "/servers/{id}/mcp",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                const std::string id(request->param("id"));
                auto* endpoint = serverEndpoint(id, *request);
                if (!endpoint) return notFound(writer, "server", id);
                endpoint->streamable->handle(request, writer);
              });
  router_.add(Method::kGet, "/servers/{id}/sse",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                const std::string id(request->param("id"));
                auto* endpoint = serverEndpoint(id, *request);
                if (!endpoint) return notFound(writer, "server", id);
                endpoint->sse->openStream(request, writer, fmt::format("/servers/{}/message", id));
              });
  router_.add(Method::kPost, "/servers/{id}/message",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                const std::string id(request->param("id"));
                auto* endpoint = serverEndpoint(id, *request);
                if (!endpoint) return notFound(writer, "server", id);
                endpoint->sse->postMessage(request, writer);
              });
  for (Method m : streamable)
    openapi_.add(
        {m, "/servers/{id}/mcp", "MCP endpoint of a virtual server: its members only", "mcp"});
  openapi_.add(
      {Method::kGet, "/servers/{id}/sse", "HTTP+SSE event stream of a virtual server", "mcp"});
  openapi_.add({Method::kPost, "/servers/{id}/message", "HTTP+SSE message to a virtual server",
                "mcp", "", "", 202});
}

Gateway::Endpoint* Gateway::upstreamEndpoint(const std::string& name) {
  if (!registry_->find(name)) return nullptr;
  std::lock_guard lock(endpoints_mutex_);
  auto& endpoint = upstream_endpoints_[name];
  if (!endpoint.streamable) {
    gateway::GatewayAppOptions single = appOptions();
    single.upstreams = {name};
    single.prefix_names = false;
    endpoint.streamable =
        std::make_unique<transport::StreamableHttp>(loop_, app(single), options_.transport);
  }
  return &endpoint;
}

Gateway::Endpoint* Gateway::serverEndpoint(const std::string& id, const net::Request& request) {
  const auto team = catalog_->serverTeam(id);
  if (!team) return nullptr;
  // Another team's servers, and servers outside a token's scope, do not exist for the caller.
  if (request.principal && !request.principal->maySeeServer(id, *team)) return nullptr;
  std::lock_guard lock(endpoints_mutex_);
  auto& endpoint = server_endpoints_[id];
  if (!endpoint.streamable) {
    gateway::GatewayAppOptions members = options_.app;
    members.filter = catalog_->serverFilter(id);
    members.access = mcp_access_;
    auto server = app(members);
    endpoint.streamable =
        std::make_unique<transport::StreamableHttp>(loop_, server, options_.transport);
    endpoint.sse = std::make_unique<transport::LegacySse>(loop_, server, options_.transport);
  }
  return &endpoint;
}

void Gateway::forEachEndpoint(const std::function<void(Endpoint&)>& fn) {
  fn(global_);
  std::lock_guard lock(endpoints_mutex_);
  for (auto& [name, endpoint] : upstream_endpoints_)
    fn(endpoint);
  for (auto& [id, endpoint] : server_endpoints_)
    fn(endpoint);
}

namespace {

// Says which process answered a health check: replicas that share one listening socket
// (docs/MANAGER.md) are told apart by their process group, which the manager knows.
net::Response withProcessGroup(net::Response response) {
  response.headers.set("X-Forge-Pgid", std::to_string(::getpgrp()));
  return response;
}

} // namespace

void Gateway::addBuiltinRoutes() {
  router_.add(Method::kGet, "/health",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now() - started_);
                std::size_t sessions = 0; // open MCP sessions, for capacity reports
                forEachEndpoint([&sessions](Endpoint& endpoint) {
                  if (endpoint.streamable) sessions += endpoint.streamable->sessionCount();
                  if (endpoint.sse) sessions += endpoint.sse->sessionCount();
                });
                boost::json::object body{{"status", "ok"},
                                         {"version", core::kVersion},
                                         {"uptime_seconds", uptime.count()},
                                         {"sessions", sessions}};
                writer->send(
                    withProcessGroup(net::Response::json(200, boost::json::serialize(body))));
              });
  router_.add(Method::kGet, "/ready",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const bool draining = http_->draining();
                boost::json::object body{{"status", draining ? "draining" : "ready"}};
                writer->send(withProcessGroup(
                    net::Response::json(draining ? 503 : 200, boost::json::serialize(body))));
              });
  router_.add(Method::kGet, "/openapi.json",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                writer->send(net::Response::json(
                    200, boost::json::serialize(openapi_.render("Forge", core::kVersion))));
              });
  openapi_.add(
      {Method::kGet, "/health", "Liveness: status, version, uptime, open sessions", "health"});
  openapi_.add(
      {Method::kGet, "/ready", "Readiness: 503 while draining", "health", "", "", 200, {503}});
  openapi_.add({Method::kGet, "/openapi.json", "This document", "health"});
  addTlsReloadRoute();
}

// POST /admin/tls/reload: read the certificate and key again (platform admins). New connections
// get the new certificate; a pair that does not load is refused and the old one kept.
void Gateway::addTlsReloadRoute() {
  router_.add(Method::kPost, "/admin/tls/reload",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                const auto& caller = request->principal;
                if (!caller || !(caller->isPlatformAdmin() || caller->development)) {
                  return writer->send(net::Response::error(
                      core::Errc::kForbidden, "forbidden: reloading TLS needs a platform admin"));
                }
                if (auto status = http_->reloadTls(); !status) {
                  log::error("TLS reload refused, keeping the previous certificate: {}",
                             status.error().message);
                  return writer->send(
                      net::Response::error(core::Errc::kUnprocessable, status.error().message));
                }
                boost::json::object body{{"status", "reloaded"},
                                         {"certificate", options_.http.tls_cert_file}};
                writer->send(net::Response::json(200, boost::json::serialize(body)));
              });
  openapi_.add({Method::kPost,
                "/admin/tls/reload",
                "Read the TLS certificate and key again (platform admin)",
                "admin",
                "",
                "",
                200,
                {403, 422}});
}

void Gateway::addOperationsRoutes() {
  router_.add(Method::kGet, "/metrics",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                GatewayState state;
                for (const auto& name : registry_->names()) {
                  const auto upstream = registry_->find(name);
                  state.upstreams.push_back(
                      {name, upstream && upstream->state() == upstream::State::kReady});
                }
                forEachEndpoint([&state](Endpoint& endpoint) {
                  if (endpoint.streamable) state.sessions += endpoint.streamable->sessionCount();
                  if (endpoint.sse) state.sessions += endpoint.sse->sessionCount();
                });
                state.connections = http_->connections();
                state.process = processFigures(started_);
                net::Response response{200, {}, metrics_->render(state)};
                response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                writer->send(std::move(response));
              });
  openapi_.add({Method::kGet, "/metrics", "Prometheus metrics (text format 0.0.4)", "health"});
  addLogLevelRoutes(router_, openapi_);
}

core::Status Gateway::start() {
  if (auto status = prepareDataDir(options_.data_dir); !status) return status;
  auto identity =
      identity::Identity::prepare(options_.security, options_.data_dir, options_.http.host, loop_);
  if (!identity) return identity.error();
  identity_ = std::move(*identity);
  options_.transport.sealer = identity_->sessionSealer();
  auto db = storage::openDatabase(options_.database_url.reveal(), options_.data_dir);
  if (!db) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot open the database: {} (check database.url / "
                                   "DATABASE_URL)",
                                   db.error().message)};
  }
  catalog::CatalogOptions catalog_options;
  catalog_options.separator = options_.app.separator;
  catalog_options.discovery_timeout = options_.discovery_timeout;
  catalog_options.sync_interval = options_.catalog_sync_interval;
  catalog_options.metrics_flush_interval = options_.metrics_flush_interval;
  catalog_options.metrics_retention = options_.metrics_retention;
  catalog_options.secrets = identity_->secretBox();
  catalog_options.also_observer = metrics_.get();
  catalog_ = std::make_unique<catalog::Catalog>(
      loop_, registry_, std::make_unique<storage::StorageWorker>(std::move(*db)), catalog_options);
  if (auto status = catalog_->load(options_.upstreams); !status) {
    return core::Error{status.error().code,
                       fmt::format("loading the catalog: {}", status.error().message)};
  }
  if (auto status = identity_->start(catalog_->storage()); !status) {
    return core::Error{status.error().code,
                       fmt::format("starting identity and access: {}", status.error().message)};
  }
  mcp_access_ = identity_->mcpPolicy([catalog = catalog_.get()](const std::string& upstream) {
    return catalog->upstreamTeam(upstream);
  });
  rest_ = std::make_unique<api::RestApi>(*catalog_, registry_, started_);
  addBuiltinRoutes();
  addOperationsRoutes();
  identity_->addRoutes(router_, openapi_);
  addMcpRoutes();
  addDynamicRoutes();
  rest_->addRoutes(router_, openapi_);

  if (auto status = http_->listen(); !status) return status;
  registry_->startAll();
  const auto upstreams = registry_->names();
  if (upstreams.empty()) {
    log::info("no upstreams yet: register one with POST /gateways or `forge register`, or add "
              "an `upstreams:` list to forge.yaml (see forge.example.yaml)");
  } else {
    log::info("{} upstream(s): MCP at /mcp, /sse, /rpc, /upstreams/<name>/mcp and "
              "/servers/<id>/mcp",
              upstreams.size());
  }
  log::info("forge {} gateway listening on {}://{}:{} ({} I/O threads, data directory {})",
            core::kVersion, http_->tls() ? "https" : "http", options_.http.host, http_->port(),
            loop_.threads(), options_.data_dir);
  return core::Ok{};
}

void Gateway::run() {
  loop_.onTerminationSignal([this](int signal_number) {
    if (http_->draining()) {
      log::warn("second signal ({}): stopping now", strsignal(signal_number));
      loop_.stop();
      return;
    }
    log::info("received {}: draining (up to {} ms)", strsignal(signal_number),
              options_.drain_timeout.count());
    shutdown();
  });
  loop_.run();
  log::info("gateway stopped");
}

void Gateway::shutdown() {
  // Standing streams never end on their own; end them so in-flight requests alone set the pace.
  forEachEndpoint([](Endpoint& endpoint) {
    if (endpoint.streamable) endpoint.streamable->endStreams();
    if (endpoint.sse) endpoint.sse->endStreams();
  });
  http_->shutdown(options_.drain_timeout, [this] {
    forEachEndpoint([](Endpoint& endpoint) {
      if (endpoint.streamable) endpoint.streamable->closeAll();
      if (endpoint.sse) endpoint.sse->closeAll();
    });
    registry_->stopAll();
    loop_.stop();
  });
}

std::uint16_t Gateway::port() const { return http_->port(); }

} // namespace forge::server
