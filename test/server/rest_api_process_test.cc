// The management REST API of the real `forge gateway`, with the real fixture as the configured
// upstream `fixture`: what the API lists and changes must be what the MCP endpoints serve, at
// once and after a restart.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace forge::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The pid in a log line "... (pid N)".
pid_t pidIn(const std::string& line) {
  const auto at = line.find("(pid ");
  return at == std::string::npos ? -1 : std::atoi(line.c_str() + at + 5);
}

// True once `pid` is no longer a live process (gone, or a zombie its parent has not reaped).
bool processGone(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
}

// ---- the fixture ------------------------------------------------------------------------------

class RestApiTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-rest");
    writeFixtureConfig(dir_, FORGE_FIXTURE_BINARY);
    std::ofstream(dir_ / "empty.yaml") << "gateway:\n  discovery_timeout: 8s\n";
    port_ = freePort();
    gateway_ = launch(dir_ / "data", port_, dir_ / "forge.yaml");
    ASSERT_TRUE(gateway_);
    // Discovered: the fixture's tools are in the catalog.
    ASSERT_TRUE(eventually([&] { return toolId("fixture__add").size() > 0; })) << gateway_->err();
  }

  void TearDown() override {
    for (auto* child : {&second_, &gateway_}) {
      if (*child) stop(**child);
      child->reset();
    }
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ChildProcess> launch(const std::filesystem::path& data, std::uint16_t port,
                                       const std::filesystem::path& config) {
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{FORGE_BINARY, "gateway", "--config", config.string(),
                                 "--server-port", std::to_string(port), "--data-dir",
                                 data.string()},
        std::vector<std::string>{}, dir_.string());
    if (!child->waitForLine("listening on", 10s)) {
      ADD_FAILURE() << "the gateway did not start: " << child->err();
      return nullptr;
    }
    return child;
  }

  // SIGTERM, and the exit within 10 s (the destructor SIGKILLs it otherwise).
  static void stop(ChildProcess& child) {
    child.signal(SIGTERM);
    auto code = child.wait(10s);
    EXPECT_TRUE(code) << "the gateway did not stop within 10 s";
    if (code) {
      EXPECT_EQ(*code, 0) << child.err();
    }
  }

  HttpReply api(std::string_view method, std::string_view path, std::string_view body = {}) {
    return request(port_, method, path, body);
  }
  json::value getJson(std::string_view path, std::uint16_t port = 0) {
    auto reply = request(port ? port : port_, "GET", path);
    EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
    return parse(reply.body);
  }

  // The id of a tool by exposed name ("" if not listed, inactive ones included).
  std::string toolId(const std::string& name) {
    auto reply = api("GET", "/tools?limit=0&include_inactive=true");
    return reply.status == 200 ? str(findBy(parse(reply.body), "name", name), "id") : "";
  }

  // Registers the fixture again as "Extra Tools" (slug extra-tools).
  HttpReply registerExtra(std::uint16_t port = 0) {
    return request(port ? port : port_, "POST", "/gateways",
                   json::serialize(json::object{{"name", "Extra Tools"},
                                                {"command", FORGE_FIXTURE_BINARY},
                                                {"args", json::array{"--stdio"}}}),
                   {}, 12s);
  }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
  std::unique_ptr<ChildProcess> second_;
};

// ---- 1. forge.yaml's upstream, tools and paging ------------------------------------------------

TEST_F(RestApiTest, ConfiguredUpstreamIsSeededAndItsToolsListed) {
  json::value fixture;
  ASSERT_TRUE(eventually([&] {
    fixture = findBy(getJson("/gateways"), "name", "fixture");
    return fixture.is_object() && fixture.at("reachable") == json::value(true);
  })) << json::serialize(fixture);
  EXPECT_EQ(str(fixture, "source"), "config");
  EXPECT_EQ(str(fixture, "slug"), "fixture");
  EXPECT_EQ(str(fixture, "transport"), "STDIO");
  EXPECT_EQ(str(fixture, "health"), "ready");

  const auto all = getJson("/tools?limit=0&include_pagination=false");
  ASSERT_TRUE(all.is_array()) << json::serialize(all);
  const auto add = findBy(all, "name", "fixture__add");
  ASSERT_TRUE(add.is_object()) << json::serialize(all);
  EXPECT_EQ(str(add, "originalName"), "add");
  EXPECT_EQ(str(add, "gatewaySlug"), "fixture");
  EXPECT_EQ(str(add, "gatewayId"), str(fixture, "id"));
  ASSERT_TRUE(add.at("inputSchema").is_object());
  EXPECT_TRUE(add.at("inputSchema").get_object().contains("properties"))
      << json::serialize(add.at("inputSchema"));
  EXPECT_EQ(add.at("enabled"), json::value(true));
  const std::size_t total = all.get_array().size();
  ASSERT_GT(total, 4u);
  ASSERT_LT(total, 50u);
  // Below the default page size of 50, the default listing is all of them.
  EXPECT_EQ(getJson("/tools").get_array().size(), total);

  // Pages of two: an envelope with total and the cursor of the next page.
  auto page = getJson("/tools?limit=2&include_pagination=true");
  ASSERT_TRUE(page.is_object()) << json::serialize(page);
  EXPECT_EQ(page.at("tools").get_array().size(), 2u);
  EXPECT_EQ(page.at("total").to_number<std::size_t>(), total);
  EXPECT_EQ(page.at("nextCursor"), json::value("2"));
  EXPECT_EQ(str(page.at("tools").get_array()[0], "id"), str(all.get_array()[0], "id"));
  page = getJson("/tools?limit=2&include_pagination=true&cursor=2");
  ASSERT_TRUE(page.is_object()) << json::serialize(page);
  ASSERT_EQ(page.at("tools").get_array().size(), 2u);
  EXPECT_EQ(str(page.at("tools").get_array()[0], "id"), str(all.get_array()[2], "id"));
  EXPECT_EQ(str(page.at("tools").get_array()[1], "id"), str(all.get_array()[3], "id"));
  EXPECT_EQ(page.at("nextCursor"), json::value("4"));
  // The last page has no next cursor.
  page = getJson(fmt::format("/tools?limit=2&include_pagination=true&cursor={}", total - 1));
  EXPECT_EQ(page.at("tools").get_array().size(), 1u);
  EXPECT_TRUE(page.at("nextCursor").is_null()) << json::serialize(page);
  // Without the envelope, a page is a bare array.
  EXPECT_EQ(getJson("/tools?limit=3&cursor=1").get_array().size(), 3u);
}

