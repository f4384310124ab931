// `forge stats`: one screen about the running gateway, from its /metrics and /version: uptime,
// requests, calls per second since start, error rate, sessions, the busiest and the slowest
// tools, upstreams.
#include "cli/commands.h"
#include "cli/ops_support.h"
#include "cli/output.h"
#include "ops/prometheus.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace forge::cli {
namespace {

namespace json = boost::json;

class StatsCommand final : public Command {
public:
  std::string name() const override { return "stats"; }
  std::string synopsis() const override {
    return "A one-screen summary of the running gateway (traffic, errors, top tools, upstreams)";
  }

  void setup(CLI::App& app) override {
    connection_.addOptions(app, Reach::kGateway);
    app.add_option("--top", top_, "How many tools to list in each ranking")->capture_default_str();
    app.footer("Figures are since the gateway process started (its /metrics).\n"
               "Examples:\n  forge stats\n  forge stats --top 10 --json");
  }

  int run() override {
    const ApiClient api = gatewayClient(connection_);
    int code = kExitOk;
    auto metrics = connection_.call(api, net::Method::kGet, "/metrics", code);
    if (!metrics) return code;
    const auto stats = ops::gatewayStats(ops::parsePrometheus(metrics->text));
    std::string error;
    const auto version = get(api, "/version", error);
    const json::value about = version && version->status == 200 ? version->body : json::value();
    connection_.json() ? printJson(stats, about) : printText(stats, about);
    return kExitOk;
  }

private:
  std::vector<ops::ToolFigures> slowest(const ops::GatewayStats& stats) const {
    auto tools = stats.tools;
    std::stable_sort(tools.begin(), tools.end(),
                     [](const auto& a, const auto& b) { return a.mean_seconds > b.mean_seconds; });
    tools.resize(std::min<std::size_t>(tools.size(), static_cast<std::size_t>(top_)));
    return tools;
  }

  std::vector<ops::ToolFigures> busiest(const ops::GatewayStats& stats) const {
    auto tools = stats.tools; // most called first already
    tools.resize(std::min<std::size_t>(tools.size(), static_cast<std::size_t>(top_)));
    return tools;
  }

  static json::object toolJson(const ops::ToolFigures& t) {
    return json::object{{"upstream", t.upstream},
                        {"tool", t.tool},
                        {"calls", t.calls},
                        {"errors", t.errors},
                        {"mean_ms", t.mean_seconds * 1000},
                        {"p95_ms", t.p95_seconds * 1000}};
  }

  void printJson(const ops::GatewayStats& s, const json::value& about) {
    json::array busy, slow, upstreams;
    for (const auto& t : busiest(s))
      busy.push_back(toolJson(t));
    for (const auto& t : slowest(s))
      slow.push_back(toolJson(t));
    for (const auto& u : s.upstreams)
      upstreams.push_back(
          json::object{{"name", u.name}, {"up", u.up}, {"calls", u.calls}, {"errors", u.errors}});
    const json::value out =
        json::object{{"gateway", connection_.gatewayUrl()},
                     {"version", about.is_object() ? about.as_object().at("app") : json::value()},
                     {"pid", s.pid},
                     {"uptime_seconds", s.uptime_seconds},
                     {"mcp_requests", s.mcp_requests},
                     {"mcp_errors", s.mcp_errors},
                     {"error_rate_percent", s.errorRate()},
                     {"http_responses", s.http_responses},
                     {"http_5xx", s.http_errors},
                     {"tool_calls", s.tool_calls},
                     {"tool_errors", s.tool_errors},
                     {"calls_per_second", s.callsPerSecond()},
                     {"sessions", s.sessions},
                     {"connections", s.connections},
                     {"rss_bytes", s.rss_bytes},
                     {"cpu_seconds", s.cpu_seconds},
                     {"open_fds", s.open_fds},
                     {"top_tools_by_calls", busy},
                     {"top_tools_by_latency", slow},
                     {"upstreams", upstreams}};
    printResult(true, Table({}), out);
  }

  void printText(const ops::GatewayStats& s, const json::value& about) {
    const std::string version =
        about.is_object() ? textOf(about.as_object().at("app"), "version") : "?";
    fmt::print("gateway   {} (forge {}, pid {}), up {}\n", connection_.gatewayUrl(), version, s.pid,
               durationText(s.uptime_seconds));
    fmt::print("requests  {:.0f} MCP ({:.0f} errors, {:.2f} %), {:.0f} HTTP ({:.0f} 5xx)\n",
               s.mcp_requests, s.mcp_errors, s.errorRate(), s.http_responses, s.http_errors);
    fmt::print("calls     {:.0f} tool calls, {:.2f}/s since start, {:.0f} errors\n", s.tool_calls,
               s.callsPerSecond(), s.tool_errors);
    fmt::print("sessions  {:.0f} MCP sessions, {:.0f} connections\n", s.sessions, s.connections);
    fmt::print("process   {} resident, {:.1f} s CPU, {:.0f} open files\n", bytesText(s.rss_bytes),
               s.cpu_seconds, s.open_fds);
    auto ranking = [](const char* title, const std::vector<ops::ToolFigures>& tools) {
      fmt::print("\n{}\n", title);
      Table table({"upstream", "tool", "calls", "errors", "mean ms", "p95 ms"});
      for (const auto& t : tools)
        table.addRow({t.upstream, t.tool, fmt::format("{:.0f}", t.calls),
                      fmt::format("{:.0f}", t.errors), fmt::format("{:.1f}", t.mean_seconds * 1000),
                      fmt::format("<= {:.0f}", t.p95_seconds * 1000)});
      fmt::print("{}", tools.empty() ? "(no tool calls yet)\n" : table.render());
    };
    ranking("top tools by calls", busiest(s));
    ranking("top tools by mean latency", slowest(s));
    fmt::print("\nupstreams\n");
    Table upstreams({"upstream", "state", "calls", "errors"});
    for (const auto& u : s.upstreams)
      upstreams.addRow({u.name, u.up ? "up" : "DOWN", fmt::format("{:.0f}", u.calls),
                        fmt::format("{:.0f}", u.errors)});
    fmt::print("{}", s.upstreams.empty() ? "(none)\n" : upstreams.render());
  }

  Connection connection_;
  int top_ = 5;
};

} // namespace

CommandPtr makeStatsCommand() { return std::make_unique<StatsCommand>(); }

} // namespace forge::cli
