// forge autoscale: replica counts that follow the measured load of a service under the manager.
//   forge autoscale policy SVC --min 1 --max 4 --target-cpu 70 [--scale-down-below 25]
//                              [--cooldown 60] | --remove
//   forge autoscale status            policies, replicas now, and each service's last change
//   forge autoscale run [--interval 15] [--count N]   sample, decide, scale; until interrupted
//   forge autoscale events [--tail 20]
// The logic (policy, decision, storage) is in ops/autoscale.h; this file talks to the manager.
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "ops/autoscale.h"
#include "storage/store.h"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <csignal>
#include <thread>

namespace forge::cli {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
void onStop(int) { g_stop = 1; }

class AutoscaleCommand final : public Command {
public:
  std::string name() const override { return "autoscale"; }
  std::string synopsis() const override {
    return "Scale services under the manager with their measured CPU load";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    auto* policy = app.add_subcommand("policy", "Set (or --remove) a service's scaling policy");
    policy->add_option("service", policy_.service, "The service (see forge ps)")->required();
    policy->add_option("--min", policy_.min_replicas, "Fewest replicas")->capture_default_str();
    policy->add_option("--max", policy_.max_replicas, "Most replicas")->capture_default_str();
    policy
        ->add_option("--target-cpu", policy_.target_cpu_percent,
                     "CPU % of one core per replica above which replicas are added")
        ->capture_default_str();
    policy
        ->add_option("--scale-down-below", policy_.scale_down_below_percent,
                     "CPU % per replica below which one replica is removed")
        ->capture_default_str();
    policy->add_option("--cooldown", cooldown_seconds_, "Seconds between two changes")
        ->capture_default_str();
    policy->add_flag("--remove", remove_, "Remove the service's policy");
    connection_.addOptions(*policy, Reach::kManager);
    policy->callback([this] { action_ = Action::kPolicy; });

    auto* status = app.add_subcommand("status", "Policies, replicas now, and the last changes");
    connection_.addOptions(*status, Reach::kManager);
    status->callback([this] { action_ = Action::kStatus; });

    auto* run = app.add_subcommand("run", "Sample the load and scale, every --interval seconds");
    run->add_option("--interval", interval_seconds_, "Seconds between samples")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    run->add_option("--count", count_, "Stop after this many decisions (0: until interrupted)")
        ->capture_default_str();
    connection_.addOptions(*run, Reach::kManager);
    run->callback([this] { action_ = Action::kRun; });

    auto* events = app.add_subcommand("events", "The scaling decisions taken, oldest first");
    events->add_option("--tail,-n", tail_, "How many")->capture_default_str();
    connection_.addOptions(*events, Reach::kManager);
    events->callback([this] { action_ = Action::kEvents; });

    app.footer("Policies and events are kept in <data-dir>/autoscale/.\n"
               "Example:\n  forge autoscale policy gateway --min 1 --max 4 --target-cpu 70\n"
               "  forge autoscale run --interval 15   # e.g. as a service under the manager");
  }

  int run() override {
    switch (action_) {
    case Action::kPolicy:
      return setPolicy();
    case Action::kStatus:
      return showStatus();
    case Action::kRun:
      return runLoop();
    case Action::kEvents:
      return showEvents();
    }
    return kExitUsage;
  }

private:
  enum class Action { kPolicy, kStatus, kRun, kEvents };

  ops::AutoscaleStore store() { return ops::AutoscaleStore(connection_.dataDir()); }

