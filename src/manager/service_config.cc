#include "manager/service_config.h"

#include "identity/security_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

namespace forge::manager {

using config::KeySpec;
using config::Type;

namespace {

void addManagerKeys(config::Schema& schema) {
  schema.add({.key = "data_dir",
              .type = Type::kString,
              .default_value = "./data",
              .help = "Logs (<data_dir>/logs), manager state and the shared user database"});
  schema.add({.key = "database.url",
              .type = Type::kSecret,
              .help = "The gateway's database, for users and tokens: empty for SQLite "
                      "<data_dir>/forge.db, or postgresql://...",
              .env_aliases = {"DATABASE_URL"}});
  schema.add({.key = "manager.host",
              .type = Type::kString,
              .default_value = "127.0.0.1",
              .help = "Address the manager's API listens on"});
  schema.add({.key = "manager.port",
              .type = Type::kInt,
              .default_value = "9000",
              .help = "Port of the manager's API (0 picks a free one)",
              .min = 0,
              .max = 65535});
  schema.add({.key = "manager.cgroup_root",
              .type = Type::kString,
              .help = "cgroup v2 directory under which each replica gets a cgroup (memory.max, "
                      "cpu.max); empty: limits by rlimit only"});
  schema.add({.key = "manager.log_max_size",
              .type = Type::kSize,
              .default_value = "10MiB",
              .help = "A service's log file is rotated at this size"});
  schema.add({.key = "manager.log_keep",
              .type = Type::kInt,
              .default_value = "5",
              .help = "Rotated log files kept per replica",
              .min = 0,
              .max = 100});
  schema.add({.key = "bluegreen.port",
              .type = Type::kInt,
              .default_value = "0",
              .help = "Port the manager serves for a blue-green pair, proxying to the live "
                      "colour (0: no pair)",
              .min = 0,
              .max = 65535});
  schema.add({.key = "bluegreen.host",
              .type = Type::kString,
              .default_value = "127.0.0.1",
              .help = "Address of the blue-green port"});
  schema.add({.key = "bluegreen.blue",
              .type = Type::kString,
              .help = "The service that is the blue colour"});
  schema.add({.key = "bluegreen.green",
              .type = Type::kString,
              .help = "The service that is the green colour"});
}

std::vector<KeySpec> serviceFields() {
  return {
      {.key = "name", .type = Type::kString, .help = "letters, digits and '-'", .required = true},
      {.key = "kind",
       .type = Type::kEnum,
       .default_value = "generic",
       .help = "mcp services can sleep and are reached through /services/<name>/mcp",
       .choices = {"generic", "mcp", "gateway", "postgres", "redis"}},
      {.key = "command",
       .type = Type::kStringList,
       .help = "argv; {port}, {replica}, {data_dir}, {name} are replaced",
       .required = true},
      {.key = "args", .type = Type::kStringList, .help = "appended to command"},
      {.key = "env", .type = Type::kStringMap},
      {.key = "cwd", .type = Type::kString},
      {.key = "port", .type = Type::kInt, .default_value = "0", .min = 0, .max = 65535},
      {.key = "shared_port",
       .type = Type::kBool,
       .default_value = "false",
       .help = "replicas serve the port through one socket the manager binds and hands down "
               "(FORGE_LISTEN_FD=3); else replica i uses port + i"},
      {.key = "host",
       .type = Type::kString,
       .default_value = "127.0.0.1",
       .help = "the address a shared port is bound to"},
      {.key = "replicas", .type = Type::kInt, .default_value = "1", .min = 0, .max = 64},
      {.key = "auto_start", .type = Type::kBool, .default_value = "true"},
      {.key = "stop_grace", .type = Type::kDuration, .default_value = "10s"},
      {.key = "mcp_path", .type = Type::kString, .default_value = "/mcp"},
      {.key = "release",
       .type = Type::kString,
       .default_value = "current",
       .help = "the release pointer {release} follows: <data_dir>/releases/<release>"},
      {.key = "health.type",
       .type = Type::kEnum,
       .default_value = "none",
       .choices = {"none", "http", "mcp", "tcp"}},
      {.key = "health.path", .type = Type::kString, .default_value = "/health"},
      {.key = "health.scheme",
       .type = Type::kEnum,
       .default_value = "http",
       .choices = {"http", "https"}},
      {.key = "health.interval", .type = Type::kDuration, .default_value = "5s"},
      {.key = "health.timeout", .type = Type::kDuration, .default_value = "2s"},
      {.key = "health.retries", .type = Type::kInt, .default_value = "3", .min = 1, .max = 100},
      {.key = "resources.memory", .type = Type::kSize, .default_value = "0"},
      {.key = "resources.cpu", .type = Type::kString, .help = "cores, e.g. 0.5"},
      {.key = "restart.policy",
       .type = Type::kEnum,
       .default_value = "on-failure",
       .choices = {"always", "on-failure", "never"}},
      {.key = "restart.backoff_initial", .type = Type::kDuration, .default_value = "500ms"},
      {.key = "restart.backoff_max", .type = Type::kDuration, .default_value = "30s"},
      {.key = "restart.crash_loop_restarts",
       .type = Type::kInt,
       .default_value = "5",
       .min = 1,
       .max = 1000},
      {.key = "restart.crash_loop_window", .type = Type::kDuration, .default_value = "60s"},
      {.key = "sleep_policy.enabled", .type = Type::kBool, .default_value = "false"},
      {.key = "sleep_policy.idle_timeout", .type = Type::kDuration, .default_value = "5m"},
      {.key = "sleep_policy.min_sleep_time", .type = Type::kDuration, .default_value = "60s"},
      {.key = "sleep_policy.priority", .type = Type::kInt, .default_value = "0"},
      {.key = "sleep_policy.mode",
       .type = Type::kEnum,
       .default_value = "pause",
       .choices = {"pause", "stop"}},
  };
}

std::optional<double> parseCores(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

ServiceConfig serviceOf(const config::Values& item, const std::string& where,
                        std::vector<std::string>& problems) {
  ServiceConfig s;
  s.name = item.string("name");
  s.kind = item.string("kind");
  s.command = item.stringList("command");
  for (auto& arg : item.stringList("args"))
    s.command.push_back(std::move(arg));
  for (const auto& [k, v] : item.stringMap("env"))
    s.env[k] = v;
  s.cwd = item.string("cwd");
  s.port = static_cast<std::uint16_t>(item.integer("port"));
  s.shared_port = item.boolean("shared_port");
  s.host = item.string("host");
  s.replicas = static_cast<int>(item.integer("replicas"));
  s.auto_start = item.boolean("auto_start");
  s.stop_grace = item.duration("stop_grace");
  s.mcp_path = item.string("mcp_path");
  s.release = item.string("release");
  s.health.type = item.string("health.type");
  s.health.path = item.string("health.path");
  s.health.scheme = item.string("health.scheme");
  s.health.interval = item.duration("health.interval");
  s.health.timeout = item.duration("health.timeout");
  s.health.retries = static_cast<int>(item.integer("health.retries"));
  s.memory_limit = item.size("resources.memory");
  if (item.has("resources.cpu")) {
    auto cores = parseCores(item.string("resources.cpu"));
    if (!cores) {
      problems.push_back(fmt::format("{}: {}.resources.cpu must be a number of cores (0.5, 2)",
                                     item.origin("resources.cpu"), where));
    } else {
      s.cpu_limit = *cores;
    }
  }
  s.restart.policy = item.string("restart.policy");
  s.restart.backoff_initial = item.duration("restart.backoff_initial");
  s.restart.backoff_max = item.duration("restart.backoff_max");
  s.restart.crash_loop_restarts = static_cast<int>(item.integer("restart.crash_loop_restarts"));
  s.restart.crash_loop_window = item.duration("restart.crash_loop_window");
  s.sleep.enabled = item.boolean("sleep_policy.enabled");
  s.sleep.idle_timeout = item.duration("sleep_policy.idle_timeout");
  s.sleep.min_sleep_time = item.duration("sleep_policy.min_sleep_time");
  s.sleep.priority = static_cast<int>(item.integer("sleep_policy.priority"));
  s.sleep.mode = item.string("sleep_policy.mode");
  return s;
}

void checkService(const ServiceConfig& s, const config::Values& item, const std::string& where,
                  std::vector<std::string>& problems) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9-]{0,47}");
  const std::string at = item.origin("name");
  if (!std::regex_match(s.name, kName))
    problems.push_back(
        fmt::format("{}: {}.name '{}' must be 1-48 letters, digits and '-'", at, where, s.name));
  if (s.command.empty())
    problems.push_back(fmt::format("{}: {}.command must name a program", at, where));
  if (s.health.type != "none" && s.port == 0) {
    problems.push_back(fmt::format("{}: {}.health.type {} needs a port", item.origin("health.type"),
                                   where, s.health.type));
  }
  if (s.sleep.enabled && s.kind != "mcp") {
    problems.push_back(fmt::format("{}: {}.sleep_policy needs kind: mcp (only MCP traffic, seen "
                                   "through the manager, can wake a service)",
                                   item.origin("sleep_policy.enabled"), where));
  }
  static const std::regex kPointer("[A-Za-z0-9][A-Za-z0-9_-]{0,47}");
  if (!std::regex_match(s.release, kPointer)) {
    problems.push_back(fmt::format("{}: {}.release '{}' must be a pointer name (letters, digits, "
                                   "'-', '_')",
                                   item.origin("release"), where, s.release));
  }
  if (s.sleep.enabled && s.port == 0) {
    problems.push_back(fmt::format("{}: {}.sleep_policy needs a port to reach the service",
                                   item.origin("sleep_policy.enabled"), where));
  }
}

// Both colours must be services with a port of their own, spoken to in plain HTTP.
void checkBlueGreen(const config::Config& config, ManagerOptions& out,
                    std::vector<std::string>& problems) {
  auto& pair = out.bluegreen;
  pair.port = static_cast<std::uint16_t>(config.integer("bluegreen.port"));
  pair.host = config.string("bluegreen.host");
  pair.blue = config.string("bluegreen.blue");
  pair.green = config.string("bluegreen.green");
  if (pair.port == 0) return;
  const std::string at = config.origin("bluegreen.port");
  if (pair.blue.empty() || pair.green.empty() || pair.blue == pair.green) {
    problems.push_back(fmt::format("{}: bluegreen needs two different services, bluegreen.blue "
                                   "and bluegreen.green",
                                   at));
    return;
  }
  for (const auto* name : {&pair.blue, &pair.green}) {
    auto it = std::find_if(out.services.begin(), out.services.end(),
                           [name](const ServiceConfig& s) { return s.name == *name; });
    if (it == out.services.end()) {
      problems.push_back(fmt::format("{}: bluegreen names {}, which is not a service", at, *name));
    } else if (it->port == 0 || it->port == pair.port) {
      problems.push_back(fmt::format("{}: bluegreen service {} needs a port of its own (the "
                                     "manager serves bluegreen.port and proxies to it)",
                                     at, *name));
    } else if (it->health.scheme == "https") {
      // The front proxies plain HTTP on 127.0.0.1; it neither terminates nor passes TLS.
      problems.push_back(fmt::format(
          "{}: bluegreen service {} serves TLS (health.scheme https), but the manager's "
          "bluegreen.port forwards plain HTTP to the colours: serve the colours without "
          "server.tls_cert and terminate TLS in front of bluegreen.port",
          at, *name));
    }
  }
}

std::string replaceAll(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [placeholder, value] : values) {
    for (auto at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size()))
      text.replace(at, placeholder.size(), value);
  }
  return text;
}

