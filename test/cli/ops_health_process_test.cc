// The health and debugging commands against a real `forge gateway` (the fixture as its stdio
// upstream `fixture`) and a real `forge manager`: GET /metrics and /admin/log-level, then
// `forge health`, `smoke-test`, `stats`, `log-level`, `doctor`, `debug bundle` and `verify`,
// with their exit codes, including a gateway that is down and an upstream that is unreachable.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace forge::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The status of the check named `name` in `forge ... --json` output of checks.
std::string checkStatus(const json::value& report, std::string_view name) {
  for (const auto& c : report.at("checks").as_array())
    if (c.at("name").as_string() == name) return std::string(c.at("status").as_string());
  return "<absent>";
}

class OpsHealthTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-ops-health");
    std::ofstream(dir_ / "forge.yaml")
        << fmt::format("upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                       FORGE_FIXTURE_BINARY);
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "gateway", "--config",
                                 (dir_ / "forge.yaml").string(), "--server-port", "0", "--data-dir",
                                 data(), "--gateway-discovery-timeout", "1s"},
        std::vector<std::string>{}, dir_.string());
    const std::string marker = "listening on http://127.0.0.1:";
    auto line = gateway_->waitForLine(marker, 10s);
    ASSERT_TRUE(line) << gateway_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find(marker) + marker.size())));
    url_ = fmt::format("http://127.0.0.1:{}", port_);
    ASSERT_TRUE(gateway_->waitForLine("upstream fixture: discovered", 10s)) << gateway_->err();
  }
  void TearDown() override {
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string data() const { return (dir_ / "data").string(); }

  // `forge ARGS --gateway-url URL --data-dir DATA`; $FORGE_MANAGER_URL names a port nobody
  // serves, so no manager is found (and none is required: this data directory has never had one).
  CommandResult forge(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), FORGE_BINARY);
    args.insert(args.end(), {"--gateway-url", url_, "--data-dir", data()});
    env.push_back(fmt::format("FORGE_MANAGER_URL=http://127.0.0.1:{}", freePort()));
    return runCommand(std::move(args), std::move(env), dir_.string(), 60s);
  }
  std::string metrics() const { return request(port_, "GET", "/metrics").body; }

  // Registers an HTTP upstream nobody serves.
  void registerDeadUpstream() {
    const auto reply = request(
        port_, "POST", "/gateways",
        fmt::format(
            R"({{"name": "dead", "url": "http://127.0.0.1:{}/mcp", "transport": "STREAMABLEHTTP"}})",
            freePort()),
        {{"Content-Type", "application/json"}}, 20s);
    ASSERT_LT(reply.status, 300) << reply.body;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  std::uint16_t port_ = 0;
  std::string url_;
};

TEST_F(OpsHealthTest, MetricsCountRequestsToolCallsAndStatusClasses) {
  McpClient client(port_, "/mcp");
  ASSERT_TRUE(client.initialize());
  const auto answer = client.callTool("fixture__add", json::object{{"a", 2}, {"b", 3}});
  ASSERT_FALSE(isError(answer)) << json::serialize(answer);
  EXPECT_TRUE(isError(client.call("tools/call", json::object{{"name", "fixture__nosuch"}})));
  request(port_, "GET", "/no/such/route");

  const std::string text = metrics();
  EXPECT_TRUE(contains(text, "forge_mcp_requests_total{method=\"initialize\",outcome=\"ok\"} 1"))
      << text;
  EXPECT_TRUE(contains(text, "forge_mcp_requests_total{method=\"tools/call\",outcome=\"ok\"} 1"))
      << text;
  EXPECT_TRUE(contains(text, "forge_mcp_requests_total{method=\"tools/call\",outcome=\"error\"} 1"))
      << text;
  EXPECT_TRUE(contains(text, "forge_tool_calls_total{upstream=\"fixture\",tool=\"add\"} 1"))
      << text;
  EXPECT_TRUE(contains(text, "forge_tool_errors_total{upstream=\"fixture\",tool=\"add\"} 0"))
      << text;
  EXPECT_TRUE(
      contains(text, "forge_tool_call_duration_seconds_count{upstream=\"fixture\",tool=\"add\"} 1"))
      << text;
  EXPECT_TRUE(contains(text, "forge_upstream_up{upstream=\"fixture\"} 1")) << text;
  EXPECT_TRUE(contains(text, "forge_mcp_sessions 1")) << text;
  EXPECT_FALSE(contains(text, "forge_http_responses_total{class=\"4xx\"} 0")) << text;
  EXPECT_TRUE(contains(text, fmt::format("pid=\"{}\"", gateway_->pid()))) << text;
  EXPECT_TRUE(contains(text, "process_resident_memory_bytes ")) << text;
  EXPECT_FALSE(contains(text, "process_resident_memory_bytes 0\n")) << text;
}