  int setPolicy() {
    if (remove_) {
      auto removed = store().remove(policy_.service);
      if (!removed) return connection_.fail(kExitFailure, removed.error().message);
      std::printf("%s\n", *removed
                              ? fmt::format("removed the policy of {}", policy_.service).c_str()
                              : fmt::format("{} had no policy", policy_.service).c_str());
      return kExitOk;
    }
    policy_.cooldown = std::chrono::seconds(cooldown_seconds_);
    if (auto valid = ops::validate(policy_); !valid)
      return connection_.fail(kExitUsage, valid.error().message);
    // A policy for a service the manager does not run would never act: say so now.
    auto api = connection_.manager();
    if (!api) return connection_.fail(kExitUsage, api.error().message);
    int code = kExitOk;
    if (!connection_.call(*api, net::Method::kGet, "/services/" + policy_.service, code))
      return code;
    if (auto saved = store().save(policy_); !saved)
      return connection_.fail(kExitFailure, saved.error().message);
    std::printf("%s: %d..%d replicas, up above %.0f%% CPU per replica, down below %.0f%%, "
                "cooldown %llds\n",
                policy_.service.c_str(), policy_.min_replicas, policy_.max_replicas,
                policy_.target_cpu_percent, policy_.scale_down_below_percent,
                static_cast<long long>(policy_.cooldown.count()));
    return kExitOk;
  }

  int showStatus() {
    auto policies = store().policies();
    if (!policies) return connection_.fail(kExitFailure, policies.error().message);
    auto events = store().events(1000);
    if (!events) return connection_.fail(kExitFailure, events.error().message);
    auto api = connection_.manager();
    if (!api) return connection_.fail(kExitUsage, api.error().message);
    Table table({"service", "replicas", "policy", "last change"});
    json::array out;
    int code = kExitOk;
    for (const auto& [name, p] : *policies) {
      auto answer = connection_.call(*api, net::Method::kGet, "/services/" + name, code);
      if (!answer) return code;
      const auto replicas = answer->body.at("replicas_desired").to_number<int>();
      std::string last = "none";
      json::value last_json = nullptr;
      for (auto it = events->rbegin(); it != events->rend(); ++it) {
        if (it->service != name) continue;
        last = fmt::format("{} {}->{} ({})", it->at, it->from, it->to, it->result);
        last_json = json::object{{"at", it->at}, {"from", it->from}, {"to", it->to}};
        break;
      }
      const auto policy_text =
          fmt::format("{}..{}, target {:.0f}%, down below {:.0f}%", p.min_replicas, p.max_replicas,
                      p.target_cpu_percent, p.scale_down_below_percent);
      table.addRow({name, std::to_string(replicas), policy_text, last});
      out.push_back(json::object{{"service", name},
                                 {"replicas", replicas},
                                 {"min", p.min_replicas},
                                 {"max", p.max_replicas},
                                 {"target_cpu_percent", p.target_cpu_percent},
                                 {"scale_down_below_percent", p.scale_down_below_percent},
                                 {"last_change", last_json}});
    }
    if (policies->empty() && !connection_.json()) {
      std::printf("no autoscaling policy: set one with `forge autoscale policy SERVICE ...`\n");
      return kExitOk;
    }
    printResult(connection_.json(), table, out);
    return kExitOk;
  }

  int showEvents() {
    auto events = store().events(static_cast<std::size_t>(std::max(tail_, 1)));
    if (!events) return connection_.fail(kExitFailure, events.error().message);
    Table table({"at", "service", "from", "to", "cpu %", "reason", "result"});
    json::array out;
    for (const auto& e : *events) {
      table.addRow({e.at, e.service, std::to_string(e.from), std::to_string(e.to),
                    fmt::format("{:.1f}", e.cpu_percent), e.reason, e.result});
      out.push_back(json::object{{"at", e.at},
                                 {"service", e.service},
                                 {"from", e.from},
                                 {"to", e.to},
                                 {"cpu_percent", e.cpu_percent},
                                 {"reason", e.reason},
                                 {"result", e.result}});
    }
    printResult(connection_.json(), table, out);
    return kExitOk;
  }

  // The running replicas' CPU seconds, and how many replicas the service is set to run.
  struct Observation {
    ops::CpuSample sample;
    int desired = 0;
  };

