// `forge monitor` and `forge report` against a real gateway (the fixture as its upstream) after
// real calls, some failing: figures counted from what the gateway recorded, alerts opened by
// low thresholds and ended by high ones.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

// Every threshold of the machine at 100 %, so that a busy test machine does not change the
// outcome; the error rate and response time thresholds are what the test varies.
const std::vector<std::string> kCalmMachine{
    "--monitor-cpu-warning",    "100", "--monitor-cpu-critical",    "100",
    "--monitor-memory-warning", "100", "--monitor-memory-critical", "100",
    "--monitor-disk-warning",   "100", "--monitor-disk-critical",   "100"};

// A webhook endpoint: accepts connections on a port of its own and keeps the body of every
// request, answering 204.
class WebhookReceiver {
public:
  WebhookReceiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      ADD_FAILURE() << "cannot listen";
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/hook", port_); }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

private:
  void serve() {
    while (!stop_) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      std::string request;
      char buffer[4096];
      while (true) {
        const auto header_end = request.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          const auto at = request.find("Content-Length: ");
          const std::size_t body_length =
              at == std::string::npos ? 0 : std::stoul(request.substr(at + 16));
          if (request.size() >= header_end + 4 + body_length) {
            std::lock_guard lock(mutex_);
            bodies_.push_back(request.substr(header_end + 4, body_length));
            break;
          }
        }
        const auto n = ::read(client, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      const std::string answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
      (void)!::write(client, answer.data(), answer.size());
      ::close(client);
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
};

class MonitorTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-monitor");
    std::ofstream(dir_ / "forge.yaml")
        << fmt::format("metrics:\n  flush_interval: 200ms\n"
                       "upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                       FORGE_FIXTURE_BINARY);
    gateway_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        FORGE_BINARY, "gateway", "--config", (dir_ / "forge.yaml").string(), "--server-port", "0",
        "--data-dir", data()});
    const std::string marker = "listening on http://127.0.0.1:";
    auto line = gateway_->waitForLine(marker, 10s);
    ASSERT_TRUE(line) << gateway_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find(marker) + marker.size())));
    ASSERT_TRUE(gateway_->waitForLine("upstream fixture: discovered", 10s)) << gateway_->err();
  }
  void TearDown() override {
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string data() const { return (dir_ / "data").string(); }

  // `forge ARGS --data-dir DATA`, with the gateway's URL and a manager that is not there.
  CommandResult forge(std::vector<std::string> args, const std::vector<std::string>& extra = {}) {
    args.insert(args.begin(), FORGE_BINARY);
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--data-dir", data()});
    return runCommand(args,
                      {fmt::format("FORGE_GATEWAY_URL=http://127.0.0.1:{}", port_),
                       fmt::format("FORGE_MANAGER_URL=http://127.0.0.1:{}", manager_port_)},
                      dir_.string(), 60s);
  }

  static json::value checkNamed(const json::value& result, std::string_view name) {
    return findBy(result.at("checks"), "name", name);
  }

  // 8 echo calls, 2 failing calls, 1 slow call of 300 ms.
  void makeCalls() {
    McpClient client(port_, "/mcp");
    ASSERT_TRUE(client.initialize());
    for (int i = 0; i < 8; ++i)
      EXPECT_EQ(resultText(client.callTool("fixture__echo", {{"message", "hi"}})), "hi");
    for (int i = 0; i < 2; ++i)
      client.callTool("fixture__test_error_handling", {});
    client.callTool("fixture__slow", {{"ms", 300}});
    session_ = std::make_unique<McpClient>(std::move(client)); // stays open: one session
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  std::unique_ptr<McpClient> session_;
  std::uint16_t port_ = 0;
  std::uint16_t manager_port_ = freePort();
};

TEST_F(MonitorTest, ChecksAlertsAndReportsFromRecordedCalls) {
  makeCalls();
  WebhookReceiver webhook;
  // The gateway flushes every 200 ms: wait until all 11 calls are recorded.
  json::value checked;
  CommandResult result;
  ASSERT_TRUE(eventually(
      [&] {
        result = forge({"monitor", "--check", "--json", "--webhook", webhook.url()}, kCalmMachine);
        checked = parse(result.out);
        return checked.is_object() &&
               str(checkNamed(checked, "error rate"), "detail").find("2 of 11") !=
                   std::string::npos;
      },
      15s))
      << result.out << result.err;
  // 2 of 11 calls failed: 18.2 %, above the critical 10 %.
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_EQ(str(checked, "status"), "critical");
  EXPECT_EQ(str(checkNamed(checked, "error rate"), "status"), "critical");
  EXPECT_NE(str(checkNamed(checked, "error rate"), "detail").find("18.2%"), std::string::npos);
  const auto response = checkNamed(checked, "response time");
  EXPECT_EQ(str(response, "status"), "ok");
  EXPECT_NE(str(response, "detail").find("p95 of 11 call(s)"), std::string::npos);
  EXPECT_NE(str(checkNamed(checked, "gateway cpu"), "detail").find("not reachable"),
            std::string::npos);
  EXPECT_NE(str(checkNamed(checked, "disk"), "detail").find(data()), std::string::npos);
  EXPECT_NE(result.err.find("alert opened: error_rate"), std::string::npos) << result.err;
  // The new alert went to the webhook, once.
  std::vector<json::value> posted;
  for (const auto& body : webhook.bodies())
    if (str(parse(body).at("alert"), "metric") == "error_rate") posted.push_back(parse(body));
  ASSERT_EQ(posted.size(), 1U);
  EXPECT_EQ(str(posted[0], "event"), "opened");
  EXPECT_EQ(str(posted[0].at("alert"), "level"), "critical");

  // The alert is open, with its start and no end.
  result = forge({"monitor", "--alerts", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto alerts = parse(result.out);
  ASSERT_TRUE(alerts.is_array()) << result.out;
  auto alert = findBy(alerts, "metric", "error_rate");
  ASSERT_TRUE(alert.is_object()) << result.out;
  EXPECT_EQ(str(alert, "level"), "critical");
  EXPECT_NEAR(alert.at("value").to_number<double>(), 200.0 / 11, 0.01);
  EXPECT_FALSE(str(alert, "started_at").empty());
  EXPECT_TRUE(alert.at("ended_at").is_null());

  // A lower response time threshold raises a second alert; higher error rate thresholds end
  // the first.
  std::vector<std::string> relaxed = kCalmMachine;
  relaxed.insert(relaxed.end(),
                 {"--monitor-error-rate-warning", "50", "--monitor-error-rate-critical", "60",
                  "--monitor-response-time-warning", "1ms"});
  result = forge({"monitor", "--check", "--json"}, relaxed);
  checked = parse(result.out);
  ASSERT_TRUE(checked.is_object()) << result.out << result.err;
  EXPECT_EQ(str(checkNamed(checked, "error rate"), "status"), "ok");
  EXPECT_EQ(str(checkNamed(checked, "response time"), "status"), "warning");
  // 4 for the warning, unless a saturated test machine's CPU reached 100 % meanwhile.
  EXPECT_EQ(result.exit_code, str(checkNamed(checked, "cpu"), "status") == "critical" ? 3 : 4)
      << result.out;
  EXPECT_NE(result.err.find("alert ended: error_rate"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("alert opened: response_time"), std::string::npos) << result.err;

  result = forge({"monitor", "--alerts", "--all", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  alerts = parse(result.out);
  alert = findBy(alerts, "metric", "error_rate");
  ASSERT_TRUE(alert.is_object()) << result.out;
  EXPECT_FALSE(str(alert, "ended_at").empty());
  EXPECT_EQ(str(findBy(alerts, "metric", "response_time"), "level"), "warning");
  result = forge({"monitor", "--alerts"}); // the open one only, as a table
  EXPECT_NE(result.out.find("response_time"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("error_rate"), std::string::npos) << result.out;

  // The report: the checks, then the calls per upstream and tool.
  result = forge({"monitor", "--report", "--since", "1h", "--json"}, relaxed);
  const auto report = parse(result.out);
  ASSERT_TRUE(report.is_object()) << result.out << result.err;
  const auto& total = report.at("performance").at("total");
  EXPECT_EQ(total.at("calls").as_int64(), 11);
  EXPECT_EQ(total.at("errors").as_int64(), 2);
  EXPECT_EQ(report.at("checks").as_array().size(), 6U);

  // Rounds every second, a line each.
  result = forge({"monitor", "--watch", "1", "--count", "2"}, kCalmMachine);
  EXPECT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 2) << result.out;
  EXPECT_NE(result.out.find("error_rate 18.2% critical"), std::string::npos) << result.out;
}

TEST_F(MonitorTest, ReportsFromRecordedCalls) {
  makeCalls();
  CommandResult result;
  json::value performance;
  ASSERT_TRUE(eventually(
      [&] {
        result = forge({"report", "performance", "--since", "1h", "--json"});
        performance = parse(result.out);
        return performance.is_object() && performance.at("total").at("calls").as_int64() == 11;
      },
      15s))
      << result.out << result.err;
  const auto& upstream = findBy(performance.at("upstreams"), "upstream", "fixture");
  ASSERT_TRUE(upstream.is_object()) << result.out;
  EXPECT_EQ(upstream.at("calls").as_int64(), 11);
  const auto echo = findBy(performance.at("tools"), "tool", "echo");
  ASSERT_TRUE(echo.is_object()) << result.out;
  EXPECT_EQ(echo.at("calls").as_int64(), 8);
  EXPECT_EQ(echo.at("errors").as_int64(), 0);
  EXPECT_GT(echo.at("p50_ms").to_number<double>(), 0);
  const auto failing = findBy(performance.at("tools"), "tool", "test_error_handling");
  EXPECT_EQ(failing.at("error_percent").to_number<double>(), 100) << result.out;
  const auto slow = findBy(performance.at("tools"), "tool", "slow");
  EXPECT_GE(slow.at("p99_ms").to_number<double>(), 200) << result.out; // its bucket (200, 500]
  EXPECT_GE(slow.at("max_ms").to_number<double>(), 300) << result.out;

  result = forge({"report", "performance"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("test_error_handling"), std::string::npos) << result.out;

  result = forge({"report", "capacity", "--json"});
  const auto capacity = parse(result.out);
  ASSERT_TRUE(capacity.is_object()) << result.out << result.err;
  EXPECT_GE(capacity.at("peak_per_minute").to_number<double>(), 6); // 11 calls in 1 or 2 minutes
  EXPECT_GE(capacity.at("current_per_minute").to_number<double>(), 11 / 5.0 - 1e-9);
  EXPECT_EQ(capacity.at("sessions").as_int64(), 1);
  EXPECT_TRUE(capacity.at("replicas").is_null()); // no manager
  EXPECT_FALSE(str(capacity, "note").empty());
  EXPECT_TRUE(capacity.at("cpu_headroom_percent").is_number());

  result = forge({"report", "trends", "--since", "2h", "--json"});
  const auto trends = parse(result.out);
  ASSERT_TRUE(trends.is_object()) << result.out << result.err;
  std::int64_t calls = 0;
  for (const auto& point : trends.at("points").as_array())
    calls += point.at("calls").as_int64();
  EXPECT_EQ(calls, 11);
  EXPECT_EQ(str(trends, "period"), "hour");
  // Every call is in the second half of the window: no first half to grow from.
  EXPECT_EQ(trends.at("second_half").at("calls").as_int64(), 11);
  EXPECT_TRUE(trends.at("calls_growth_percent").is_null());

  result = forge({"report", "bottlenecks", "--json"});
  const auto bottlenecks = parse(result.out);
  ASSERT_TRUE(bottlenecks.is_object()) << result.out << result.err;
  EXPECT_EQ(str(bottlenecks.at("slowest").at(0), "tool"), "slow");
  EXPECT_EQ(str(bottlenecks.at("most_failing").at(0), "tool"), "test_error_handling");
  const auto fixture = findBy(bottlenecks.at("concurrency"), "upstream", "fixture");
  ASSERT_TRUE(fixture.is_object()) << result.out;
  EXPECT_EQ(fixture.at("max_concurrency").as_int64(), 64);
  EXPECT_GT(fixture.at("peak_concurrency").to_number<double>(), 0);
  EXPECT_FALSE(bottlenecks.at("findings").as_array().empty());

  EXPECT_EQ(forge({"report", "nonsense"}).exit_code, 2);
  EXPECT_EQ(forge({"report", "trends", "--since", "soon"}).exit_code, 2);
}

// Under the manager: the gateway's CPU is measured from the manager's figures, its replicas
// counted, and --auto-restart asks for a rolling restart when an alert of the gateway turns
// critical, recorded in the alert.
class StackMonitorTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-stack-monitor");
    manager_port_ = freePort();
    gateway_port_ = freePort();
    std::ofstream(dir_ / "gateway.yaml")
        << fmt::format("metrics:\n  flush_interval: 200ms\n"
                       "upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                       FORGE_FIXTURE_BINARY);
    std::ofstream(dir_ / "services.yml") << fmt::format(
        "manager:\n"
        "  port: {0}\n"
        "services:\n"
        "  - name: gateway\n"
        "    kind: gateway\n"
        "    command: [\"{1}\", gateway, --config, \"{2}\", --server-port, \"{{port}}\",\n"
        "              --data-dir, \"{{data_dir}}\"]\n"
        "    port: {3}\n"
        "    health: {{type: http, path: /ready, interval: 200ms}}\n",
        manager_port_, FORGE_BINARY, (dir_ / "gateway.yaml").string(), gateway_port_);
    manager_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "manager", "--config",
                                 (dir_ / "services.yml").string(), "--data-dir", data()},
        std::vector<std::string>{"AUTH_REQUIRED=false"}, dir_.string());
    ASSERT_TRUE(manager_->waitForLine("manager listening on http://127.0.0.1:", 15s))
        << manager_->err();
  }
  void TearDown() override {
    if (manager_) {
      manager_->signal(SIGTERM);
      EXPECT_TRUE(manager_->wait(30s));
    }
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string data() const { return (dir_ / "data").string(); }
  json::value service() { return parse(request(manager_port_, "GET", "/services/gateway").body); }
  std::vector<std::int64_t> pids() {
    std::vector<std::int64_t> out;
    const auto s = service();
    if (s.is_object())
      for (const auto& r : s.at("replicas").as_array())
        if (str(r, "state") == "running") out.push_back(r.at("pid").to_number<std::int64_t>());
    return out;
  }
  CommandResult forge(std::vector<std::string> args) {
    args.insert(args.begin(), FORGE_BINARY);
    args.insert(args.end(), kCalmMachine.begin(), kCalmMachine.end());
    args.insert(args.end(), {"--data-dir", data()});
    return runCommand(args,
                      {fmt::format("FORGE_GATEWAY_URL=http://127.0.0.1:{}", gateway_port_),
                       fmt::format("FORGE_MANAGER_URL=http://127.0.0.1:{}", manager_port_)},
                      dir_.string(), 120s);
  }

  std::filesystem::path dir_;
  std::uint16_t manager_port_ = 0;
  std::uint16_t gateway_port_ = 0;
  std::unique_ptr<ChildProcess> manager_;
};

TEST_F(StackMonitorTest, GatewayFiguresFromTheManagerAndAutomaticRestart) {
  ASSERT_TRUE(eventually([&] { return pids().size() == 1; }, 30s)) << json::serialize(service());
  const auto before = pids();
  {
    McpClient client(gateway_port_, "/mcp");
    ASSERT_TRUE(client.initialize());
    EXPECT_EQ(resultText(client.callTool("fixture__echo", {{"message", "hi"}})), "hi");
    client.callTool("fixture__test_error_handling", {});
  }
  CommandResult result;
  json::value checked;
  ASSERT_TRUE(eventually(
      [&] {
        result = forge({"monitor", "--check", "--json", "--auto-restart"});
        checked = parse(result.out);
        return checked.is_object() &&
               str(findBy(checked.at("checks"), "name", "error rate"), "status") == "critical";
      },
      20s))
      << result.out << result.err;
  // The gateway's processes were sampled through the manager.
  EXPECT_NE(
      str(findBy(checked.at("checks"), "name", "gateway cpu"), "detail").find("used by 'gateway'"),
      std::string::npos)
      << result.out;
  EXPECT_NE(result.err.find("rolling restart of gateway requested"), std::string::npos)
      << result.err;
  // A new process serves now, and the alert says what was done.
  EXPECT_TRUE(eventually([&] { return pids().size() == 1 && pids() != before; }, 30s))
      << json::serialize(service());
  result = forge({"monitor", "--alerts", "--json"});
  const auto alert = findBy(parse(result.out), "metric", "error_rate");
  ASSERT_TRUE(alert.is_object()) << result.out << result.err;
  EXPECT_NE(str(alert, "action").find("rolling restart of gateway requested"), std::string::npos)
      << result.out;

  // Another round at the same level asks for nothing more.
  result = forge({"monitor", "--check", "--auto-restart"});
  EXPECT_EQ(result.err.find("rolling restart"), std::string::npos) << result.err;

  result = forge({"report", "capacity", "--json"});
  const auto capacity = parse(result.out);
  ASSERT_TRUE(capacity.is_object()) << result.out << result.err;
  EXPECT_EQ(capacity.at("replicas").as_int64(), 1);
  EXPECT_TRUE(capacity.at("gateway_cpu_percent").is_number()) << result.out;
}

} // namespace
} // namespace forge::test
