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

TEST(GatewayBodyTest, AcceptsContextForgeOAuthInEitherCase) {
  auto snake = gatewayFromBody(object(R"({"name":"a","url":"http://h/mcp","auth_type":"oauth",
                 "oauth_config":{"grant_type":"client_credentials","client_id":"id",
                                 "client_secret":"s3cret-value","token_url":"http://idp/token",
                                 "scopes":["read","write"],"audience":"api"}})"),
                               nullptr);
  ASSERT_TRUE(snake.ok()) << snake.error().message;
  EXPECT_EQ(snake->oauth_token_url, "http://idp/token");
  EXPECT_EQ(snake->oauth_client_id, "id");
  EXPECT_EQ(snake->oauth_client_secret, "s3cret-value");
  EXPECT_EQ(snake->oauth_scope, "read write");
  EXPECT_EQ(snake->oauth_audience, "api");
  auto camel = gatewayFromBody(object(R"({"name":"a","url":"http://h/mcp","authType":"OAuth",
                 "oauthConfig":{"grantType":"client_credentials","clientId":"id",
                                "clientSecret":"x","tokenUrl":"http://idp/token","scope":"r w"}})"),
                               nullptr);
  ASSERT_TRUE(camel.ok()) << camel.error().message;
  EXPECT_EQ(camel->oauth_client_secret, "x");
  EXPECT_EQ(camel->oauth_scope, "r w");
  EXPECT_EQ(camel->oauth_audience, "");
}

TEST(GatewayBodyTest, OAuthErrorsNameTheField) {
  auto expect = [](const char* oauth, const char* field) {
    const std::string body = std::string(R"({"name":"a","url":"http://h/mcp",)") + oauth + "}";
    auto result = gatewayFromBody(object(body.c_str()), nullptr);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error().code, core::Errc::kUnprocessable);
    EXPECT_EQ(result.error().message.rfind(field, 0), 0u) << result.error().message;
    EXPECT_EQ(result.error().message.find("s3cret"), std::string::npos) << result.error().message;
  };
  expect(R"("auth_type":"oauth")", "oauth_config");
  expect(R"("auth_type":"oauth","oauth_config":"x")", "oauth_config");
  expect(R"("auth_type":"oauth","oauth_config":{"client_id":"i","client_secret":"s3cret"})",
         "oauth_config.token_url");
  expect(R"("auth_type":"oauth","oauth_config":{"token_url":"ftp://x","client_id":"i",
            "client_secret":"s3cret"})",
         "oauth_config.token_url");
  expect(R"("auth_type":"oauth","oauth_config":{"token_url":"http://t","client_secret":"s3cret"})",
         "oauth_config.client_id");
  expect(R"("auth_type":"oauth","oauth_config":{"token_url":"http://t","client_id":"i"})",
         "oauth_config.client_secret");
  expect(R"("auth_type":"oauth","oauth_config":{"grant_type":"authorization_code",
            "token_url":"http://t","client_id":"i","client_secret":"s3cret"})",
         "oauth_config.grant_type");
  expect(R"("oauth_config":{"token_url":"http://t","client_id":5,"client_secret":"s3cret"})",
         "oauth_config.client_id");
  expect(R"("auth_type":"basic")", "auth_type");
  expect(R"("command":"run","transport":"STDIO","auth_type":"oauth","oauth_config":{
            "token_url":"http://t","client_id":"i","client_secret":"s3cret"})",
         "auth_type");
}

TEST(GatewayBodyTest, OAuthUpdatesKeepTheSecretUnlessGivenAndNoneRemovesIt) {
  storage::GatewayRecord base;
  base.name = "keep";
  base.transport = "streamable-http";
  base.url = "http://h/mcp";
  base.oauth_token_url = "http://idp/token";
  base.oauth_client_id = "id";
  base.oauth_client_secret = "stored-secret";
  // What a GET shows (the secret masked) sent back with one change.
  auto shown = gatewayJson(base);
  auto& config = shown["oauthConfig"].as_object();
  config["scopes"] = json::array{"extra"};
  auto merged = gatewayFromBody(
      json::object{{"auth_type", shown["authType"]}, {"oauth_config", config}}, &base);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->oauth_client_secret, "stored-secret");
  EXPECT_EQ(merged->oauth_scope, "extra");
  auto untouched = gatewayFromBody(object(R"({"description":"d"})"), &base);
  ASSERT_TRUE(untouched.ok());
  EXPECT_EQ(untouched->oauth_client_secret, "stored-secret");
  auto rotated = gatewayFromBody(object(R"({"oauth_config":{"client_secret":"new-one"}})"), &base);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_EQ(rotated->oauth_client_secret, "new-one");
  auto removed = gatewayFromBody(object(R"({"auth_type":"none"})"), &base);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->oauth_token_url, "");
  EXPECT_EQ(removed->oauth_client_secret, "");
}

TEST(GatewayJsonTest, ShowsOAuthWithoutTheSecret) {
  storage::GatewayRecord g;
  g.name = "x";
  g.oauth_token_url = "http://idp/token";
  g.oauth_client_id = "client-1";
  g.oauth_client_secret = "very-secret-value";
  g.oauth_scope = "a b";
  const auto out = gatewayJson(g);
  const std::string text = json::serialize(out);
  EXPECT_EQ(text.find("very-secret-value"), std::string::npos) << text;
  EXPECT_EQ(out.at("authType"), "oauth");
  const auto& config = out.at("oauthConfig").as_object();
  EXPECT_EQ(config.at("grant_type"), "client_credentials");
  EXPECT_EQ(config.at("token_url"), "http://idp/token");
  EXPECT_EQ(config.at("client_id"), "client-1");
  EXPECT_EQ(config.at("client_secret"), "********");
  EXPECT_EQ(config.at("scopes"), (json::array{"a", "b"}));
  storage::GatewayRecord plain;
  plain.name = "y";
  const auto none = gatewayJson(plain);
  EXPECT_TRUE(none.at("authType").is_null());
  EXPECT_TRUE(none.at("oauthConfig").is_null());
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
  // Environment (and header) values may be credentials: named, never exported in clear.
  EXPECT_EQ(doc["gateways"].as_array()[0].as_object().at("env").as_object().at("K"), "********");
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
