// forge monitor: the operations guide's monitoring, on the live stack.
//   --check            one round: CPU (machine, gateway), memory, disk, p95 response time and
//                      error rate of recent calls, graded; exits with the worst state
//   --watch SECONDS    a round every SECONDS, one line each, until interrupted (or --count N)
//   --alerts [--all]   open alerts (with --all, recent ones too), with start and end
//   --report           the checks and per-upstream and per-tool figures over --since
// Every round updates the alerts table; --webhook posts new and raised alerts; --auto-restart
// asks the manager for a rolling restart when a figure of the gateway turns critical.
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "cli/connection.h"
#include "cli/ops_sources.h"
#include "cli/output.h"
#include "ops/alerts.h"
#include "ops/call_stats.h"
#include "ops/monitor.h"
#include "server/gateway_config.h"
#include "storage/store.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <thread>

namespace forge::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::atomic<bool> g_interrupted{false};
extern "C" void onInterrupt(int) { g_interrupted = true; }

json::array checksJson(const std::vector<ops::Check>& checks) {
  json::array out;
  for (const auto& c : checks)
    out.push_back(
        json::object{{"name", c.name}, {"status", ops::levelName(c.level)}, {"detail", c.detail}});
  return out;
}

class MonitorCommand final : public Command {
public:
  MonitorCommand() : config_(server::gatewaySchema()) {}
  std::string name() const override { return "monitor"; }
  std::string synopsis() const override {
    return "Check CPU, memory, disk, response time and error rate against thresholds; alerts";
  }
  void setup(CLI::App& app) override {
    auto* check = app.add_flag("--check", check_, "One round of checks (the default)");
    auto* watch = app.add_option("--watch", watch_seconds_,
                                 "A round every SECONDS until interrupted (or --count rounds)")
                      ->check(CLI::Range(1, 86'400));
    app.add_option("--count", count_, "With --watch: stop after N rounds")
        ->check(CLI::Range(1, 1'000'000));
    auto* alerts = app.add_flag("--alerts", alerts_, "List open alerts");
    app.add_flag("--all", all_, "With --alerts: recent alerts too, ended ones included");
    auto* report = app.add_flag("--report", report_,
                                "The checks, then calls, error rate and p50/p95/p99 per upstream "
                                "and tool over --since");
    app.add_option("--since", since_, "With --report: the window (30m, 1h, 7d)")
        ->capture_default_str();
    app.add_flag("--auto-restart", auto_restart_,
                 "Ask the manager for a rolling restart of the gateway when one of its figures "
                 "turns critical (monitor.auto_restart)");
    app.add_option("--webhook", webhook_,
                   "POST new and raised alerts as JSON to this URL (monitor.webhook)");
    check->excludes(watch)->excludes(alerts)->excludes(report);
    watch->excludes(alerts)->excludes(report);
    alerts->excludes(report);
    connection_.addOptions(app, Reach::kAll);
    config_.addTo(app, {"monitor."});
    app.footer("Thresholds (warning/critical): CPU 80/90 %, memory 85/90 %, disk 80/90 %, "
               "response time 2s/5s (p95), error rate 5/10 % over monitor.window (5m); set them "
               "in forge.yaml (monitor: cpu_warning: 70), as FORGE_MONITOR_CPU_WARNING=70 or "
               "--monitor-cpu-warning 70.\n"
               "Exit: 0 ok, 4 warning, 3 critical.\n\n"
               "Examples:\n"
               "  forge monitor --check\n"
               "  forge monitor --watch 60\n"
               "  forge monitor --alerts --all\n"
               "  forge monitor --report --since 1h --json");
  }

  int run() override {
    try {
      settings_ = ops::monitorSettings(config_.load());
    } catch (const config::ConfigError& error) {
      return reportConfigError(error);
    }
    if (auto_restart_) settings_.auto_restart = true;
    if (!webhook_.empty()) settings_.webhook = webhook_;
    if (alerts_) return listAlerts();
    if (report_) return summary();
    if (watch_seconds_ > 0) return watch();
    return printRound(round());
  }

private:
  struct Round {
    std::string at;
    std::vector<ops::Measurement> measurements;
    std::vector<ops::Check> checks;
  };

  // The database, opened once; its error is kept for the checks' notes.
  storage::Database* database() {
    if (!db_ && db_error_.empty()) {
      auto db = connection_.database();
      if (db)
        db_ = std::move(*db);
      else
        db_error_ = db.error().message;
    }
    return db_.get();
  }

  Round round() {
    Round r;
    const auto figures = sampleStack(connection_, settings_.gateway_service, 1s, false);
    ops::Readings readings{figures.system, figures.disk_path, figures.gateway_cpu_note, {}, {}};
    if (auto* db = database()) {
      auto minutes = ops::loadMinutes(*db, ops::lastWindow(settings_.window));
      if (minutes)
        readings.calls = ops::totalOf(*minutes);
      else
        readings.calls_note = "reading the recorded calls: " + minutes.error().message;
    } else {
      readings.calls_note = db_error_;
    }
    r.at = storage::nowUtc();
    r.measurements = ops::evaluate(readings, settings_);
    r.checks = ops::checksOf(r.measurements);
    if (auto* db = database()) track(*db, r);
    return r;
  }

  // Opens, raises and ends alerts, and acts on the new ones.
  void track(storage::Database& db, const Round& r) {
    ops::AlertBook book(db);
    auto events = book.apply(r.measurements, r.at);
    if (!events) {
      std::fprintf(stderr, "forge monitor: cannot record alerts: %s\n",
                   events.error().message.c_str());
      return;
    }
    for (auto& event : *events) {
      if (event.change == ops::AlertChange::kUpdated) continue; // the same as last round
      std::fprintf(stderr, "alert %s: %s\n", std::string(alertChangeName(event.change)).c_str(),
                   event.alert.message.c_str());
      const bool worse =
          event.change == ops::AlertChange::kOpened || event.change == ops::AlertChange::kRaised;
      if (!worse) continue;
      if (!settings_.webhook.empty()) notify(event);
      if (settings_.auto_restart && event.alert.level == ops::Level::kCritical &&
          isGatewayMetric(r, event.alert.metric))
        restartGateway(book, event.alert);
    }
  }

  static bool isGatewayMetric(const Round& r, const std::string& metric) {
    for (const auto& m : r.measurements)
      if (m.metric == metric) return m.gateway;
    return false;
  }

  void notify(const ops::AlertEvent& event) {
    const json::value body = json::object{{"source", "forge monitor"},
                                          {"event", ops::alertChangeName(event.change)},
                                          {"alert", ops::toJson(event.alert)}};
    const ApiClient hook(settings_.webhook, "", 10s);
    auto answer = hook.call(net::Method::kPost, "", &body);
    if (!answer || answer->status >= 300)
      std::fprintf(stderr, "forge monitor: webhook %s did not take the alert: %s\n",
                   settings_.webhook.c_str(),
                   answer ? ApiClient::detail(*answer).c_str() : answer.error().message.c_str());
  }

  void restartGateway(ops::AlertBook& book, const ops::Alert& alert) {
    const std::string path = fmt::format("/services/{}/restart", settings_.gateway_service);
    std::string action;
    auto manager = connection_.manager();
    if (!manager) {
      action = "rolling restart not requested: " + manager.error().message;
    } else {
      auto answer = manager->call(net::Method::kPost, path);
      action = !answer ? fmt::format("rolling restart of {} failed: {}", settings_.gateway_service,
                                     answer.error().message)
               : answer->status >= 300 ? fmt::format("rolling restart of {} refused ({}): {}",
                                                     settings_.gateway_service, answer->status,
                                                     ApiClient::detail(*answer))
                                       : fmt::format("rolling restart of {} requested at {}",
                                                     settings_.gateway_service, storage::nowUtc());
    }
    std::fprintf(stderr, "%s\n", action.c_str());
    if (auto noted = book.noteAction(alert.id, action); !noted)
      std::fprintf(stderr, "forge monitor: cannot record the action: %s\n",
                   noted.error().message.c_str());
  }

  int printRound(const Round& r) { return printChecks(connection_.json(), r.checks); }

  int watch() {
    g_interrupted = false;
    auto previous_int = std::signal(SIGINT, onInterrupt);
    auto previous_term = std::signal(SIGTERM, onInterrupt);
    int code = kExitOk;
    for (int n = 0; !g_interrupted && (count_ == 0 || n < count_); ++n) {
      const auto started = std::chrono::steady_clock::now();
      const Round r = round();
      code = ops::exitCodeOf(ops::worst(r.checks));
      printLine(r);
      const auto next = started + std::chrono::seconds(watch_seconds_);
      while (!g_interrupted && (count_ == 0 || n + 1 < count_) &&
             std::chrono::steady_clock::now() < next)
        std::this_thread::sleep_for(100ms);
    }
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    return code;
  }

  // One round on one line: "2026-12-04T17:05:00Z warning cpu 12.3% ok, ...".
  void printLine(const Round& r) {
    const auto worst = ops::worst(r.checks);
    if (connection_.json()) {
      fmt::print("{}\n", json::serialize(json::object{{"at", r.at},
                                                      {"status", ops::levelName(worst)},
                                                      {"checks", checksJson(r.checks)}}));
    } else {
      std::string line = fmt::format("{} {:<8}", r.at, ops::levelName(worst));
      for (const auto& m : r.measurements)
        line += fmt::format(" | {} {} {}", m.metric,
                            m.value ? ops::formatValue(m.metric, *m.value) : "-",
                            ops::levelName(m.level));
      fmt::print("{}\n", line);
    }
    std::fflush(stdout);
  }

  int listAlerts() {
    auto* db = database();
    if (!db) return connection_.fail(kExitFailure, db_error_);
    ops::AlertBook book(*db);
    auto alerts = all_ ? book.recent(100) : book.open();
    if (!alerts) return connection_.fail(kExitFailure, alerts.error().message);
    Table table({"METRIC", "LEVEL", "VALUE", "THRESHOLD", "STARTED", "ENDED", "MESSAGE", "ACTION"});
    json::array items;
    for (const auto& a : *alerts) {
      table.addRow({a.metric, std::string(ops::levelName(a.level)),
                    ops::formatValue(a.metric, a.value), ops::formatValue(a.metric, a.threshold),
                    a.started_at, a.open() ? "(open)" : a.ended_at, a.message, a.action});
      items.push_back(ops::toJson(a));
    }
    if (!connection_.json() && alerts->empty()) {
      fmt::print("{}\n", all_ ? "no alerts recorded" : "no open alerts");
      return kExitOk;
    }
    printResult(connection_.json(), table, items);
    return kExitOk;
  }

  int summary() {
    auto window = parseWindow(since_);
    if (!window) return connection_.fail(kExitUsage, "--since: " + window.error().message);
    const Round r = round();
    auto* db = database();
    if (!db) return connection_.fail(kExitFailure, db_error_);
    const auto span = ops::lastWindow(*window);
    auto minutes = ops::loadMinutes(*db, span);
    if (!minutes) return connection_.fail(kExitFailure, minutes.error().message);
    const auto performance = ops::performanceReport(*minutes, span);
    const auto worst = ops::worst(r.checks);
    if (connection_.json()) {
      fmt::print("{}\n", json::serialize(json::object{{"status", ops::levelName(worst)},
                                                      {"checks", checksJson(r.checks)},
                                                      {"performance", ops::toJson(performance)}}));
    } else {
      printChecks(false, r.checks);
      fmt::print("\ncalls since {}: {} ({} failed, {:.1f}%), p50 {:.1f} ms, p95 {:.1f} ms, p99 "
                 "{:.1f} ms\n\nper upstream:\n{}\nper tool:\n{}",
                 storage::isoUtc(span.from), performance.total.calls, performance.total.errors,
                 performance.total.error_percent, performance.total.p50_ms,
                 performance.total.p95_ms, performance.total.p99_ms,
                 figuresTable(performance.upstreams, false).render(),
                 figuresTable(performance.tools, true).render());
    }
    return ops::exitCodeOf(worst);
  }

  Connection connection_;
  ConfigFlags config_;
  ops::MonitorSettings settings_;
  bool check_ = false;
  int watch_seconds_ = 0;
  int count_ = 0;
  bool alerts_ = false;
  bool all_ = false;
  bool report_ = false;
  std::string since_ = "1h";
  bool auto_restart_ = false;
  std::string webhook_;
  storage::DatabasePtr db_;
  std::string db_error_;
};

} // namespace

CommandPtr makeMonitorCommand() { return std::make_unique<MonitorCommand>(); }

} // namespace forge::cli
