// `forge health`: every part of the stack checked at once (the gateway's liveness and readiness,
// the manager, the database, Redis and the admin UI when configured, every upstream), printed
// as checks; the exit code is the worst state (0 ok, 4 warning, 3 critical).
#include "cli/commands.h"
#include "cli/ops_support.h"
#include "cli/output.h"
#include "ops/probe.h"
#include "storage/migrations.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>

namespace forge::cli {
namespace {

namespace json = boost::json;
using ops::Check;
using ops::Level;

class HealthCommand final : public Command {
public:
  std::string name() const override { return "health"; }
  std::string synopsis() const override {
    return "Check the gateway, manager, database, Redis, admin UI and every upstream";
  }

  void setup(CLI::App& app) override {
    connection_.addOptions(app, Reach::kAll);
    manager_option_ = app.get_option("--manager-url");
    app.add_option("--redis-url", redis_url_,
                   "Redis to PING (default: $REDIS_URL; skipped when neither is set)");
    app.add_option("--ui-url", ui_url_,
                   "The admin UI to fetch (default: $FORGE_UI_URL; skipped when neither is set)");
    app.add_option("--timeout", timeout_seconds_, "Seconds to wait for each check")
        ->capture_default_str();
    app.footer(
        "The manager is required when --manager-url is given or the data directory holds "
        "a\nmanager's state (<data-dir>/manager); otherwise it is skipped when not running.\n"
        "Exit codes: 0 healthy, 4 warning, 3 critical.\n"
        "Examples:\n  forge health\n"
        "  forge health --redis-url redis://127.0.0.1:6379 --json");
  }

  int run() override {
    timeout_ = std::chrono::milliseconds(static_cast<long>(timeout_seconds_ * 1000));
    std::vector<Check> checks;
    const bool gateway_up = checkGateway(checks);
    checkManager(checks);
    checkDatabase(checks, gateway_up);
    checkRedis(checks);
    checkUi(checks);
    if (gateway_up) checkUpstreams(checks);
    return printChecks(connection_.json(), checks);
  }

private:
  bool checkGateway(std::vector<Check>& checks) {
    const ApiClient api = gatewayClient(connection_, timeout_);
    std::string error;
    double ms = 0;
    const auto health = get(api, "/health", error, &ms);
    if (!health || health->status != 200) {
      checks.push_back(
          {"gateway", Level::kCritical,
           health ? fmt::format("GET {}/health answered HTTP {}", api.base(), health->status)
                  : fmt::format("not reachable at {}: {} (start it with `forge gateway` or "
                                "`forge up`, or give --gateway-url)",
                                api.base(), error)});
      return false;
    }
    checks.push_back(
        {"gateway", Level::kOk,
         fmt::format("version {}, up {}, answered in {:.0f} ms", textOf(health->body, "version"),
                     durationText(numberOf(health->body, "uptime_seconds")), ms)});
    const auto ready = get(api, "/ready", error);
    if (ready && ready->status == 200) {
      checks.push_back({"gateway ready", Level::kOk, "accepting traffic"});
    } else {
      checks.push_back({"gateway ready", Level::kWarning,
                        ready ? fmt::format("HTTP {}: {} (shutting down?)", ready->status,
                                            textOf(ready->body, "status"))
                              : error});
    }
    return true;
  }

  // The manager is expected when asked for, or when the data directory says one runs here.
  bool managerExpected() const {
    return (manager_option_ && manager_option_->count() > 0) ||
           std::filesystem::exists(std::filesystem::path(connection_.dataDir()) / "manager");
  }

  void checkManager(std::vector<Check>& checks) {
    const ApiClient api = managerClient(connection_, timeout_);
    std::string error;
    const auto health = get(api, "/health", error);
    if (!health) {
      if (managerExpected()) {
        checks.push_back({"manager", Level::kCritical,
                          fmt::format("not reachable at {}: {} (start the stack with `forge up`)",
                                      api.base(), error)});
      } else {
        checks.push_back(
            {"manager", Level::kOk,
             fmt::format("skipped: none at {} (give --manager-url to require one)", api.base())});
      }
      return;
    }
    const auto running = numberOf(health->body, "services_running");
    const auto total = numberOf(health->body, "services_total");
    const bool ok = health->status == 200 && textOf(health->body, "status") == "ok";
    checks.push_back({"manager", ok ? Level::kOk : Level::kWarning,
                      fmt::format("{} of {} service(s) running{}", running, total,
                                  ok ? "" : " (see `forge ps`)")});
  }

