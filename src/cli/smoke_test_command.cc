// `forge smoke-test`: a real MCP client exchange through the gateway (initialize,
// notifications/initialized, tools/list, one tools/call, DELETE of the session), each step
// timed; exits non-zero when any step fails.
#include "cli/commands.h"
#include "cli/ops_support.h"
#include "cli/output.h"
#include "ops/smoke_test.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace forge::cli {
namespace {

namespace json = boost::json;

class SmokeTestCommand final : public Command {
public:
  std::string name() const override { return "smoke-test"; }
  std::string synopsis() const override {
    return "Initialize, list and call a tool through the gateway's MCP endpoint, timed";
  }

  void setup(CLI::App& app) override {
    connection_.addOptions(app, Reach::kGateway);
    app.add_option("--tool", options_.tool,
                   "The tool to call, by its exposed name (default: the first that needs no "
                   "arguments)");
    app.add_option("--args", options_.arguments, "The tool's arguments, a JSON object")
        ->capture_default_str();
    app.add_option("--path", options_.path, "The MCP endpoint (/mcp, /servers/<id>/mcp...)")
        ->capture_default_str();
    app.add_option("--timeout", timeout_seconds_, "Seconds allowed for each step")
        ->capture_default_str();
    app.footer("Exit codes: 0 every step passed, 1 a step failed, 3 the gateway is unreachable.\n"
               "Examples:\n  forge smoke-test\n"
               "  forge smoke-test --tool fixture__add --args '{\"a\": 1, \"b\": 2}' --json");
  }

  int run() override {
    options_.base_url = connection_.gatewayUrl();
    if (auto token = connection_.token()) options_.token = *token;
    options_.timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds_ * 1000));
    if (!connection_.json())
      std::fprintf(stderr, "smoke test of %s%s...\n", options_.base_url.c_str(),
                   options_.path.c_str());
    const auto report = ops::runSmokeTest(options_);
    print(report);
    if (report.ok()) return kExitOk;
    const auto& failed = *std::find_if(report.steps.begin(), report.steps.end(),
                                       [](const ops::SmokeStep& s) { return !s.ok; });
    if (report.unreachable) {
      return connection_.fail(kExitUnhealthy,
                              fmt::format("cannot reach the gateway at {}: {} (start it, or give "
                                          "--gateway-url)",
                                          options_.base_url, failed.detail));
    }
    return connection_.fail(kExitFailure,
                            fmt::format("step {} failed: {}", failed.name, failed.detail));
  }

private:
  void print(const ops::SmokeReport& report) const {
    Table table({"step", "result", "ms", "detail"});
    json::array steps;
    for (const auto& s : report.steps) {
      table.addRow(
          {s.name, s.ok ? "ok" : "FAILED", fmt::format("{:.1f}", s.milliseconds), s.detail});
      steps.push_back(json::object{
          {"step", s.name}, {"ok", s.ok}, {"ms", s.milliseconds}, {"detail", s.detail}});
    }
    table.addRow({"total", report.ok() ? "ok" : "FAILED",
                  fmt::format("{:.1f}", report.totalMilliseconds()), ""});
    printResult(connection_.json(), table,
                json::object{{"ok", report.ok()},
                             {"tool", report.tool},
                             {"total_ms", report.totalMilliseconds()},
                             {"steps", steps}});
  }

  Connection connection_;
  ops::SmokeOptions options_;
  double timeout_seconds_ = 30;
};

} // namespace

CommandPtr makeSmokeTestCommand() { return std::make_unique<SmokeTestCommand>(); }

} // namespace forge::cli