constexpr const char* kReleasePlaceholder = "{release}";

} // namespace

config::Schema managerSchema() {
  config::Schema schema = server::logSchema();
  addManagerKeys(schema);
  identity::addSecurityKeys(schema);
  schema.addList(
      {.key = "services", .help = "The processes the manager runs", .fields = serviceFields()});
  return schema;
}

ManagerOptions managerOptions(const config::Config& config) {
  ManagerOptions out;
  out.log = server::logOptions(config);
  out.data_dir = config.string("data_dir");
  out.database_url = config.secret("database.url");
  out.http.host = config.string("manager.host");
  out.http.port = static_cast<std::uint16_t>(config.integer("manager.port"));
  out.http.access_log = false;
  out.cgroup_root = config.string("manager.cgroup_root");
  out.log_max_bytes = config.size("manager.log_max_size");
  out.log_keep = static_cast<int>(config.integer("manager.log_keep"));
  out.security = identity::securityOptions(config);
  std::vector<std::string> problems;
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& item : config.list("services")) {
    const std::string where = fmt::format("services[{}]", index++);
    auto service = serviceOf(item, where, problems);
    checkService(service, item, where, problems);
    if (!names.insert(service.name).second) {
      problems.push_back(
          fmt::format("{}: {}.name '{}' is used twice", item.origin("name"), where, service.name));
    }
    out.services.push_back(std::move(service));
  }
  checkBlueGreen(config, out, problems);
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return out;
}

