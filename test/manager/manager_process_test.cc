// The real `forge manager` with real children: the project's fixture MCP server behind the
// manager's proxy (sleep and wake on traffic), a service that crashes, one that spawns
// grandchildren; and the stack commands (forge up, ps, logs, scale, restart, down).
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

// Live processes whose process group is `pgid` (zombies count as gone).
std::set<pid_t> processesInGroup(pid_t pgid) {
  std::set<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0, group = 0;
    rest >> state >> ppid >> group;
    if (group == pgid && state != "Z") out.insert(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

class ManagerTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-manager");
    mcp_port_ = freePort();
    std::ofstream(dir_ / "services.yml") << fmt::format(
        "manager:\n"
        "  port: 0\n"
        "services:\n"
        "  - name: echo\n"
        "    kind: mcp\n"
        "    command: [\"{}\", \"--port\", \"{{port}}\"]\n"
        "    port: {}\n"
        "    health: {{type: mcp, interval: 200ms, timeout: 1s}}\n"
        "    sleep_policy: {{enabled: true, idle_timeout: 1500ms, min_sleep_time: 0s}}\n"
        "  - name: crasher\n"
        "    command: [/bin/sh, -c, \"echo started; sleep 0.2; exit 3\"]\n"
        "    restart: {{backoff_initial: 100ms, backoff_max: 300ms, crash_loop_restarts: 4,\n"
        "              crash_loop_window: 30s}}\n"
        "  - name: family\n"
        "    command: [/bin/sh, -c, \"sleep 300 & sleep 300 & wait\"]\n"
        "    stop_grace: 1s\n",
        FORGE_FIXTURE_BINARY, mcp_port_);
  }

  void TearDown() override {
    // A manager started by `forge up` (if a test stopped half-way): stopped by its recorded pid.
    runCommand({FORGE_BINARY, "down", "--data-dir", (dir_ / "data").string()}, {}, dir_.string(),
               60s);
    if (manager_) {
      manager_->signal(SIGTERM);
      EXPECT_TRUE(manager_->wait(20s));
    }
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }

  void startManager() {
    manager_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "manager", "--config",
                                 (dir_ / "services.yml").string(), "--data-dir",
                                 (dir_ / "data").string()},
        std::vector<std::string>{"AUTH_REQUIRED=false"}, dir_.string());
    auto line = manager_->waitForLine("manager listening on http://127.0.0.1:", 15s);
    ASSERT_TRUE(line) << manager_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find("127.0.0.1:") + 10)));
  }

  json::value service(const std::string& name) {
    return parse(request(port_, "GET", "/services/" + name).body);
  }
  std::string state(const std::string& name) { return str(service(name), "state"); }
  std::vector<pid_t> pids(const std::string& name) {
    std::vector<pid_t> out;
    const auto s = service(name);
    if (!s.is_object()) return out;
    for (const auto& r : s.at("replicas").as_array()) {
      const auto pid = r.at("pid").to_number<std::int64_t>();
      if (pid > 0) out.push_back(static_cast<pid_t>(pid));
    }
    return out;
  }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::uint16_t mcp_port_ = 0;
  std::unique_ptr<ChildProcess> manager_;
};

TEST_F(ManagerTest, StartsServicesAndReportsHealthMetricsAndResources) {
  startManager();
  ASSERT_TRUE(eventually([&] { return state("echo") == "running"; }, 15s))
      << json::serialize(service("echo"));
  ASSERT_TRUE(eventually([&] { return state("family") == "running"; }));
  const auto health = parse(request(port_, "GET", "/health").body);
  EXPECT_EQ(health.at("services_total"), json::value(3));
  const auto metrics = parse(request(port_, "GET", "/services/echo/metrics").body);
  EXPECT_GT(metrics.at("rss_bytes").to_number<std::int64_t>(), 0) << json::serialize(metrics);
  const auto family = parse(request(port_, "GET", "/services/family/metrics").body);
  EXPECT_GE(family.at("processes").to_number<std::int64_t>(), 3) << json::serialize(family);
  const auto system = parse(request(port_, "GET", "/system/resources").body);
  EXPECT_GT(system.at("memory_total_bytes").to_number<std::int64_t>(), 0);
  const auto prometheus = request(port_, "GET", "/metrics");
  EXPECT_NE(prometheus.body.find("forge_manager_service_up{service=\"echo\"} 1"), std::string::npos)
      << prometheus.body;
  EXPECT_TRUE(isJsonError(request(port_, "POST", "/services/nope/start"), 404));
}

