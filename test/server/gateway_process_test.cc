// Runs the real `forge gateway` binary and talks to it over HTTP.
#include "support/child_process.h"
#include "support/raw_http_client.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

class GatewayProcessTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("forge-gw-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    port_ = freePort();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ChildProcess> startGateway(std::vector<std::string> extra_args = {},
                                             std::vector<std::string> env = {}) {
    std::vector<std::string> argv{FORGE_BINARY,          "gateway",    "--server-port",
                                  std::to_string(port_), "--data-dir", (dir_ / "data").string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto child = std::make_unique<ChildProcess>(argv, env, dir_.string());
    EXPECT_TRUE(child->waitForLine("listening on", 10s)) << child->err();
    return child;
  }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
};

TEST_F(GatewayProcessTest, HealthAndReadyAnswer) {
  auto gateway = startGateway();
  auto health = httpRequest(port_, "GET", "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto body = boost::json::parse(health->body).as_object();
  EXPECT_EQ(body.at("status").as_string(), "ok");
  EXPECT_FALSE(body.at("version").as_string().empty());
  EXPECT_GE(body.at("uptime_seconds").to_number<double>(), 0.0);
  auto ready = httpRequest(port_, "GET", "/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "data"));
  // The data directory and the database are the owner's alone.
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(dir_ / "data").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir_ / "data" / "forge.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(GatewayProcessTest, SigtermStopsGracefullyWithExitZero) {
  auto gateway = startGateway();
  ASSERT_TRUE(httpRequest(port_, "GET", "/health"));
  gateway->signal(SIGTERM);
  auto code = gateway->wait(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_NE(gateway->err().find("draining"), std::string::npos);
  EXPECT_NE(gateway->err().find("gateway stopped"), std::string::npos);
}

TEST_F(GatewayProcessTest, JsonLogsCarryRequestIdsAndNoSecrets) {
  auto gateway = startGateway({"--log-format", "json"});
  ASSERT_TRUE(
      httpRequest(port_, "GET", "/health", {},
                  {{"X-Request-Id", "trace-me-42"}, {"Authorization", "Bearer topsecret"}}));
  auto line = gateway->waitForLine("trace-me-42", 5s);
  ASSERT_TRUE(line) << gateway->err();
  const auto entry = boost::json::parse(*line).as_object();
  EXPECT_EQ(entry.at("request_id").as_string(), "trace-me-42");
  EXPECT_EQ(entry.at("path").as_string(), "/health");
  EXPECT_EQ(entry.at("status").as_string(), "200");
  gateway->signal(SIGTERM);
  gateway->wait(10s);
  EXPECT_EQ(gateway->err().find("topsecret"), std::string::npos);
}

TEST_F(GatewayProcessTest, ReadsForgeYamlFromTheWorkingDirectoryAndEnvironmentOverrides) {
  std::ofstream(dir_ / "forge.yaml") << "server:\n  port: 1\nlog:\n  format: json\n";
  // FORGE_SERVER_PORT overrides the file's port 1; the flag is not given here.
  ChildProcess gateway({FORGE_BINARY, "gateway", "--data-dir", (dir_ / "data").string()},
                       {"FORGE_SERVER_PORT=" + std::to_string(port_)}, dir_.string());
  auto line = gateway.waitForLine("listening on", 10s);
  ASSERT_TRUE(line) << gateway.err();
  EXPECT_NE(line->find(fmt::format(":{}", port_)), std::string::npos);
  EXPECT_EQ(line->front(), '{') << "log.format from forge.yaml should apply";
}

TEST_F(GatewayProcessTest, PortInUseFailsWithAClearMessage) {
  auto first = startGateway();
  auto second = runCommand({FORGE_BINARY, "gateway", "--server-port", std::to_string(port_),
                            "--data-dir", (dir_ / "data").string()},
                           {}, dir_.string());
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("cannot listen on 127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << second.err;
}

TEST_F(GatewayProcessTest, ManyConcurrentClientsAreServed) {
  auto gateway = startGateway({"--log-access", "false"});
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      RawConnection c;
      if (!c.connect(port_)) return;
      for (int i = 0; i < 50; ++i) {
        if (!c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")) return;
        auto reply = c.readReply();
        if (reply && reply->status == 200) ++ok;
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok.load(), 400);
}

} // namespace
} // namespace forge::test
