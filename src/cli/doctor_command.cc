// `forge doctor`: finds why a stack does not work. Checks the configuration, the ports (who
// holds the gateway's and the manager's), connectivity to every upstream (HTTP: TCP connect and
// an MCP initialize; stdio: the command is an executable on PATH), disk space of the data
// directory, the clock (against the Date headers of the gateway and HTTP upstreams) and the data
// directory's permissions (secrets.json readable by its owner alone).
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "cli/ops_support.h"
#include "cli/output.h"
#include "identity/secrets.h"
#include "net/http_client.h"
#include "ops/probe.h"
#include "ops/smoke_test.h"
#include "server/gateway_config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <sys/stat.h>

#include <cmath>
#include <filesystem>

namespace forge::cli {
namespace {

namespace json = boost::json;
using ops::Check;
using ops::Level;

constexpr ops::Thresholds kClockSkewSeconds{2, 30}; // Date headers have whole seconds

struct UpstreamTarget {
  std::string name;
  std::string transport; // stdio | streamable-http | sse
  std::string url;
  std::string command;
  bool enabled = true;
};

std::string transportOf(const std::string& label) {
  if (label == "STREAMABLEHTTP" || label == "streamable-http") return "streamable-http";
  if (label == "SSE" || label == "sse") return "sse";
  return "stdio";
}

class DoctorCommand final : public Command {
public:
  std::string name() const override { return "doctor"; }
  std::string synopsis() const override {
    return "Diagnose the stack: config, ports, upstream connectivity, disk, clock, permissions";
  }

  void setup(CLI::App& app) override {
    connection_.addOptions(app, Reach::kBoth);
    app.add_option("--config", config_path_,
                   "The gateway's configuration (default: ./forge.yaml when it exists)");
    app.add_option("--timeout", timeout_seconds_, "Seconds allowed for each network probe")
        ->capture_default_str();
    app.footer("Exit codes: 0 nothing found, 4 warning, 3 critical.\n"
               "Examples:\n  forge doctor\n  forge doctor --data-dir /var/lib/forge --json");
  }

  int run() override {
    timeout_ = std::chrono::milliseconds(static_cast<long>(timeout_seconds_ * 1000));
    std::vector<Check> checks;
    const auto upstreams = checkConfig(checks);
    const bool gateway_up = checkPort("gateway", connection_.gatewayUrl(), "/health", checks);
    checkPort("manager", connection_.managerUrl(), "/health", checks);
    checkClock("gateway", connection_.gatewayUrl() + "/health", checks);
    auto targets = gateway_up ? registeredUpstreams() : std::nullopt;
    for (const auto& target : targets ? *targets : upstreams)
      checkUpstream(target, checks);
    checkDisk(checks);
    checkPermissions(checks);
    return printChecks(connection_.json(), checks);
  }

private:
  // Validates the configuration; returns its upstreams (used when the gateway cannot list them).
  std::vector<UpstreamTarget> checkConfig(std::vector<Check>& checks) {
    config::LoadOptions load;
    if (!config_path_.empty()) load.config_path = config_path_;
    load.environment = config::processEnvironment();
    try {
      const auto config = config::load(server::gatewaySchema(), load);
      const auto options = server::gatewayOptions(config);
      checks.push_back({"config", Level::kOk,
                        fmt::format("valid ({})", config.source_file.empty()
                                                      ? "built-in defaults and environment"
                                                      : config.source_file)});
      std::vector<UpstreamTarget> out;
      for (const auto& u : options.upstreams)
        out.push_back({u.name, u.transport, u.url, u.command, true});
      return out;
    } catch (const config::ConfigError& error) {
      std::string problems;
      for (const auto& p : error.problems())
        problems += (problems.empty() ? "" : "; ") + p;
      checks.push_back({"config", Level::kCritical,
                        problems + " (fix it; `forge config validate` lists the same)"});
      return {};
    }
  }