  void checkDatabase(std::vector<Check>& checks, bool gateway_up) {
    const auto started = std::chrono::steady_clock::now();
    auto db = connection_.existingDatabase(); // a health check migrates nothing
    if (db) {
      auto version = storage::schemaVersion(**db);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count();
      if (!version) {
        checks.push_back(
            {"database", Level::kCritical,
             fmt::format("{}: query failed: {}", (*db)->describe(), version.error().message)});
      } else {
        checks.push_back({"database", Level::kOk,
                          fmt::format("{} {}, schema version {}, open and query {:.0f} ms",
                                      (*db)->backend(), (*db)->describe(), *version, ms)});
      }
      return;
    }
    if (db.error().code != core::Errc::kNotFound || !gateway_up) {
      checks.push_back(
          {"database",
           db.error().code == core::Errc::kNotFound ? Level::kWarning : Level::kCritical,
           db.error().message});
      return;
    }
    // Not visible from here: ask the gateway, which has it open.
    std::string error;
    const auto version = get(gatewayClient(connection_, timeout_), "/version", error);
    if (!version || version->status != 200) {
      checks.push_back(
          {"database", Level::kWarning,
           fmt::format("{}; the gateway's /version did not say either ({})", db.error().message,
                       version ? ApiClient::detail(*version) : error)});
      return;
    }
    const auto& database = version->body.as_object().at("database");
    const bool reachable = boolOf(database, "reachable");
    checks.push_back(
        {"database", reachable ? Level::kOk : Level::kCritical,
         fmt::format("{} {} (as the gateway sees it), schema version {}{}",
                     textOf(database, "backend"), textOf(database, "location"),
                     textOf(database, "schemaVersion"), reachable ? "" : ": NOT reachable")});
  }

  void checkRedis(std::vector<Check>& checks) {
    if (redis_url_.empty()) redis_url_ = fromEnvironment({"REDIS_URL"});
    if (redis_url_.empty()) {
      checks.push_back({"redis", Level::kOk, "skipped: not configured (--redis-url, REDIS_URL)"});
      return;
    }
    const auto started = std::chrono::steady_clock::now();
    auto reply = ops::redisPing(redis_url_, timeout_);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const auto where = ops::hostPortOf(redis_url_);
    const std::string at = where ? fmt::format("{}:{}", where->host, where->port) : redis_url_;
    checks.push_back(
        reply ? Check{"redis", Level::kOk, fmt::format("{} PONG in {:.1f} ms", at, ms)}
              : Check{"redis", Level::kCritical, fmt::format("{}: {}", at, reply.error().message)});
  }

  void checkUi(std::vector<Check>& checks) {
    if (ui_url_.empty()) ui_url_ = fromEnvironment({"FORGE_UI_URL"});
    if (ui_url_.empty()) {
      checks.push_back(
          {"admin ui", Level::kOk, "skipped: not configured (--ui-url, FORGE_UI_URL)"});
      return;
    }
    std::string error;
    double ms = 0;
    const auto page = get(ApiClient(ui_url_, "", timeout_), "", error, &ms);
    if (!page || page->status >= 400) {
      checks.push_back({"admin ui", Level::kCritical,
                        page ? fmt::format("{} answered HTTP {}", ui_url_, page->status)
                             : fmt::format("{}: {}", ui_url_, error)});
      return;
    }
    checks.push_back({"admin ui", Level::kOk,
                      fmt::format("{} HTTP {} in {:.0f} ms", ui_url_, page->status, ms)});
  }

  void checkUpstreams(std::vector<Check>& checks) {
    const ApiClient api = gatewayClient(connection_, timeout_);
    std::string error;
    const auto gateways = get(api, "/gateways?include_inactive=true&limit=0", error);
    if (!gateways || gateways->status != 200 || !gateways->body.is_array()) {
      checks.push_back(
          {"upstreams", Level::kWarning,
           fmt::format("cannot list them: {} (give --token, or --data-dir of the stack)",
                       gateways ? ApiClient::detail(*gateways) : error)});
      return;
    }
    std::map<std::string, int> tools; // by gateway id
    if (const auto listed = get(api, "/tools?include_inactive=true&limit=0", error);
        listed && listed->body.is_array()) {
      for (const auto& tool : listed->body.as_array())
        ++tools[textOf(tool, "gatewayId")];
    }
    std::vector<Check> found;
    int enabled = 0;
    int down = 0;
    for (const auto& g : gateways->body.as_array()) {
      const std::string name = "upstream " + textOf(g, "name");
      const std::string transport = textOf(g, "transport");
      if (!boolOf(g, "enabled")) {
        found.push_back({name, Level::kOk, fmt::format("{}, disabled", transport)});
        continue;
      }
      ++enabled;
      if (boolOf(g, "reachable")) {
        found.push_back(
            {name, Level::kOk,
             fmt::format("{}, reachable, {} tool(s)", transport, tools[textOf(g, "id")])});
      } else {
        ++down;
        found.push_back({name, Level::kWarning,
                         fmt::format("{}, NOT reachable: {} (see `forge doctor`)", transport,
                                     textOf(g, "lastError"))});
      }
    }
    // One upstream down leaves the others served; all of them down serves nothing.
    if (enabled > 0 && down == enabled) {
      for (auto& check : found)
        if (check.level == Level::kWarning) check.level = Level::kCritical;
    }
    if (found.empty()) found.push_back({"upstreams", Level::kOk, "none registered"});
    checks.insert(checks.end(), found.begin(), found.end());
  }

  Connection connection_;
  CLI::Option* manager_option_ = nullptr;
  std::string redis_url_;
  std::string ui_url_;
  double timeout_seconds_ = 5;
  std::chrono::milliseconds timeout_{5'000};
};

} // namespace

CommandPtr makeHealthCommand() { return std::make_unique<HealthCommand>(); }

} // namespace forge::cli