TEST_F(OpsHealthTest, LogLevelChangesAtRunTimeWithoutRestart) {
  EXPECT_TRUE(contains(request(port_, "GET", "/admin/log-level").body, "\"level\":\"info\""));
  const auto bad = request(port_, "PUT", "/admin/log-level", R"({"level": "loud"})",
                           {{"Content-Type", "application/json"}});
  EXPECT_EQ(bad.status, 422) << bad.body;

  const auto changed = forge({"log-level", "debug", "--json"});
  ASSERT_EQ(changed.exit_code, 0) << changed.out << changed.err;
  const auto replies = json::parse(changed.out).as_array();
  ASSERT_EQ(replies.size(), 1u) << changed.out;
  EXPECT_EQ(replies[0].at("level"), "debug");
  EXPECT_EQ(replies[0].at("previous"), "info");
  EXPECT_EQ(replies[0].at("pid").to_number<int>(), gateway_->pid());
  EXPECT_TRUE(gateway_->waitForLine("log level changed from info to debug", 5s));
  // Debug lines now appear, from the same process.
  McpClient client(port_, "/mcp");
  ASSERT_TRUE(client.initialize());
  EXPECT_TRUE(gateway_->waitForLine(" debug ", 5s)) << gateway_->err();

  const auto shown = forge({"log-level"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(contains(shown.out, "debug")) << shown.out;

  gateway_.reset();
  const auto down = forge({"log-level", "info"});
  EXPECT_EQ(down.exit_code, 3) << down.out << down.err;
  EXPECT_TRUE(contains(down.err, "cannot reach the gateway")) << down.err;
}

TEST_F(OpsHealthTest, HealthIsOkThenWarnsOnABadUpstreamAndIsCriticalWhenTheGatewayIsDown) {
  const auto healthy = forge({"health", "--json"});
  ASSERT_EQ(healthy.exit_code, 0) << healthy.out << healthy.err;
  const auto report = json::parse(healthy.out);
  EXPECT_EQ(report.at("status"), "ok");
  EXPECT_EQ(checkStatus(report, "gateway"), "ok");
  EXPECT_EQ(checkStatus(report, "gateway ready"), "ok");
  EXPECT_EQ(checkStatus(report, "database"), "ok");
  EXPECT_EQ(checkStatus(report, "upstream fixture"), "ok");
  EXPECT_EQ(checkStatus(report, "redis"), "ok"); // skipped: not configured
  EXPECT_TRUE(contains(healthy.out, "schema version")) << healthy.out;

  // A manager that is asked for but not there is critical.
  const auto no_manager =
      forge({"health", "--manager-url", fmt::format("http://127.0.0.1:{}", freePort())});
  EXPECT_EQ(no_manager.exit_code, 3) << no_manager.out;
  EXPECT_TRUE(contains(no_manager.out, "manager")) << no_manager.out;

  // Redis that does not answer is critical.
  const auto redis =
      forge({"health", "--redis-url", fmt::format("redis://127.0.0.1:{}", freePort())});
  EXPECT_EQ(redis.exit_code, 3) << redis.out;

  // An admin UI is fetched when one is named: a page that answers is ok; one that answers 404,
  // or nothing listening, is critical. (The gateway's OpenAPI page stands in for the UI.)
  const auto ui = forge({"health", "--json", "--ui-url", url_ + "/openapi.json"});
  EXPECT_EQ(ui.exit_code, 0) << ui.out << ui.err;
  EXPECT_EQ(checkStatus(json::parse(ui.out), "admin ui"), "ok") << ui.out;
  const auto missing_page = forge({"health", "--ui-url", url_ + "/no-such-page"});
  EXPECT_EQ(missing_page.exit_code, 3) << missing_page.out;
  EXPECT_TRUE(contains(missing_page.out, "answered HTTP 404")) << missing_page.out;
  const auto no_ui = forge({"health", "--ui-url", fmt::format("http://127.0.0.1:{}", freePort())});
  EXPECT_EQ(no_ui.exit_code, 3) << no_ui.out;
  EXPECT_TRUE(contains(no_ui.out, "admin ui")) << no_ui.out;

  registerDeadUpstream();
  const auto degraded = forge({"health"});
  EXPECT_EQ(degraded.exit_code, 4) << degraded.out << degraded.err;
  EXPECT_TRUE(contains(degraded.out, "upstream dead")) << degraded.out;
  EXPECT_TRUE(contains(degraded.out, "NOT reachable")) << degraded.out;
  EXPECT_TRUE(contains(degraded.out, "overall: warning")) << degraded.out;

  gateway_.reset();
  const auto down = forge({"health"});
  EXPECT_EQ(down.exit_code, 3) << down.out << down.err;
  EXPECT_TRUE(contains(down.out, "not reachable at " + url_)) << down.out;
  EXPECT_TRUE(contains(down.out, "overall: critical")) << down.out;
}

TEST_F(OpsHealthTest, SmokeTestCallsAToolAndFailsWithAdvice) {
  const auto passed = forge({"smoke-test", "--json"});
  ASSERT_EQ(passed.exit_code, 0) << passed.out << passed.err;
  const auto report = json::parse(passed.out);
  EXPECT_EQ(report.at("ok"), true);
  const auto& steps = report.at("steps").as_array();
  ASSERT_EQ(steps.size(), 5u) << passed.out;
  EXPECT_EQ(steps[0].at("step"), "initialize");
  EXPECT_EQ(steps[3].at("step"), "tools/call");
  EXPECT_EQ(steps[4].at("step"), "DELETE session");
  EXPECT_GT(report.at("total_ms").to_number<double>(), 0);
  EXPECT_TRUE(contains(metrics(), "forge_mcp_sessions 0")) << "the session was not ended";

  const auto add =
      forge({"smoke-test", "--tool", "fixture__add", "--args", R"({"a": 40, "b": 2})"});
  EXPECT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_TRUE(contains(add.out, "fixture__add")) << add.out;

  const auto unknown = forge({"smoke-test", "--tool", "fixture__nosuch"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_TRUE(contains(unknown.err, "is not among them")) << unknown.err;

  gateway_.reset();
  const auto down = forge({"smoke-test"});
  EXPECT_EQ(down.exit_code, 3) << down.out << down.err;
  EXPECT_TRUE(contains(down.err, "cannot reach the gateway")) << down.err;
}

TEST_F(OpsHealthTest, StatsSummarisesTrafficFromTheMetrics) {
  McpClient client(port_, "/mcp");
  ASSERT_TRUE(client.initialize());
  for (int i = 0; i < 3; ++i)
    ASSERT_FALSE(isError(client.callTool("fixture__add", json::object{{"a", i}, {"b", 1}})));
  const auto stats = forge({"stats", "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.out << stats.err;
  const auto s = json::parse(stats.out);
  EXPECT_EQ(s.at("tool_calls").to_number<double>(), 3);
  EXPECT_EQ(s.at("sessions").to_number<double>(), 1);
  EXPECT_GT(s.at("uptime_seconds").to_number<double>(), 0);
  EXPECT_EQ(s.at("pid").to_number<int>(), gateway_->pid());
  const auto& top = s.at("top_tools_by_calls").as_array();
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].at("tool"), "add");
  EXPECT_EQ(top[0].at("calls").to_number<double>(), 3);
  EXPECT_EQ(s.at("upstreams").as_array()[0].at("up"), true);

  const auto human = forge({"stats"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_TRUE(contains(human.out, "top tools by calls")) << human.out;

  gateway_.reset();
  EXPECT_EQ(forge({"stats"}).exit_code, 3);
}

TEST_F(OpsHealthTest, DoctorChecksPortsUpstreamsDiskClockAndPermissions) {
  const auto fine = forge({"doctor", "--config", (dir_ / "forge.yaml").string(), "--json"});
  const auto report = json::parse(fine.out);
  EXPECT_EQ(checkStatus(report, "config"), "ok") << fine.out;
  EXPECT_EQ(checkStatus(report, "gateway port"), "ok") << fine.out;
  EXPECT_EQ(checkStatus(report, "manager port"), "ok") << fine.out; // free: nothing expected
  EXPECT_EQ(checkStatus(report, "clock vs gateway"), "ok") << fine.out;
  EXPECT_EQ(checkStatus(report, "upstream fixture"), "ok") << fine.out;
  EXPECT_TRUE(contains(fine.out, fmt::format("pid {}", gateway_->pid()))) << fine.out;

  registerDeadUpstream();
  const auto secrets = std::filesystem::path(data()) / "secrets.json";
  if (!std::filesystem::exists(secrets)) std::ofstream(secrets) << "{}";
  ::chmod(secrets.c_str(), 0644);
  const auto bad = forge({"doctor", "--config", (dir_ / "forge.yaml").string()});
  EXPECT_EQ(bad.exit_code, 3) << bad.out << bad.err;
  EXPECT_TRUE(contains(bad.out, "chmod 600")) << bad.out;
  EXPECT_TRUE(contains(bad.out, "upstream dead")) << bad.out;
  EXPECT_TRUE(contains(bad.out, "cannot connect")) << bad.out;

  // Another process on the gateway's port that is not a gateway.
  gateway_.reset();
  std::ofstream(dir_ / "broken.yaml") << "server:\n  prot: 1\n";
  const auto broken = forge({"doctor", "--config", (dir_ / "broken.yaml").string()});
  EXPECT_EQ(broken.exit_code, 3) << broken.out;
  EXPECT_TRUE(contains(broken.out, "unknown key 'server.prot'")) << broken.out;
  EXPECT_TRUE(contains(broken.out, "nothing listens on")) << broken.out;
}

TEST_F(OpsHealthTest, DebugBundleHoldsTheEvidenceAndNoSecret) {
  const std::string jwt = "jwt-secret-value-that-must-never-leak-0123456789";
  std::ofstream(std::filesystem::path(data()) / "secrets.json")
      << fmt::format(R"({{"jwt_secret": "{}", "admin_password": "hunter2-but-longer"}})", jwt);
  std::filesystem::create_directories(std::filesystem::path(data()) / "logs");
  std::ofstream(std::filesystem::path(data()) / "logs" / "gateway.log")
      << "a line that leaked " << jwt << " and hunter2-but-longer\n";
  const auto archive = dir_ / "bundle.tar.gz";
  const auto made = forge({"debug", "bundle", "-o", archive.string()}, {"JWT_SECRET_KEY=" + jwt});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_TRUE(contains(made.err, "[1/6]")) << made.err; // progress
  EXPECT_TRUE(contains(made.out, "secrets redacted")) << made.out;
  struct stat st {};
  ASSERT_EQ(::stat(archive.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);

  const auto out = dir_ / "unpacked";
  std::filesystem::create_directories(out);
  const auto untar = runCommand({"/usr/bin/tar", "-xzf", archive.string(), "-C", out.string()});
  ASSERT_EQ(untar.exit_code, 0) << untar.err;
  const auto root = out / "forge-debug";
  for (const char* file : {"forge-version.txt", "system.txt", "config.txt", "gateway/metrics.txt",
                           "gateway/version.json", "logs/gateway.log"})
    EXPECT_TRUE(std::filesystem::exists(root / file)) << file;
  EXPECT_TRUE(contains(slurp(root / "gateway/metrics.txt"), "forge_upstream_up")) << "metrics";
  EXPECT_TRUE(contains(slurp(root / "logs/gateway.log"), "leaked [REDACTED]"));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const auto text = slurp(entry.path());
    EXPECT_FALSE(contains(text, jwt)) << entry.path();
    EXPECT_FALSE(contains(text, "hunter2-but-longer")) << entry.path();
  }
}

// `forge verify` and `forge log-level` against a gateway run by the manager.
class OpsManagerTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-ops-manager");
    gateway_port_ = freePort();
    std::ofstream(dir_ / "forge.yaml")
        << fmt::format("upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                       FORGE_FIXTURE_BINARY);
    std::ofstream(dir_ / "services.yml") << fmt::format(
        "manager:\n"
        "  port: 0\n"
        "services:\n"
        "  - name: gateway\n"
        "    kind: gateway\n"
        "    command: [\"{0}\", gateway, --config, \"{1}\", --server-port, \"{{port}}\",\n"
        "              --data-dir, \"{2}\"]\n"
        "    port: {3}\n"
        "    shared_port: true\n"
        "    replicas: 2\n"
        "    health: {{type: http, path: /ready, interval: 200ms, timeout: 1s}}\n"
        "  - name: crasher\n"
        "    command: [/bin/sh, -c, \"sleep 0.2; exit 3\"]\n"
        "    restart: {{backoff_initial: 100ms, backoff_max: 300ms, crash_loop_restarts: 2,\n"
        "              crash_loop_window: 30s}}\n",
        FORGE_BINARY, (dir_ / "forge.yaml").string(), (dir_ / "data").string(), gateway_port_);
    manager_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "manager", "--config",
                                 (dir_ / "services.yml").string(), "--data-dir",
                                 (dir_ / "data").string()},
        std::vector<std::string>{"AUTH_REQUIRED=false"}, dir_.string());
    auto line = manager_->waitForLine("manager listening on http://127.0.0.1:", 15s);
    ASSERT_TRUE(line) << manager_->err();
    manager_url_ = "http://127.0.0.1:" + line->substr(line->find("127.0.0.1:") + 10);
    manager_url_ = manager_url_.substr(0, manager_url_.find_first_of(" ("));
  }
  void TearDown() override {
    if (manager_) {
      manager_->signal(SIGTERM);
      EXPECT_TRUE(manager_->wait(30s));
    }
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }

  CommandResult forge(std::vector<std::string> args) {
    args.insert(args.begin(), FORGE_BINARY);
    args.insert(args.end(),
                {"--manager-url", manager_url_, "--data-dir", (dir_ / "data").string()});
    return runCommand(std::move(args), {"AUTH_REQUIRED=false"}, dir_.string(), 60s);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> manager_;
  std::string manager_url_;
  std::uint16_t gateway_port_ = 0;
};

TEST_F(OpsManagerTest, VerifyAndLogLevelReachEveryGatewayReplica) {
  CommandResult verified;
  ASSERT_TRUE(eventually(
      [&] {
        verified = forge({"verify", "gateway", "--json"});
        return verified.exit_code == 0;
      },
      30s))
      << verified.out << verified.err;
  const auto report = json::parse(verified.out);
  EXPECT_EQ(checkStatus(report, "gateway"), "ok");
  EXPECT_EQ(checkStatus(report, "replica 0"), "ok");
  EXPECT_EQ(checkStatus(report, "replica 1"), "ok");
  EXPECT_EQ(checkStatus(report, fmt::format("port {}", gateway_port_)), "ok");
  EXPECT_EQ(checkStatus(report, "smoke test"), "ok") << verified.out;

  const auto levels = forge({"log-level", "debug", "--service", "all", "--json", "--gateway-url",
                             fmt::format("http://127.0.0.1:{}", gateway_port_)});
  ASSERT_EQ(levels.exit_code, 0) << levels.out << levels.err;
  const auto replies = json::parse(levels.out).as_array();
  std::set<std::string> services;
  std::set<int> pids;
  for (const auto& r : replies) {
    services.insert(std::string(r.at("service").as_string()));
    pids.insert(r.at("pid").to_number<int>());
    EXPECT_EQ(r.at("level"), "debug");
  }
  EXPECT_EQ(services, (std::set<std::string>{"gateway", "manager"}));
  EXPECT_EQ(pids.size(), 3u) << levels.out; // two gateway replicas and the manager

  // The bundle has the manager's view and each replica's log (its file, as the data directory is
  // here; else through the manager's API).
  const auto bundle = forge({"debug", "bundle", "-o", (dir_ / "b.tar.gz").string(), "--json"});
  ASSERT_EQ(bundle.exit_code, 0) << bundle.out << bundle.err;
  EXPECT_FALSE(contains(bundle.out, "services/gateway-0.log")) << "the same log twice";
  for (const char* file :
       {"manager/ps.json", "manager/metrics.txt", "logs/gateway-0.log", "logs/gateway-1.log"})
    EXPECT_TRUE(contains(bundle.out, file)) << file << " missing from " << bundle.out;

  // Between crashes the replica runs for a moment; once in a crash loop it is critical.
  CommandResult crashing;
  EXPECT_TRUE(eventually(
      [&] {
        crashing = forge({"verify", "crasher"});
        return crashing.exit_code == 3;
      },
      20s))
      << crashing.out << crashing.err;
  EXPECT_TRUE(contains(crashing.out, "forge logs crasher")) << crashing.out;
  const auto unknown = forge({"verify", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "no service named nosuch")) << unknown.err;
}

} // namespace
} // namespace forge::test