  std::optional<Observation> observe(const ApiClient& api, const std::string& service, int& code) {
    auto status = connection_.call(api, net::Method::kGet, "/services/" + service, code);
    if (!status) return std::nullopt;
    auto metrics =
        connection_.call(api, net::Method::kGet, "/services/" + service + "/metrics", code);
    if (!metrics) return std::nullopt;
    Observation o;
    o.sample.at = Clock::now();
    o.desired = status->body.at("replicas_desired").to_number<int>();
    for (const auto& r : metrics->body.at("replicas").as_array()) {
      o.sample.replicas.push_back(
          {r.at("pid").to_number<long>(), r.at("cpu_seconds").to_number<double>()});
    }
    return o;
  }

  int runLoop() {
    std::signal(SIGINT, onStop);
    std::signal(SIGTERM, onStop);
    auto api = connection_.manager();
    if (!api) return connection_.fail(kExitUsage, api.error().message);
    std::map<std::string, Observation> previous;
    std::map<std::string, Clock::time_point> last_change;
    int decisions = 0;
    while (!g_stop) {
      auto policies = store().policies(); // re-read: `autoscale policy` may change them
      if (!policies) return connection_.fail(kExitFailure, policies.error().message);
      if (policies->empty())
        return connection_.fail(kExitUsage, "no policy: set one with `forge autoscale policy`");
      for (const auto& [name, policy] : *policies) {
        int code = kExitOk;
        auto now = observe(*api, name, code);
        if (!now) continue; // the message is printed; the next round tries again
        auto before = previous.find(name);
        if (before != previous.end()) {
          if (auto load = ops::meanCpuPercent(before->second.sample, now->sample)) {
            act(*api, policy, *now, *load, last_change);
            ++decisions;
          }
        }
        previous[name] = std::move(*now);
      }
      if (count_ > 0 && decisions >= count_) break;
      for (int i = 0; i < interval_seconds_ * 10 && !g_stop; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return kExitOk;
  }

  void act(const ApiClient& api, const ops::ScalePolicy& policy, const Observation& now,
           double load, std::map<std::string, Clock::time_point>& last_change) {
    const auto decision = ops::decide(policy, now.desired, load);
    const auto stamp = storage::nowUtc();
    std::fprintf(stderr, "%s %s: %d replicas, %s\n", stamp.c_str(), policy.service.c_str(),
                 now.desired, decision.reason.c_str());
    if (decision.replicas == now.desired) return;
    auto changed = last_change.find(policy.service);
    if (changed != last_change.end() && Clock::now() - changed->second < policy.cooldown) {
      std::fprintf(stderr, "  (cooling down: no change within %llds of the last)\n",
                   static_cast<long long>(policy.cooldown.count()));
      return;
    }
    int code = kExitOk;
    const json::value body = json::object{{"replicas", decision.replicas}};
    auto scaled = connection_.call(api, net::Method::kPost,
                                   "/services/" + policy.service + "/scale", code, &body);
    last_change[policy.service] = Clock::now();
    ops::ScaleEvent event{
        stamp,           policy.service,          now.desired, decision.replicas, load,
        decision.reason, scaled ? "ok" : "failed"};
    if (auto recorded = store().record(event); !recorded)
      connection_.fail(kExitFailure, recorded.error().message);
    std::printf("%s %s: %d -> %d replicas (%s): %s\n", stamp.c_str(), policy.service.c_str(),
                now.desired, decision.replicas, decision.reason.c_str(), event.result.c_str());
    std::fflush(stdout);
  }

  Connection connection_;
  Action action_ = Action::kStatus;
  ops::ScalePolicy policy_;
  std::int64_t cooldown_seconds_ = 60;
  bool remove_ = false;
  int interval_seconds_ = 15;
  int count_ = 0;
  int tail_ = 20;
};

} // namespace

CommandPtr makeAutoscaleCommand() { return std::make_unique<AutoscaleCommand>(); }

} // namespace forge::cli