TEST_F(ManagerTest, AnIdleMcpServiceSleepsAndConcurrentRequestsWakeIt) {
  startManager();
  ASSERT_TRUE(eventually([&] { return state("echo") == "running"; }, 15s));
  McpClient first(port_, "/services/echo/mcp");
  ASSERT_TRUE(first.initialize());
  EXPECT_EQ(resultText(first.callTool("add", json::object{{"a", 1}, {"b", 2}})), "3");
  // No traffic for idle_timeout: asleep (paused, so its process is stopped by SIGSTOP).
  ASSERT_TRUE(eventually([&] { return state("echo") == "sleeping"; }, 10s))
      << json::serialize(service("echo"));
  const auto sleeping = pids("echo");
  ASSERT_EQ(sleeping.size(), 1u);

  // Eight clients at once: every request waits for the wake, none fails.
  std::vector<std::future<std::string>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [this, i] {
      McpClient client(port_, "/services/echo/mcp");
      if (!client.initialize()) return std::string("initialize failed");
      return resultText(client.callTool("add", json::object{{"a", i}, {"b", 100}}));
    }));
  }
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(calls[i].get(), std::to_string(i + 100)) << i;
  EXPECT_EQ(state("echo"), "running");
  EXPECT_EQ(pids("echo"), sleeping); // paused and resumed, not restarted
  const auto metrics = parse(request(port_, "GET", "/services/echo/metrics").body);
  EXPECT_GE(metrics.at("wakes").to_number<std::int64_t>(), 1);
  EXPECT_GE(metrics.at("wake_latency").at("count").to_number<std::int64_t>(), 1)
      << json::serialize(metrics);
  EXPECT_GT(metrics.at("wake_latency").at("max_ms").to_number<double>(), 0.0);
}

TEST_F(ManagerTest, ACrashingServiceIsRestartedWithBackOffAndReportedInACrashLoop) {
  startManager();
  ASSERT_TRUE(eventually([&] { return state("crasher") == "crash-loop"; }, 15s))
      << json::serialize(service("crasher"));
  const auto s = service("crasher");
  EXPECT_GE(s.at("restarts").to_number<std::int64_t>(), 4);
  EXPECT_NE(str(s.at("replicas").as_array()[0], "last_exit").find("status 3"), std::string::npos)
      << json::serialize(s);
  // Its output was captured, with timestamps, one line per start.
  const auto logs = parse(request(port_, "GET", "/services/crasher/logs?tail=50").body);
  ASSERT_TRUE(logs.at("lines").is_array()) << json::serialize(logs);
  int started = 0;
  for (const auto& line : logs.at("lines").as_array())
    started += str(json::object{{"l", line}}, "l").find("started") != std::string::npos ? 1 : 0;
  EXPECT_GE(started, 4) << json::serialize(logs);
  // Stopping it ends the loop.
  EXPECT_EQ(request(port_, "POST", "/services/crasher/stop", "{}", {}, 15s).status, 200);
  EXPECT_EQ(state("crasher"), "stopped");
}