  // Whether the service answers at `url`; if not, who holds its port.
  bool checkPort(const std::string& what, const std::string& url, const std::string& path,
                 std::vector<Check>& checks) {
    const auto where = ops::hostPortOf(url);
    const std::string name = fmt::format("{} port", what);
    if (!where) {
      checks.push_back(
          {name, Level::kCritical, fmt::format("'{}' is not an http:// or https:// URL", url)});
      return false;
    }
    std::string error;
    const auto answer = get(ApiClient(url, "", timeout_), path, error);
    const bool local = where->host == "127.0.0.1" || where->host == "localhost" ||
                       where->host == "0.0.0.0" || where->host == "::1";
    const auto owner = local ? ops::listeningOwner(where->port) : std::nullopt;
    const std::string holder =
        owner ? (owner->pid ? fmt::format("pid {} ({})", owner->pid, owner->command)
                            : std::string("a process of another user"))
              : std::string();
    if (answer && answer->status == 200) {
      checks.push_back({name, Level::kOk,
                        fmt::format("{} answers on {}{}", what, where->port,
                                    holder.empty() ? "" : ", held by " + holder)});
      return true;
    }
    if (owner) {
      checks.push_back({name, Level::kCritical,
                        fmt::format("port {} is held by {}, which does not answer {} as the {}: "
                                    "stop it or choose another port",
                                    where->port, holder, path, what)});
    } else if (local) {
      checks.push_back(
          {name, what == "gateway" ? Level::kWarning : Level::kOk,
           fmt::format("nothing listens on {} ({} not running; the port is free for it)",
                       where->port, what)});
    } else {
      checks.push_back({name, Level::kWarning,
                        fmt::format("{} at {} does not answer: {}", what, url,
                                    answer ? ApiClient::detail(*answer) : error)});
    }
    return false;
  }

  // Compares the local clock with the Date header of an HTTP answer from `url`.
  void checkClock(const std::string& peer, const std::string& url, std::vector<Check>& checks) {
    net::HttpRequestSpec spec;
    spec.url = url;
    spec.timeout = timeout_;
    const auto response = net::fetch(spec);
    if (!response) return; // unreachable: reported by its own check
    const auto date = response->headers.get("Date");
    const auto then = date ? ops::parseHttpDate(*date) : std::nullopt;
    if (!then) {
      checks.push_back(
          {"clock vs " + peer, Level::kWarning, "the answer has no valid Date header"});
      return;
    }
    const double skew =
        std::chrono::duration<double>(std::chrono::system_clock::now() - *then).count();
    const Level level = ops::grade(std::abs(skew), kClockSkewSeconds);
    checks.push_back({"clock vs " + peer, level,
                      fmt::format("skew {:+.0f} s (Date: {}){}", skew, *date,
                                  level == Level::kOk ? ""
                                                      : ": synchronise the clocks (NTP); token "
                                                        "expiry and TLS depend on them")});
  }

  // The upstreams the gateway has registered; nullopt when it will not list them.
  std::optional<std::vector<UpstreamTarget>> registeredUpstreams() {
    std::string error;
    const auto answer =
        get(gatewayClient(connection_, timeout_), "/gateways?include_inactive=true&limit=0", error);
    if (!answer || answer->status != 200 || !answer->body.is_array()) return std::nullopt;
    std::vector<UpstreamTarget> out;
    for (const auto& g : answer->body.as_array())
      out.push_back({textOf(g, "name"), transportOf(textOf(g, "transport")), textOf(g, "url"),
                     textOf(g, "command"), boolOf(g, "enabled")});
    return out;
  }

