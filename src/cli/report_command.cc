// forge report performance|capacity|trends|bottlenecks: reports from the calls the gateways
// recorded (per-minute latency histograms in the shared database) over --since, with the
// machine's and the manager's figures where a report needs them. The computations are in
// ops/report.h; this prints them.
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "cli/connection.h"
#include "cli/ops_sources.h"
#include "cli/output.h"
#include "ops/monitor.h"
#include "ops/report.h"
#include "server/gateway_config.h"
#include "storage/store.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace forge::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// "+12.5%", or why there is no figure.
std::string percent(std::optional<double> growth) {
  return growth ? fmt::format("{:+.1f}%", *growth) : "n/a (no calls in one half)";
}

class ReportCommand final : public Command {
public:
  ReportCommand() : config_(server::gatewaySchema()) {}
  std::string name() const override { return "report"; }
  std::string synopsis() const override {
    return "Performance, capacity, trends and bottlenecks from the recorded call metrics";
  }
  void setup(CLI::App& app) override {
    app.add_option("kind", kind_, "performance | capacity | trends | bottlenecks")
        ->required()
        ->check(CLI::IsMember({"performance", "capacity", "trends", "bottlenecks"}));
    app.add_option("--since", since_,
                   "The window: 30m, 24h, 7d (default: 7d for trends, else 24h)");
    app.add_option("--target", target_,
                   "capacity: CPU utilisation (percent of the machine) the gateway should stay "
                   "under at the peak")
        ->check(CLI::Range(1.0, 100.0))
        ->capture_default_str();
    app.add_option("--top", top_, "bottlenecks: how many tools to list")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    connection_.addOptions(app, Reach::kAll);
    config_.addTo(app, {"monitor."});
    app.footer("Examples:\n"
               "  forge report performance --since 1h\n"
               "  forge report capacity --target 60\n"
               "  forge report trends --since 30d --json\n"
               "  forge report bottlenecks --top 10");
  }

  int run() override {
    ops::MonitorSettings settings;
    try {
      settings = ops::monitorSettings(config_.load());
    } catch (const config::ConfigError& error) {
      return reportConfigError(error);
    }
    if (since_.empty()) since_ = kind_ == "trends" ? "7d" : "24h";
    auto length = parseWindow(since_);
    if (!length) return connection_.fail(kExitUsage, "--since: " + length.error().message);
    auto db = connection_.database();
    if (!db) return connection_.fail(kExitFailure, db.error().message);
    const auto window = ops::lastWindow(*length);
    auto minutes = ops::loadMinutes(**db, window);
    if (!minutes) return connection_.fail(kExitFailure, minutes.error().message);

    if (kind_ == "performance") return performance(*minutes, window);
    if (kind_ == "trends") return trends(*minutes, window);
    if (kind_ == "capacity") return capacity(*minutes, window, settings);
    return bottlenecks(**db, *minutes, window, settings);
  }

private:
  void print(const std::string& human, const json::object& report) {
    if (connection_.json())
      fmt::print("{}\n", json::serialize(report));
    else
      fmt::print("{}", human);
  }

  static std::string heading(const std::string& title, const ops::CallWindow& window) {
    return fmt::format("{} from {} to {}\n", title, storage::isoUtc(window.from),
                       storage::isoUtc(window.to));
  }

  int performance(const std::vector<storage::CallMinute>& minutes, const ops::CallWindow& window) {
    const auto r = ops::performanceReport(minutes, window);
    print(heading("Performance", window) +
              fmt::format("total: {} call(s), {:.3f}/s, {:.1f}% failed, p50 {:.1f} ms, p90 {:.1f} "
                          "ms, p99 {:.1f} ms, max {:.1f} ms\n\nper upstream:\n{}\nper tool:\n{}",
                          r.total.calls, r.total.calls_per_second, r.total.error_percent,
                          r.total.p50_ms, r.total.p90_ms, r.total.p99_ms, r.total.max_ms,
                          figuresTable(r.upstreams, false).render(),
                          figuresTable(r.tools, true).render()),
          ops::toJson(r));
    return kExitOk;
  }