TEST_F(ManagerTest, StopKillsTheWholeProcessGroupAndScaleAddsReplicas) {
  startManager();
  ASSERT_TRUE(eventually([&] { return state("family") == "running"; }));
  const auto group = pids("family").at(0);
  ASSERT_GE(processesInGroup(group).size(), 3u); // guard, shell, two sleeps
  auto scaled = request(port_, "POST", "/services/family/scale", R"({"replicas": 2})", {}, 15s);
  ASSERT_EQ(scaled.status, 200) << scaled.body;
  ASSERT_EQ(pids("family").size(), 2u);
  const auto second = pids("family").at(1);
  EXPECT_EQ(request(port_, "POST", "/services/family/stop", "{}", {}, 15s).status, 200);
  EXPECT_TRUE(processesInGroup(group).empty());
  EXPECT_TRUE(processesInGroup(second).empty());
}

TEST_F(ManagerTest, NoChildOutlivesAManagerKilledWithSigkill) {
  startManager();
  ASSERT_TRUE(
      eventually([&] { return state("echo") == "running" && state("family") == "running"; }, 15s));
  std::vector<pid_t> groups = pids("echo");
  for (pid_t p : pids("family"))
    groups.push_back(p);
  ASSERT_EQ(groups.size(), 2u);
  for (pid_t g : groups)
    ASSERT_FALSE(processesInGroup(g).empty());
  manager_->signal(SIGKILL);
  manager_->wait(5s);
  manager_.reset();
  EXPECT_TRUE(eventually(
      [&] {
        for (pid_t g : groups)
          if (!processesInGroup(g).empty()) return false;
        return true;
      },
      1s))
      << "left alive: " << processesInGroup(groups[0]).size() << " + "
      << processesInGroup(groups[1]).size();
  // A new manager starts clean, on the same port.
  startManager();
  EXPECT_TRUE(eventually([&] { return state("echo") == "running"; }, 15s));
}

TEST_F(ManagerTest, RestartReplacesReplicasOneByOne) {
  startManager();
  ASSERT_TRUE(eventually([&] { return state("family") == "running"; }));
  ASSERT_EQ(request(port_, "POST", "/services/family/scale", R"({"replicas": 2})", {}, 15s).status,
            200);
  const auto before = pids("family");
  auto restarted = request(port_, "POST", "/services/family/restart", "{}", {}, 30s);
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  const auto after = pids("family");
  ASSERT_EQ(after.size(), 2u);
  for (pid_t p : after)
    EXPECT_EQ(std::count(before.begin(), before.end(), p), 0) << "not replaced: " << p;
  EXPECT_EQ(state("family"), "running");
}

TEST_F(ManagerTest, StackCommandsDriveAManagerStartedByUp) {
  const std::string data = (dir_ / "data").string();
  std::vector<std::string> env{"AUTH_REQUIRED=true", "FORGE_MANAGER_PORT=0"};
  // Authentication on: the commands sign their own admin token with the data directory's key.
  std::ofstream(dir_ / "services.yml", std::ios::app) << "";
  const auto port = freePort();
  env.back() = fmt::format("FORGE_MANAGER_PORT={}", port);
  env.push_back(fmt::format("FORGE_MANAGER_URL=http://127.0.0.1:{}", port));
  auto up =
      runCommand({FORGE_BINARY, "up", "-c", (dir_ / "services.yml").string(), "--data-dir", data},
                 env, dir_.string(), 40s);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("family"), std::string::npos) << up.out;
  // Without a token the API refuses.
  EXPECT_EQ(request(port, "GET", "/services").status, 401);

  auto ps = runCommand({FORGE_BINARY, "ps", "--json", "--data-dir", data}, env, dir_.string());
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_EQ(namesOf(parse(ps.out)), (std::set<std::string>{"crasher", "echo", "family"}));

  auto scale =
      runCommand({FORGE_BINARY, "scale", "family", "2", "--data-dir", data}, env, dir_.string());
  EXPECT_EQ(scale.exit_code, 0) << scale.err;
  EXPECT_NE(scale.out.find("2/2"), std::string::npos) << scale.out;
  auto restart =
      runCommand({FORGE_BINARY, "restart", "family", "--data-dir", data}, env, dir_.string(), 40s);
  EXPECT_EQ(restart.exit_code, 0) << restart.err;
  auto logs = runCommand({FORGE_BINARY, "logs", "crasher", "--tail", "3", "--data-dir", data}, env,
                         dir_.string());
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("started"), std::string::npos) << logs.out;
  auto unknown =
      runCommand({FORGE_BINARY, "restart", "nope", "--data-dir", data}, env, dir_.string());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no service named nope"), std::string::npos) << unknown.err;

  ps = runCommand({FORGE_BINARY, "ps", "--json", "--data-dir", data}, env, dir_.string());
  const auto services = parse(ps.out);
  ASSERT_TRUE(services.is_array()) << ps.out << ps.err;
  std::vector<pid_t> groups;
  for (const auto& s : services.as_array())
    for (const auto& r : s.at("replicas").as_array())
      if (r.at("pid").to_number<std::int64_t>() > 0)
        groups.push_back(static_cast<pid_t>(r.at("pid").to_number<std::int64_t>()));
  ASSERT_FALSE(groups.empty());
  auto down = runCommand({FORGE_BINARY, "down", "--data-dir", data}, env, dir_.string(), 60s);
  EXPECT_EQ(down.exit_code, 0) << down.err;
  for (pid_t g : groups)
    EXPECT_TRUE(processesInGroup(g).empty()) << g;
  EXPECT_NE(runCommand({FORGE_BINARY, "ps", "--data-dir", data}, env, dir_.string()).exit_code, 0);
}

