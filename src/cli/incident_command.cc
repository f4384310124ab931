// `forge incident`: the operations guide's incident response as commands, each step recorded in
// the incident's timeline in the stack's database (ops/incident.h):
//   open --severity S --title T     record it, notify the webhooks, print its id
//   assess [ID]                     diagnostics of the live stack, graded; attached to ID
//   recover ID [--dry-run]          restart what the manager runs that is down, re-check
//   escalate ID [--level N]         up the guide's levels 1-4, notifying
//   escalate --auto                 every open incident past its deadline (cron, monitor)
//   note ID TEXT, close ID --resolution TEXT, list, show ID
// Notifications: ops/notify.h (<data-dir>/notifications.yml, $FORGE_WEBHOOK_URL,
// $FORGE_SLACK_WEBHOOK_URL); a failed delivery is reported and recorded, never fatal.
#include "cli/commands.h"
#include "cli/config_flags.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "ops/diagnostics.h"
#include "ops/escalation.h"
#include "ops/incident.h"
#include "ops/monitor.h"
#include "ops/notify.h"
#include "server/gateway_config.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

namespace forge::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using ops::Incident;
using ops::IncidentStore;

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

// What every incident subcommand shares: its connection, who acts, the notifications.
struct Context {
  Connection connection;
  std::string actor;
  std::string notify_config;

  void addOptions(CLI::App& app, Reach reach, bool notifies) {
    connection.addOptions(app, reach);
    app.add_option("--by", actor, "Who acts, for the timeline (default: $FORGE_ACTOR, $USER)");
    if (notifies) {
      app.add_option("--notify-config", notify_config,
                     "Webhooks and escalation times (default: <data-dir>/notifications.yml)");
    }
  }

  std::string who() {
    if (actor.empty()) actor = fromEnvironment({"FORGE_ACTOR", "USER", "LOGNAME"});
    if (actor.empty()) actor = "operator";
    return actor;
  }

  int fail(int code, const std::string& message) const { return connection.fail(code, message); }

  // The exit code an error of the store calls for.
  int failWith(const core::Error& error) const {
    const int code = error.code == core::Errc::kNotFound || error.code == core::Errc::kConflict ||
                             error.code == core::Errc::kInvalidParams
                         ? kExitUsage
                         : kExitFailure;
    return fail(code, error.message);
  }

  // The notification settings; a broken file is reported (and leaves no webhooks), since an
  // incident must be recorded even when its notifications cannot be sent.
  core::Result<ops::NotifyConfig> notifications() {
    const bool given = !notify_config.empty();
    const auto file = given ? std::filesystem::path(notify_config)
                            : std::filesystem::path(connection.dataDir()) / "notifications.yml";
    return ops::loadNotifyConfig(file, given);
  }
};

// Sends `notice` about `incident` to every webhook that wants it, records each delivery (or the
// configuration problem) in the timeline, and reports failures on stderr. Returns the deliveries.
json::array notify(Context& context, IncidentStore& store, const Incident& incident,
                   ops::Notice notice) {
  json::array out;
  notice.severity = incident.severity;
  notice.level = incident.level;
  notice.subject_name = "incident";
  notice.subject = ops::toJson(incident);
  notice.fields.insert(
      notice.fields.begin(),
      {{"Incident", std::to_string(incident.id)},
       {"Severity", std::string(ops::severityName(incident.severity))},
       {"State", std::string(ops::stateName(incident.state))},
       {"Level", fmt::format("{} ({})", incident.level, ops::levelContact(incident.level))},
       {"Opened", fmt::format("{} by {}", incident.opened_at, incident.opened_by)}});
  auto config = context.notifications();
  if (!config) {
    std::fprintf(stderr, "forge %s: notifications not sent: %s\n",
                 context.connection.command().c_str(), config.error().message.c_str());
    (void)store.record(incident.id, "notify-failed", context.who(),
                       fmt::format("{} not sent: {}", notice.event, config.error().message));
    out.push_back(json::object{{"webhook", ""}, {"ok", false}, {"error", config.error().message}});
    return out;
  }
  for (const auto& delivery : ops::deliver(config->webhooks, notice)) {
    json::object data{{"webhook", delivery.webhook},
                      {"event", notice.event},
                      {"ok", delivery.ok},
                      {"status", delivery.status},
                      {"ms", delivery.took.count()}};
    if (!delivery.ok) {
      data["error"] = delivery.error;
      std::fprintf(stderr, "forge %s: webhook %s failed: %s (recorded in the timeline)\n",
                   context.connection.command().c_str(), delivery.webhook.c_str(),
                   delivery.error.c_str());
    }
    (void)store.record(
        incident.id, delivery.ok ? "notified" : "notify-failed", context.who(),
        delivery.ok
            ? fmt::format("{} sent to {} ({}, {} ms)", notice.event, delivery.webhook,
                          delivery.status, delivery.took.count())
            : fmt::format("{} to {} failed: {}", notice.event, delivery.webhook, delivery.error),
        data);
    out.push_back(std::move(data));
  }
  return out;
}

