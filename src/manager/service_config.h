// The service manager's configuration, `services.yml`: the manager's own keys (manager.*,
// data_dir, database.url and auth.* for authentication like the gateway's) and the `services:`
// it supervises. Loaded through the config module, so a bad file is rejected with the key and
// the line ("services.yml:14: 'services[1].health.interval': ...").
#pragma once

#include "config/config.h"
#include "core/error.h"
#include "core/secret.h"
#include "identity/security_options.h"
#include "server/gateway_config.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace forge::manager {

struct HealthCheck {
  std::string type = "none"; // none | http (GET path answers 2xx) | mcp (initialize + ping) | tcp
  std::string path = "/health";
  // http | https (a replica serving TLS, such as a gateway with server.tls_cert; the check
  // speaks TLS to 127.0.0.1 without verifying the certificate, which names the public host).
  std::string scheme = "http";
  std::chrono::milliseconds interval{5'000};
  std::chrono::milliseconds timeout{2'000};
  int retries = 3; // consecutive failures before a running replica counts as unhealthy
  bool operator==(const HealthCheck&) const = default;
};

struct RestartPolicy {
  std::string policy = "on-failure"; // always | on-failure | never
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  int crash_loop_restarts = 5; // this many crashes within crash_loop_window: crash-loop state
  std::chrono::milliseconds crash_loop_window{60'000};
  bool operator==(const RestartPolicy&) const = default;
};

struct SleepPolicy {
  bool enabled = false;
  std::chrono::milliseconds idle_timeout{300'000};  // no MCP traffic this long: sleep
  std::chrono::milliseconds min_sleep_time{60'000}; // never sleep sooner after a wake or start
  int priority = 0;                                 // lower sleeps first under pressure
  std::string mode = "pause";                       // pause (SIGSTOP, fast wake) | stop
  bool operator==(const SleepPolicy&) const = default;
};

struct ServiceConfig {
  std::string name;
  std::string kind = "generic"; // generic | mcp | gateway | postgres | redis
  // argv; "{port}", "{replica}", "{data_dir}", "{name}" and "{release}" are replaced per replica
  // ("{release}" also in `env`: the directory of the release `release` points at, see
  // manager/releases.h).
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string cwd;
  std::uint16_t port = 0; // 0: none
  // true: every replica serves `port` through one listening socket the manager binds (on
  // `host`) and hands down as descriptor 3 with FORGE_LISTEN_FD=3 (SO_REUSEPORT is set on it, so
  // processes started by hand may join); false: replica i listens on port + i itself.
  bool shared_port = false;
  std::string host = "127.0.0.1"; // where a shared port is bound
  HealthCheck health;
  std::uint64_t memory_limit = 0; // bytes; 0: none
  double cpu_limit = 0;           // cores; 0: none
  RestartPolicy restart;
  int replicas = 1;
  bool auto_start = true;
  SleepPolicy sleep;
  std::chrono::milliseconds stop_grace{10'000}; // SIGTERM, then SIGKILL after this
  std::string mcp_path = "/mcp";                // where an mcp service serves MCP
  std::string release = "current";              // the release pointer "{release}" follows
  bool operator==(const ServiceConfig&) const = default;
};

// Two services that serve the same thing, one of them live: the manager serves `port` itself and
// proxies every request to the live colour's replicas; a switch moves new requests to the other
// colour at once while those in flight finish where they are. Off when `port` is 0.
struct BlueGreen {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string blue; // service names
  std::string green;
};

struct ManagerOptions {
  net::HttpServerOptions http; // manager.host, manager.port (9000)
  std::size_t io_threads = 2;
  std::string data_dir = "./data"; // logs in <data_dir>/logs, state in <data_dir>/manager
  core::Secret database_url;       // users and tokens, shared with the gateway
  server::LogOptions log;
  identity::SecurityOptions security;
  std::string cgroup_root; // cgroup v2 directory for per-replica cgroups; empty: rlimits only
  std::uint64_t log_max_bytes = 10 * 1024 * 1024;
  int log_keep = 5;
  std::vector<ServiceConfig> services;
  BlueGreen bluegreen;
  // Reads services.yml again (with the same flags and environment), for POST /reload; unset:
  // the manager cannot reload.
  std::function<core::Result<std::vector<ServiceConfig>>()> reload;
};

// Every key `forge manager` reads.
config::Schema managerSchema();
// Throws config::ConfigError for values that are wrong together (names used twice, a health
// check without a port...), naming the item and the line.
ManagerOptions managerOptions(const config::Config& config);

// The argv of replica `replica` of `service`, placeholders replaced ("{release}" by
// `release_dir`).
std::vector<std::string> replicaCommand(const ServiceConfig& service, int replica,
                                        const std::string& data_dir,
                                        const std::string& release_dir = {});
// `service.env` with "{release}" replaced by `release_dir`.
std::map<std::string, std::string> replicaEnv(const ServiceConfig& service,
                                              const std::string& release_dir);
// True when the service's command or environment says "{release}".
bool usesRelease(const ServiceConfig& service);
// The port replica `replica` listens on (0 when the service has none).
std::uint16_t replicaPort(const ServiceConfig& service, int replica);

} // namespace forge::manager