// The stack of the operations guide on one machine (Redis too): server-everything over stdio,
// served over HTTP by `forge translate` under the manager, and two gateway replicas on one port
// reaching it through the manager (so that its traffic is seen). Clients call it through the
// gateways without pause, each call on a new connection (any replica may answer, and a session
// opened on one is taken over by the other), while `restart gateway` replaces both replicas one by
// one: no call fails.
TEST_F(ManagerTest, GatewayReplicasShareAPortAndARollingRestartUnderLoadFailsNoCall) {
  const auto manager_port = freePort();
  const auto gateway_port = freePort();
  const auto everything_port = freePort();
  const std::string everything =
      std::string(FORGE_SOURCE_DIR) +
      "/test/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
  ASSERT_TRUE(std::filesystem::exists(everything)) << "run tools/install-deps.sh";
  std::ofstream(dir_ / "gateway.yaml")
      << fmt::format("upstreams:\n"
                     "  - name: everything\n"
                     "    transport: streamable-http\n"
                     "    url: http://127.0.0.1:{}/services/everything/mcp\n",
                     manager_port);
  std::ofstream(dir_ / "services.yml") << fmt::format(
      "manager:\n"
      "  port: {0}\n"
      "services:\n"
      "  - name: everything\n"
      "    kind: mcp\n"
      "    command: [\"{1}\", translate, --stdio, \"node {2} stdio\", --port, \"{{port}}\"]\n"
      "    port: {3}\n"
      "    health: {{type: mcp, interval: 500ms, timeout: 5s}}\n"
      "  - name: gateway\n"
      "    kind: gateway\n"
      "    command: [\"{1}\", gateway, --config, \"{4}\", --server-port, \"{{port}}\",\n"
      "              --data-dir, \"{{data_dir}}/gateway\"]\n"
      "    port: {5}\n"
      "    shared_port: true\n"
      "    replicas: 2\n"
      "    health: {{type: http, path: /ready, interval: 200ms}}\n"
      "    stop_grace: 15s\n"
      "  - name: redis\n"
      "    kind: redis\n"
      "    command: [redis-server, --port, \"{{port}}\", --bind, 127.0.0.1, --save, \"\",\n"
      "              --dir, \"{{data_dir}}\"]\n"
      "    port: {6}\n"
      "    health: {{type: tcp, interval: 200ms}}\n",
      manager_port, FORGE_BINARY, everything, everything_port, (dir_ / "gateway.yaml").string(),
      gateway_port, freePort());
  startManager();
  ASSERT_EQ(port_, manager_port);
  ASSERT_TRUE(eventually([&] { return state("everything") == "running"; }, 30s))
      << json::serialize(service("everything"));
  EXPECT_TRUE(eventually([&] { return state("redis") == "running"; }, 15s))
      << json::serialize(service("redis"));
  ASSERT_TRUE(
      eventually([&] { return state("gateway") == "running" && pids("gateway").size() == 2; }, 30s))
      << json::serialize(service("gateway"))
      << request(port_, "GET", "/services/gateway/logs?tail=20").body;
  // Both replicas hand out sessions every replica accepts.
  McpClient probe(gateway_port, "/mcp");
  ASSERT_TRUE(probe.initialize());
  ASSERT_TRUE(eventually(
      [&] {
        return resultText(probe.callTool("everything__echo", {{"message", "up"}})).find("up") !=
               std::string::npos;
      },
      30s))
      << probe.lastReply().body;

  std::atomic<bool> stop{false};
  std::atomic<int> succeeded{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto client = [&](int n) {
    McpClient mcp(gateway_port, "/mcp");
    if (!mcp.initialize()) {
      std::lock_guard lock(failures_mutex);
      failures.push_back(fmt::format("client {}: initialize: {}", n, mcp.lastReply().body));
      return;
    }
    for (int i = 0; !stop; ++i) {
      const std::string message = fmt::format("c{}-{}", n, i);
      const auto answer = mcp.callTool("everything__echo", {{"message", message}});
      if (resultText(answer).find(message) != std::string::npos) {
        ++succeeded;
        continue;
      }
      std::lock_guard lock(failures_mutex);
      failures.push_back(fmt::format("client {} call {}: HTTP {} {}", n, i, mcp.status(),
                                     mcp.lastReply().body.substr(0, 300)));
    }
  };
  std::vector<std::thread> clients;
  for (int n = 0; n < 4; ++n)
    clients.emplace_back(client, n);
  std::this_thread::sleep_for(500ms);
  const auto before = pids("gateway");
  const int before_restart = succeeded.load();
  const auto restarted = request(port_, "POST", "/services/gateway/restart", "{}", {}, 90s);
  const int during_restart = succeeded.load() - before_restart;
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& t : clients)
    t.join();

  fmt::print("{} calls, {} of them during the restart, {} failed\n", succeeded.load(),
             during_restart, failures.size());
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  const auto after = pids("gateway");
  ASSERT_EQ(after.size(), 2u);
  for (pid_t p : after)
    EXPECT_EQ(std::count(before.begin(), before.end(), p), 0) << "not replaced: " << p;
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(during_restart, 20) << "the load did not run through the restart";
  // Each replica also serves a port of its own, where it and only it answers.
  std::set<std::string> answering;
  const auto gateway = service("gateway");
  for (const auto& r : gateway.at("replicas").as_array()) {
    const auto own = r.at("own_port").to_number<std::int64_t>();
    ASSERT_GT(own, 0) << json::serialize(r);
    EXPECT_NE(own, gateway_port);
    const auto level = request(static_cast<std::uint16_t>(own), "GET", "/admin/log-level");
    ASSERT_EQ(level.status, 200) << level.body;
    answering.insert(json::serialize(parse(level.body).at("pid")));
  }
  EXPECT_EQ(answering.size(), 2u);
  // The calls reached server-everything through the manager, which counted them.
  const auto metrics = parse(request(port_, "GET", "/services/everything/metrics").body);
  EXPECT_GT(metrics.at("requests").to_number<std::int64_t>(), succeeded.load())
      << json::serialize(metrics);
}

