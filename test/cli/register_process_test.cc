// `forge register` against a real `forge gateway` (with the fixture as its configured upstream
// `fixture`): YAML and server-list files, idempotency, failures, dry runs and JSON output.
#include "support/api_client.h"
#include "support/child_process.h"
#include "support/raw_http_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace forge::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

std::size_t occurrences(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

class RegisterTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-register");
    std::ofstream(dir_ / "forge.yaml")
        << fmt::format("upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n",
                       FORGE_FIXTURE_BINARY);
    gateway_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        FORGE_BINARY, "gateway", "--config", (dir_ / "forge.yaml").string(), "--server-port", "0",
        "--data-dir", (dir_ / "data").string()});
    const std::string marker = "listening on http://127.0.0.1:";
    auto line = gateway_->waitForLine(marker, 10s);
    ASSERT_TRUE(line) << gateway_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find(marker) + marker.size())));
    url_ = fmt::format("http://127.0.0.1:{}", port_);
    ASSERT_TRUE(gateway_->waitForLine("upstream fixture: discovered", 10s)) << gateway_->err();

    std::ofstream(dir_ / "register.yaml") << registerYaml("The fixture again");
    std::ofstream(dir_ / "servers.txt") << serverList("Everything from the fixture");
  }
  void TearDown() override {
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::string registerYaml(const std::string& gateway_description,
                                  const std::string& tags = "[test]") {
    return fmt::format("# a second stdio upstream, and a server with one tool\n"
                       "gateways:\n"
                       "  - name: extra\n"
                       "    command: {}\n"
                       "    args: [\"--stdio\"]\n"
                       "    description: {}\n"
                       "    tags: {}\n"
                       "servers:\n"
                       "  - name: math\n"
                       "    description: Adding numbers\n"
                       "    tools: [fixture__add]\n",
                       FORGE_FIXTURE_BINARY, gateway_description, tags);
  }

  static std::string serverList(const std::string& first_description) {
    return fmt::format("# name|enabled|upstreams|description\n"
                       "\n"
                       "all-fixture|true|fixture|{}\n"
                       "disabled-one|false|fixture,extra|two upstreams\n",
                       first_description);
  }

  CommandResult forgeRegister(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {FORGE_BINARY, "register"});
    return runCommand(std::move(args), std::move(env), dir_.string(), 60s);
  }
  std::string file(const char* name) const { return (dir_ / name).string(); }

  json::value get(const std::string& path) const {
    auto reply = httpRequest(port_, "GET", path);
    EXPECT_TRUE(reply) << path;
    if (!reply) return nullptr;
    EXPECT_EQ(reply->status, 200) << path << ": " << reply->body;
    return json::parse(reply->body);
  }
  // Every server (or gateway), the inactive ones too, by name.
  std::map<std::string, json::object> all(const char* collection) const {
    std::map<std::string, json::object> out;
    const auto list = get(fmt::format("/{}?include_inactive=true&limit=0", collection));
    for (const auto& item : list.as_array())
      out[std::string(item.at("name").as_string())] = item.as_object();
    return out;
  }
  static json::array strings(std::initializer_list<const char*> items) {
    json::array out;
    for (const char* item : items)
      out.emplace_back(item);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  std::uint16_t port_ = 0;
  std::string url_;
};

