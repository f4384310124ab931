#include "config/config.h"

#include "server/gateway_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace forge::config {
namespace {

class ConfigTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("forge-config-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text) {
    const auto path = dir_ / "forge.yaml";
    std::ofstream(path) << text;
    return path.string();
  }

  Config loadFile(const std::string& text, LoadOptions options = {}) {
    options.config_path = write(text);
    return load(schema_, options);
  }

  // The problems reported for `text`, or an empty list.
  std::vector<std::string> problemsFor(const std::string& text, LoadOptions options = {}) {
    try {
      loadFile(text, std::move(options));
    } catch (const ConfigError& e) {
      return e.problems();
    }
    return {};
  }

  Schema schema_ =
      server::gatewaySchema()
          .addList({.key = "upstreams",
                    .help = "test list",
                    .fields = {{.key = "name", .type = Type::kString, .required = true},
                               {.key = "transport",
                                .type = Type::kEnum,
                                .default_value = "stdio",
                                .choices = {"stdio", "streamable-http", "sse"}},
                               {.key = "args", .type = Type::kStringList},
                               {.key = "env", .type = Type::kStringMap}}})
          .addList(
              {.key = "probes",
               .help = "test list with nested fields",
               .fields = {
                   {.key = "name", .type = Type::kString, .required = true},
                   {.key = "health.path", .type = Type::kString, .default_value = "/health"},
                   {.key = "health.interval", .type = Type::kDuration, .default_value = "5s"}}});
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, DefaultsApplyWithoutAFile) {
  LoadOptions options;
  options.default_path = (dir_ / "absent.yaml").string();
  const Config config = load(schema_, options);
  EXPECT_EQ(config.string("server.host"), "127.0.0.1");
  EXPECT_EQ(config.integer("server.port"), 8000);
  EXPECT_EQ(config.string("data_dir"), "./data");
  EXPECT_EQ(config.size("server.max_body_size"), 4u * 1024 * 1024);
  EXPECT_EQ(config.duration("server.header_timeout"), std::chrono::seconds(10));
  EXPECT_EQ(config.origin("server.port"), "default");
  EXPECT_TRUE(config.source_file.empty());
}

TEST_F(ConfigTest, FileValuesOverrideDefaultsAndRecordTheirLine) {
  const Config config = loadFile("server:\n  port: 9100\n  max_body_size: 1MiB\n"
                                 "log:\n  format: json\n");
  EXPECT_EQ(config.integer("server.port"), 9100);
  EXPECT_EQ(config.size("server.max_body_size"), 1024u * 1024);
  EXPECT_EQ(config.string("log.format"), "json");
  EXPECT_NE(config.origin("server.port").find("forge.yaml:2"), std::string::npos);
}

TEST_F(ConfigTest, UnknownKeyIsRejectedWithLineAndSuggestion) {
  const auto problems = problemsFor("log:\n  level: info\nserver:\n  prot: 9000\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("forge.yaml:4"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("unknown key 'server.prot'"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("did you mean 'server.port'"), std::string::npos) << problems[0];
}

TEST_F(ConfigTest, UnknownTopLevelKeyIsRejected) {
  const auto problems = problemsFor("colour: blue\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("forge.yaml:1: unknown key 'colour'"), std::string::npos);
}

TEST_F(ConfigTest, BadValuesNameTheKeyAndLine) {
  const auto problems = problemsFor("server:\n  host: 127.0.0.1\n  port: 70000\n"
                                    "  idle_timeout: soon\nlog:\n  level: loud\n");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("forge.yaml:3: 'server.port': 70000 is out of range"),
            std::string::npos)
      << problems[0];
  EXPECT_NE(problems[1].find("forge.yaml:4: 'server.idle_timeout'"), std::string::npos);
  EXPECT_NE(problems[1].find("not a duration"), std::string::npos);
  EXPECT_NE(problems[2].find("forge.yaml:6: 'log.level': 'loud' is not one of"), std::string::npos);
}

TEST_F(ConfigTest, InvalidYamlReportsTheLine) {
  const auto problems = problemsFor("server:\n  port: [1, 2\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("invalid YAML"), std::string::npos) << problems[0];
}

TEST_F(ConfigTest, MissingExplicitFileIsAnError) {
  LoadOptions options;
  options.config_path = (dir_ / "nope.yaml").string();
  EXPECT_THROW(load(schema_, options), ConfigError);
}

TEST_F(ConfigTest, EnvironmentOverridesFileAndFlagsOverrideEnvironment) {
  LoadOptions options;
  options.environment = {{"FORGE_SERVER_PORT", "9200"}, {"FORGE_LOG_LEVEL", "debug"}};
  options.flags = {{"log.level", "error"}};
  const Config config = loadFile("server:\n  port: 9100\n", options);
  EXPECT_EQ(config.integer("server.port"), 9200);
  EXPECT_EQ(config.origin("server.port"), "environment FORGE_SERVER_PORT");
  EXPECT_EQ(config.string("log.level"), "error");
  EXPECT_EQ(config.origin("log.level"), "flag --log-level");
}

TEST_F(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  LoadOptions options;
  options.environment = {{"FORGE_SERVER_MAX_BODY_SIZE", "huge"}};
  const auto problems = problemsFor("", options);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("environment FORGE_SERVER_MAX_BODY_SIZE"), std::string::npos);
  EXPECT_NE(problems[0].find("not a size"), std::string::npos);
}

TEST_F(ConfigTest, ListSectionsAreValidatedItemByItem) {
  const Config config = loadFile("upstreams:\n"
                                 "  - name: everything\n"
                                 "    args: [\"-y\", \"server\"]\n"
                                 "    env: {A: \"1\"}\n"
                                 "  - name: remote\n"
                                 "    transport: sse\n");
  const auto& upstreams = config.list("upstreams");
  ASSERT_EQ(upstreams.size(), 2u);
  EXPECT_EQ(upstreams[0].string("transport"), "stdio");
  EXPECT_EQ(upstreams[0].stringList("args"), (StringList{"-y", "server"}));
  EXPECT_EQ(upstreams[0].stringMap("env").at("A"), "1");
  EXPECT_EQ(upstreams[1].string("transport"), "sse");

  const auto problems = problemsFor("upstreams:\n  - transport: smoke\n    nmae: x\n");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("forge.yaml:2: 'upstreams[0].transport'"), std::string::npos);
  EXPECT_NE(
      problems[1].find("forge.yaml:3: unknown key 'upstreams[0].nmae' (did you mean 'name'?)"),
      std::string::npos)
      << problems[1];
  EXPECT_NE(problems[2].find("missing the required key 'name'"), std::string::npos);
}