TEST_F(RestApiTest, ListingsPageBy50ByDefault) {
  for (int i = 0; i < 51; ++i) {
    auto created = api("POST", "/servers", fmt::format(R"({{"name":"s{:02}"}})", i));
    ASSERT_EQ(created.status, 201) << created.body;
  }
  EXPECT_EQ(getJson("/servers").get_array().size(), 50u);
  EXPECT_EQ(getJson("/servers?limit=0").get_array().size(), 51u);
  auto page = getJson("/servers?include_pagination=true");
  EXPECT_EQ(page.at("servers").get_array().size(), 50u);
  EXPECT_EQ(page.at("total").to_number<int>(), 51);
  EXPECT_EQ(page.at("nextCursor"), json::value("50"));
  EXPECT_EQ(getJson("/servers?cursor=50").get_array().size(), 1u);
}

// ---- 2. an upstream registered and deleted at run time -----------------------------------------

TEST_F(RestApiTest, RegisteredUpstreamServesAtOnceAndADeletedOneIsGone) {
  McpClient mcp(port_, "/mcp");
  ASSERT_TRUE(mcp.initialize()) << mcp.status();

  auto created = registerExtra();
  ASSERT_EQ(created.status, 201) << created.body;
  const auto gateway = parse(created.body);
  EXPECT_EQ(str(gateway, "slug"), "extra-tools");
  EXPECT_EQ(str(gateway, "name"), "Extra Tools");
  EXPECT_EQ(str(gateway, "source"), "api");
  EXPECT_EQ(gateway.at("reachable"), json::value(true)) << created.body;
  const std::string id = str(gateway, "id");
  ASSERT_FALSE(id.empty());
  const auto started = gateway_->waitForLine("upstream extra-tools: started", 5s);
  ASSERT_TRUE(started) << gateway_->err();
  const pid_t child = pidIn(*started);
  ASSERT_GT(child, 0) << *started;

  // Listed and callable at once, no restart.
  const auto added = findBy(getJson("/tools?limit=0"), "name", "extra-tools__add");
  ASSERT_TRUE(added.is_object());
  EXPECT_EQ(str(added, "gatewayId"), id);
  EXPECT_EQ(str(getJson("/gateways/" + id), "name"), "Extra Tools");
  EXPECT_TRUE(mcp.toolNames().count("extra-tools__add"));
  auto answer = mcp.callTool("extra-tools__add", {{"a", 20}, {"b", 22}});
  EXPECT_EQ(resultText(answer), "42") << json::serialize(answer);
  // The session opened before the registration sees it too; so does a new one.
  McpClient fresh(port_, "/mcp");
  ASSERT_TRUE(fresh.initialize());
  EXPECT_EQ(resultText(fresh.callTool("extra-tools__add", {{"a", 1}, {"b", 1}})), "2");

  auto deleted = api("DELETE", "/gateways/" + id);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(str(parse(deleted.body), "status"), "success");
  EXPECT_EQ(api("GET", "/gateways/" + id).status, 404);
  const auto tools = getJson("/tools?limit=0&include_inactive=true");
  for (const auto& name : namesOf(tools))
    EXPECT_FALSE(name.starts_with("extra-tools__")) << name;
  EXPECT_TRUE(findBy(tools, "name", "fixture__add").is_object());
  answer = mcp.callTool("extra-tools__add", {{"a", 1}, {"b", 2}});
  EXPECT_TRUE(isError(answer)) << json::serialize(answer);
  EXPECT_FALSE(mcp.toolNames().count("extra-tools__add"));
  EXPECT_EQ(resultText(mcp.callTool("fixture__add", {{"a", 1}, {"b", 2}})), "3");
  // Its process is stopped and reaped.
  EXPECT_TRUE(eventually([&] { return processGone(child); }, 5s)) << "pid " << child;
  // The name is free again.
  created = registerExtra();
  EXPECT_EQ(created.status, 201) << created.body;
}

// An upstream that closes its stdin after answering `initialize` (as one that crashes would) is
// registered, found unreachable and retried; the gateway lives on. DISABLED: today the gateway
// dies of SIGPIPE (exit 141) writing notifications/initialized to it (StdioChannel::writeLoop,
// net::writeAll; nothing ignores SIGPIPE). Enable it with the fix; until then
// --gtest_also_run_disabled_tests shows the failure.
TEST_F(RestApiTest, AnUpstreamThatClosesItsStdinDoesNotTakeTheGatewayDown) {
  const std::string script =
      R"(read -r line; id=$(printf '%s' "$line" | sed -E 's/.*"id":("[^"]*"|[0-9]+).*/\1/'); )"
      R"(exec 0<&-; printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{"tools":{}},"serverInfo":{"name":"closer","version":"1"}}}\n' "$id"; )"
      R"(sleep 0.2)";
  auto created =
      request(port_, "POST", "/gateways",
              json::serialize(json::object{
                  {"name", "closer"}, {"command", "/bin/sh"}, {"args", json::array{"-c", script}}}),
              {}, 12s);
  ASSERT_EQ(created.status, 201) << created.body << gateway_->err();
  EXPECT_EQ(parse(created.body).at("reachable"), json::value(false)) << created.body;
  // A few restarts later (back-off from 250 ms), the gateway still answers.
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(gateway_->wait(20ms)) << "the gateway exited: " << gateway_->err();
  EXPECT_EQ(api("GET", "/health").status, 200);
  auto rpc = request(port_, "POST", "/rpc",
                     R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":)"
                     R"({"name":"fixture__add","arguments":{"a":1,"b":1}}})");
  EXPECT_EQ(resultText(parse(rpc.body)), "2") << rpc.body;
}