TEST_F(RegisterTest, RegistersFromYamlAndServerListsIdempotently) {
  const auto first = forgeRegister({"--url", url_, file("register.yaml"), file("servers.txt")});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_TRUE(contains(first.out, "created gateway extra")) << first.out;
  EXPECT_TRUE(contains(first.out, "created server math")) << first.out;
  EXPECT_TRUE(contains(first.out, "created server all-fixture")) << first.out;
  EXPECT_TRUE(contains(first.out, "created server disabled-one")) << first.out;
  EXPECT_TRUE(contains(first.out, "4 created, 0 updated, 0 unchanged, 0 failed")) << first.out;

  auto servers = all("servers");
  ASSERT_EQ(servers.size(), 3u);
  EXPECT_EQ(servers["math"].at("associatedTools"), strings({"fixture__add"}));
  EXPECT_EQ(servers["math"].at("description"), "Adding numbers");
  EXPECT_EQ(servers["math"].at("maxTools"), 0);
  EXPECT_EQ(servers["all-fixture"].at("associatedTools"), strings({"fixture__*"}));
  EXPECT_EQ(servers["all-fixture"].at("enabled"), true);
  EXPECT_EQ(servers["all-fixture"].at("maxTools"), 60);
  EXPECT_EQ(servers["all-fixture"].at("description"), "Everything from the fixture");
  EXPECT_EQ(servers["disabled-one"].at("associatedTools"), strings({"fixture__*", "extra__*"}));
  EXPECT_EQ(servers["disabled-one"].at("enabled"), false);
  EXPECT_EQ(servers["disabled-one"].at("maxTools"), 60);
  // The server list's server really serves the fixture's tools.
  const auto served =
      get(fmt::format("/servers/{}/tools", servers["all-fixture"].at("id").as_string()));
  ASSERT_FALSE(served.as_array().empty());
  for (const auto& tool : served.as_array())
    EXPECT_EQ(tool.at("name").as_string().find("fixture__"), 0u) << tool.at("name");

  auto gateways = all("gateways");
  ASSERT_TRUE(gateways.count("extra"));
  EXPECT_EQ(gateways["extra"].at("reachable"), true) << gateways["extra"];
  EXPECT_EQ(gateways["extra"].at("transport"), "STDIO");
  EXPECT_EQ(gateways["extra"].at("tags"), strings({"test"}));
  const auto tools =
      get(fmt::format("/tools?gateway_id={}&limit=0", gateways["extra"].at("id").as_string()));
  ASSERT_FALSE(tools.as_array().empty());
  bool has_add = false;
  for (const auto& tool : tools.as_array())
    has_add = has_add || tool.at("name") == "extra__add";
  EXPECT_TRUE(has_add) << tools;

  // Again, unchanged: nothing is written (timestamps have whole seconds: wait for the next).
  std::this_thread::sleep_for(1100ms);
  const auto second = forgeRegister({"--url", url_, file("register.yaml"), file("servers.txt")});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_TRUE(contains(second.out, "0 created, 0 updated, 4 unchanged, 0 failed")) << second.out;
  EXPECT_TRUE(contains(second.out, "unchanged gateway extra")) << second.out;
  EXPECT_TRUE(contains(second.out, "unchanged server disabled-one")) << second.out;
  EXPECT_FALSE(contains(second.out, "created ")) << second.out;
  EXPECT_FALSE(contains(second.out, "updated ")) << second.out;
  auto servers_after = all("servers");
  for (const auto& name : {"math", "all-fixture", "disabled-one"})
    EXPECT_EQ(servers_after[name].at("updatedAt"), servers[name].at("updatedAt")) << name;
  EXPECT_EQ(all("gateways")["extra"].at("updatedAt"), gateways["extra"].at("updatedAt"));

  // One description edited: exactly that server is updated.
  std::ofstream(dir_ / "servers.txt") << serverList("Every fixture tool");
  const auto third = forgeRegister({"--url", url_, file("register.yaml"), file("servers.txt")});
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_TRUE(contains(third.out, "0 created, 1 updated, 3 unchanged, 0 failed")) << third.out;
  EXPECT_TRUE(contains(third.out, "updated server all-fixture (description)")) << third.out;
  EXPECT_EQ(occurrences(third.out, "updated "), 1u) << third.out;
  servers_after = all("servers");
  EXPECT_EQ(servers_after["all-fixture"].at("description"), "Every fixture tool");
  EXPECT_EQ(servers_after["all-fixture"].at("associatedTools"), strings({"fixture__*"}));
  EXPECT_EQ(servers_after["math"].at("updatedAt"), servers["math"].at("updatedAt"));

  // A gateway's field edited: it is updated (and reconnected), and still discovered.
  std::ofstream(dir_ / "register.yaml") << registerYaml("The fixture again", "[test, second]");
  const auto fourth = forgeRegister({"--url", url_, file("register.yaml"), file("servers.txt")});
  ASSERT_EQ(fourth.exit_code, 0) << fourth.out << fourth.err;
  EXPECT_TRUE(contains(fourth.out, "updated gateway extra (tags)")) << fourth.out;
  EXPECT_TRUE(contains(fourth.out, "0 created, 1 updated, 3 unchanged, 0 failed")) << fourth.out;
  gateways = all("gateways");
  EXPECT_EQ(gateways["extra"].at("tags"), strings({"test", "second"}));
  EXPECT_EQ(gateways["extra"].at("reachable"), true) << gateways["extra"];
}

