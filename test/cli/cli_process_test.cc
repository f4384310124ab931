// The `forge` command line as a user meets it.
#include "auth/jwt.h"
#include "support/child_process.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace forge::test {
namespace {

class CliTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("forge-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CommandResult forge(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), FORGE_BINARY);
    return runCommand(args, env, dir_.string());
  }

  std::filesystem::path dir_;
};

TEST_F(CliTest, VersionPrintsTheVersion) {
  const auto result = forge({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.rfind("forge 0.", 0), 0u) << result.out;
}

TEST_F(CliTest, HelpListsCommands) {
  const auto result = forge({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("gateway"), std::string::npos);
  EXPECT_NE(result.out.find("config"), std::string::npos);
  const auto gateway_help = forge({"gateway", "--help"});
  EXPECT_EQ(gateway_help.exit_code, 0);
  EXPECT_NE(gateway_help.out.find("--server-port"), std::string::npos);
  EXPECT_NE(gateway_help.out.find("FORGE_SERVER_PORT"), std::string::npos);
  EXPECT_NE(gateway_help.out.find("Examples:"), std::string::npos);
}

TEST_F(CliTest, NoCommandOrUnknownCommandIsAUsageError) {
  EXPECT_EQ(forge({}).exit_code, 2);
  const auto result = forge({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_FALSE(result.err.empty());
}

TEST_F(CliTest, BadConfigurationStopsStartUpNamingKeyAndLine) {
  std::ofstream(dir_ / "forge.yaml") << "server:\n  host: 127.0.0.1\n  prot: 9000\n";
  const auto result = forge({"gateway"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(
      result.err.find("forge.yaml:3: unknown key 'server.prot' (did you mean 'server.port'?)"),
      std::string::npos)
      << result.err;
}

TEST_F(CliTest, BadEnvironmentValueStopsStartUp) {
  const auto result = forge({"gateway"}, {"FORGE_SERVER_PORT=eighty"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(
      result.err.find("environment FORGE_SERVER_PORT: 'server.port': 'eighty' is not an integer"),
      std::string::npos)
      << result.err;
}

TEST_F(CliTest, BadFlagValueStopsStartUp) {
  const auto result = forge({"gateway", "--server-idle-timeout", "forever"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("flag --server-idle-timeout"), std::string::npos) << result.err;
}

TEST_F(CliTest, TheExampleConfigurationIsValid) {
  const auto result =
      forge({"config", "validate", "--config", FORGE_SOURCE_DIR "/forge.example.yaml"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(CliTest, ConfigValidateAndShow) {
  std::ofstream(dir_ / "forge.yaml") << "server:\n  port: 8100\n";
  const auto valid = forge({"config", "validate"});
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
  EXPECT_NE(valid.out.find("configuration is valid (forge.yaml)"), std::string::npos);

  const auto shown = forge({"config", "show", "--json"}, {"FORGE_LOG_LEVEL=debug"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const auto json = boost::json::parse(shown.out).as_object();
  EXPECT_EQ(json.at("server.port").at("value").as_string(), "8100");
  EXPECT_EQ(json.at("server.port").at("origin").as_string(), "forge.yaml:2");
  EXPECT_EQ(json.at("log.level").at("origin").as_string(), "environment FORGE_LOG_LEVEL");

  std::ofstream(dir_ / "forge.yaml") << "server:\n  port: -5\n";
  EXPECT_EQ(forge({"config", "validate"}).exit_code, 1);
}

} // namespace
} // namespace forge::test

namespace forge::test {
namespace {

class TokenCliTest : public ::testing::Test {
protected:
  CommandResult forge(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), FORGE_BINARY);
    return runCommand(args, env, std::filesystem::temp_directory_path().string());
  }
  static constexpr const char* kSecret = "a-test-secret-that-is-long-enough-0123456789";
};

TEST_F(TokenCliTest, MintsATokenTheGatewaysKeyVerifies) {
  const auto result = forge({"token", "create", "--user", "ada@example.com", "--exp", "60"},
                            {std::string("JWT_SECRET_KEY=") + kSecret});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::string token = result.out;
  while (!token.empty() && token.back() == '\n')
    token.pop_back();
  auto key = auth::JwtKey::hs256(kSecret);
  ASSERT_TRUE(key.ok());
  auth::VerifyOptions options;
  options.audiences = {std::string(auth::kDefaultAudience)};
  options.issuer = std::string(auth::kDefaultIssuer);
  auto claims = auth::verify(token, *key, options);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->sub, "ada@example.com");
  EXPECT_FALSE(claims->jti.empty());
  const auto lifetime = claims->exp - claims->iat;
  EXPECT_EQ(lifetime, 3600);
  // No role claim unless asked: the gateway takes the role from the user's record.
  EXPECT_FALSE(claims->extra.contains("role"));
  // Another secret does not verify it.
  auto other = auth::JwtKey::hs256("another-secret-that-is-long-enough-987654321");
  EXPECT_FALSE(auth::verify(token, *other, options).ok());
}

TEST_F(TokenCliTest, RefusesToMintWithoutAStrongSecretOrWithAnUnknownRole) {
  auto missing = forge({"token", "create", "--user", "a@b"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("JWT_SECRET_KEY"), std::string::npos) << missing.err;
  auto weak = forge({"token", "create", "--user", "a@b", "--secret", "short"});
  EXPECT_EQ(weak.exit_code, 2);
  EXPECT_NE(weak.err.find("32"), std::string::npos) << weak.err;
  auto role = forge({"token", "create", "--user", "a@b", "--secret", kSecret, "--role", "root"});
  EXPECT_EQ(role.exit_code, 2);
  EXPECT_NE(role.err.find("root"), std::string::npos) << role.err;
  auto json = forge({"token", "create", "--user", "a@b", "--secret", kSecret, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"jti\""), std::string::npos) << json.out;
}

} // namespace
} // namespace forge::test
