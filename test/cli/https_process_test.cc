// `forge` commands against a real `forge gateway` serving HTTPS with a self-signed certificate
// (made by `forge certs renew`): with the certificate in $FORGE_CA_FILE they work as over plain
// HTTP; without it they fail, and stderr says which certificate was refused and what to do.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

class HttpsProcessTest : public ::testing::Test {
protected:
  void SetUp() override {
    ::unsetenv("FORGE_CA_FILE"); // children inherit it; each command says what it trusts
    dir_ = freshTestDir("forge-https");
    writeFixtureConfig(dir_, FORGE_FIXTURE_BINARY);
    const auto made = runCommand({FORGE_BINARY, "certs", "renew", "--cert", cert(), "--key", key(),
                                  "--name", "127.0.0.1", "--days", "30"},
                                 {}, dir_.string(), 60s);
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "gateway", "--config",
                                 (dir_ / "forge.yaml").string(), "--server-port", "0", "--data-dir",
                                 data(), "--server-tls-cert", cert(), "--server-tls-key", key(),
                                 "--server-tls-watch-interval", "0s"},
        std::vector<std::string>{}, dir_.string());
    const std::string marker = "listening on https://127.0.0.1:";
    auto line = gateway_->waitForLine(marker, 15s);
    ASSERT_TRUE(line) << gateway_->err();
    const auto port = std::stoi(line->substr(line->find(marker) + marker.size()));
    url_ = fmt::format("https://127.0.0.1:{}", port);
    ASSERT_TRUE(gateway_->waitForLine("upstream fixture: discovered", 15s)) << gateway_->err();
  }

  void TearDown() override {
    if (gateway_) {
      gateway_->signal(SIGTERM);
      EXPECT_TRUE(gateway_->wait(10s));
    }
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string cert() const { return (dir_ / "cert.pem").string(); }
  std::string key() const { return (dir_ / "key.pem").string(); }
  std::string data() const { return (dir_ / "data").string(); }

  // `forge ARGS --gateway-url https://... --data-dir DATA` with `env` added.
  CommandResult forge(std::vector<std::string> args, std::vector<std::string> env) {
    args.insert(args.begin(), FORGE_BINARY);
    args.insert(args.end(), {"--gateway-url", url_, "--data-dir", data()});
    return runCommand(std::move(args), std::move(env), dir_.string(), 60s);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  std::string url_;
};

TEST_F(HttpsProcessTest, CommandsWorkOverHttpsWhenTheCaIsTrusted) {
  const std::vector<std::string> trusted{"FORGE_CA_FILE=" + cert()};
  const auto stats = forge({"stats", "--json"}, trusted);
  ASSERT_EQ(stats.exit_code, 0) << stats.out << stats.err;
  EXPECT_EQ(boost::json::parse(stats.out).at("gateway").as_string(), url_) << stats.out;

  // An MCP session (POSTs, then a DELETE) through the same client.
  const auto smoke = forge({"smoke-test", "--json"}, trusted);
  EXPECT_EQ(smoke.exit_code, 0) << smoke.out << smoke.err;
}

TEST_F(HttpsProcessTest, AnUntrustedCertificateFailsWithAdvice) {
  const auto refused = forge({"stats"}, {});
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_TRUE(contains(refused.err, fmt::format("TLS handshake with {} failed", url_)))
      << refused.err;
  EXPECT_TRUE(contains(refused.err, "certificate verify failed")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "FORGE_CA_FILE=")) << refused.err;
  EXPECT_FALSE(contains(refused.err, "start it with")) << "the gateway is running: " << refused.err;

  // A CA file that does not exist is named.
  const std::string missing = (dir_ / "missing.pem").string();
  const auto bad_ca = forge({"stats"}, {"FORGE_CA_FILE=" + missing});
  EXPECT_NE(bad_ca.exit_code, 0);
  EXPECT_TRUE(contains(bad_ca.err, missing)) << bad_ca.err;
}

} // namespace
} // namespace forge::test