std::vector<std::string> replicaCommand(const ServiceConfig& service, int replica,
                                        const std::string& data_dir,
                                        const std::string& release_dir) {
  std::map<std::string, std::string> values{
      {"{port}", std::to_string(replicaPort(service, replica))},
      {"{replica}", std::to_string(replica)},
      {"{data_dir}", data_dir},
      {"{name}", service.name}};
  if (!release_dir.empty()) values[kReleasePlaceholder] = release_dir;
  std::vector<std::string> argv;
  for (const auto& arg : service.command)
    argv.push_back(replaceAll(arg, values));
  return argv;
}

std::map<std::string, std::string> replicaEnv(const ServiceConfig& service,
                                              const std::string& release_dir) {
  std::map<std::string, std::string> env;
  for (const auto& [name, value] : service.env)
    env[name] = replaceAll(value, {{kReleasePlaceholder, release_dir}});
  return env;
}

bool usesRelease(const ServiceConfig& service) {
  auto says = [](const std::string& text) {
    return text.find(kReleasePlaceholder) != std::string::npos;
  };
  return std::any_of(service.command.begin(), service.command.end(), says) ||
         std::any_of(service.env.begin(), service.env.end(),
                     [&](const auto& entry) { return says(entry.second); });
}

std::uint16_t replicaPort(const ServiceConfig& service, int replica) {
  if (service.port == 0) return 0;
  return service.shared_port ? service.port : static_cast<std::uint16_t>(service.port + replica);
}

} // namespace forge::manager
