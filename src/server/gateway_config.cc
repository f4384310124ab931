#include "server/gateway_config.h"

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
  schema.add({.key = "log.access",
              .type = Type::kBool,
              .default_value = "true",
              .help = "Write one line per HTTP request (method, path, status, bytes, duration)"});
  schema.add({.key = "data_dir",
              .type = Type::kString,
              .default_value = "./data",
              .help = "Directory for the database, generated secrets and backups"});
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
  schema.add({.key = "server.drain_timeout",
              .type = Type::kDuration,
              .default_value = "15s",
              .help = "On SIGTERM/SIGINT, how long in-flight requests may take to finish"});
  return schema;
}

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
  return out;
}

} // namespace forge::server
