#include "server/gateway.h"

#include "core/log.h"
#include "core/version.h"
#include "gateway/gateway_app.h"
#include "transport/legacy_sse.h"
#include "transport/rpc_endpoint.h"
#include "transport/streamable_http.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <filesystem>
#include <system_error>

namespace forge::server {
namespace {

// Creates the data directory (0700) if needed and checks that it is writable.
core::Status prepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
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

} // namespace

Gateway::Gateway(GatewayOptions options)
    : options_(std::move(options)), loop_(options_.io_threads),
      registry_(std::make_shared<gateway::UpstreamRegistry>(loop_)),
      started_(std::chrono::steady_clock::now()) {
  for (const auto& upstream : options_.upstreams)
    registry_->add(upstream);
  addBuiltinRoutes();
  addMcpRoutes();
  http_ = net::makeHttpServer(
      loop_, options_.http,
      [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
        router_.dispatch(request, writer);
      });
}

Gateway::~Gateway() { registry_->stopAll(); }

void Gateway::addMcpRoutes() {
  auto all = gateway::makeGatewayApp(registry_, options_.app);
  streamable_.push_back(
      std::make_unique<transport::StreamableHttp>(loop_, all, options_.transport));
  streamable_.back()->addRoutes(router_, "/mcp");
  sse_ = std::make_unique<transport::LegacySse>(loop_, all, options_.transport);
  sse_->addRoutes(router_, "/sse", "/message");
  rpc_ = std::make_unique<transport::RpcEndpoint>(loop_, all, options_.transport);
  rpc_->addRoutes(router_, "/rpc");
  if (!options_.upstream_endpoints) return;
  for (const auto& upstream : options_.upstreams) {
    gateway::GatewayAppOptions single = options_.app;
    single.upstreams = {upstream.name};
    single.prefix_names = false;
    auto app = gateway::makeGatewayApp(registry_, single);
    streamable_.push_back(
        std::make_unique<transport::StreamableHttp>(loop_, app, options_.transport));
    streamable_.back()->addRoutes(router_, "/upstreams/" + upstream.name + "/mcp");
  }
}

void Gateway::addBuiltinRoutes() {
  router_.add(net::Method::kGet, "/health",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now() - started_);
                boost::json::object body{{"status", "ok"},
                                         {"version", core::kVersion},
                                         {"uptime_seconds", uptime.count()}};
                writer->send(net::Response::json(200, boost::json::serialize(body)));
              });
  router_.add(net::Method::kGet, "/ready",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const bool draining = http_->draining();
                boost::json::object body{{"status", draining ? "draining" : "ready"}};
                writer->send(
                    net::Response::json(draining ? 503 : 200, boost::json::serialize(body)));
              });
}

core::Status Gateway::start() {
  if (auto status = prepareDataDir(options_.data_dir); !status) return status;
  if (auto status = http_->listen(); !status) return status;
  registry_->startAll();
  if (options_.upstreams.empty()) {
    log::info("no upstreams configured: add an `upstreams:` list to forge.yaml (see "
              "forge.example.yaml); /mcp serves an empty catalog until then");
  } else {
    log::info("{} upstream(s): MCP at /mcp, /sse, /rpc and /upstreams/<name>/mcp",
              options_.upstreams.size());
  }
  log::info("forge {} gateway listening on http://{}:{} ({} I/O threads, data directory {})",
            core::kVersion, options_.http.host, http_->port(), loop_.threads(), options_.data_dir);
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
  for (auto& endpoint : streamable_)
    endpoint->endStreams();
  sse_->endStreams();
  http_->shutdown(options_.drain_timeout, [this] {
    for (auto& endpoint : streamable_)
      endpoint->closeAll();
    sse_->closeAll();
    registry_->stopAll();
    loop_.stop();
  });
}

std::uint16_t Gateway::port() const { return http_->port(); }

} // namespace forge::server