// When the next level is due, for output: "level 2 (senior engineer) in 25 min", or "".
std::string nextEscalation(const ops::EscalationPolicy& policy, const Incident& incident,
                           ops::WallClock::time_point now) {
  if (incident.state != ops::IncidentState::kOpen) return "";
  const auto deadline = ops::nextDeadline(policy, incident.severity, incident.level);
  if (!deadline) return "";
  const auto open_for = ops::openFor(incident, now);
  const int next = incident.level + 1;
  return *deadline > open_for
             ? fmt::format("level {} ({}) in {}", next, ops::levelContact(next),
                           ops::formatDuration(*deadline - open_for))
             : fmt::format("level {} ({}) overdue by {}", next, ops::levelContact(next),
                           ops::formatDuration(open_for - *deadline));
}

json::object incidentJson(const Incident& incident, const ops::EscalationPolicy& policy,
                          ops::WallClock::time_point now) {
  auto out = ops::toJson(incident);
  out["open_for_seconds"] = ops::openFor(incident, now).count();
  const auto deadline = ops::nextDeadline(policy, incident.severity, incident.level);
  if (deadline && incident.state == ops::IncidentState::kOpen) {
    if (auto opened = ops::parseUtc(incident.opened_at))
      out["next_escalation_at"] = ops::formatUtcSeconds(*opened + *deadline);
  }
  return out;
}

json::array checksJson(const std::vector<ops::Check>& checks) {
  json::array out;
  for (const auto& check : checks) {
    out.push_back(json::object{
        {"name", check.name}, {"status", ops::levelName(check.level)}, {"detail", check.detail}});
  }
  return out;
}

// ---- the subcommands ---------------------------------------------------------------------------

class Subcommand {
public:
  virtual ~Subcommand() = default;
  // Opens the stack's database and runs with its incidents.
  virtual int run() {
    auto db = context_.connection.database();
    if (!db) return context_.fail(kExitFailure, db.error().message);
    db_ = std::move(*db);
    IncidentStore incidents(*db_);
    return runWith(incidents);
  }

protected:
  virtual int runWith(IncidentStore& incidents) = 0;
  bool json() const { return context_.connection.json(); }

  Context context_;
  storage::DatabasePtr db_;
};

class OpenSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("--severity,-s", severity_, "CRITICAL, WARNING or INFO")->required();
    app.add_option("--title,-t", title_, "What is wrong, in one line")->required();
    app.add_option("--summary", summary_, "More about it");
    app.add_option("--level", level_,
                   "Start at escalation level 1-4 (the guide's immediate "
                   "escalation: data loss, breach, several services down)")
        ->check(CLI::Range(1, 4))
        ->capture_default_str();
    context_.addOptions(app, Reach::kDatabase, true);
    app.footer("Prints the new incident's id (the details go to stderr).\n"
               "Example:\n  ID=$(forge incident open -s CRITICAL -t 'gateway down' "
               "--data-dir /var/lib/forge)\n  forge incident assess $ID");
  }
  int run() override {
    const auto severity = ops::parseSeverity(severity_);
    if (!severity) {
      return context_.fail(kExitUsage, fmt::format("--severity '{}' is not CRITICAL, WARNING "
                                                   "or INFO",
                                                   severity_));
    }
    severity_value_ = *severity;
    return Subcommand::run();
  }

private:
  int runWith(IncidentStore& incidents) override {
    const auto severity = &severity_value_;
    auto incident = incidents.open({title_, *severity, level_, context_.who(), summary_});
    if (!incident) return context_.failWith(incident.error());
    auto deliveries = notify(
        context_, incidents, *incident,
        {.event = "incident.opened",
         .title = fmt::format("Incident {} opened: {}", incident->id, title_),
         .text = fmt::format("{}{}Engaged: level {} ({}). Assess with `forge incident assess "
                             "{}`.",
                             summary_, summary_.empty() ? "" : "\n", incident->level,
                             ops::levelContact(incident->level), incident->id)});
    const auto policy = context_.notifications();
    const auto now = ops::WallClock::now();
    auto shown =
        incidentJson(*incident, policy ? policy->escalation : ops::EscalationPolicy::guide(), now);
    if (json()) {
      shown["notifications"] = deliveries;
      std::printf("%s\n", json::serialize(shown).c_str());
      return kExitOk;
    }
    std::printf("%lld\n", static_cast<long long>(incident->id));
    const auto next = nextEscalation(policy ? policy->escalation : ops::EscalationPolicy::guide(),
                                     *incident, now);
    std::fprintf(stderr, "incident %lld opened: %s, level %d (%s)%s; %zu notification%s sent\n",
                 static_cast<long long>(incident->id),
                 std::string(ops::severityName(*severity)).c_str(), incident->level,
                 std::string(ops::levelContact(incident->level)).c_str(),
                 next.empty() ? "" : fmt::format("; {} if unresolved", next).c_str(),
                 deliveries.size(), deliveries.size() == 1 ? "" : "s");
    return kExitOk;
  }

private:
  std::string severity_, title_, summary_;
  ops::Severity severity_value_ = ops::Severity::kWarning;
  int level_ = 1;
};