  int capacity(const std::vector<storage::CallMinute>& minutes, const ops::CallWindow& window,
               const ops::MonitorSettings& settings) {
    std::fprintf(stderr, "sampling CPU for 1 s...\n");
    const auto figures = sampleStack(connection_, settings.gateway_service, 1s, true);
    ops::CapacityInputs inputs{figures.system, figures.replicas, figures.sessions, target_, 5min};
    const auto r = ops::capacityReport(minutes, window, inputs);
    Table table({"figure", "value"});
    table.addRow({"calls/min now (last 5 min)", number(r.current_per_minute)});
    table.addRow({"calls/min average", number(r.average_per_minute)});
    table.addRow({"calls/min peak", fmt::format("{} at {}", number(r.peak_per_minute, 0),
                                                r.peak_minute.empty() ? "-" : r.peak_minute)});
    table.addRow({"CPU headroom %", number(r.cpu_headroom)});
    table.addRow({"memory headroom %", number(r.memory_headroom)});
    table.addRow({"gateway CPU %", number(r.gateway_cpu)});
    table.addRow({"replicas", r.replicas ? std::to_string(*r.replicas) : "-"});
    table.addRow({"sessions", r.sessions ? std::to_string(*r.sessions) : "-"});
    table.addRow({"peak calls/min per replica", number(r.peak_per_replica)});
    table.addRow({"gateway CPU % at the peak", number(r.projected_peak_cpu)});
    table.addRow({fmt::format("replicas for {:.0f}% at the peak", target_),
                  r.suggested_replicas ? std::to_string(*r.suggested_replicas) : "-"});
    table.addRow({"more replicas needed",
                  r.additional_replicas ? std::to_string(*r.additional_replicas) : "-"});
    std::string human = heading("Capacity", window) + table.render();
    if (!r.note.empty()) human += "note: " + r.note + "\n";
    if (!figures.gateway_cpu_note.empty() && !figures.system.gateway_cpu)
      std::fprintf(stderr, "gateway CPU: %s\n", figures.gateway_cpu_note.c_str());
    print(human, ops::toJson(r));
    return kExitOk;
  }

  int trends(const std::vector<storage::CallMinute>& minutes, const ops::CallWindow& window) {
    const auto r = ops::trendsReport(minutes, window);
    Table table(
        {r.period == ops::Period::kDay ? "DAY" : "HOUR", "CALLS", "ERRORS", "ERROR %", "P95 MS"});
    for (const auto& p : r.points)
      table.addRow({p.period, std::to_string(p.calls), std::to_string(p.errors),
                    number(p.error_percent), number(p.p95_ms)});
    const std::string human =
        heading("Trends", window) + table.render() +
        fmt::format("\nfirst half: {} call(s), p95 {:.1f} ms; second half: {} call(s), p95 {:.1f} "
                    "ms\ngrowth: calls {}, p95 {}, error rate {:+.1f} points\n",
                    r.first_half.calls, r.first_half.p95_ms, r.second_half.calls,
                    r.second_half.p95_ms, percent(r.calls_growth), percent(r.p95_growth),
                    r.error_rate_change);
    print(human, ops::toJson(r));
    return kExitOk;
  }

  int bottlenecks(storage::Database& db, const std::vector<storage::CallMinute>& minutes,
                  const ops::CallWindow& window, const ops::MonitorSettings& settings) {
    std::vector<ops::UpstreamLimit> limits;
    storage::Store store(db);
    if (auto gateways = store.gateways())
      for (const auto& g : *gateways)
        limits.push_back({g.slug, g.max_concurrency});
    std::fprintf(stderr, "sampling CPU for 1 s...\n");
    const auto figures = sampleStack(connection_, settings.gateway_service, 1s, false);
    const auto r =
        ops::bottlenecksReport(minutes, window, limits, figures.system.cpu,
                               settings.resources.cpu.warning, static_cast<std::size_t>(top_));
    std::string human = heading("Bottlenecks", window);
    human += "slowest tools (p95):\n" + figuresTable(r.slowest, true).render();
    human += "\nmost failing tools:\n" + figuresTable(r.most_failing, true).render();
    Table concurrency({"UPSTREAM", "MAX_CONCURRENCY", "PEAK IN FLIGHT", "% OF LIMIT"});
    for (const auto& c : r.concurrency)
      concurrency.addRow({c.upstream, std::to_string(c.max_concurrency),
                          number(c.peak_concurrency, 2), number(c.percent_of_limit)});
    human += "\nconcurrency (busiest minute):\n" + concurrency.render();
    human += fmt::format("\nCPU: {}%{}\n", number(r.cpu), r.cpu_saturated ? " (saturated)" : "");
    human += r.findings.empty() ? "\nno bottleneck found\n" : "\nfindings:\n";
    for (const auto& f : r.findings)
      human += "  - " + f + "\n";
    print(human, ops::toJson(r));
    return kExitOk;
  }

  Connection connection_;
  ConfigFlags config_;
  std::string kind_;
  std::string since_;
  double target_ = 70;
  int top_ = 5;
};

} // namespace

CommandPtr makeReportCommand() { return std::make_unique<ReportCommand>(); }

} // namespace forge::cli
