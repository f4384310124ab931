// `forge deploy` and `forge bluegreen` against a real stack: `forge manager` running gateway
// replicas from releases (a copy of the forge binary in another directory, with its own
// forge.yaml), each gateway serving the fixture MCP server over stdio, while client threads call
// a tool without pause. A rolling apply and a blue-green switch fail no call; the release (and a
// configuration difference: the second release adds an upstream) changes; rollback returns to the
// first release.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace forge::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Calls fixture__echo from several threads, each on its own session, until stopped.
class SteadyLoad {
public:
  SteadyLoad(std::uint16_t port, int clients) {
    for (int n = 0; n < clients; ++n)
      threads_.emplace_back([this, port, n] { run(port, n); });
  }
  ~SteadyLoad() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  int succeeded() const { return succeeded_; }
  std::vector<std::string> failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }

private:
  void run(std::uint16_t port, int n) {
    McpClient mcp(port, "/mcp");
    if (!mcp.initialize())
      return fail(fmt::format("client {}: initialize: {}", n, mcp.lastReply().body));
    for (int i = 0; !stop_; ++i) {
      const std::string message = fmt::format("c{}-{}", n, i);
      const auto answer = mcp.callTool("fixture__echo", {{"message", message}});
      if (resultText(answer).find(message) != std::string::npos) {
        ++succeeded_;
        continue;
      }
      fail(fmt::format("client {} call {}: HTTP {} {}", n, i, mcp.status(),
                       mcp.lastReply().body.substr(0, 300)));
    }
  }
  void fail(std::string what) {
    std::lock_guard lock(mutex_);
    failures_.push_back(std::move(what));
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> succeeded_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

class DeployTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-deploy");
    data_ = (dir_ / "data").string();
    manager_port_ = freePort();
    // Two releases: the same forge binary copied elsewhere; the second forge.yaml adds an upstream.
    for (const std::string name : {"v1", "v2"}) {
      fs::create_directories(dir_ / name);
      fs::copy_file(FORGE_BINARY, dir_ / name / "forge");
      fs::permissions(dir_ / name / "forge", fs::perms::owner_all, fs::perm_options::add);
      std::string yaml =
          fmt::format("gateway:\n  discovery_timeout: 8s\nupstreams:\n"
                      "  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                      FORGE_FIXTURE_BINARY);
      if (name == "v2")
        yaml += fmt::format("  - name: extra\n    command: {}\n    args: [\"--stdio\"]\n",
                            FORGE_FIXTURE_BINARY);
      std::ofstream(dir_ / name / "forge.yaml") << yaml;
    }
  }

  void TearDown() override {
    if (manager_) {
      manager_->signal(SIGTERM);
      EXPECT_TRUE(manager_->wait(30s));
    }
    manager_.reset();
    fs::remove_all(dir_);
  }

  // A gateway service that runs the release `pointer` leads to.
  std::string gatewayService(const std::string& name, std::uint16_t port, bool shared, int replicas,
                             const std::string& pointer, bool auto_start) {
    return fmt::format(
        "  - name: {}\n"
        "    kind: gateway\n"
        "    command: [\"{{release}}/forge\", gateway, --config, \"{{release}}/forge.yaml\",\n"
        "              --server-port, \"{{port}}\", --data-dir, \"{{data_dir}}/gateway\"]\n"
        "    release: {}\n"
        "    port: {}\n"
        "    shared_port: {}\n"
        "    replicas: {}\n"
        "    auto_start: {}\n"
        "    health: {{type: http, path: /ready, interval: 200ms}}\n"
        "    stop_grace: 15s\n",
        name, pointer, port, shared ? "true" : "false", replicas, auto_start ? "true" : "false");
  }

  void writeServices(const std::string& head, const std::string& services) {
    std::ofstream(dir_ / "services.yml")
        << fmt::format("manager:\n  port: {}\n{}services:\n{}", manager_port_, head, services);
  }

  CommandResult forge(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
    args.insert(args.begin(), FORGE_BINARY);
    for (std::string extra : {"--data-dir", data_.c_str()})
      args.push_back(extra);
    args.push_back("--manager-url");
    args.push_back(fmt::format("http://127.0.0.1:{}", manager_port_));
    args.push_back("--gateway-url");
    args.push_back(fmt::format("http://127.0.0.1:{}", gateway_port_));
    return runCommand(args, {"AUTH_REQUIRED=false"}, dir_.string(), timeout);
  }

  void startManager() {
    manager_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "manager", "--config",
                                 (dir_ / "services.yml").string(), "--data-dir", data_},
        std::vector<std::string>{"AUTH_REQUIRED=false"}, dir_.string());
    ASSERT_TRUE(manager_->waitForLine("manager listening on http://127.0.0.1:", 15s))
        << manager_->err();
  }

  json::value service(const std::string& name) {
    return parse(request(manager_port_, "GET", "/services/" + name).body);
  }
  // The releases the service's replicas run, when all are running; else "".
  std::set<std::string> releases(const std::string& name) {
    std::set<std::string> out;
    const auto s = service(name);
    if (!s.is_object() || str(s, "state") != "running") return {};
    for (const auto& r : s.at("replicas").as_array())
      out.insert(str(r, "release"));
    return out;
  }
  std::string appRelease(std::uint16_t port) {
    const auto version = parse(request(port, "GET", "/version").body);
    return version.is_object() ? str(version.at("app"), "release") : "";
  }
  std::string installed(const CommandResult& result) {
    const auto info = parse(result.out);
    return info.is_object() ? str(info, "id") : "";
  }

  fs::path dir_;
  std::string data_;
  std::uint16_t manager_port_ = 0;
  std::uint16_t gateway_port_ = 0;
  std::unique_ptr<ChildProcess> manager_;
};