// One GET, timed; what came back or why nothing did.
ops::Probe probe(const core::Result<ApiClient>& api, const std::string& path) {
  ops::Probe p;
  if (!api) {
    p.error = api.error().message;
    return p;
  }
  p.url = api->base() + path;
  const auto started = std::chrono::steady_clock::now();
  auto answer = api->call(net::Method::kGet, path);
  p.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!answer) {
    p.error = answer.error().message;
    return p;
  }
  p.reached = true;
  p.status = answer->status;
  p.body = std::move(answer->body);
  return p;
}

// Gathers the live stack's diagnostics (ops::StackSnapshot) through the gateway's and the
// manager's APIs.
class Gatherer {
public:
  Gatherer(Connection& connection, int log_tail, std::chrono::milliseconds sample)
      : connection_(connection), log_tail_(log_tail), sample_(sample) {}

  ops::StackSnapshot gather() {
    ops::StackSnapshot s;
    s.gateway_url = connection_.gatewayUrl();
    s.manager_url = connection_.managerUrl();
    s.data_dir = connection_.dataDir();
    progress("gateway");
    auto gateway = connection_.gateway(10s);
    s.gateway_health = probe(gateway, "/health");
    s.gateway_ready = probe(gateway, "/ready");
    if (s.gateway_health.reached) s.gateway_version = probe(gateway, "/version");
    progress("manager");
    auto manager = connection_.manager(10s);
    s.manager_services = probe(manager, "/services");
    if (s.manager_services.ok()) {
      s.manager_resources = probe(manager, "/system/resources");
      s.usage = usage(*manager, s.manager_services.body);
      readLog(*manager, s);
    }
    s.disk = ops::diskUsage(s.data_dir);
    return s;
  }

private:
  void progress(const char* what) {
    if (!connection_.json()) std::fprintf(stderr, "assessing the %s...\n", what);
  }

  // CPU between two samples of each running service's metrics, and memory.
  std::map<std::string, ops::ServiceUsage> usage(const ApiClient& manager,
                                                 const json::value& services) {
    std::map<std::string, double> first_cpu;
    std::map<std::string, ops::ServiceUsage> out;
    if (!services.is_array()) return out;
    auto sampleAll = [&](auto&& each) {
      for (const auto& s : services.as_array()) {
        if (!s.is_object() || s.at("state") != "running") continue;
        const auto name = text(s.at("name"));
        auto metrics = manager.call(net::Method::kGet, "/services/" + name + "/metrics");
        if (metrics && metrics->status == 200 && metrics->body.is_object())
          each(name, metrics->body.as_object());
      }
    };
    progress("services' CPU and memory");
    const auto started = std::chrono::steady_clock::now();
    sampleAll([&](const std::string& name, const json::object& m) {
      first_cpu[name] = m.at("cpu_seconds").to_number<double>();
    });
    std::this_thread::sleep_for(sample_);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    sampleAll([&](const std::string& name, const json::object& m) {
      auto& use = out[name];
      use.rss_bytes = m.at("rss_bytes").to_number<std::int64_t>();
      if (auto first = first_cpu.find(name); first != first_cpu.end() && elapsed > 0)
        use.cpu_percent =
            100.0 * (m.at("cpu_seconds").to_number<double>() - first->second) / elapsed;
    });
    return out;
  }

  // The recent lines of the gateway's log, if the manager runs the gateway.
  void readLog(const ApiClient& manager, ops::StackSnapshot& s) {
    for (const auto& service : s.manager_services.body.as_array()) {
      if (!service.is_object() || text(service.at("kind")) != "gateway") continue;
      s.log_service = text(service.at("name"));
      progress("gateway's log");
      auto logs = manager.call(net::Method::kGet,
                               fmt::format("/services/{}/logs?tail={}", s.log_service, log_tail_));
      if (!logs || logs->status != 200 || !logs->body.is_object()) return;
      if (const auto* lines = logs->body.as_object().if_contains("lines");
          lines && lines->is_array()) {
        for (const auto& line : lines->as_array())
          s.log_lines.push_back(text(line));
      }
      return;
    }
  }

  Connection& connection_;
  int log_tail_;
  std::chrono::milliseconds sample_;
};

class AssessSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("id", id_, "The incident to attach the diagnostics to (none: only assess)");
    app.add_option("--log-lines", log_tail_, "Lines of the gateway's log to search for errors")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    app.add_option("--sample", sample_seconds_, "Seconds between the two CPU samples")
        ->check(CLI::Range(0.1, 60.0))
        ->capture_default_str();
    context_.addOptions(app, Reach::kAll, false);
    config_.addTo(app, {"monitor.cpu_", "monitor.memory_", "monitor.disk_"});
    app.footer("Limits: those of forge monitor (monitor.cpu_warning and the like; the guide's "
               "80/90 %, 85/90 %, 80/90 % by default).\n"
               "Exit code: 0 ok, 4 warning, 3 critical (like forge health).\n"
               "Example:\n  forge incident assess            # what severity would this be?\n"
               "  forge incident assess 3 --json   # attach the diagnostics to incident 3");
  }
  // Without an incident, the database is not needed.
  int run() override { return id_ > 0 ? Subcommand::run() : assess(nullptr); }

