// The real `forge gateway` with the real fixture as a stdio upstream, spoken to over raw HTTP:
// the parts of MCP that the SDK client does not let a test observe directly.
#include "support/child_process.h"
#include "support/raw_http_client.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

class GatewayMcpTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("forge-gwmcp-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "forge.yaml")
        << fmt::format("upstreams:\n  - name: fixture\n    command: {}\n    args: [\"--stdio\"]\n  "
                       "  max_concurrency: 1\n",
                       FORGE_FIXTURE_BINARY);
    port_ = freePort();
    gateway_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        FORGE_BINARY, "gateway", "--config", (dir_ / "forge.yaml").string(), "--server-port",
        std::to_string(port_), "--data-dir", (dir_ / "data").string()});
    ASSERT_TRUE(gateway_->waitForLine("upstream fixture: ready", 10s)) << gateway_->err();
  }
  void TearDown() override {
    gateway_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::string post(const std::string& body, const std::string& session) {
    std::string request =
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n";
    if (!session.empty()) request += "Mcp-Session-Id: " + session + "\r\n";
    request += fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
    return request;
  }

  std::string initialize() {
    auto reply = httpRequest(
        port_, "POST", "/mcp",
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}})",
        {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}});
    EXPECT_TRUE(reply);
    return reply ? reply->header("mcp-session-id") : "";
  }

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
};

TEST_F(GatewayMcpTest, UpstreamWithdrawsItsRequestAndTheClientIsTold) {
  const std::string session = initialize();
  RawConnection call;
  ASSERT_TRUE(call.connect(port_));
  call.send(post(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"fixture__withdrawn_sampling","arguments":{"ms":300}}})",
      session));
  auto head = call.readHead(5s);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-type"), "text/event-stream");
  // The client never answers the sampling request: the fixture withdraws it.
  std::string events;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (events.find("withdrawn") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    events += call.readSome(200ms);
  }
  const auto ask = events.find("sampling/createMessage");
  const auto cancelled = events.find("notifications/cancelled");
  const auto result = events.find("\"withdrawn\"");
  ASSERT_NE(ask, std::string::npos) << events;
  ASSERT_NE(cancelled, std::string::npos) << events;
  ASSERT_NE(result, std::string::npos) << events;
  EXPECT_LT(ask, cancelled);
  EXPECT_LT(cancelled, result);
  // The cancellation names the id the client saw on the request.
  const auto id_at = events.rfind("\"id\":", ask);
  const std::string client_id =
      events.substr(id_at + 5, events.find_first_of(",}", id_at) - id_at - 5);
  EXPECT_NE(events.find("\"requestId\":" + client_id, cancelled), std::string::npos) << events;
}

TEST_F(GatewayMcpTest, ClientCancellationReachesTheUpstream) {
  const std::string session = initialize();
  RawConnection call;
  ASSERT_TRUE(call.connect(port_));
  call.send(post(
      R"({"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"fixture__slow","arguments":{"ms":30000}}})",
      session));
  std::this_thread::sleep_for(200ms);
  auto cancel = httpRequest(
      port_, "POST", "/mcp",
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"user"}})",
      {{"Content-Type", "application/json"},
       {"Accept", "application/json, text/event-stream"},
       {"Mcp-Session-Id", session}});
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 202);
  // The POST ends without an answer, and the upstream is free again at once.
  auto ended = call.readReply(3s);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, 202);
  auto next = httpRequest(
      port_, "POST", "/rpc",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture__add","arguments":{"a":1,"b":2}}})",
      {{"Content-Type", "application/json"}});
  ASSERT_TRUE(next);
  EXPECT_NE(next->body.find("\"text\":\"3\""), std::string::npos) << next->body;
}

TEST_F(GatewayMcpTest, ListChangesAndResourceUpdatesReachTheGetStream) {
  const std::string session = initialize();
  RawConnection stream;
  ASSERT_TRUE(stream.connect(port_));
  stream.send("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
              "Mcp-Session-Id: " +
              session + "\r\n\r\n");
  ASSERT_TRUE(stream.readHead(5s));
  auto call = [&](const std::string& body) {
    return httpRequest(port_, "POST", "/mcp", body,
                       {{"Content-Type", "application/json"},
                        {"Accept", "application/json, text/event-stream"},
                        {"Mcp-Session-Id", session}});
  };
  // The upstream announces a tools change: the client hears of it on its GET stream.
  auto reply = call(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture__trigger_list_changed","arguments":{}}})");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  std::string events = stream.readSome(500ms);
  EXPECT_NE(events.find("notifications/tools/list_changed"), std::string::npos) << events;
  // A subscribed resource's update is relayed; an unsubscribed one is not.
  reply = call(
      R"({"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"test://static-text"}})");
  ASSERT_TRUE(reply);
  EXPECT_EQ(boost::json::parse(reply->body).at("result"), boost::json::object{});
  call(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fixture__trigger_resource_update","arguments":{"uri":"test://static-text"}}})");
  events = stream.readSome(500ms);
  EXPECT_NE(events.find("notifications/resources/updated"), std::string::npos) << events;
  EXPECT_NE(events.find("test://static-text"), std::string::npos) << events;
  call(
      R"({"jsonrpc":"2.0","id":4,"method":"resources/unsubscribe","params":{"uri":"test://static-text"}})");
  call(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"fixture__trigger_resource_update","arguments":{"uri":"test://static-text"}}})");
  events = stream.readSome(500ms);
  EXPECT_EQ(events.find("notifications/resources/updated"), std::string::npos) << events;
}

