// `forge bluegreen deploy|test|switch|decommission|status`: blue-green deployment with two
// services under the manager (bluegreen: in services.yml). The manager serves the public port and
// proxies each request to the live colour; the idle colour runs on its own port.
//
//   deploy        installs a release, points the idle colour's release pointer at it and starts
//                 (or restarts) the idle colour
//   test          health, readiness and an MCP exchange against the idle colour's own port
//   switch        new requests go to the idle colour (requests in flight finish where they are);
//                 `current` then points at its release
//   decommission  stops the colour that is not live
//   status        both colours, which is live, what each runs
#include "cli/commands.h"
#include "cli/deploy_support.h"
#include "cli/output.h"

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace forge::cli {
namespace {

namespace json = boost::json;
using ops::Check;
using ops::Level;

std::string other(const std::string& colour) { return colour == "blue" ? "green" : "blue"; }

// The release the replicas of a service run ("" if none or mixed: "a, b").
std::string releaseOf(const json::value& service) {
  std::vector<std::string> seen;
  if (service.is_object())
    for (const auto& r : service.as_object().at("replicas").as_array())
      if (std::find(seen.begin(), seen.end(), stringField(r, "release")) == seen.end())
        seen.push_back(stringField(r, "release"));
  std::string out;
  for (const auto& s : seen)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

class BlueGreenCommand final : public Command {
public:
  std::string name() const override { return "bluegreen"; }
  std::string synopsis() const override {
    return "Blue-green deployment: deploy, test, switch, decommission, status";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.fallthrough();
    connection_.addOptions(app, Reach::kAll);
    deploy_ = app.add_subcommand("deploy", "Start the idle colour with a new release");
    deploy_->add_option("--binary", inputs_.binary, "The forge executable to deploy");
    deploy_->add_option("--config", inputs_.gateway_config, "The gateway's forge.yaml to deploy");
    test_ = app.add_subcommand("test", "Health and MCP checks against the idle colour");
    switch_ = app.add_subcommand("switch", "Send new requests to the idle colour");
    decommission_ = app.add_subcommand("decommission", "Stop the colour that is not live");
    status_ = app.add_subcommand("status", "Which colour is live, and what each runs");
    app.footer("Needs bluegreen: {port, blue, green} in services.yml, and services whose command\n"
               "says {release} with `release: blue` / `release: green` (docs/ops/deployment.md).\n"
               "Examples:\n"
               "  forge bluegreen deploy --binary ./forge-new --config forge.yaml\n"
               "  forge bluegreen test && forge bluegreen switch\n"
               "  forge bluegreen decommission\n"
               "  forge bluegreen status --json");
  }

  int run() override {
    auto api = connection_.manager(std::chrono::minutes(10));
    if (!api) return connection_.fail(kExitUsage, api.error().message);
    api_.emplace(std::move(*api));
    int code = kExitOk;
    auto pair = connection_.call(*api_, net::Method::kGet, "/bluegreen", code);
    if (!pair) return code;
    pair_ = std::move(pair->body);
    live_ = stringField(pair_, "live");
    idle_ = other(live_);
    if (deploy_->parsed()) return deploy();
    if (test_->parsed()) return test();
    if (switch_->parsed()) return switchColour();
    if (decommission_->parsed()) return decommission();
    return status();
  }

private:
  const json::value& colour(const std::string& c) const { return pair_.as_object().at(c); }
  std::string service(const std::string& c) const { return stringField(colour(c), "name"); }

  int deploy() {
    const std::string pointer = stringField(colour(idle_), "release_pointer");
    if (pointer.empty()) {
      return connection_.fail(kExitFailure,
                              fmt::format("{} ({}) does not say {{release}} in its command: it "
                                          "cannot be given a release (see "
                                          "docs/ops/deployment.md)",
                                          idle_, service(idle_)));
    }
    const auto live_release =
        releaseAt(connection_.dataDir(), stringField(colour(live_), "release_pointer"));
    const auto files = releaseFiles(inputs_, live_release);
    Rollout rollout(connection_, "bluegreen-deploy");
    if (int code = rollout.begin(live_release ? live_release->id : "",
                                 live_release ? releaseVersion(*live_release) : "");
        code != kExitOk)
      return code;
    std::string version;
    std::optional<manager::ReleaseRef> installed;
    const std::string idle_service = service(idle_);
    const bool ok = rollout.step("validate", [&]() -> core::Result<std::string> {
      for (const auto& c : validateInputs({files.binary, files.gateway_config, ""}, ""))
        if (c.level == Level::kCritical) return core::Error{core::Errc::kUnprocessable, c.detail};
      auto v = ops::binaryVersion(files.binary);
      if (!v) return v.error();
      version = *v;
      return "forge " + version;
    }) && rollout.step("install release", [&]() -> core::Result<std::string> {
      auto release = ops::installRelease(connection_.dataDir(), files, version);
      if (!release) return release.error();
      installed = *release;
      if (auto moved = manager::pointRelease(connection_.dataDir(), pointer, release->id); !moved)
        return moved.error();
      return fmt::format("{} -> {}", pointer, release->id);
    }) && rollout.step("start " + idle_, [&] {
      return rollout.restart(idle_service);
    }) && rollout.step("check replicas", [&] {
      return rollout.replicasRun({idle_service}, installed->id);
    });
    return rollout.finish(ok, installed ? installed->id : "", version,
                          fmt::format("the live colour ({}) is untouched; `forge logs {}` shows "
                                      "why {} failed",
                                      live_, idle_service, idle_));
  }

  int test() {
    const auto& idle = colour(idle_);
    std::vector<Check> checks;
    const std::string state = stringField(idle, "state");
    checks.push_back(
        {idle_ + " state", state == "running" ? Level::kOk : Level::kCritical,
         state == "running"
             ? fmt::format("{} running release {}", service(idle_), releaseOf(idle))
             : fmt::format("{} is {} (forge bluegreen deploy starts it)", service(idle_), state)});
    if (state == "running") {
      std::fprintf(stderr, "testing %s (%s) on its own port...\n", idle_.c_str(),
                   service(idle_).c_str());
      const auto port = idle.as_object().at("port").to_number<std::int64_t>();
      auto token = connection_.token();
      const auto more =
          endpointChecks(idle_, fmt::format("http://127.0.0.1:{}", port), token ? *token : "");
      checks.insert(checks.end(), more.begin(), more.end());
    }
    return printChecks(connection_.json(), checks);
  }

  int switchColour() {
    const auto from_release = releaseOf(colour(live_));
    Rollout rollout(connection_, "bluegreen-switch");
    if (int code = rollout.begin(from_release, ""); code != kExitOk) return code;
    std::string to_release;
    const bool ok = rollout.step("switch to " + idle_, [&]() -> core::Result<std::string> {
      auto answer = rollout.post("/bluegreen/switch", json::object{{"to", idle_}});
      if (!answer) return answer.error();
      to_release = releaseOf(answer->as_object().at(idle_));
      return fmt::format("{} ({}) is live on port {}", idle_, service(idle_),
                         json::serialize(answer->as_object().at("port")));
    }) && rollout.step("point current", [&]() -> core::Result<std::string> {
      // `current` follows the live colour, for deploy verify and history.
      const auto pointer = stringField(colour(idle_), "release_pointer");
      auto live = pointer.empty() ? std::nullopt : releaseAt(connection_.dataDir(), pointer);
      if (!live) return std::string("the live colour does not run a release");
      if (auto old = releaseAt(connection_.dataDir(), manager::kCurrentRelease))
        (void)manager::pointRelease(connection_.dataDir(), manager::kPreviousRelease, old->id);
      if (auto moved =
              manager::pointRelease(connection_.dataDir(), manager::kCurrentRelease, live->id);
          !moved)
        return moved.error();
      return "current -> " + live->id;
    });
    return rollout.finish(ok, to_release, "",
                          fmt::format("{} stays live: `forge bluegreen test` shows what fails "
                                      "on {}",
                                      live_, idle_));
  }

  int decommission() {
    std::fprintf(stderr, "stopping %s (%s), which is not live; %s stays live...\n", idle_.c_str(),
                 service(idle_).c_str(), live_.c_str());
    int code = kExitOk;
    auto answer = connection_.call(*api_, net::Method::kPost,
                                   fmt::format("/services/{}/stop", service(idle_)), code);
    if (!answer) return code;
    if (connection_.json()) {
      std::printf("%s\n", json::serialize(answer->body).c_str());
    } else {
      std::printf("%s (%s) is %s; %s (%s) is live\n", idle_.c_str(), service(idle_).c_str(),
                  stringField(answer->body, "state").c_str(), live_.c_str(),
                  service(live_).c_str());
    }
    return kExitOk;
  }

  int status() {
    Table table({"COLOUR", "SERVICE", "LIVE", "STATE", "REPLICAS", "RELEASE", "PORT"});
    for (const std::string c : {"blue", "green"}) {
      const auto& s = colour(c);
      int running = 0;
      for (const auto& r : s.as_object().at("replicas").as_array())
        running += stringField(r, "state") == "running" ? 1 : 0;
      table.addRow(
          {c, service(c), c == live_ ? "yes" : "", stringField(s, "state"),
           fmt::format("{}/{}", running, json::serialize(s.as_object().at("replicas_desired"))),
           releaseOf(s), json::serialize(s.as_object().at("port"))});
    }
    if (!connection_.json())
      std::printf("live: %s on port %s\n", live_.c_str(),
                  json::serialize(pair_.as_object().at("port")).c_str());
    printResult(connection_.json(), table, pair_);
    return kExitOk;
  }

  Connection connection_;
  std::optional<ApiClient> api_;
  DeployInputs inputs_;
  json::value pair_;
  std::string live_, idle_;
  CLI::App* deploy_ = nullptr;
  CLI::App* test_ = nullptr;
  CLI::App* switch_ = nullptr;
  CLI::App* decommission_ = nullptr;
  CLI::App* status_ = nullptr;
};

} // namespace

CommandPtr makeBlueGreenCommand() { return std::make_unique<BlueGreenCommand>(); }

} // namespace forge::cli