private:
  int runWith(IncidentStore& incidents) override { return assess(&incidents); }

  int assess(IncidentStore* incidents) {
    std::optional<Incident> incident;
    if (incidents) {
      auto found = incidents->get(id_);
      if (!found) return context_.failWith(found.error());
      incident = *found;
    }
    ops::ResourceLimits limits;
    try {
      limits = ops::monitorSettings(config_.load()).resources;
    } catch (const config::ConfigError& error) {
      return reportConfigError(error);
    }
    Gatherer gatherer(context_.connection, log_tail_,
                      std::chrono::milliseconds(static_cast<int>(sample_seconds_ * 1000)));
    const auto snapshot = gatherer.gather();
    const auto checks = ops::gradeSnapshot(snapshot, limits);
    const auto verdict = ops::assess(checks);
    const auto worst = ops::worst(checks);
    json::object result{{"status", ops::levelName(worst)},
                        {"checks", checksJson(checks)},
                        {"suggested_severity", ops::severityName(verdict.severity)},
                        {"escalate_now", verdict.escalate_now},
                        {"reason", verdict.reason}};
    if (incident) {
      auto event = incidents->record(
          incident->id, "assessed", context_.who(),
          fmt::format("assessed: {} (suggests {}{}): {}", ops::levelName(worst),
                      ops::severityName(verdict.severity),
                      verdict.escalate_now ? ", escalate now" : "", verdict.reason),
          json::object{{"status", ops::levelName(worst)},
                       {"checks", checksJson(checks)},
                       {"suggested_severity", ops::severityName(verdict.severity)},
                       {"escalate_now", verdict.escalate_now},
                       {"diagnostics", diagnostics(snapshot)}});
      if (!event) return context_.failWith(event.error());
      result["incident"] = incident->id;
      result["timeline_seq"] = event->seq;
    }
    if (json()) {
      std::printf("%s\n", json::serialize(result).c_str());
      return ops::exitCodeOf(worst);
    }
    printChecks(false, checks);
    std::printf("suggested severity: %s (%s)\n",
                std::string(ops::severityName(verdict.severity)).c_str(), verdict.reason.c_str());
    if (incident) {
      std::printf("attached to incident %lld", static_cast<long long>(incident->id));
      if (verdict.severity > incident->severity) {
        std::printf(" (opened as %s: worse than that now)",
                    std::string(ops::severityName(incident->severity)).c_str());
      }
      std::printf("\n");
      if (verdict.escalate_now && incident->level < 2)
        std::printf("escalate now: forge incident escalate %lld\n",
                    static_cast<long long>(incident->id));
      if (worst != ops::Level::kOk)
        std::printf("next: forge incident recover %lld\n", static_cast<long long>(incident->id));
    } else if (worst != ops::Level::kOk) {
      std::printf("open one: forge incident open --severity %s --title '...'\n",
                  std::string(ops::severityName(verdict.severity)).c_str());
    }
    return ops::exitCodeOf(worst);
  }

private:
  // What was gathered, for the timeline: every probe, the usage, the log's error lines, disk.
  static json::object diagnostics(const ops::StackSnapshot& s) {
    json::object usage;
    for (const auto& [name, use] : s.usage)
      usage[name] = json::object{{"cpu_percent", use.cpu_percent}, {"rss_bytes", use.rss_bytes}};
    json::array errors;
    for (const auto& line : ops::errorLines(s.log_lines))
      errors.push_back(json::value(line));
    json::object disk{{"path", s.data_dir}};
    if (s.disk) {
      disk["total_bytes"] = s.disk->total_bytes;
      disk["free_bytes"] = s.disk->free_bytes;
    } else {
      disk["error"] = s.disk.error().message;
    }
    return json::object{{"gateway_health", ops::toJson(s.gateway_health)},
                        {"gateway_ready", ops::toJson(s.gateway_ready)},
                        {"gateway_version", ops::toJson(s.gateway_version)},
                        {"manager_services", ops::toJson(s.manager_services)},
                        {"system_resources", ops::toJson(s.manager_resources)},
                        {"service_usage", std::move(usage)},
                        {"log_service", s.log_service},
                        {"log_lines_read", s.log_lines.size()},
                        {"log_error_lines", std::move(errors)},
                        {"disk", std::move(disk)}};
  }

  std::int64_t id_ = 0;
  int log_tail_ = 200;
  double sample_seconds_ = 1.0;
  ConfigFlags config_{server::gatewaySchema()}; // the monitor's CPU, memory and disk limits
};

class RecoverSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("id", id_, "The incident")->required();
    app.add_flag("--dry-run", dry_run_, "Show the plan; change nothing, record nothing");
    app.add_option("--wait", wait_seconds_, "Seconds to wait for each service to be healthy")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    context_.addOptions(app, Reach::kAll, true);
    app.footer("Starts or restarts every service the manager runs that is down (stopped, "
               "unhealthy,\nbacking off, crash-looping), waits until it is running, re-checks "
               "the gateway, and\nrecords each step. All well: the incident is mitigated.\n"
               "Example:\n  forge incident recover 3 --dry-run\n  forge incident recover 3");
  }

  int runWith(IncidentStore& incidents) override {
    auto incident = incidents.get(id_);
    if (!incident) return context_.failWith(incident.error());
    if (incident->state == ops::IncidentState::kClosed)
      return context_.fail(kExitUsage, fmt::format("incident {} is closed", id_));
    auto manager = context_.connection.manager(std::chrono::seconds(wait_seconds_ + 60));
    if (!manager) return context_.fail(kExitUsage, manager.error().message);
    auto services = manager->call(net::Method::kGet, "/services");
    if (!services || services->status != 200) {
      const auto why = services ? ApiClient::detail(*services) : services.error().message;
      if (!dry_run_) {
        (void)incidents.record(
            id_, "recovery", context_.who(),
            fmt::format("cannot reach the manager at {}: {}", manager->base(), why),
            json::object{{"ok", false}});
      }
      return context_.fail(kExitUnhealthy,
                           fmt::format("cannot list services at {}: {}\n(recovery restarts "
                                       "services through the manager: start it with `forge "
                                       "up`, or give --manager-url)",
                                       manager->base(), why));
    }
    const auto plan = ops::planRecovery(services->body);
    if (dry_run_) return showPlan(plan);

    json::array steps;
    bool all_ok = true;
    for (const auto& step : plan) {
      auto result = perform(*manager, step);
      all_ok = all_ok && result.at("ok").as_bool();
      (void)incidents.record(id_, "recovery", context_.who(), text(result.at("text")), result);
      steps.push_back(std::move(result));
    }
    auto gateway = recheckGateway();
    all_ok = all_ok && gateway.at("ok").as_bool();
    (void)incidents.record(id_, "recovery", context_.who(), text(gateway.at("text")), gateway);
    steps.push_back(std::move(gateway));

    json::array deliveries;
    const bool mitigated = all_ok && !plan.empty() && incident->state == ops::IncidentState::kOpen;
    if (mitigated) {
      auto updated =
          incidents.mitigate(id_, context_.who(),
                             fmt::format("mitigated: {} service{} recovered, gateway healthy",
                                         plan.size(), plan.size() == 1 ? "" : "s"));
      if (!updated) return context_.failWith(updated.error());
      deliveries = notify(context_, incidents, *updated,
                          {.event = "incident.mitigated",
                           .title = fmt::format("Incident {} mitigated: {}", id_, updated->title),
                           .text = fmt::format("Automated recovery restarted {} service{}; the "
                                               "gateway is healthy. Close it with the cause: "
                                               "`forge incident close {} --resolution ...`.",
                                               plan.size(), plan.size() == 1 ? "" : "s", id_)});
    }
    return report(steps, plan.empty(), all_ok, mitigated, deliveries);
  }

private:
  int showPlan(const std::vector<ops::RecoveryStep>& plan) {
    Table table({"step", "service", "action", "why"});
    json::array out;
    int n = 0;
    for (const auto& step : plan) {
      table.addRow({std::to_string(++n), step.service, step.action, step.reason});
      out.push_back(json::object{
          {"service", step.service}, {"action", step.action}, {"reason", step.reason}});
    }
    table.addRow({std::to_string(++n), "gateway", "re-check", "GET /health and /ready"});
    printResult(json(), table, json::object{{"dry_run", true}, {"plan", out}});
    if (!json() && plan.empty())
      std::fprintf(stderr, "every service the manager runs is up: nothing to restart\n");
    return kExitOk;
  }

  // One step: the manager's start or restart, then waiting until the service is running.
  json::object perform(const ApiClient& manager, const ops::RecoveryStep& step) {
    if (!json())
      std::fprintf(stderr, "%s %s (%s)...\n", step.action.c_str(), step.service.c_str(),
                   step.reason.c_str());
    const auto started = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    json::object result{
        {"service", step.service}, {"action", step.action}, {"before", step.reason}};
    auto done =
        manager.call(net::Method::kPost, fmt::format("/services/{}/{}", step.service, step.action));
    if (!done || done->status >= 300) {
      const auto why = done ? ApiClient::detail(*done) : done.error().message;
      result["ok"] = false;
      result["text"] = fmt::format("{} {} failed: {} (see forge logs {})", step.action,
                                   step.service, why, step.service);
      return result;
    }
    std::string state;
    const auto deadline = started + std::chrono::seconds(wait_seconds_);
    while (std::chrono::steady_clock::now() < deadline) {
      auto status = manager.call(net::Method::kGet, "/services/" + step.service);
      if (status && status->status == 200 && status->body.is_object()) {
        state = text(status->body.at("state"));
        if (state == "running") break;
      }
      std::this_thread::sleep_for(200ms);
    }
    const bool ok = state == "running";
    result["ok"] = ok;
    result["after"] = state;
    result["seconds"] = seconds();
    result["text"] =
        ok ? fmt::format("{} {}: running after {:.1f} s", step.action, step.service, seconds())
           : fmt::format("{} {}: still {} after {} s (see forge logs {})", step.action,
                         step.service, state.empty() ? "unknown" : state, wait_seconds_,
                         step.service);
    return result;
  }

  json::object recheckGateway() {
    auto api = context_.connection.gateway(10s);
    ops::Probe health, ready;
    // A gateway that was just restarted may take a moment to be ready.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds_);
    do {
      health = probe(api, "/health");
      ready = probe(api, "/ready");
      if (health.ok() && ready.ok()) break;
      std::this_thread::sleep_for(250ms);
    } while (std::chrono::steady_clock::now() < deadline);
    const auto check = ops::gradeGateway(context_.connection.gatewayUrl(), health, ready);
    return json::object{{"service", "gateway"},
                        {"action", "re-check"},
                        {"ok", check.level == ops::Level::kOk},
                        {"text", fmt::format("gateway re-check: {}: {}",
                                             ops::levelName(check.level), check.detail)}};
  }

  int report(const json::array& steps, bool nothing_to_do, bool all_ok, bool mitigated,
             const json::array& deliveries) {
    if (json()) {
      std::printf("%s\n", json::serialize(json::object{{"incident", id_},
                                                       {"steps", steps},
                                                       {"ok", all_ok},
                                                       {"mitigated", mitigated},
                                                       {"notifications", deliveries}})
                              .c_str());
    } else {
      Table table({"service", "action", "result"});
      for (const auto& step : steps) {
        table.addRow({text(step.at("service")), text(step.at("action")), text(step.at("text"))});
      }
      std::printf("%s", table.render().c_str());
      if (mitigated) std::printf("incident %lld mitigated\n", static_cast<long long>(id_));
      if (nothing_to_do && all_ok)
        std::printf("nothing to restart: every service is up and the gateway is healthy\n");
    }
    if (all_ok) return kExitOk;
    return context_.fail(kExitUnhealthy,
                         fmt::format("recovery did not bring everything back (see forge incident "
                                     "show {}); escalate: forge incident escalate {}",
                                     id_, id_));
  }

  std::int64_t id_ = 0;
  bool dry_run_ = false;
  int wait_seconds_ = 60;
};

class EscalateSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("id", id_, "The incident (or --auto)");
    app.add_option("--level", level_, "The level to go to, 1-4 (default: one up)")
        ->check(CLI::Range(2, 4));
    app.add_option("--reason", reason_, "Why, for the timeline and the notification");
    app.add_flag("--auto", auto_,
                 "Escalate every open incident past its deadline (for cron or forge monitor)");
    app.add_flag("--dry-run", dry_run_, "With --auto: show what is due, change nothing");
    context_.addOptions(app, Reach::kDatabase, true);
    app.footer("Levels: 1 on-call engineer, 2 senior engineer, 3 engineering manager, 4 "
               "CTO/VP engineering.\nAn open CRITICAL incident is due at level 2 after 30 min, 3 "
               "after 1 h, 4 after 2 h;\nWARNING at 2 after 1 h, 3 after 4 h (the escalation: "
               "section of notifications.yml\nchanges them).\nExample:\n  forge incident escalate "
               "3 --reason "
               "'restart did not help'\n  */5 * * * * forge incident escalate --auto --data-dir "
               "/var/lib/forge");
  }
  int run() override {
    if (auto_ == (id_ > 0))
      return context_.fail(kExitUsage, "give an incident id or --auto (not both)");
    return Subcommand::run();
  }

private:
  int runWith(IncidentStore& incidents) override {
    return auto_ ? runAuto(incidents) : runOne(incidents);
  }
  int runOne(IncidentStore& incidents) {
    auto incident = incidents.get(id_);
    if (!incident) return context_.failWith(incident.error());
    const int to = level_ > 0 ? level_ : incident->level + 1;
    auto escalated =
        escalate(incidents, *incident, to, reason_.empty() ? "escalated by hand" : reason_);
    if (!escalated) return context_.failWith(escalated.error());
    if (json()) {
      std::printf("%s\n", json::serialize(*escalated).c_str());
    } else {
      std::printf("incident %lld escalated to level %d (%s)\n", static_cast<long long>(id_), to,
                  std::string(ops::levelContact(to)).c_str());
    }
    return kExitOk;
  }

  int runAuto(IncidentStore& incidents) {
    auto config = context_.notifications();
    const auto policy = config ? config->escalation : ops::EscalationPolicy::guide();
    if (!config) {
      std::fprintf(stderr, "forge incident escalate: %s; using the guide's deadlines\n",
                   config.error().message.c_str());
    }
    auto open = incidents.list(ops::ListFilter::kOpen);
    if (!open) return context_.failWith(open.error());
    Table table({"id", "severity", "open for", "from", "to", "title"});
    json::array out;
    int failures = 0;
    for (const auto& [incident, due, open_for, reason] :
         ops::dueEscalations(*open, policy, ops::WallClock::now())) {
      table.addRow({std::to_string(incident.id), std::string(ops::severityName(incident.severity)),
                    ops::formatDuration(open_for), std::to_string(incident.level),
                    std::to_string(due), incident.title});
      json::object row{{"id", incident.id},
                       {"from", incident.level},
                       {"to", due},
                       {"reason", reason},
                       {"open_for_seconds", open_for.count()}};
      if (!dry_run_) {
        auto escalated = escalate(incidents, incident, due, reason);
        if (!escalated) {
          ++failures;
          context_.fail(kExitFailure, escalated.error().message);
        } else {
          row["notifications"] = escalated->at("notifications");
        }
      }
      out.push_back(std::move(row));
    }
    if (json()) {
      std::printf("%s\n",
                  json::serialize(json::object{{"dry_run", dry_run_}, {"escalated", out}}).c_str());
    } else if (out.empty()) {
      std::printf("no open incident is past its escalation deadline\n");
    } else {
      std::printf("%s%s\n", table.render().c_str(), dry_run_ ? "(dry run: nothing changed)" : "");
    }
    return failures ? kExitFailure : kExitOk;
  }

  // Raises the level, then notifies; the incident as JSON with its notifications.
  core::Result<json::object> escalate(IncidentStore& incidents, const Incident& incident, int to,
                                      const std::string& reason) {
    auto escalated = incidents.escalate(incident.id, to, context_.who(), reason);
    if (!escalated) return escalated.error();
    auto deliveries = notify(
        context_, incidents, *escalated,
        {.event = "incident.escalated",
         .title = fmt::format("Incident {} escalated to level {} ({}): {}", escalated->id, to,
                              ops::levelContact(to), escalated->title),
         .text = fmt::format("{}.\nThe {} is asked to take part. Timeline: `forge incident show "
                             "{}`.",
                             reason, ops::levelContact(to), escalated->id),
         .fields = {{"From level", std::to_string(incident.level)}}});
    auto out = ops::toJson(*escalated);
    out["notifications"] = std::move(deliveries);
    return out;
  }

  std::int64_t id_ = 0;
  int level_ = 0;
  std::string reason_;
  bool auto_ = false;
  bool dry_run_ = false;
};

class NoteSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("id", id_, "The incident")->required();
    app.add_option("text", text_, "What to record")->required();
    app.add_flag("--notify", notify_,
                 "Also send the note to the webhooks (keeping stakeholders informed)");
    context_.addOptions(app, Reach::kDatabase, true);
    app.footer("Example:\n  forge incident note 3 'rolled back the config change'\n"
               "  forge incident note 3 'next update at 15:00' --notify");
  }
  int runWith(IncidentStore& incidents) override {
    auto event = incidents.record(id_, "note", context_.who(), text_);
    if (!event) return context_.failWith(event.error());
    json::array deliveries;
    if (notify_) {
      auto incident = incidents.get(id_);
      if (!incident) return context_.failWith(incident.error());
      deliveries = notify(context_, incidents, *incident,
                          {.event = "incident.note",
                           .title = fmt::format("Incident {} update: {}", id_, incident->title),
                           .text = text_});
    }
    if (json()) {
      auto out = ops::toJson(*event);
      if (notify_) out["notifications"] = std::move(deliveries);
      std::printf("%s\n", json::serialize(out).c_str());
    } else {
      std::printf("noted on incident %lld (timeline entry %lld)%s\n", static_cast<long long>(id_),
                  static_cast<long long>(event->seq), notify_ ? ", and sent" : "");
    }
    return kExitOk;
  }

private:
  std::int64_t id_ = 0;
  std::string text_;
  bool notify_ = false;
};

class CloseSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("id", id_, "The incident")->required();
    app.add_option("--resolution,-r", resolution_, "What it was and what fixed it")->required();
    context_.addOptions(app, Reach::kDatabase, true);
    app.footer("Example:\n  forge incident close 3 --resolution 'disk full; logs rotated'");
  }
  int runWith(IncidentStore& incidents) override {
    auto closed = incidents.close(id_, context_.who(), resolution_);
    if (!closed) return context_.failWith(closed.error());
    const auto open_for = ops::openFor(*closed, ops::WallClock::now());
    auto deliveries = notify(context_, incidents, *closed,
                             {.event = "incident.closed",
                              .title = fmt::format("Incident {} closed: {}", id_, closed->title),
                              .text = fmt::format("Resolution: {}", resolution_),
                              .fields = {{"Duration", ops::formatDuration(open_for)}}});
    if (json()) {
      auto out = ops::toJson(*closed);
      out["notifications"] = std::move(deliveries);
      std::printf("%s\n", json::serialize(out).c_str());
    } else {
      std::printf("incident %lld closed after %s\n", static_cast<long long>(id_),
                  ops::formatDuration(open_for).c_str());
    }
    return kExitOk;
  }

private:
  std::int64_t id_ = 0;
  std::string resolution_;
};

class ListSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    auto* all = app.add_flag("--all", all_, "Closed incidents too");
    app.add_flag("--open", open_, "Only open ones (not mitigated)")->excludes(all);
    context_.addOptions(app, Reach::kDatabase, false);
    app.add_option("--notify-config", context_.notify_config,
                   "For escalation times (default: <data-dir>/notifications.yml)");
    app.footer("Without a flag: the unresolved ones (open or mitigated), newest first.\n"
               "Example:\n  forge incident list\n  forge incident list --all --json");
  }
  int runWith(IncidentStore& incidents) override {
    auto list = incidents.list(all_    ? ops::ListFilter::kAll
                               : open_ ? ops::ListFilter::kOpen
                                       : ops::ListFilter::kUnresolved);
    if (!list) return context_.failWith(list.error());
    const auto config = context_.notifications();
    const auto policy = config ? config->escalation : ops::EscalationPolicy::guide();
    const auto now = ops::WallClock::now();
    Table table({"id", "severity", "state", "level", "opened", "open for", "next", "title"});
    json::array out;
    for (const auto& incident : *list) {
      table.addRow({std::to_string(incident.id), std::string(ops::severityName(incident.severity)),
                    std::string(ops::stateName(incident.state)), std::to_string(incident.level),
                    incident.opened_at, ops::formatDuration(ops::openFor(incident, now)),
                    nextEscalation(policy, incident, now), incident.title});
      out.push_back(incidentJson(incident, policy, now));
    }
    printResult(json(), table, out);
    return kExitOk;
  }

