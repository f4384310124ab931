// `forge verify SVC`: after a deploy or a restart, is a service under the manager really back?
// Every desired replica running, none unhealthy or restarting, its port answering, and for a
// gateway a smoke test through that port. Printed as checks; exit 0 ok, 4 warning, 3 critical.
#include "cli/commands.h"
#include "cli/ops_support.h"
#include "cli/output.h"
#include "ops/probe.h"
#include "ops/smoke_test.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <set>

namespace forge::cli {
namespace {

namespace json = boost::json;
using ops::Check;
using ops::Level;

class VerifyCommand final : public Command {
public:
  std::string name() const override { return "verify"; }
  std::string synopsis() const override {
    return "Verify a service after a deploy or restart: replicas, health, port, smoke test";
  }

  void setup(CLI::App& app) override {
    app.add_option("service", service_, "The service (see forge ps)")->required();
    connection_.addOptions(app, Reach::kManager);
    app.add_option("--tool", smoke_.tool, "For a gateway: the tool the smoke test calls");
    app.add_option("--args", smoke_.arguments, "For a gateway: the tool's arguments (JSON)");
    app.footer("Exit codes: 0 verified, 4 warning, 3 critical (or the manager is unreachable).\n"
               "Examples:\n  forge restart gateway && forge verify gateway\n"
               "  forge verify fixture --json");
  }

  int run() override {
    const ApiClient api = managerClient(connection_, std::chrono::seconds(15));
    int code = kExitOk;
    auto status = connection_.call(api, net::Method::kGet, "/services/" + service_, code);
    if (!status) return code;
    std::vector<Check> checks;
    const auto ports = checkReplicas(status->body, checks);
    for (auto port : ports)
      checkPort(port, checks);
    const bool gateway = textOf(status->body, "kind") == "gateway";
    if (gateway && !ports.empty())
      smokeTest(textOf(status->body, "scheme"), *ports.begin(), checks);
    return printChecks(connection_.json(), checks);
  }

private:
  // Replica states; returns the ports the running replicas serve.
  std::set<std::uint16_t> checkReplicas(const json::value& service, std::vector<Check>& checks) {
    const auto desired = static_cast<int>(numberOf(service, "replicas_desired"));
    int running = 0;
    std::set<std::uint16_t> ports;
    std::vector<Check> replicas;
    for (const auto& r : service.as_object().at("replicas").as_array()) {
      const std::string state = textOf(r, "state");
      const std::string name = fmt::format("replica {}", textOf(r, "index"));
      if (state == "running") {
        ++running;
        if (const auto port = static_cast<std::uint16_t>(numberOf(r, "port")); port)
          ports.insert(port);
        replicas.push_back({name, Level::kOk,
                            fmt::format("running, pid {}, up {}", textOf(r, "pid"),
                                        durationText(numberOf(r, "uptime_seconds")))});
      } else {
        const bool settling = state == "starting" || state == "waking" || state == "sleeping";
        replicas.push_back(
            {name, settling ? Level::kWarning : Level::kCritical,
             fmt::format("{} (restarts {}, last exit {}); see `forge logs {}`", state,
                         textOf(r, "restarts"), textOf(r, "last_exit"), service_)});
      }
    }
    const std::string state = textOf(service, "state");
    const bool all = running >= desired && desired > 0;
    checks.push_back({service_, all ? Level::kOk : Level::kCritical,
                      fmt::format("{}: {} of {} replica(s) running", state, running, desired)});
    checks.insert(checks.end(), replicas.begin(), replicas.end());
    return ports;
  }

  void checkPort(std::uint16_t port, std::vector<Check>& checks) {
    const auto connected = ops::tcpConnect("127.0.0.1", port, std::chrono::seconds(3));
    checks.push_back({fmt::format("port {}", port), connected ? Level::kOk : Level::kCritical,
                      connected ? "accepts connections" : connected.error().message});
  }

  // Through one replica's own port, as the manager speaks to it (scheme http or https).
  void smokeTest(const std::string& scheme, std::uint16_t port, std::vector<Check>& checks) {
    const bool tls = scheme == "https";
    smoke_.base_url = fmt::format("{}://127.0.0.1:{}", tls ? "https" : "http", port);
    smoke_.verify_peer = !tls;
    if (auto token = connection_.token()) smoke_.token = *token;
    const auto report = ops::runSmokeTest(smoke_);
    std::string detail;
    for (const auto& step : report.steps)
      detail += fmt::format("{}{} {} {:.0f} ms", detail.empty() ? "" : ", ", step.name,
                            step.ok ? "ok" : "FAILED", step.milliseconds);
    if (!report.ok()) {
      for (const auto& step : report.steps)
        if (!step.ok) detail += fmt::format(" — {}: {}", step.name, step.detail);
    }
    checks.push_back({"smoke test", report.ok() ? Level::kOk : Level::kCritical, detail});
  }

  Connection connection_;
  std::string service_;
  ops::SmokeOptions smoke_;
};

} // namespace

CommandPtr makeVerifyCommand() { return std::make_unique<VerifyCommand>(); }

} // namespace forge::cli