TEST_F(RegisterTest, AMissingUpstreamOrABadLineFailsOnlyThatLine) {
  std::ofstream(dir_ / "missing.txt") << "ok-server|true|fixture|fine\n"
                                         "broken|true|fixture,nope|names a missing upstream\n"
                                         "not a server line\n"
                                         "later|yes|FIXTURE|slug or name, any case\n";
  const auto result = forgeRegister({"--url", url_, file("missing.txt")});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_TRUE(contains(result.err, "failed server broken")) << result.err;
  EXPECT_TRUE(contains(result.err, "missing.txt:2: unknown upstream 'nope'")) << result.err;
  EXPECT_TRUE(contains(result.err, "missing.txt:3")) << result.err;
  EXPECT_TRUE(contains(result.out, "created server ok-server")) << result.out;
  EXPECT_TRUE(contains(result.out, "created server later")) << result.out;
  EXPECT_TRUE(contains(result.out, "2 created, 0 updated, 0 unchanged, 2 failed")) << result.out;
  auto servers = all("servers");
  EXPECT_TRUE(servers.count("ok-server"));
  EXPECT_TRUE(servers.count("later"));
  EXPECT_FALSE(servers.count("broken"));
  EXPECT_EQ(servers["later"].at("associatedTools"), strings({"fixture__*"}));

  // A YAML file that does not parse is named with its line; the other files still count.
  std::ofstream(dir_ / "broken.yaml") << "servers:\n  - name: x\n    tools: [a, b\n";
  std::ofstream(dir_ / "fine.yaml") << "servers:\n  - name: fine\n    tools: [fixture__echo]\n";
  const auto yaml = forgeRegister({"--url", url_, file("broken.yaml"), file("fine.yaml")});
  EXPECT_EQ(yaml.exit_code, 1) << yaml.out << yaml.err;
  EXPECT_TRUE(contains(yaml.err, "broken.yaml:")) << yaml.err;
  EXPECT_TRUE(contains(yaml.err, "not valid YAML")) << yaml.err;
  EXPECT_TRUE(contains(yaml.out, "created server fine")) << yaml.out;

  // Unknown fields are refused rather than silently ignored.
  std::ofstream(dir_ / "typo.yaml") << "servers:\n  - name: typo\n    desription: oops\n";
  const auto typo = forgeRegister({"--url", url_, file("typo.yaml")});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_TRUE(contains(typo.err, "typo.yaml:2: server 'typo': unknown field 'desription'"))
      << typo.err;
}

TEST_F(RegisterTest, DryRunWritesNothing) {
  const auto result = forgeRegister({"--dry-run", file("register.yaml"), file("servers.txt")},
                                    {"MCP_GATEWAY_URL=" + url_});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "would create gateway extra")) << result.out;
  // A server may name an upstream that the same run would register.
  EXPECT_TRUE(contains(result.out, "would create server disabled-one")) << result.out;
  EXPECT_TRUE(contains(result.out, "dry run: 4 to create, 0 to update, 0 unchanged, 0 failed"))
      << result.out;
  EXPECT_TRUE(all("servers").empty());
  const auto gateways = all("gateways");
  EXPECT_EQ(gateways.size(), 1u);
  EXPECT_TRUE(gateways.count("fixture"));

  // After a real run, a dry run with an edit reports the update and still writes nothing.
  ASSERT_EQ(forgeRegister({"--url", url_, file("register.yaml"), file("servers.txt")}).exit_code,
            0);
  std::ofstream(dir_ / "servers.txt") << serverList("Edited");
  const auto edited =
      forgeRegister({"--dry-run", "--url", url_, file("register.yaml"), file("servers.txt")});
  ASSERT_EQ(edited.exit_code, 0) << edited.out << edited.err;
  EXPECT_TRUE(contains(edited.out, "would update server all-fixture (description)")) << edited.out;
  EXPECT_EQ(all("servers")["all-fixture"].at("description"), "Everything from the fixture");
}

TEST_F(RegisterTest, JsonOutputListsWhatHappened) {
  std::ofstream(dir_ / "missing.txt") << "lost|true|nope|names a missing upstream\n";
  const auto first = forgeRegister(
      {"--json", "--url", url_, file("register.yaml"), file("servers.txt"), file("missing.txt")});
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  const auto report = json::parse(first.out).as_object();
  EXPECT_EQ(report.at("created").as_array().size(), 4u) << first.out;
  EXPECT_EQ(report.at("updated").as_array().size(), 0u);
  EXPECT_EQ(report.at("unchanged").as_array().size(), 0u);
  ASSERT_EQ(report.at("failed").as_array().size(), 1u);
  const auto& failed = report.at("failed").as_array()[0].as_object();
  EXPECT_EQ(failed.at("name"), "lost");
  EXPECT_TRUE(contains(std::string(failed.at("error").as_string()), "unknown upstream 'nope'"));
  EXPECT_EQ(report.at("created").as_array()[0].at("type"), "gateway");
  EXPECT_EQ(report.at("created").as_array()[0].at("name"), "extra");

  const auto second =
      forgeRegister({"--json", "--url", url_, file("register.yaml"), file("servers.txt")});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  const auto again = json::parse(second.out).as_object();
  EXPECT_EQ(again.at("created").as_array().size(), 0u);
  EXPECT_EQ(again.at("unchanged").as_array().size(), 4u) << second.out;
  EXPECT_EQ(again.at("failed").as_array().size(), 0u);
  EXPECT_EQ(again.at("dry_run"), false);
}