// A gateway serving HTTPS: with health.scheme https its checks speak TLS to 127.0.0.1 (the
// certificate names the public host only) and it runs; checked over plain HTTP it never
// becomes healthy. `forge verify` and `forge log-level` reach its replicas the same way.
TEST_F(ManagerTest, AGatewayServingTlsIsCheckedOverTls) {
  const auto cert = (dir_ / "cert.pem").string();
  const auto key = (dir_ / "key.pem").string();
  auto made = runCommand({FORGE_BINARY, "certs", "renew", "--cert", cert, "--key", key, "--name",
                          "gateway.example.com", "--days", "30"},
                         {}, dir_.string(), 60s);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::ofstream(dir_ / "gateway.yaml")
      << fmt::format("server:\n  tls_cert: {}\n  tls_key: {}\nupstreams:\n  - name: fixture\n"
                     "    command: {}\n    args: [--stdio]\n",
                     cert, key, FORGE_FIXTURE_BINARY);
  auto gateway = [&](const std::string& name, const std::string& scheme, int replicas) {
    const auto port = freePorts(replicas); // replica i listens on port + i
    return fmt::format("  - name: {0}\n"
                       "    kind: gateway\n"
                       "    command: [\"{1}\", gateway, --config, \"{2}\", --server-port, "
                       "\"{{port}}\", --data-dir, \"{{data_dir}}/{0}\",\n"
                       "              --auth-password-cost, minimum]\n"
                       "    port: {3}\n"
                       "    replicas: {5}\n"
                       "    health: {{type: http, scheme: {4}, path: /ready, interval: 200ms}}\n"
                       "    stop_grace: 5s\n",
                       name, FORGE_BINARY, (dir_ / "gateway.yaml").string(), port, scheme,
                       replicas);
  };
  const auto manager_port = freePort();
  std::ofstream(dir_ / "services.yml", std::ios::trunc)
      << fmt::format("manager:\n  port: {}\nservices:\n", manager_port)
      << gateway("secure", "https", 2) << gateway("misread", "http", 1);
  startManager();
  ASSERT_TRUE(
      eventually([&] { return state("secure") == "running" && pids("secure").size() == 2; }, 60s))
      << json::serialize(service("secure"))
      << request(port_, "GET", "/services/secure/logs?tail=20").body;
  const auto running = pids("secure");
  std::this_thread::sleep_for(1500ms); // several checks later it is still the same processes
  EXPECT_EQ(state("secure"), "running");
  EXPECT_EQ(pids("secure"), running);
  EXPECT_NE(state("misread"), "running") << json::serialize(service("misread"));
  EXPECT_EQ(str(service("secure"), "scheme"), "https");

  const std::vector<std::string> stack{"--manager-url", fmt::format("http://127.0.0.1:{}", port_),
                                       "--data-dir", (dir_ / "data").string()};
  auto forge = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{FORGE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), stack.begin(), stack.end());
    return runCommand(argv, {"AUTH_REQUIRED=false"}, dir_.string(), 60s);
  };
  // A smoke test through a replica's own port, over TLS.
  const auto verified = forge({"verify", "secure", "--json"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("tools/call"), std::string::npos) << verified.out;
  // The log level of both replicas, each over TLS on its own port.
  const auto level = forge({"log-level", "debug", "--json", "--gateway-url",
                            fmt::format("https://gateway.example.com:{}", freePort())});
  ASSERT_EQ(level.exit_code, 0) << level.out << level.err;
  std::set<std::string> urls;
  const auto replies = parse(level.out);
  ASSERT_TRUE(replies.is_array()) << level.out;
  for (const auto& reply : replies.as_array()) {
    EXPECT_EQ(str(reply, "level"), "debug") << level.out;
    urls.insert(str(reply, "url"));
  }
  EXPECT_EQ(urls.size(), 2u) << level.out;
  for (const auto& url : urls)
    EXPECT_TRUE(url.starts_with("https://127.0.0.1:")) << url;
}