TEST_F(DeployTest, ARollingApplyUnderLoadFailsNoCallAndRollbackReturnsToThePreviousRelease) {
  gateway_port_ = freePort();
  writeServices("", gatewayService("gateway", gateway_port_, true, 2, "current", true));
  const auto v1 = (dir_ / "v1").string(), v2 = (dir_ / "v2").string();
  // The first release, installed before the stack starts.
  auto first = forge({"deploy", "apply", "--install-only", "--binary", v1 + "/forge", "--config",
                      v1 + "/forge.yaml", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string r1 = installed(first);
  ASSERT_FALSE(r1.empty()) << first.out;
  startManager();
  ASSERT_TRUE(eventually([&] { return releases("gateway") == std::set<std::string>{r1}; }, 30s))
      << json::serialize(service("gateway"));
  ASSERT_EQ(service("gateway").at("replicas").as_array().size(), 2u);
  McpClient probe(gateway_port_, "/mcp");
  ASSERT_TRUE(probe.initialize());
  ASSERT_TRUE(eventually(
      [&] {
        return resultText(probe.callTool("fixture__echo", {{"message", "up"}})) == "up";
      },
      20s))
      << probe.lastReply().body;
  EXPECT_EQ(probe.toolNames().count("extra__echo"), 0u);

  // Two replicas starting on a fresh database may race to create the first admin and one
  // restarts: the check is green once the stack has settled.
  CommandResult check;
  EXPECT_TRUE(eventually(
      [&] {
        check = forge({"deploy", "check", "--json"});
        return check.exit_code == 0;
      },
      30s))
      << check.out << check.err;
  EXPECT_EQ(str(parse(check.out), "status"), "ok") << check.out;
  EXPECT_NE(check.out.find("schema version"), std::string::npos) << check.out;

  // A bad configuration is refused, with the file, the line and the key.
  std::ofstream(dir_ / "bad.yaml") << "server:\n  prot: 8000\n";
  auto refused = forge({"deploy", "validate", "--config", (dir_ / "bad.yaml").string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("bad.yaml:2"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("prot"), std::string::npos) << refused.out;
  EXPECT_NE(refused.err.find("refused"), std::string::npos) << refused.err;
  auto valid = forge(
      {"deploy", "validate", "--binary", v2 + "/forge", "--config", v2 + "/forge.yaml", "--json"});
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;

  // The rolling update under steady load.
  SteadyLoad load(gateway_port_, 4);
  std::this_thread::sleep_for(500ms);
  const int before = load.succeeded();
  auto apply = forge(
      {"deploy", "apply", "--binary", v2 + "/forge", "--config", v2 + "/forge.yaml", "--json"},
      180s);
  const int during = load.succeeded() - before;
  std::this_thread::sleep_for(300ms);
  load.stop();
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  const auto record = parse(apply.out);
  EXPECT_EQ(str(record, "result"), "ok") << apply.out;
  const std::string r2 = str(record, "to_release");
  EXPECT_EQ(str(record, "from_release"), r1);
  EXPECT_NE(r2, r1);
  EXPECT_NE(apply.err.find("restart gateway"), std::string::npos) << apply.err; // progress
  const auto failures = load.failures();
  fmt::print("{} calls, {} during the apply, {} failed\n", load.succeeded(), during,
             failures.size());
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(during, 20) << "the load did not run through the apply";
  EXPECT_EQ(releases("gateway"), std::set<std::string>{r2});
  EXPECT_EQ(appRelease(gateway_port_), r2);
  McpClient after(gateway_port_, "/mcp");
  ASSERT_TRUE(after.initialize());
  EXPECT_EQ(after.toolNames().count("extra__echo"), 1u); // the new forge.yaml is in force
  EXPECT_TRUE(fs::exists(fs::path(data_) / "releases" / r1 / "forge")); // kept for rollback

  auto verify = forge({"deploy", "verify", "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find(r2), std::string::npos) << verify.out;

  auto rollback = forge({"deploy", "rollback", "--json"}, 180s);
  ASSERT_EQ(rollback.exit_code, 0) << rollback.out << rollback.err;
  EXPECT_EQ(str(parse(rollback.out), "to_release"), r1) << rollback.out;
  EXPECT_EQ(releases("gateway"), std::set<std::string>{r1});
  EXPECT_EQ(appRelease(gateway_port_), r1);

  auto history = forge({"deploy", "history", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  const auto rows = parse(history.out);
  ASSERT_TRUE(rows.is_array()) << history.out;
  ASSERT_EQ(rows.as_array().size(), 2u) << history.out;
  EXPECT_EQ(str(rows.as_array()[0], "kind"), "rollback");
  EXPECT_EQ(str(rows.as_array()[1], "kind"), "apply");
  EXPECT_EQ(str(rows.as_array()[1], "result"), "ok");
  EXPECT_GE(rows.as_array()[1].at("steps").as_array().size(), 5u) << history.out;

  // An apply that fails before restarting anything puts `current` back.
  auto failed = forge({"deploy", "apply", "--only", "nosuch"}, 60s);
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.err.find("no service follows"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("is " + r1 + " again"), std::string::npos) << failed.err;
  EXPECT_EQ(fs::read_symlink(fs::path(data_) / "releases" / "current").string(), r1);
  EXPECT_EQ(releases("gateway"), std::set<std::string>{r1});

  // Nothing to return to twice in a row is said plainly.
  auto again = forge({"deploy", "rollback", "--to", r1});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already current"), std::string::npos) << again.err;
}

// A release whose gateway never serves (it answers --version, then only sleeps): with replicas on
// one port the health check must hear from the new process itself, not from a sibling, so the
// first replica's restart fails, the old replicas keep serving, and rollback repairs the rest.
TEST_F(DeployTest, AReleaseThatDoesNotServeStopsTheRollAndRollbackRepairsIt) {
  gateway_port_ = freePort();
  writeServices("", gatewayService("gateway", gateway_port_, true, 2, "current", true));
  const auto v1 = (dir_ / "v1").string();
  auto first = forge({"deploy", "apply", "--install-only", "--binary", v1 + "/forge", "--config",
                      v1 + "/forge.yaml", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string r1 = installed(first);
  const auto mute = dir_ / "mute-forge";
  std::ofstream(mute)
      << "#!/bin/sh\n"
         "if [ \"$1\" = --version ]; then echo 'forge 9.9.9 (mute, Release)'; exit 0; fi\n"
         "exec sleep 300\n";
  fs::permissions(mute, fs::perms::owner_all);
  startManager();
  ASSERT_TRUE(eventually([&] { return releases("gateway") == std::set<std::string>{r1}; }, 30s));

  auto apply = forge({"deploy", "apply", "--binary", mute.string()}, 150s);
  EXPECT_EQ(apply.exit_code, 1) << apply.out << apply.err;
  EXPECT_NE(apply.err.find("restart gateway: FAILED"), std::string::npos) << apply.err;
  EXPECT_NE(apply.err.find("`forge deploy rollback` returns to release " + r1), std::string::npos)
      << apply.err;
  McpClient client(gateway_port_, "/mcp"); // the old replicas still serve
  ASSERT_TRUE(client.initialize());
  EXPECT_EQ(resultText(client.callTool("fixture__echo", {{"message", "still"}})), "still");

  auto rollback = forge({"deploy", "rollback", "--json"}, 150s);
  ASSERT_EQ(rollback.exit_code, 0) << rollback.out << rollback.err;
  EXPECT_EQ(releases("gateway"), std::set<std::string>{r1}) << json::serialize(service("gateway"));
}

TEST_F(DeployTest, ABlueGreenSwitchUnderLoadFailsNoCall) {
  gateway_port_ = freePort();
  const auto blue_port = freePort(), green_port = freePort();
  writeServices(fmt::format("bluegreen: {{port: {}, blue: gateway-blue, green: gateway-green}}\n",
                            gateway_port_),
                gatewayService("gateway-blue", blue_port, false, 1, "blue", true) +
                    gatewayService("gateway-green", green_port, false, 1, "green", false));
  const auto v1 = (dir_ / "v1").string(), v2 = (dir_ / "v2").string();
  auto first = forge({"deploy", "apply", "--install-only", "--pointer", "blue", "--binary",
                      v1 + "/forge", "--config", v1 + "/forge.yaml", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const std::string r1 = installed(first);
  startManager();
  ASSERT_TRUE(
      eventually([&] { return releases("gateway-blue") == std::set<std::string>{r1}; }, 30s))
      << json::serialize(service("gateway-blue"));
  McpClient probe(gateway_port_, "/mcp"); // through the manager's blue-green port
  ASSERT_TRUE(probe.initialize()) << probe.lastReply().body;
  ASSERT_TRUE(eventually(
      [&] {
        return resultText(probe.callTool("fixture__echo", {{"message", "up"}})) == "up";
      },
      20s))
      << probe.lastReply().body;

  SteadyLoad load(gateway_port_, 4);
  std::this_thread::sleep_for(500ms);
  auto deploy = forge(
      {"bluegreen", "deploy", "--binary", v2 + "/forge", "--config", v2 + "/forge.yaml", "--json"},
      120s);
  ASSERT_EQ(deploy.exit_code, 0) << deploy.out << deploy.err;
  const std::string r2 = str(parse(deploy.out), "to_release");
  EXPECT_NE(r2, r1);
  EXPECT_EQ(appRelease(green_port), r2);    // green runs the new release on its own port
  EXPECT_EQ(appRelease(gateway_port_), r1); // while blue stays live

  auto tested = forge({"bluegreen", "test", "--json"});
  EXPECT_EQ(tested.exit_code, 0) << tested.out << tested.err;
  EXPECT_NE(tested.out.find("green MCP"), std::string::npos) << tested.out;

  const int before = load.succeeded();
  auto switched = forge({"bluegreen", "switch", "--json"});
  ASSERT_EQ(switched.exit_code, 0) << switched.out << switched.err;
  std::this_thread::sleep_for(1s);
  auto decommissioned = forge({"bluegreen", "decommission"}, 60s);
  EXPECT_EQ(decommissioned.exit_code, 0) << decommissioned.out << decommissioned.err;
  std::this_thread::sleep_for(500ms);
  const int during = load.succeeded() - before;
  load.stop();
  const auto failures = load.failures();
  fmt::print("{} calls, {} across the switch and decommission, {} failed\n", load.succeeded(),
             during, failures.size());
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(during, 20);

  EXPECT_EQ(appRelease(gateway_port_), r2);
  EXPECT_EQ(str(service("gateway-blue"), "state"), "stopped");
  auto status = forge({"bluegreen", "status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(str(parse(status.out), "live"), "green") << status.out;
  auto human = forge({"bluegreen", "status"});
  EXPECT_NE(human.out.find("live: green"), std::string::npos) << human.out;
  // `current` follows the live colour; switching to a stopped colour is refused.
  EXPECT_EQ(fs::read_symlink(fs::path(data_) / "releases" / "current").string(), r2);
  auto refused = forge({"bluegreen", "switch"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("not running"), std::string::npos) << refused.err;
}

} // namespace
} // namespace forge::test
