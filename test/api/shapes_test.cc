#include "api/shapes.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace forge::api {
namespace {

json::object object(const char* text) { return json::parse(text).as_object(); }

TEST(BodyTest, RejectsWhatIsNotAJsonObject) {
  EXPECT_EQ(parseBody("").error().code, core::Errc::kBadRequest);
  EXPECT_EQ(parseBody("{").error().code, core::Errc::kBadRequest);
  EXPECT_EQ(parseBody("[1]").error().code, core::Errc::kBadRequest);
  EXPECT_TRUE(parseBody(R"({"a":1})").ok());
}

TEST(GatewayBodyTest, InfersTheTransportLikeContextForge) {
  auto sse = gatewayFromBody(object(R"({"name":"a","url":"http://h:1/sse"})"), nullptr);
  ASSERT_TRUE(sse.ok()) << sse.error().message;
  EXPECT_EQ(sse->transport, "sse");
  auto http = gatewayFromBody(object(R"({"name":"a","url":"http://h:1/mcp"})"), nullptr);
  EXPECT_EQ(http->transport, "streamable-http");
  auto stdio = gatewayFromBody(object(R"({"name":"a","command":"npx","args":"-y, pkg"})"), nullptr);
  ASSERT_TRUE(stdio.ok());
  EXPECT_EQ(stdio->transport, "stdio");
  EXPECT_EQ(stdio->args, (std::vector<std::string>{"-y", "pkg"}));
  auto explicit_sse = gatewayFromBody(
      object(R"({"name":"Big One","url":"http://h/x","transport":"SSE"})"), nullptr);
  EXPECT_EQ(explicit_sse->transport, "sse");
  EXPECT_EQ(explicit_sse->slug, "big-one");
}

TEST(GatewayBodyTest, ErrorsNameTheField) {
  auto expect = [](const char* body, const char* field) {
    auto result = gatewayFromBody(object(body), nullptr);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error().code, core::Errc::kUnprocessable);
    EXPECT_EQ(result.error().message.rfind(field, 0), 0u) << result.error().message;
  };
  expect(R"({})", "name");
  expect(R"({"name":""})", "name");
  expect(R"({"name":5})", "name");
  expect(R"({"name":"a","url":"ftp://x"})", "url");
  expect(R"({"name":"a"})", "url");
  expect(R"({"name":"a","transport":"carrier-pigeon","url":"http://x"})", "transport");
  expect(R"({"name":"a","transport":"STDIO"})", "command");
  expect(R"({"name":"a","url":"http://x","headers":{"k":1}})", "headers.k");
  expect(R"({"name":"a","url":"http://x","call_timeout_ms":0})", "call_timeout_ms");
  expect(R"({"name":"a","url":"http://x","session_mode":"weird"})", "session_mode");
  expect(R"({"name":"a","url":"http://x","enabled":"yes"})", "enabled");
}

TEST(GatewayBodyTest, UpdateMergesOnlyTheFieldsGiven) {
  storage::GatewayRecord base;
  base.id = "id1";
  base.name = "keep";
  base.slug = "keep";
  base.transport = "streamable-http";
  base.url = "http://h/mcp";
  base.tags = {"t"};
  auto merged = gatewayFromBody(object(R"({"description":"new"})"), &base);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->id, "id1");
  EXPECT_EQ(merged->description, "new");
  EXPECT_EQ(merged->url, "http://h/mcp");
  EXPECT_EQ(merged->tags, std::vector<std::string>{"t"});
}

TEST(ServerBodyTest, AcceptsWrappedAndFlatBodiesAndEveryMemberForm) {
  auto wrapped = serverFromBody(
      object(R"({"server":{"name":"s","associated_tools":["a","b"],"associatedPrompts":"p1, p2",
                 "max_tools":60}})"),
      nullptr);
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().message;
  EXPECT_EQ(wrapped->members.size(), 4u);
  EXPECT_EQ(wrapped->max_tools, 60);
  auto flat = serverFromBody(object(R"({"name":"s","associated_tools":[{"id":"x"}]})"), nullptr);
  ASSERT_TRUE(flat.ok());
  ASSERT_EQ(flat->members.size(), 1u);
  EXPECT_EQ(flat->members[0].selector, "x");
  auto bad = serverFromBody(object(R"({"server":{"name":"s","associated_tools":[1]}})"), nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("associated_tools", 0), 0u);
  auto negative = serverFromBody(object(R"({"name":"s","max_tools":-1})"), nullptr);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().message.rfind("max_tools", 0), 0u);
}

TEST(ServerBodyTest, UpdateReplacesOnlyTheKindsGiven) {
  storage::ServerRecord base;
  base.name = "s";
  base.members = {{storage::MemberKind::kTool, "t1"}, {storage::MemberKind::kPrompt, "p1"}};
  auto merged = serverFromBody(object(R"({"associated_tools":["t2"]})"), &base);
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->members.size(), 2u);
  EXPECT_EQ(merged->members[0].selector, "p1");
  EXPECT_EQ(merged->members[1].selector, "t2");
}

TEST(GatewayJsonTest, NeverShowsHeaderOrEnvironmentValues) {
  storage::GatewayRecord g;
  g.name = "x";
  g.headers = {{"Authorization", "Bearer top-secret"}};
  g.env = {{"API_KEY", "hunter2"}};
  const std::string text = json::serialize(gatewayJson(g));
  EXPECT_EQ(text.find("top-secret"), std::string::npos);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_NE(text.find("Authorization"), std::string::npos);
}

TEST(ExportTest, CarriesEverythingNeededToRebuild) {
  storage::GatewayRecord g;
  g.id = "g1";
  g.name = "gw";
  g.transport = "stdio";
  g.command = "run";
  g.env = {{"K", "V"}};
  storage::ServerRecord s;
  s.name = "srv";
  s.members = {{storage::MemberKind::kTool, "gw__*"}};
  storage::ToolRecord off;
  off.gateway_id = "g1";
  off.original_name = "echo";
  off.enabled = false;
  storage::ToolRecord plain = off;
  plain.original_name = "add";
  plain.enabled = true;
  auto doc = exportJson({g}, {s}, {off, plain});
  EXPECT_EQ(doc["gateways"].as_array().size(), 1u);
  EXPECT_EQ(doc["gateways"].as_array()[0].as_object().at("env").as_object().at("K"), "V");
  EXPECT_EQ(doc["servers"].as_array()[0].as_object().at("associated_tools").as_array()[0], "gw__*");
  ASSERT_EQ(doc["tools"].as_array().size(), 1u); // only tools with settings of their own
  EXPECT_EQ(doc["tools"].as_array()[0].as_object().at("gateway"), "gw");
  // The export is accepted back as a gateway body.
  auto back = gatewayFromBody(doc["gateways"].as_array()[0].as_object(), nullptr);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->command, "run");
}

} // namespace
} // namespace forge::api