  void checkUpstream(const UpstreamTarget& target, std::vector<Check>& checks) {
    const std::string name = "upstream " + target.name;
    if (!target.enabled) {
      checks.push_back({name, Level::kOk, "disabled: not checked"});
      return;
    }
    if (target.transport == "stdio") {
      const auto found = ops::findExecutable(target.command);
      checks.push_back(found ? Check{name, Level::kOk, fmt::format("stdio: {} found", *found)}
                             : Check{name, Level::kCritical,
                                     fmt::format("stdio: command '{}' is not an executable on "
                                                 "PATH (install it, or fix the upstream's "
                                                 "command)",
                                                 target.command)});
      return;
    }
    const auto where = ops::hostPortOf(target.url);
    if (!where) {
      checks.push_back({name, Level::kCritical, fmt::format("'{}' is not a URL", target.url)});
      return;
    }
    if (auto connected = ops::tcpConnect(where->host, where->port, timeout_); !connected) {
      checks.push_back({name, Level::kCritical,
                        fmt::format("{}: {}", target.transport, connected.error().message)});
      return;
    }
    if (target.transport == "sse") {
      checks.push_back({name, Level::kOk,
                        fmt::format("sse: {}:{} accepts connections", where->host, where->port)});
      return;
    }
    const auto probe = ops::probeInitialize(target.url, timeout_);
    checks.push_back(
        {name, probe.ok ? Level::kOk : Level::kWarning,
         fmt::format("streamable-http: {} ({:.0f} ms){}", probe.detail, probe.milliseconds,
                     probe.ok ? "" : ": TCP connects but MCP initialize fails")});
    if (!probe.date_header.empty()) checkClock(name, target.url, checks);
  }

  void checkDisk(std::vector<Check>& checks) {
    const std::string& dir = connection_.dataDir();
    const auto usage = ops::diskUsage(std::filesystem::exists(dir) ? dir : ".");
    if (!usage) {
      checks.push_back({"disk", Level::kWarning, usage.error().message});
      return;
    }
    const Level level = ops::grade(usage->usedPercent(), ops::kDiskPercent);
    checks.push_back({fmt::format("disk {}", dir), level,
                      fmt::format("{:.0f} % used, {} free of {}{}", usage->usedPercent(),
                                  bytesText(static_cast<double>(usage->free_bytes)),
                                  bytesText(static_cast<double>(usage->total_bytes)),
                                  level == Level::kOk
                                      ? ""
                                      : " (free space: old logs, backups; `forge logs` rotates)")});
  }

  void checkPermissions(std::vector<Check>& checks) {
    const std::string& dir = connection_.dataDir();
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      checks.push_back({"data dir", Level::kWarning,
                        fmt::format("{} does not exist (give --data-dir of the stack)", dir)});
      return;
    }
    const bool writable = ::access(dir.c_str(), W_OK) == 0;
    const bool world_writable = st.st_mode & S_IWOTH;
    checks.push_back({"data dir", !writable || world_writable ? Level::kCritical : Level::kOk,
                      fmt::format("{} mode {:04o}{}", dir, st.st_mode & 07777,
                                  !writable        ? ": not writable by this user"
                                  : world_writable ? ": writable by everyone (chmod 700)"
                                                   : "")});
    const std::string secrets = identity::secretsFile(dir);
    if (::stat(secrets.c_str(), &st) != 0) {
      checks.push_back({"secrets.json", Level::kOk,
                        "absent (secrets come from the environment, or the gateway has not "
                        "started here yet)"});
      return;
    }
    const bool private_file = (st.st_mode & 077) == 0;
    checks.push_back(
        {"secrets.json", private_file ? Level::kOk : Level::kCritical,
         fmt::format("mode {:04o}{}", st.st_mode & 07777,
                     private_file ? ""
                                  : fmt::format(": readable by others (chmod 600 {})", secrets))});
  }

  Connection connection_;
  std::string config_path_;
  double timeout_seconds_ = 5;
  std::chrono::milliseconds timeout_{5'000};
};

} // namespace

CommandPtr makeDoctorCommand() { return std::make_unique<DoctorCommand>(); }

} // namespace forge::cli