// POST /reload reads services.yml again: a new service starts, a removed one stops and goes, a
// changed one takes its settings at its next start; a port change of a running service and a
// file that does not load are refused, and nothing changes then.
TEST_F(ManagerTest, ReloadAppliesServicesYmlAndRefusesWhatCannotChangeWhileRunning) {
  startManager();
  ASSERT_TRUE(eventually([&] { return state("family") == "running"; }));
  const auto original = [&] {
    std::ifstream in(dir_ / "services.yml");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  // crasher removed, family's command changed, sleeper added.
  const auto without_crasher = original.substr(0, original.find("  - name: crasher")) +
                               original.substr(original.find("  - name: family"));
  std::string changed = without_crasher;
  changed.replace(changed.find("sleep 300 & sleep 300 & wait"), 28, "sleep 301 & wait");
  std::ofstream(dir_ / "services.yml", std::ios::trunc)
      << changed << "  - name: sleeper\n    command: [/bin/sleep, \"300\"]\n    stop_grace: 1s\n";
  auto reloaded = request(port_, "POST", "/reload", "{}", {}, 30s);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const auto summary = parse(reloaded.body);
  EXPECT_EQ(summary.at("added"), json::array{"sleeper"}) << reloaded.body;
  EXPECT_EQ(summary.at("removed"), json::array{"crasher"}) << reloaded.body;
  EXPECT_EQ(summary.at("changed"), json::array{"family"}) << reloaded.body;
  EXPECT_TRUE(eventually([&] { return state("sleeper") == "running"; }));
  EXPECT_TRUE(eventually([&] { return request(port_, "GET", "/services/crasher").status == 404; }));
  // The change applies at the next start.
  const auto group = pids("family").at(0);
  EXPECT_FALSE(processesInGroup(group).empty());
  ASSERT_EQ(request(port_, "POST", "/services/family/restart", "{}", {}, 30s).status, 200);
  const auto fresh = pids("family").at(0);
  EXPECT_NE(fresh, group);
  EXPECT_TRUE(eventually([&] {
    for (pid_t p : processesInGroup(fresh)) {
      std::ifstream in(fmt::format("/proc/{}/cmdline", p));
      std::string line(std::istreambuf_iterator<char>(in), {});
      if (line.find("301") != std::string::npos) return true;
    }
    return false;
  }));

  // A running service's port cannot change under it; a broken file is refused with its line.
  std::string moved = changed;
  moved.replace(moved.find(fmt::format("port: {}", mcp_port_)),
                fmt::format("port: {}", mcp_port_).size(), fmt::format("port: {}", freePort()));
  std::ofstream(dir_ / "services.yml", std::ios::trunc) << moved;
  ASSERT_TRUE(eventually([&] { return state("echo") == "running"; }, 15s));
  auto refused = request(port_, "POST", "/reload", "{}", {}, 30s);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("stop echo first"), std::string::npos) << refused.body;
  std::ofstream(dir_ / "services.yml", std::ios::trunc)
      << "services:\n  - name: x\n    comand: [y]\n";
  auto broken = request(port_, "POST", "/reload", "{}", {}, 30s);
  EXPECT_EQ(broken.status, 422) << broken.body;
  EXPECT_NE(broken.body.find("services.yml:3"), std::string::npos) << broken.body;
  EXPECT_EQ(state("sleeper"), "running"); // nothing was applied
}

TEST_F(ManagerTest, ABadServicesFileIsRejectedWithTheKeyAndTheLine) {
  std::ofstream(dir_ / "bad.yml") << "services:\n"
                                     "  - name: a\n"
                                     "    command: [x]\n"
                                     "    health:\n"
                                     "      intervl: 5s\n";
  auto result = runCommand({FORGE_BINARY, "manager", "--config", (dir_ / "bad.yml").string()},
                           {"AUTH_REQUIRED=false"}, dir_.string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("bad.yml:5"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("health.intervl"), std::string::npos) << result.err;
  // Values wrong together are named with their item and line too.
  std::ofstream(dir_ / "twice.yml") << "services:\n"
                                       "  - name: a\n"
                                       "    command: [x]\n"
                                       "  - name: a\n"
                                       "    command: [y]\n"
                                       "    health: {type: http}\n";
  result = runCommand({FORGE_BINARY, "manager", "--config", (dir_ / "twice.yml").string()},
                      {"AUTH_REQUIRED=false"}, dir_.string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("twice.yml:4"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("used twice"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("needs a port"), std::string::npos) << result.err;
}

} // namespace
} // namespace forge::test