// ---- 3. errors
// -----------------------------------------------------------------------------------

TEST_F(RestApiTest, ErrorsAreJsonAndNameTheProblem) {
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", "not json"), 400));
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", "[1,2]"), 400));
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", "{}"), 422, "name"));
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", R"({"name":"x","url":"ftp://h"})"), 422, "url"));
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", R"({"name":"x"})"), 422, "url"));
  EXPECT_TRUE(
      isJsonError(api("POST", "/gateways", R"({"name":"x","transport":"STDIO"})"), 422, "command"));
  EXPECT_TRUE(isJsonError(
      api("POST", "/gateways", R"({"name":"x","url":"http://h","transport":"carrier-pigeon"})"),
      422, "transport"));
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", R"({"name":"x","url":"http://h","tags":7})"),
                          422, "tags"));
  EXPECT_TRUE(
      isJsonError(api("POST", "/gateways", R"({"name":"!!!","url":"http://h"})"), 422, "name"));
  const std::string duplicate =
      json::serialize(json::object{{"name", "fixture"}, {"command", FORGE_FIXTURE_BINARY}});
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", duplicate), 409));
  // Another name with the same slug is a duplicate too.
  const std::string same_slug =
      json::serialize(json::object{{"name", "FIXTURE"}, {"command", FORGE_FIXTURE_BINARY}});
  EXPECT_TRUE(isJsonError(api("POST", "/gateways", same_slug), 409));
  EXPECT_EQ(getJson("/gateways").get_array().size(), 1u) << "a refused registration was stored";

  EXPECT_TRUE(isJsonError(api("GET", "/gateways/unknown"), 404, "unknown"));
  EXPECT_TRUE(isJsonError(api("PUT", "/gateways/unknown", R"({"description":"d"})"), 404));
  EXPECT_TRUE(isJsonError(api("DELETE", "/gateways/unknown"), 404));
  EXPECT_TRUE(isJsonError(api("POST", "/gateways/unknown/state?activate=true"), 404));
  EXPECT_TRUE(isJsonError(api("GET", "/tools/unknown"), 404, "unknown"));
  EXPECT_TRUE(isJsonError(api("GET", "/prompts/unknown"), 404));
  EXPECT_TRUE(isJsonError(api("GET", "/resources/unknown"), 404));
  EXPECT_TRUE(isJsonError(api("GET", "/servers/unknown"), 404));
  EXPECT_TRUE(isJsonError(api("POST", "/tools/unknown/state?activate=false"), 404));

  const std::string add = toolId("fixture__add");
  ASSERT_FALSE(add.empty());
  EXPECT_TRUE(isJsonError(api("POST", "/tools/" + add + "/state"), 422, "activate"));
  EXPECT_TRUE(isJsonError(api("POST", "/tools/" + add + "/state?activate=maybe"), 422, "activate"));
  EXPECT_TRUE(isJsonError(api("POST", "/tools/" + add + "/state", R"({"activate":"no"})"), 422,
                          "activate"));
  EXPECT_TRUE(isJsonError(api("GET", "/tools?limit=abc"), 422, "limit"));
  EXPECT_TRUE(isJsonError(api("GET", "/tools?limit=-1"), 422, "limit"));
  EXPECT_TRUE(isJsonError(api("GET", "/tools?cursor=x"), 422, "cursor"));
  EXPECT_TRUE(
      isJsonError(api("GET", "/servers?include_inactive=perhaps"), 422, "include_inactive"));
  EXPECT_TRUE(isJsonError(api("POST", "/servers", R"({"server":{"name":"s","max_tools":-1}})"), 422,
                          "max_tools"));
  EXPECT_TRUE(isJsonError(api("POST", "/servers", R"({"server":"s"})"), 422, "server"));
  EXPECT_TRUE(isJsonError(api("POST", "/import", R"({"servers":{}})"), 422, "servers"));
  EXPECT_TRUE(
      isJsonError(api("POST", "/import?conflict_strategy=merge", "{}"), 422, "conflict_strategy"));
  // The router's own answers are JSON errors too.
  EXPECT_TRUE(isJsonError(api("GET", "/nowhere"), 404));
  EXPECT_TRUE(isJsonError(api("PATCH", "/gateways"), 405));
  // A tool's state is still as it was.
  EXPECT_EQ(parse(api("GET", "/tools/" + add).body).at("enabled"), json::value(true));
}

// ---- 4. a tool's state -----------------------------------------------------------------------

TEST_F(RestApiTest, ADeactivatedToolIsHiddenEverywhereUntilReactivated) {
  const std::string echo = toolId("fixture__echo");
  ASSERT_FALSE(echo.empty());
  McpClient mcp(port_, "/mcp");
  ASSERT_TRUE(mcp.initialize());
  ASSERT_TRUE(mcp.toolNames().count("fixture__echo"));

  auto changed = api("POST", "/tools/" + echo + "/state?activate=false");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(parse(changed.body).at("enabled"), json::value(false));
  EXPECT_FALSE(namesOf(getJson("/tools?limit=0")).count("fixture__echo"));
  const auto inactive =
      findBy(getJson("/tools?limit=0&include_inactive=true"), "name", "fixture__echo");
  ASSERT_TRUE(inactive.is_object());
  EXPECT_EQ(inactive.at("enabled"), json::value(false));
  EXPECT_EQ(parse(api("GET", "/tools/" + echo).body).at("enabled"), json::value(false));

  const auto names = mcp.toolNames();
  EXPECT_FALSE(names.count("fixture__echo"));
  EXPECT_TRUE(names.count("fixture__add"));
  auto answer = mcp.callTool("fixture__echo", {{"message", "hi"}});
  EXPECT_TRUE(isError(answer)) << json::serialize(answer);
  // The same on /rpc, and a new session.
  auto rpc = request(port_, "POST", "/rpc",
                     R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":)"
                     R"({"name":"fixture__echo","arguments":{"message":"hi"}}})");
  EXPECT_TRUE(isError(parse(rpc.body))) << rpc.body;
  McpClient fresh(port_, "/mcp");
  ASSERT_TRUE(fresh.initialize());
  EXPECT_FALSE(fresh.toolNames().count("fixture__echo"));

  // By the body's {"activate": true} this time.
  changed = api("POST", "/tools/" + echo + "/state", R"({"activate":true})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_TRUE(namesOf(getJson("/tools?limit=0")).count("fixture__echo"));
  EXPECT_TRUE(mcp.toolNames().count("fixture__echo"));
  answer = mcp.callTool("fixture__echo", {{"message", "back"}});
  EXPECT_EQ(resultText(answer), "back") << json::serialize(answer);
}

// ---- 5. virtual servers ----------------------------------------------------------------------

TEST_F(RestApiTest, VirtualServersServeTheirMembersOnly) {
  auto created = api(
      "POST", "/servers",
      R"({"server":{"name":"math","description":"sums","associated_tools":["fixture__add","fixture__ec*"]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto server = parse(created.body);
  const std::string id = str(server, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(str(server, "name"), "math");
  EXPECT_EQ(server.at("enabled"), json::value(true));
  EXPECT_EQ(str(server.at("endpoints"), "mcp"), "/servers/" + id + "/mcp");
  EXPECT_EQ(namesOf(getJson("/servers/" + id + "/tools"), "originalName"),
            (std::set<std::string>{"add", "echo"}));
  EXPECT_EQ(str(getJson("/servers/" + id), "description"), "sums");

  McpClient mcp(port_, "/servers/" + id + "/mcp");
  ASSERT_TRUE(mcp.initialize()) << mcp.status();
  EXPECT_EQ(mcp.toolNames(), (std::set<std::string>{"fixture__add", "fixture__echo"}));
  EXPECT_EQ(resultText(mcp.callTool("fixture__add", {{"a", 2}, {"b", 3}})), "5");
  auto answer = mcp.callTool("fixture__slow", {{"ms", 1}});
  EXPECT_NE(errorMessage(answer).find("Unknown tool"), std::string::npos)
      << json::serialize(answer);
  // The aggregated endpoint still has everything.
  McpClient all(port_, "/mcp");
  ASSERT_TRUE(all.initialize());
  EXPECT_TRUE(all.toolNames().count("fixture__slow"));

  // The HTTP+SSE variant: its first event names the server's message endpoint.
  {
    RawConnection stream;
    ASSERT_TRUE(stream.connect(port_));
    stream.send(fmt::format("GET /servers/{}/sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Accept: text/event-stream\r\n\r\n",
                            id));
    auto head = stream.readHead(5s);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    std::string events;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (events.find("\n\n") == std::string::npos && std::chrono::steady_clock::now() < deadline)
      events += stream.readSome(100ms);
    EXPECT_NE(events.find("event: endpoint"), std::string::npos) << events;
    EXPECT_NE(events.find(fmt::format("/servers/{}/message?sessionId=", id)), std::string::npos)
        << events;
  }

  // max_tools: a selection larger than the limit is either refused (422 naming max_tools) or
  // capped, the same max_tools tools on the REST API and on MCP, and only those callable.
  auto capped =
      api("POST", "/servers",
          R"({"server":{"name":"too-many","associated_tools":["fixture__*"],"max_tools":2}})");
  if (capped.status == 422) {
    EXPECT_TRUE(isJsonError(capped, 422, "max_tools"));
    EXPECT_EQ(api("GET", "/servers?limit=0").body.find("too-many"), std::string::npos);
  } else {
    ASSERT_EQ(capped.status, 201) << capped.body;
    const std::string capped_id = str(parse(capped.body), "id");
    const auto listed = namesOf(getJson("/servers/" + capped_id + "/tools"));
    EXPECT_EQ(listed.size(), 2u);
    McpClient limited(port_, "/servers/" + capped_id + "/mcp");
    ASSERT_TRUE(limited.initialize());
    EXPECT_EQ(limited.toolNames(), listed);
    const std::string outside = listed.count("fixture__slow") ? "fixture__echo" : "fixture__slow";
    EXPECT_TRUE(isError(limited.callTool(outside, {{"ms", 1}, {"message", "x"}})))
        << outside << " is beyond max_tools but callable";
  }

  // A new selection changes what the MCP endpoint shows, in the open session.
  auto updated = api("PUT", "/servers/" + id, R"({"associated_tools":["fixture__slow"]})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(str(parse(updated.body), "description"), "sums") << "fields not given are kept";
  EXPECT_EQ(mcp.toolNames(), (std::set<std::string>{"fixture__slow"}));
  EXPECT_TRUE(isError(mcp.callTool("fixture__add", {{"a", 1}, {"b", 1}})));
  EXPECT_EQ(resultText(mcp.callTool("fixture__slow", {{"ms", 1}})), "done");

  // Deactivated: its endpoints are gone; reactivated, back.
  auto state = api("POST", "/servers/" + id + "/state?activate=false");
  ASSERT_EQ(state.status, 200) << state.body;
  EXPECT_EQ(parse(state.body).at("server").at("enabled"), json::value(false));
  EXPECT_TRUE(isJsonError(request(port_, "POST", "/servers/" + id + "/mcp",
                                  R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})",
                                  {{"Accept", "application/json, text/event-stream"}}),
                          404));
  EXPECT_FALSE(namesOf(getJson("/servers")).count("math"));
  EXPECT_TRUE(namesOf(getJson("/servers?include_inactive=true")).count("math"));
  ASSERT_EQ(api("POST", "/servers/" + id + "/state?activate=true").status, 200);
  McpClient again(port_, "/servers/" + id + "/mcp");
  ASSERT_TRUE(again.initialize());
  EXPECT_EQ(again.toolNames(), (std::set<std::string>{"fixture__slow"}));

  // Unknown ids, duplicate names, a flat body.
  EXPECT_TRUE(isJsonError(api("GET", "/servers/nope"), 404));
  EXPECT_TRUE(isJsonError(api("GET", "/servers/nope/tools"), 404));
  EXPECT_TRUE(isJsonError(api("PUT", "/servers/nope", R"({"name":"n"})"), 404));
  EXPECT_TRUE(isJsonError(api("DELETE", "/servers/nope"), 404));
  EXPECT_TRUE(isJsonError(request(port_, "POST", "/servers/nope/mcp",
                                  R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})",
                                  {{"Accept", "application/json, text/event-stream"}}),
                          404));
  EXPECT_TRUE(isJsonError(api("POST", "/servers", R"({"server":{"name":"math"}})"), 409));
  created = api("POST", "/servers", R"({"name":"flat","associated_tools":["fixture__echo"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string flat = str(parse(created.body), "id");
  EXPECT_EQ(namesOf(getJson("/servers/" + flat + "/tools")),
            (std::set<std::string>{"fixture__echo"}));
  EXPECT_TRUE(isJsonError(api("PUT", "/servers/" + flat, R"({"name":"math"})"), 409));

  auto removed = api("DELETE", "/servers/" + flat);
  EXPECT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(api("GET", "/servers/" + flat).status, 404);
  EXPECT_EQ(request(port_, "POST", "/servers/" + flat + "/mcp",
                    R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})",
                    {{"Accept", "application/json, text/event-stream"}})
                .status,
            404);
}

// ---- 6. prompts ------------------------------------------------------------------------------

TEST_F(RestApiTest, PromptsAreListedAndRendered) {
  const auto prompts = getJson("/prompts?limit=0");
  const auto names = namesOf(prompts);
  EXPECT_TRUE(names.count("fixture__test_simple_prompt")) << json::serialize(prompts);
  const auto with_arguments = findBy(prompts, "name", "fixture__test_prompt_with_arguments");
  ASSERT_TRUE(with_arguments.is_object()) << json::serialize(prompts);
  EXPECT_EQ(str(with_arguments, "originalName"), "test_prompt_with_arguments");
  EXPECT_EQ(namesOf(with_arguments.at("arguments")), (std::set<std::string>{"arg1", "arg2"}));
  const std::string id = str(with_arguments, "id");
  EXPECT_EQ(str(getJson("/prompts/" + id), "name"), "fixture__test_prompt_with_arguments");

  auto rendered = api("POST", "/prompts/" + id, R"({"arguments":{"arg1":"one","arg2":"two"}})");
  ASSERT_EQ(rendered.status, 200) << rendered.body;
  auto body = parse(rendered.body);
  ASSERT_TRUE(body.is_object() && body.get_object().contains("messages")) << rendered.body;
  EXPECT_NE(rendered.body.find("arg1='one', arg2='two'"), std::string::npos) << rendered.body;
  // The arguments themselves as the body, and the prompt by its exposed name.
  rendered =
      api("POST", "/prompts/fixture__test_prompt_with_arguments", R"({"arg1":"x","arg2":"y"})");
  ASSERT_EQ(rendered.status, 200) << rendered.body;
  EXPECT_NE(rendered.body.find("arg1='x', arg2='y'"), std::string::npos) << rendered.body;
  rendered = api("POST", "/prompts/fixture__test_simple_prompt");
  ASSERT_EQ(rendered.status, 200) << rendered.body;
  EXPECT_TRUE(parse(rendered.body).get_object().contains("messages")) << rendered.body;

  EXPECT_TRUE(isJsonError(api("POST", "/prompts/unknown", "{}"), 404));
  EXPECT_TRUE(
      isJsonError(api("POST", "/prompts/" + id, R"({"arguments":{"arg1":1}})"), 422, "arg1"));
  // A missing required argument is the upstream's invalid params: 422.
  EXPECT_TRUE(isJsonError(api("POST", "/prompts/" + id, R"({"arguments":{"arg1":"x"}})"), 422));
  // A deactivated prompt is not rendered.
  ASSERT_EQ(api("POST", "/prompts/" + id + "/state?activate=false").status, 200);
  EXPECT_TRUE(isJsonError(api("POST", "/prompts/" + id, R"({"arg1":"x","arg2":"y"})"), 404));
  EXPECT_FALSE(namesOf(getJson("/prompts?limit=0")).count("fixture__test_prompt_with_arguments"));
}

// ---- 7. tags ---------------------------------------------------------------------------------

TEST_F(RestApiTest, TagsListWhatCarriesThem) {
  auto server = api("POST", "/servers", R"({"server":{"name":"calc","tags":["math","x"]}})");
  ASSERT_EQ(server.status, 201) << server.body;
  const std::string server_id = str(parse(server.body), "id");
  const std::string gateway_id = str(findBy(getJson("/gateways"), "name", "fixture"), "id");
  ASSERT_FALSE(gateway_id.empty());
  auto tagged =
      request(port_, "PUT", "/gateways/" + gateway_id, R"({"tags":"math, upstream"})", {}, 12s);
  ASSERT_EQ(tagged.status, 200) << tagged.body;
  EXPECT_EQ(parse(tagged.body).at("tags"), (json::array{"math", "upstream"}));

  const auto tags = getJson("/tags");
  const auto math = findBy(tags, "name", "math");
  ASSERT_TRUE(math.is_object()) << json::serialize(tags);
  EXPECT_EQ(math.at("stats").at("servers").to_number<int>(), 1);
  EXPECT_EQ(math.at("stats").at("gateways").to_number<int>(), 1);
  EXPECT_EQ(math.at("stats").at("tools").to_number<int>(), 0);
  EXPECT_EQ(math.at("stats").at("total").to_number<int>(), 2);
  EXPECT_EQ(namesOf(math.at("entities"), "id"), (std::set<std::string>{server_id, gateway_id}));
  EXPECT_EQ(namesOf(tags), (std::set<std::string>{"math", "upstream", "x"}));
  // Only servers.
  const auto servers_only = getJson("/tags?entity_types=servers");
  EXPECT_EQ(namesOf(servers_only), (std::set<std::string>{"math", "x"}));
  // Listings filter by tag.
  EXPECT_EQ(namesOf(getJson("/servers?tags=math")), (std::set<std::string>{"calc"}));
  EXPECT_EQ(namesOf(getJson("/gateways?tags=upstream,nothing")),
            (std::set<std::string>{"fixture"}));
  EXPECT_TRUE(getJson("/gateways?tags=nothing").get_array().empty());
}

// ---- 8. export, import, version --------------------------------------------------------------

TEST_F(RestApiTest, ExportImportsIntoAnEmptyGateway) {
  ASSERT_EQ(registerExtra().status, 201);
  ASSERT_EQ(api("POST", "/servers",
                R"({"server":{"name":"math","associated_tools":["fixture__add"],"tags":["m"]}})")
                .status,
            201);
  ASSERT_EQ(api("POST", "/servers", R"({"name":"other","max_tools":3})").status, 201);
  ASSERT_EQ(api("POST", "/tools/" + toolId("fixture__echo") + "/state?activate=false").status, 200);

  auto exported = api("GET", "/export");
  ASSERT_EQ(exported.status, 200) << exported.body;
  const auto doc = parse(exported.body);
  ASSERT_TRUE(doc.is_object()) << exported.body;
  EXPECT_TRUE(namesOf(doc.at("gateways")).count("Extra Tools"));
  EXPECT_EQ(namesOf(doc.at("servers")), (std::set<std::string>{"math", "other"}));

  const std::uint16_t port2 = freePort();
  second_ = launch(dir_ / "data2", port2, dir_ / "empty.yaml");
  ASSERT_TRUE(second_);
  EXPECT_TRUE(getJson("/servers", port2).get_array().empty());
  const std::string wrapped = json::serialize(json::object{{"import_data", doc}});
  auto imported = request(port2, "POST", "/import", wrapped, {}, 12s);
  ASSERT_EQ(imported.status, 200) << imported.body;
  const auto report = parse(imported.body);
  EXPECT_EQ(str(report, "status"), "success") << imported.body;
  EXPECT_EQ(report.at("failed").to_number<int>(), 0);
  EXPECT_GE(report.at("created").to_number<int>(), 3) << imported.body; // 1+ gateways, 2 servers

  const auto servers = getJson("/servers?limit=0", port2);
  EXPECT_EQ(namesOf(servers), (std::set<std::string>{"math", "other"}));
  const auto math = findBy(servers, "name", "math");
  EXPECT_EQ(math.at("associatedTools"), (json::array{"fixture__add"}));
  EXPECT_EQ(math.at("tags"), (json::array{"m"}));
  EXPECT_EQ(findBy(servers, "name", "other").at("maxTools").to_number<int>(), 3);
  const auto extra = findBy(getJson("/gateways", port2), "name", "Extra Tools");
  ASSERT_TRUE(extra.is_object());
  EXPECT_EQ(str(extra, "slug"), "extra-tools");
  // The imported upstream is connected and discovered there.
  EXPECT_TRUE(eventually([&] {
    return namesOf(getJson("/tools?limit=0", port2)).count("extra-tools__add") > 0;
  })) << second_->err();
  // The operator's setting on a tool follows it, once its upstream has been listed there.
  EXPECT_GE(report.at("pending").to_number<int>(), 1) << imported.body;
  EXPECT_TRUE(eventually([&] {
    const auto all = getJson("/tools?limit=0&include_inactive=true", port2);
    const auto echo = findBy(all, "name", "fixture__echo");
    return echo.is_object() && echo.at("enabled") == json::value(false);
  })) << second_->err();
  EXPECT_EQ(namesOf(getJson("/tools?limit=0", port2)).count("fixture__echo"), 0u);

  // Again, skipping what exists: nothing is created.
  imported = request(port2, "POST", "/import?conflict_strategy=skip", exported.body, {}, 12s);
  ASSERT_EQ(imported.status, 200) << imported.body;
  const auto skipped = parse(imported.body);
  EXPECT_EQ(skipped.at("created").to_number<int>(), 0) << imported.body;
  EXPECT_GE(skipped.at("skipped").to_number<int>(),
            static_cast<int>(doc.at("gateways").get_array().size() + 2))
      << imported.body;
  // "fail" reports each conflict.
  imported = request(port2, "POST", "/import?conflict_strategy=fail", exported.body, {}, 12s);
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(str(parse(imported.body), "status"), "partial") << imported.body;
  EXPECT_EQ(getJson("/servers?limit=0", port2).get_array().size(), 2u);

  const auto version = getJson("/version");
  EXPECT_FALSE(str(version.at("app"), "version").empty()) << json::serialize(version);
  EXPECT_EQ(str(version.at("database"), "backend"), "sqlite");
  EXPECT_EQ(version.at("database").at("reachable"), json::value(true));
  EXPECT_GE(version.at("database").at("schemaVersion").to_number<int>(), 1);
}

// ---- 9. persistence --------------------------------------------------------------------------

TEST_F(RestApiTest, TheCatalogSurvivesARestart) {
  auto created = registerExtra();
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string gateway_id = str(parse(created.body), "id");
  created = api("POST", "/servers",
                R"({"server":{"name":"math","associated_tools":["extra-tools__add"]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string server_id = str(parse(created.body), "id");
  const std::string echo = toolId("fixture__echo");
  ASSERT_EQ(api("POST", "/tools/" + echo + "/state?activate=false").status, 200);

  stop(*gateway_);
  gateway_.reset();
  const auto restart = std::chrono::steady_clock::now();
  gateway_ = launch(dir_ / "data", port_, dir_ / "forge.yaml");
  ASSERT_TRUE(gateway_);
  ASSERT_TRUE(gateway_->waitForLine("upstream extra-tools: ready", 10s)) << gateway_->err();
  std::cout << fmt::format("[ measured ] restart to extra-tools ready: {} ms\n",
                           std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - restart)
                               .count());

  const auto gateway = getJson("/gateways/" + gateway_id);
  EXPECT_EQ(str(gateway, "name"), "Extra Tools");
  EXPECT_EQ(str(gateway, "source"), "api");
  EXPECT_EQ(str(getJson("/servers/" + server_id), "name"), "math");
  EXPECT_EQ(findBy(getJson("/gateways"), "name", "fixture").at("source"), json::value("config"));
  // Reconnected: reachable, its tools listed and callable, through the server too.
  EXPECT_TRUE(eventually(
      [&] { return getJson("/gateways/" + gateway_id).at("reachable") == json::value(true); }));
  EXPECT_TRUE(namesOf(getJson("/tools?limit=0")).count("extra-tools__add"));
  EXPECT_EQ(namesOf(getJson("/servers/" + server_id + "/tools")),
            (std::set<std::string>{"extra-tools__add"}));
  McpClient mcp(port_, "/servers/" + server_id + "/mcp");
  ASSERT_TRUE(mcp.initialize());
  EXPECT_EQ(mcp.toolNames(), (std::set<std::string>{"extra-tools__add"}));
  EXPECT_EQ(resultText(mcp.callTool("extra-tools__add", {{"a", 4}, {"b", 5}})), "9");
  // The tool's state survived too.
  EXPECT_EQ(parse(api("GET", "/tools/" + echo).body).at("enabled"), json::value(false));
  McpClient all(port_, "/mcp");
  ASSERT_TRUE(all.initialize());
  const auto names = all.toolNames();
  EXPECT_FALSE(names.count("fixture__echo"));
  EXPECT_TRUE(names.count("extra-tools__add"));
}

// Two instances on one database (replicas): what is registered, disabled, deleted or hidden
// through one is served the same way by the other within gateway.catalog_sync_interval, with
// no restart; its MCP sessions are told that their lists changed.
TEST_F(RestApiTest, ChangesThroughOneInstanceReachAnotherSharingTheDatabase) {
  const std::uint16_t port2 = freePort();
  second_ = launch(dir_ / "data", port2, dir_ / "forge.yaml");
  ASSERT_TRUE(second_);
  McpClient other(port2, "/mcp");
  ASSERT_TRUE(other.initialize()) << other.status();
  ASSERT_TRUE(eventually([&] { return other.toolNames().count("fixture__add") > 0; }));
  auto otherHas = [&](const std::string& tool) { return other.toolNames().count(tool) > 0; };

  // Registered through the first: the second connects it and serves its tools.
  auto created = registerExtra();
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = str(parse(created.body), "id");
  ASSERT_TRUE(eventually([&] { return otherHas("extra-tools__add"); }, 10s)) << second_->err();
  EXPECT_TRUE(
      second_->waitForLine("upstream extra-tools was added or changed by another instance", 1s));
  EXPECT_EQ(resultText(other.callTool("extra-tools__add", {{"a", 2}, {"b", 3}})), "5");

  // A tool hidden through the first is hidden by the second, and shown again.
  const std::string echo = toolId("fixture__echo");
  ASSERT_EQ(api("POST", "/tools/" + echo + "/state?activate=false").status, 200);
  EXPECT_TRUE(eventually([&] { return !otherHas("fixture__echo"); }, 10s));
  EXPECT_TRUE(isError(other.callTool("fixture__echo", {{"message", "hidden"}})));
  ASSERT_EQ(api("POST", "/tools/" + echo + "/state?activate=true").status, 200);
  EXPECT_TRUE(eventually([&] { return otherHas("fixture__echo"); }, 10s));

  // Disabled through the first: the second stops it and no longer lists or calls it.
  auto disabled = api("POST", "/gateways/" + id + "/state?activate=false");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_TRUE(eventually([&] { return !otherHas("extra-tools__add"); }, 10s));
  EXPECT_TRUE(second_->waitForLine("upstream extra-tools was disabled or deleted by another", 1s));
  EXPECT_TRUE(isError(other.callTool("extra-tools__add", {{"a", 1}, {"b", 1}})));
  McpClient fresh(port2, "/mcp");
  ASSERT_TRUE(fresh.initialize());
  EXPECT_FALSE(fresh.toolNames().count("extra-tools__add"));

  // Enabled again, then deleted: back, then gone for good; the configured upstream stays.
  ASSERT_EQ(api("POST", "/gateways/" + id + "/state?activate=true").status, 200);
  EXPECT_TRUE(eventually([&] { return otherHas("extra-tools__add"); }, 10s));
  ASSERT_EQ(api("DELETE", "/gateways/" + id).status, 200);
  EXPECT_TRUE(eventually([&] { return !otherHas("extra-tools__add"); }, 10s));
  EXPECT_EQ(request(port2, "GET", "/gateways/" + id).status, 404);
  EXPECT_EQ(resultText(other.callTool("fixture__add", {{"a", 1}, {"b", 2}})), "3");
}

// ---- 10. the OpenAPI document ------------------------------------------------------------------

TEST_F(RestApiTest, OpenApiDocumentsEveryServedRouteAndServesEveryDocumentedOne) {
  const auto doc = getJson("/openapi.json");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("openapi"), json::value("3.0.3"));
  const auto& paths = doc.at("paths").as_object();

  // What the router answers for paths and methods it does not have.
  auto unknown = api("GET", "/no/such/path");
  ASSERT_EQ(unknown.status, 404);
  ASSERT_EQ(str(parse(unknown.body), "detail"), "no route for /no/such/path") << unknown.body;
  ASSERT_EQ(api("PATCH", "/gateways").status, 405);

  std::set<std::pair<std::string, std::string>> documented; // (METHOD, path)
  for (const auto& [path_key, operations] : paths) {
    const std::string path(path_key);
    for (const auto& [method_key, operation] : operations.as_object()) {
      std::string method(method_key);
      for (auto& c : method)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(method, path);
      EXPECT_TRUE(operation.as_object().contains("responses")) << method << " " << path;

      std::string concrete = path;
      for (auto open = concrete.find('{'); open != std::string::npos; open = concrete.find('{'))
        concrete.replace(open, concrete.find('}', open) - open + 1, "does-not-exist");
      // Raw: some of these are event streams that never end; their head is enough.
      RawConnection connection;
      ASSERT_TRUE(connection.connect(port_));
      connection.send(fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                  "Accept: application/json, text/event-stream\r\n"
                                  "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n",
                                  method, concrete));
      auto head = connection.readHead(5s);
      ASSERT_TRUE(head) << method << " " << concrete << ": no answer";
      std::string body;
      if (head->header("content-type").find("text/event-stream") == std::string::npos)
        body = connection.readSome(500ms);
      connection.close();
      EXPECT_NE(head->status, 405) << method << " " << concrete << ": " << body;
      EXPECT_LT(head->status, 500) << method << " " << concrete << ": " << body;
      EXPECT_EQ(body.find("no route for"), std::string::npos)
          << method << " " << concrete << " is documented but not routed: " << body;
    }
  }

  const std::set<std::pair<std::string, std::string>> served{
      {"GET", "/gateways"},
      {"POST", "/gateways"},
      {"GET", "/gateways/{id}"},
      {"PUT", "/gateways/{id}"},
      {"DELETE", "/gateways/{id}"},
      {"POST", "/gateways/{id}/state"},
      {"POST", "/gateways/{id}/tools/refresh"},
      {"GET", "/servers"},
      {"POST", "/servers"},
      {"GET", "/servers/{id}"},
      {"PUT", "/servers/{id}"},
      {"DELETE", "/servers/{id}"},
      {"POST", "/servers/{id}/state"},
      {"GET", "/servers/{id}/tools"},
      {"GET", "/servers/{id}/resources"},
      {"GET", "/servers/{id}/prompts"},
      {"GET", "/tools"},
      {"GET", "/tools/{id}"},
      {"POST", "/tools/{id}/state"},
      {"GET", "/resources"},
      {"GET", "/resources/{id}"},
      {"POST", "/resources/{id}/state"},
      {"GET", "/prompts"},
      {"GET", "/prompts/{id}"},
      {"POST", "/prompts/{id}"},
      {"POST", "/prompts/{id}/state"},
      {"GET", "/tags"},
      {"GET", "/export"},
      {"POST", "/import"},
      {"GET", "/version"},
      {"GET", "/health"},
      {"GET", "/ready"},
      {"GET", "/openapi.json"},
      {"GET", "/metrics"},
      {"GET", "/admin/log-level"},
      {"PUT", "/admin/log-level"},
      {"POST", "/admin/tls/reload"},
      {"POST", "/mcp"},
      {"GET", "/mcp"},
      {"DELETE", "/mcp"},
      {"GET", "/sse"},
      {"POST", "/message"},
      {"POST", "/rpc"},
      {"POST", "/servers/{id}/mcp"},
      {"GET", "/servers/{id}/mcp"},
      {"DELETE", "/servers/{id}/mcp"},
      {"GET", "/servers/{id}/sse"},
      {"POST", "/servers/{id}/message"},
      {"POST", "/upstreams/{name}/mcp"},
      {"GET", "/upstreams/{name}/mcp"},
      {"DELETE", "/upstreams/{name}/mcp"},
      {"GET", "/.well-known/oauth-protected-resource"},
      {"GET", "/.well-known/oauth-protected-resource/{path}"},
      {"POST", "/auth/email/login"},
      {"GET", "/auth/me"},
      {"POST", "/auth/logout"},
      {"GET", "/users"},
      {"POST", "/users"},
      {"GET", "/users/{id}"},
      {"PUT", "/users/{id}"},
      {"DELETE", "/users/{id}"},
      {"GET", "/teams"},
      {"POST", "/teams"},
      {"GET", "/teams/{id}"},
      {"DELETE", "/teams/{id}"},
      {"GET", "/teams/{id}/members"},
      {"POST", "/teams/{id}/members"},
      {"DELETE", "/teams/{id}/members/{user_id}"},
      {"GET", "/tokens"},
      {"POST", "/tokens"},
      {"GET", "/tokens/{id}"},
      {"DELETE", "/tokens/{id}"},
      {"POST", "/tokens/revoke"},
      {"GET", "/audit"},
  };
  for (const auto& [method, path] : served)
    EXPECT_TRUE(documented.count({method, path})) << method << " " << path << " is not documented";
  // Everything documented is in the list above (a new route gets a test here).
  for (const auto& [method, path] : documented)
    EXPECT_TRUE(served.count({method, path}))
        << method << " " << path << " is not in the test's list";
}

} // namespace
} // namespace forge::test
