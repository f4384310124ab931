#include "server/gateway_config.h"

#include "identity/security_config.h"
#include "ops/monitor.h"

#include <fmt/format.h>

#include <regex>
#include <set>

namespace forge::server {

using config::KeySpec;
using config::Type;

config::Schema logSchema() {
  config::Schema schema;
  schema.add({.key = "log.level",
              .type = Type::kEnum,
              .default_value = "info",
              .help = "Minimum level written: trace, debug, info, warn, error, off",
              .choices = {"trace", "debug", "info", "warn", "error", "off"}});
  schema.add({.key = "log.format",
              .type = Type::kEnum,
              .default_value = "text",
              .help = "Log line format: text (for people) or json (one object per line)",
              .choices = {"text", "json"}});
  return schema;
}

config::Schema gatewaySchema() {
  config::Schema schema = logSchema();
  identity::addSecurityKeys(schema);
  ops::addMonitorKeys(schema); // read by `forge monitor`, kept in the same forge.yaml
  schema.add({.key = "log.access",
              .type = Type::kBool,
              .default_value = "true",
              .help = "Write one line per HTTP request (method, path, status, bytes, duration)"});
  schema.add({.key = "metrics.public",
              .type = Type::kBool,
              .default_value = "false",
              .help = "Serve GET /metrics without a token (for a Prometheus scraper); otherwise "
                      "any authenticated caller may read it"});
  schema.add({.key = "data_dir",
              .type = Type::kString,
              .default_value = "./data",
              .help = "Directory for the database, generated secrets and backups"});
  schema.add({.key = "database.url",
              .type = Type::kSecret,
              .help = "Where the catalog is kept: empty for SQLite <data_dir>/forge.db, "
                      "sqlite:///path/file.db, or postgresql://user:password@host:5432/db",
              .env_aliases = {"DATABASE_URL"}});
  schema.add({.key = "gateway.discovery_timeout",
              .type = Type::kDuration,
              .default_value = "15s",
              .help = "How long registering an upstream waits for it to connect and list its "
                      "tools before answering"});
  schema.add({.key = "gateway.catalog_sync_interval",
              .type = Type::kDuration,
              .default_value = "2s",
              .help = "How often the gateway looks for changes other instances sharing its "
                      "database made to upstreams, tools and servers (0: never)"});
  schema.add({.key = "metrics.flush_interval",
              .type = Type::kDuration,
              .default_value = "5s",
              .help = "How often tool call metrics are written to the database"});
  schema.add({.key = "metrics.retention",
              .type = Type::kDuration,
              .default_value = "14d",
              .help = "How long per-minute call latency (monitoring, reports) is kept; 0 keeps it "
                      "for ever"});
  schema.add({.key = "server.host",
              .type = Type::kString,
              .default_value = "127.0.0.1",
              .help = "Address the gateway listens on (0.0.0.0 for every interface)"});
  schema.add({.key = "server.port",
              .type = Type::kInt,
              .default_value = "8000",
              .help = "TCP port of the gateway (0 picks a free one)",
              .min = 0,
              .max = 65535});
  schema.add({.key = "server.io_threads",
              .type = Type::kInt,
              .default_value = "0",
              .help = "I/O threads; 0 means one per CPU core",
              .min = 0,
              .max = 256});
  schema.add({.key = "server.reuse_port",
              .type = Type::kBool,
              .default_value = "false",
              .help = "Set SO_REUSEPORT so that several gateway processes share the port"});
  schema.add({.key = "server.listen_fd",
              .type = Type::kInt,
              .default_value = "-1",
              .help = "Serve this inherited listening socket instead of binding host:port (set "
                      "by `forge manager` for services with shared_port; -1: none)",
              .min = -1,
              .max = 65535,
              .env_aliases = {"FORGE_LISTEN_FD"}});
  schema.add({.key = "server.own_listen_fd",
              .type = Type::kInt,
              .default_value = "-1",
              .help = "Also serve this inherited listening socket: a replica's port of its own, "
                      "set by `forge manager` beside server.listen_fd so that commands meant "
                      "for every replica reach each one (-1: none)",
              .min = -1,
              .max = 65535,
              .env_aliases = {"FORGE_OWN_LISTEN_FD"}});
  schema.add({.key = "server.max_connections",
              .type = Type::kInt,
              .default_value = "10000",
              .help = "Open connections beyond this are answered 503 and closed",
              .min = 1,
              .max = 1'000'000});
  schema.add({.key = "server.max_body_size",
              .type = Type::kSize,
              .default_value = "4MiB",
              .help = "Largest request body accepted (larger: 413)"});
  schema.add({.key = "server.max_header_size",
              .type = Type::kSize,
              .default_value = "16KiB",
              .help = "Largest request header block accepted (larger: 431)"});
  schema.add({.key = "server.header_timeout",
              .type = Type::kDuration,
              .default_value = "10s",
              .help = "Time a client has to send a request's headers once it has started"});
  schema.add({.key = "server.body_timeout",
              .type = Type::kDuration,
              .default_value = "30s",
              .help = "Time a client has to send a request's body"});
  schema.add({.key = "server.idle_timeout",
              .type = Type::kDuration,
              .default_value = "60s",
              .help = "How long an idle keep-alive connection is kept open"});
  schema.add({.key = "server.write_timeout",
              .type = Type::kDuration,
              .default_value = "30s",
              .help = "Time allowed for each write to a client"});
  schema.add({.key = "server.response_timeout",
              .type = Type::kDuration,
              .default_value = "5m",
              .help = "Longest time before a response starts; then 504"});
  schema.add({.key = "server.stream_buffer_size",
              .type = Type::kSize,
              .default_value = "8MiB",
              .help = "Unsent bytes queued for one streaming client before it is cut off"});
  schema.add({.key = "server.tls_cert",
              .type = Type::kString,
              .help = "PEM certificate chain: with server.tls_key the gateway serves HTTPS only "
                      "(TLS 1.2+). Re-read on SIGHUP, on POST /admin/tls/reload and when the "
                      "file changes"});
  schema.add({.key = "server.tls_key",
              .type = Type::kString,
              .help = "PEM private key of server.tls_cert (keep it mode 0600)"});
  schema.add({.key = "server.tls_watch_interval",
              .type = Type::kDuration,
              .default_value = "2s",
              .help = "How often the certificate and key files are checked for changes (0s: "
                      "never; reload with SIGHUP or POST /admin/tls/reload)"});
  schema.add({.key = "server.drain_timeout",
              .type = Type::kDuration,
              .default_value = "15s",
              .help = "On SIGTERM/SIGINT, how long in-flight requests may take to finish"});
  schema.add({.key = "gateway.name_separator",
              .type = Type::kString,
              .default_value = "__",
              .help = "Between upstream and item name in aggregated names (<upstream>__<tool>)"});
  schema.add({.key = "gateway.page_size",
              .type = Type::kInt,
              .default_value = "0",
              .help = "Items per page of aggregated lists; 0 sends everything at once",
              .min = 0,
              .max = 100'000});
  schema.add(
      {.key = "gateway.upstream_endpoints",
       .type = Type::kBool,
       .default_value = "true",
       .help = "Also serve each upstream alone, with its own names, at /upstreams/<name>/mcp"});
  schema.add({.key = "transport.allowed_hosts",
              .type = Type::kStringList,
              .help = "Host names accepted in Host/Origin besides localhost, 127.0.0.1 and ::1 "
                      "(\"*\": any)"});
  schema.add({.key = "transport.allowed_origins",
              .type = Type::kStringList,
              .help = "Origins accepted besides those of allowed hosts (https://app.example.com)"});
  schema.add({.key = "transport.session_idle_timeout",
              .type = Type::kDuration,
              .default_value = "30m",
              .help = "An MCP session unused this long is ended"});
  schema.add({.key = "transport.max_sessions",
              .type = Type::kInt,
              .default_value = "10000",
              .help = "Open MCP sessions at most (the least recently used idle one makes room)",
              .min = 1,
              .max = 10'000'000});
  schema.addList(
      {.key = "upstreams",
       .help = "MCP servers behind the gateway",
       .fields = {
           {.key = "name",
            .type = Type::kString,
            .help = "letters, digits and '-'",
            .required = true},
           {.key = "transport",
            .type = Type::kEnum,
            .default_value = "stdio",
            .choices = {"stdio", "streamable-http", "sse"}},
           {.key = "command", .type = Type::kString, .help = "stdio: the program to run"},
           {.key = "args", .type = Type::kStringList},
           {.key = "env", .type = Type::kStringMap},
           {.key = "cwd", .type = Type::kString},
           {.key = "url", .type = Type::kString, .help = "HTTP transports: the endpoint URL"},
           {.key = "headers", .type = Type::kStringMap},
           {.key = "oauth",
            .type = Type::kStringMap,
            .help = "HTTP transports: OAuth 2.0 client credentials {token_url, client_id, "
                    "client_secret, scope, audience}; requests carry a bearer token"},
           {.key = "enabled", .type = Type::kBool, .default_value = "true"},
           {.key = "session_mode",
            .type = Type::kEnum,
            .default_value = "shared",
            .help = "shared: one upstream session for every client; per-client: one each",
            .choices = {"shared", "per-client"}},
           {.key = "call_timeout", .type = Type::kDuration, .default_value = "60s"},
           {.key = "max_concurrency",
            .type = Type::kInt,
            .default_value = "64",
            .min = 1,
            .max = 100'000},
       }});
  return schema;
}

namespace {

// Checks what the schema cannot: each upstream's fields together, and unique names.
std::vector<upstream::UpstreamConfig> upstreamConfigs(const config::Config& config,
                                                      const std::string& separator) {
  std::vector<std::string> problems;
  std::vector<upstream::UpstreamConfig> out;
  std::set<std::string> names;
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9-]{0,47}");
  std::size_t index = 0;
  for (const auto& item : config.list("upstreams")) {
    const std::string where = fmt::format("{}: 'upstreams[{}]'", item.origin("name"), index++);
    upstream::UpstreamConfig u;
    u.name = item.string("name");
    u.transport = item.string("transport");
    u.command = item.string("command");
    u.args = item.stringList("args");
    for (const auto& [k, v] : item.stringMap("env"))
      u.env[k] = v;
    u.cwd = item.string("cwd");
    u.url = item.string("url");
    for (const auto& [k, v] : item.stringMap("headers"))
      u.headers[k] = v;
    if (item.has("oauth")) {
      const std::string at =
          fmt::format("{}: 'upstreams[{}].oauth'", item.origin("oauth"), index - 1);
      auto oauth = item.stringMap("oauth");
      const auto take = [&oauth](const char* key) {
        auto it = oauth.find(key);
        if (it == oauth.end()) return std::string();
        std::string value = std::move(it->second);
        oauth.erase(it);
        return value;
      };
      upstream::OAuthClientCredentials c;
      c.token_url = take("token_url");
      c.client_id = take("client_id");
      c.client_secret = core::Secret(take("client_secret"));
      c.scope = take("scope");
      if (auto scopes = take("scopes"); !scopes.empty()) c.scope = scopes;
      c.audience = take("audience");
      if (const auto grant = take("grant_type"); !grant.empty() && grant != "client_credentials") {
        problems.push_back(fmt::format("{}: grant_type must be client_credentials", at));
      }
      for (const auto& [key, value] : oauth) {
        problems.push_back(fmt::format("{}: unknown key '{}' (token_url, client_id, "
                                       "client_secret, scope, audience, grant_type)",
                                       at, key));
      }
      if (c.token_url.rfind("http://", 0) != 0 && c.token_url.rfind("https://", 0) != 0)
        problems.push_back(fmt::format("{}: 'token_url' must be an http:// or https:// URL", at));
      if (c.client_id.empty()) problems.push_back(fmt::format("{}: 'client_id' is required", at));
      if (c.client_secret.empty())
        problems.push_back(fmt::format("{}: 'client_secret' is required", at));
      if (u.transport == "stdio")
        problems.push_back(fmt::format("{}: OAuth needs an HTTP transport, not stdio", at));
      u.oauth = std::move(c);
    }
    u.call_timeout = item.duration("call_timeout");
    u.max_concurrency = static_cast<std::size_t>(item.integer("max_concurrency"));
    u.per_client_sessions = item.string("session_mode") == "per-client";
    if (!std::regex_match(u.name, kName) || u.name.find(separator) != std::string::npos) {
      problems.push_back(
          fmt::format("{}: name '{}' must be 1-48 letters, digits and '-'", where, u.name));
    }
    if (!names.insert(u.name).second) {
      problems.push_back(fmt::format("{}: the name '{}' is used twice", where, u.name));
    }
    if (u.transport == "stdio" && u.command.empty()) {
      problems.push_back(fmt::format("{}: transport stdio needs 'command'", where));
    }
    if (u.transport != "stdio" && u.url.rfind("http://", 0) != 0 &&
        u.url.rfind("https://", 0) != 0) {
      problems.push_back(
          fmt::format("{}: transport {} needs an http:// or https:// 'url'", where, u.transport));
    }
    if (item.boolean("enabled")) out.push_back(std::move(u));
  }
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return out;
}

} // namespace

LogOptions logOptions(const config::Config& config) {
  LogOptions out;
  out.level = *log::parseLevel(config.string("log.level"));
  out.format = *log::parseFormat(config.string("log.format"));
  return out;
}

GatewayOptions gatewayOptions(const config::Config& config) {
  GatewayOptions out;
  out.log = logOptions(config);
  out.data_dir = config.string("data_dir");
  out.io_threads = static_cast<std::size_t>(config.integer("server.io_threads"));
  out.drain_timeout = config.duration("server.drain_timeout");
  auto& http = out.http;
  http.host = config.string("server.host");
  http.port = static_cast<std::uint16_t>(config.integer("server.port"));
  http.reuse_port = config.boolean("server.reuse_port");
  http.listen_fd = static_cast<int>(config.integer("server.listen_fd"));
  http.own_listen_fd = static_cast<int>(config.integer("server.own_listen_fd"));
  http.max_connections = static_cast<std::size_t>(config.integer("server.max_connections"));
  http.max_body_bytes = config.size("server.max_body_size");
  http.max_header_bytes = config.size("server.max_header_size");
  http.header_timeout = config.duration("server.header_timeout");
  http.body_timeout = config.duration("server.body_timeout");
  http.idle_timeout = config.duration("server.idle_timeout");
  http.write_timeout = config.duration("server.write_timeout");
  http.response_timeout = config.duration("server.response_timeout");
  http.max_stream_buffer = config.size("server.stream_buffer_size");
  http.access_log = config.boolean("log.access");
  http.tls_cert_file = config.string("server.tls_cert");
  http.tls_key_file = config.string("server.tls_key");
  http.tls_watch_interval = config.duration("server.tls_watch_interval");

  out.transport.origin.allowed_hosts = config.stringList("transport.allowed_hosts");
  out.transport.origin.allowed_origins = config.stringList("transport.allowed_origins");
  out.transport.session_idle_timeout = config.duration("transport.session_idle_timeout");
  out.transport.max_sessions = static_cast<std::size_t>(config.integer("transport.max_sessions"));
  out.app.separator = config.string("gateway.name_separator");
  if (out.app.separator.empty()) {
    throw config::ConfigError({fmt::format("{}: 'gateway.name_separator' must not be empty",
                                           config.origin("gateway.name_separator"))});
  }
  out.app.page_size = static_cast<std::size_t>(config.integer("gateway.page_size"));
  out.upstream_endpoints = config.boolean("gateway.upstream_endpoints");
  out.database_url = config.secret("database.url");
  out.discovery_timeout = config.duration("gateway.discovery_timeout");
  out.catalog_sync_interval = config.duration("gateway.catalog_sync_interval");
  out.metrics_flush_interval = config.duration("metrics.flush_interval");
  if (out.metrics_flush_interval.count() <= 0) {
    throw config::ConfigError({fmt::format("{}: 'metrics.flush_interval' must be positive",
                                           config.origin("metrics.flush_interval"))});
  }
  out.metrics_retention = config.duration("metrics.retention");
  out.upstreams = upstreamConfigs(config, out.app.separator);
  out.security = identity::securityOptions(config);
  out.security.public_metrics = config.boolean("metrics.public");
  return out;
}

} // namespace forge::server