TEST_F(GatewayMcpTest, BadInputGetsClearErrors) {
  const std::string session = initialize();
  auto rpc = [&](const std::string& body) {
    return httpRequest(port_, "POST", "/rpc", body, {{"Content-Type", "application/json"}});
  };
  auto reply = rpc("{nope");
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(boost::json::parse(reply->body).at("error").at("code"), -32700);
  reply = rpc(R"({"jsonrpc":"2.0","id":1,"params":{}})");
  EXPECT_EQ(boost::json::parse(reply->body).at("error").at("code"), -32600);
  reply = rpc(R"({"jsonrpc":"2.0","id":1,"method":"tools/frobnicate"})");
  EXPECT_EQ(boost::json::parse(reply->body).at("error").at("code"), -32601);
  reply = rpc(
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fixture__nope","arguments":{}}})");
  const auto error = boost::json::parse(reply->body).at("error");
  EXPECT_EQ(error.at("code"), -32602);
  EXPECT_NE(std::string(error.at("message").as_string()).find("fixture__nope"), std::string::npos);
  reply = rpc(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nobody__nope"}})");
  EXPECT_NE(reply->body.find("nobody__nope"), std::string::npos) << reply->body;
  // An oversized body is refused from its Content-Length, before it is sent.
  RawConnection big;
  ASSERT_TRUE(big.connect(port_));
  big.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Accept: application/json, text/event-stream\r\nMcp-Session-Id: " +
           session + "\r\nContent-Length: 5242880\r\n\r\n");
  reply = big.readReply(5s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
}

// Session ids are sealed with the data directory's secret: another gateway process sharing it
// (a second replica on the same port, or the one that replaced a restarted replica) takes over a
// session it never saw; a session stays bound to its endpoint, and a forged id is unknown.
TEST_F(GatewayMcpTest, AnotherProcessSharingTheSecretsTakesOverASession) {
  const std::string session = initialize();
  ASSERT_GT(session.size(), 100u) << "not a sealed id: " << session;
  const auto other_port = freePort();
  ChildProcess other({FORGE_BINARY, "gateway", "--config", (dir_ / "forge.yaml").string(),
                      "--server-port", std::to_string(other_port), "--data-dir",
                      (dir_ / "data").string()});
  ASSERT_TRUE(other.waitForLine("upstream fixture: ready", 10s)) << other.err();
  const std::string call =
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"fixture__echo","arguments":{"message":"moved"}}})";
  auto on = [&](std::uint16_t port, const std::string& path, const std::string& id) {
    return httpRequest(port, "POST", path, call,
                       {{"Content-Type", "application/json"},
                        {"Accept", "application/json, text/event-stream"},
                        {"Mcp-Session-Id", id}});
  };
  auto reply = on(other_port, "/mcp", session);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_NE(reply->body.find("moved"), std::string::npos) << reply->body;
  EXPECT_EQ(reply->body.find("\"error\""), std::string::npos) << reply->body;
  // And again on the first process: both serve the one session.
  reply = on(port_, "/mcp", session);
  EXPECT_NE(reply->body.find("moved"), std::string::npos) << reply->body;

  EXPECT_EQ(on(other_port, "/upstreams/fixture/mcp", session)->status, 404);
  std::string forged = session;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(on(other_port, "/mcp", forged)->status, 404);
  EXPECT_EQ(on(other_port, "/mcp", "not-a-session")->status, 404);
  // A session the client ended stays ended where it was ended.
  auto ended = httpRequest(other_port, "DELETE", "/mcp", "", {{"Mcp-Session-Id", session}});
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, 204);
  EXPECT_EQ(on(other_port, "/mcp", session)->status, 404);
}

} // namespace
} // namespace forge::test
