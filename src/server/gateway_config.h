// The configuration keys of the gateway process (server.*, log.*, data_dir) and their
// translation into the typed options of the modules that use them.
#pragma once

#include "config/config.h"
#include "core/log.h"
#include "core/secret.h"
#include "gateway/gateway_app.h"
#include "identity/security_options.h"
#include "net/http_server.h"
#include "transport/http_session.h"
#include "upstream/upstream.h"

#include <chrono>
#include <string>

namespace forge::server {

struct LogOptions {
  log::Level level = log::Level::kInfo;
  log::Format format = log::Format::kText;
};

struct GatewayOptions {
  net::HttpServerOptions http;
  std::size_t io_threads = 0; // 0: one per CPU core
  std::chrono::milliseconds drain_timeout{15'000};
  std::string data_dir = "./data";
  LogOptions log;
  transport::HttpTransportOptions transport;
  gateway::GatewayAppOptions app; // the aggregated endpoint (/mcp, /sse, /rpc)
  bool upstream_endpoints = true; // also serve /upstreams/<name>/mcp, own names kept
  std::vector<upstream::UpstreamConfig> upstreams; // seeded into the catalog on start
  core::Secret database_url;                       // empty: SQLite in data_dir
  std::chrono::milliseconds discovery_timeout{15'000};
  std::chrono::milliseconds catalog_sync_interval{2'000}; // zero: never
  std::chrono::milliseconds metrics_flush_interval{5'000};
  std::chrono::milliseconds metrics_retention{std::chrono::hours(14 * 24)}; // zero: for ever
  identity::SecurityOptions security;
};

// Keys shared by every long-running Forge process: log.*.
config::Schema logSchema();
// Every key `forge gateway` reads.
config::Schema gatewaySchema();

LogOptions logOptions(const config::Config& config);
// Throws config::ConfigError for values that are valid alone but not together (an stdio
// upstream without a command, two upstreams with one name...).
GatewayOptions gatewayOptions(const config::Config& config);

} // namespace forge::server