TEST_F(RegisterTest, JsonFilesAndYamlValuesKeepTheirTypes) {
  std::ofstream(dir_ / "register.json")
      << R"({"servers": [{"name": "from-json", "description": "JSON", "enabled": false,
                         "associated_tools": ["fixture__echo"], "max_tools": 5,
                         "tags": ["a", "b"]}]})";
  std::ofstream(dir_ / "types.yaml") << "servers:\n"
                                        "  - name: typed\n"
                                        "    description: \"123\"\n"
                                        "    enabled: false\n"
                                        "    max_tools: 7\n"
                                        "    tags: [x, 2]\n"
                                        "    tools: fixture__add, fixture__echo\n"
                                        "  - name: block\n"
                                        "    description: |\n"
                                        "      two\n"
                                        "      lines\n";
  // Not .yaml, but YAML all the same: the content says so.
  std::ofstream(dir_ / "more.conf") << "servers:\n  - name: detected\n    tools: [fixture__add]\n";
  const std::vector<std::string> args{"--url", url_, file("register.json"), file("types.yaml"),
                                      file("more.conf")};
  const auto result = forgeRegister(args);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(contains(result.out, "4 created, 0 updated, 0 unchanged, 0 failed")) << result.out;

  auto servers = all("servers");
  EXPECT_EQ(servers["from-json"].at("enabled"), false);
  EXPECT_EQ(servers["from-json"].at("maxTools"), 5);
  EXPECT_EQ(servers["from-json"].at("tags"), strings({"a", "b"}));
  EXPECT_EQ(servers["from-json"].at("associatedTools"), strings({"fixture__echo"}));
  EXPECT_EQ(servers["typed"].at("description"), "123");
  EXPECT_EQ(servers["typed"].at("enabled"), false);
  EXPECT_EQ(servers["typed"].at("maxTools"), 7);
  EXPECT_EQ(servers["typed"].at("tags"), strings({"x", "2"}));
  EXPECT_EQ(servers["typed"].at("associatedTools"), strings({"fixture__add", "fixture__echo"}));
  EXPECT_EQ(servers["block"].at("description"), "two\nlines\n");
  EXPECT_EQ(servers["detected"].at("associatedTools"), strings({"fixture__add"}));

  const auto again = forgeRegister(args);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(contains(again.out, "0 created, 0 updated, 4 unchanged, 0 failed")) << again.out;
}

// No gateway needed: usage errors and an unreachable gateway.
class RegisterCliTest : public ::testing::Test {
protected:
  void SetUp() override { dir_ = freshTestDir("forge-register-cli"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CommandResult forgeRegister(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), {FORGE_BINARY, "register"});
    return runCommand(std::move(args), std::move(env), dir_.string());
  }

  std::filesystem::path dir_;
};

TEST_F(RegisterCliTest, AnUnreachableGatewayExits3SayingWhatToDo) {
  std::ofstream(dir_ / "servers.txt") << "a|true|fixture|x\n";
  const std::string url = fmt::format("http://127.0.0.1:{}", freePort());
  const auto result = forgeRegister({"--url", url, (dir_ / "servers.txt").string()});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_TRUE(contains(result.err, "cannot connect to " + url)) << result.err;
  EXPECT_TRUE(contains(result.err, "is the gateway running?")) << result.err;
  EXPECT_TRUE(contains(result.err, "forge gateway")) << result.err;
}

TEST_F(RegisterCliTest, UsageErrorsExit2) {
  const auto none = forgeRegister({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(contains(none.err, "no files")) << none.err;

  const auto missing = forgeRegister({(dir_ / "absent.yaml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "cannot read " + (dir_ / "absent.yaml").string()))
      << missing.err;

  std::ofstream(dir_ / "servers.txt") << "a|true|fixture|x\n";
  // https:// is spoken (test/cli/https_process_test.cc); other schemes are usage errors.
  const auto ftp =
      forgeRegister({"--url", "ftp://127.0.0.1:8443", (dir_ / "servers.txt").string()});
  EXPECT_EQ(ftp.exit_code, 2);
  EXPECT_TRUE(contains(ftp.err, "only http:// and https:// URLs")) << ftp.err;

  const auto timeout =
      forgeRegister({(dir_ / "servers.txt").string()}, {"MCP_GATEWAY_TIMEOUT=soon"});
  EXPECT_EQ(timeout.exit_code, 2);
  EXPECT_TRUE(contains(timeout.err, "MCP_GATEWAY_TIMEOUT")) << timeout.err;
}

TEST_F(RegisterCliTest, HelpExplainsBothFormats) {
  const auto help = forgeRegister({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "gateways:")) << help.out;
  EXPECT_TRUE(contains(help.out, "servers:")) << help.out;
  EXPECT_TRUE(contains(help.out, "name|enabled|upstream1,upstream2|description")) << help.out;
  EXPECT_TRUE(contains(help.out, "--dry-run")) << help.out;
}

} // namespace
} // namespace forge::test