TEST_F(ConfigTest, ListItemsTakeNestedMappingsForDottedFields) {
  const Config config = loadFile("probes:\n"
                                 "  - name: a\n"
                                 "    health:\n"
                                 "      interval: 2s\n"
                                 "  - name: b\n");
  const auto& items = config.list("probes");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].duration("health.interval"), std::chrono::seconds(2));
  EXPECT_EQ(items[0].string("health.path"), "/health"); // default
  EXPECT_EQ(items[1].duration("health.interval"), std::chrono::seconds(5));
  const auto problems = problemsFor("probes:\n  - name: a\n    health:\n      pth: /x\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("health.pth"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find(":4"), std::string::npos) << problems[0]; // the line
}

TEST_F(ConfigTest, SecretsDisplayRedacted) {
  Schema schema;
  schema.add({.key = "auth.secret", .type = Type::kSecret});
  LoadOptions options;
  options.default_path = (dir_ / "absent.yaml").string();
  options.environment = {{"FORGE_AUTH_SECRET", "hunter2-hunter2"}};
  const Config config = load(schema, options);
  EXPECT_EQ(config.secret("auth.secret").reveal(), "hunter2-hunter2");
  EXPECT_EQ(display(config.entry("auth.secret")->value), "[REDACTED]");
}

TEST_F(ConfigTest, EnvironmentAliasesWorkAndForgeNameWins) {
  Schema schema;
  schema.add({.key = "database.url", .type = Type::kString, .env_aliases = {"DATABASE_URL"}});
  LoadOptions options;
  options.default_path = (dir_ / "absent.yaml").string();
  options.environment = {{"DATABASE_URL", "postgresql://a"}};
  EXPECT_EQ(load(schema, options).string("database.url"), "postgresql://a");
  options.environment.emplace_back("FORGE_DATABASE_URL", "postgresql://b");
  EXPECT_EQ(load(schema, options).string("database.url"), "postgresql://b");
}

TEST(ConfigNamesTest, EnvironmentAndFlagNamesFollowTheKey) {
  EXPECT_EQ(envName("server.max_body_size"), "FORGE_SERVER_MAX_BODY_SIZE");
  EXPECT_EQ(flagName("server.max_body_size"), "--server-max-body-size");
}

TEST(ConfigParseTest, ParsesUnits) {
  KeySpec size{.key = "s", .type = Type::kSize};
  EXPECT_EQ(std::get<std::uint64_t>(std::get<Value>(parseScalar(size, "16KiB"))), 16u * 1024);
  EXPECT_EQ(std::get<std::uint64_t>(std::get<Value>(parseScalar(size, "10MB"))), 10'000'000u);
  EXPECT_TRUE(std::holds_alternative<std::string>(parseScalar(size, "-1")));
  KeySpec duration{.key = "d", .type = Type::kDuration};
  EXPECT_EQ(
      std::get<std::chrono::milliseconds>(std::get<Value>(parseScalar(duration, "250ms"))).count(),
      250);
  EXPECT_EQ(
      std::get<std::chrono::milliseconds>(std::get<Value>(parseScalar(duration, "2m"))).count(),
      120'000);
  EXPECT_TRUE(std::holds_alternative<std::string>(parseScalar(duration, "2 fortnights")));
  KeySpec flag{.key = "b", .type = Type::kBool};
  EXPECT_TRUE(std::get<bool>(std::get<Value>(parseScalar(flag, "yes"))));
  EXPECT_TRUE(std::holds_alternative<std::string>(parseScalar(flag, "maybe")));
}

} // namespace
} // namespace forge::config