private:
  bool all_ = false;
  bool open_ = false;
};

class ShowSubcommand final : public Subcommand {
public:
  void setup(CLI::App& app) {
    app.add_option("id", id_, "The incident")->required();
    context_.addOptions(app, Reach::kDatabase, false);
    app.footer("Example:\n  forge incident show 3\n  forge incident show 3 --json | jq "
               "'.timeline[] | select(.kind == \"assessed\") | .data.checks'");
  }
  int runWith(IncidentStore& incidents) override {
    auto incident = incidents.get(id_);
    if (!incident) return context_.failWith(incident.error());
    auto timeline = incidents.timeline(id_);
    if (!timeline) return context_.failWith(timeline.error());
    const auto now = ops::WallClock::now();
    if (json()) {
      auto out = incidentJson(*incident, ops::EscalationPolicy::guide(), now);
      json::array events;
      for (const auto& event : *timeline)
        events.push_back(ops::toJson(event));
      out["timeline"] = std::move(events);
      std::printf("%s\n", json::serialize(out).c_str());
      return kExitOk;
    }
    std::printf("incident %lld: %s\n", static_cast<long long>(incident->id),
                incident->title.c_str());
    std::printf("severity %s, %s, level %d (%s), open for %s\n",
                std::string(ops::severityName(incident->severity)).c_str(),
                std::string(ops::stateName(incident->state)).c_str(), incident->level,
                std::string(ops::levelContact(incident->level)).c_str(),
                ops::formatDuration(ops::openFor(*incident, now)).c_str());
    std::printf("opened %s by %s\n", incident->opened_at.c_str(), incident->opened_by.c_str());
    if (!incident->summary.empty()) std::printf("summary: %s\n", incident->summary.c_str());
    if (!incident->resolution.empty())
      std::printf("resolution: %s (closed %s)\n", incident->resolution.c_str(),
                  incident->closed_at.c_str());
    Table table({"#", "at", "kind", "by", "what"});
    for (const auto& event : *timeline) {
      table.addRow({std::to_string(event.seq), event.at, event.kind, event.actor, event.text});
    }
    std::printf("\n%s", table.render().c_str());
    return kExitOk;
  }

private:
  std::int64_t id_ = 0;
};

class IncidentCommand final : public Command {
public:
  std::string name() const override { return "incident"; }
  std::string synopsis() const override {
    return "Incident response: open, assess, recover, escalate, close; a timeline and webhooks";
  }
  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    add<OpenSubcommand>(app, "open", "Open an incident, notify, print its id");
    add<AssessSubcommand>(app, "assess",
                          "Diagnose the live stack, suggest a severity, attach it to an incident");
    add<RecoverSubcommand>(app, "recover",
                           "Restart the manager's services that are down, re-check the gateway");
    add<EscalateSubcommand>(app, "escalate",
                            "Raise an incident's level (or --auto: every one "
                            "past its deadline)");
    add<NoteSubcommand>(app, "note", "Add a note to an incident's timeline");
    add<CloseSubcommand>(app, "close", "Close an incident with its resolution");
    add<ListSubcommand>(app, "list", "List incidents");
    add<ShowSubcommand>(app, "show", "An incident and its timeline");
    app.footer("Severities: CRITICAL (service down, data loss, breach), WARNING (resources, "
               "performance),\nINFO. Levels: 1 on-call, 2 senior engineer, 3 engineering "
               "manager, 4 CTO/VP.\nExample:\n  ID=$(forge incident open -s CRITICAL -t "
               "'gateway down')\n  forge incident assess $ID    # exit 3 or 4: something is wrong\n"
               "  forge incident recover $ID\n"
               "  forge incident close $ID --resolution 'OOM after a config change'");
  }
  int run() override {
    for (auto& [app, subcommand] : subcommands_) {
      if (app->parsed()) return subcommand->run();
    }
    return kExitUsage;
  }

private:
  template <class T>
  void add(CLI::App& app, const char* name, const char* description) {
    auto subcommand = std::make_unique<T>();
    auto* sub = app.add_subcommand(name, description);
    subcommand->setup(*sub);
    subcommands_.emplace_back(sub, std::move(subcommand));
  }

  std::vector<std::pair<CLI::App*, std::unique_ptr<Subcommand>>> subcommands_;
};

} // namespace

CommandPtr makeIncidentCommand() { return std::make_unique<IncidentCommand>(); }

} // namespace forge::cli
