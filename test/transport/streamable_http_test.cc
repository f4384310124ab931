#include "transport/streamable_http.h"

#include "core/log.h"
#include "mocks/mcp/scripted_app.h"
#include "net/http_server.h"
#include "support/raw_http_client.h"
#include "transport/legacy_sse.h"
#include "transport/rpc_endpoint.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace forge::transport {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kAccept = "application/json, text/event-stream";

// A gateway-shaped server: the scripted app behind /mcp, /sse + /message and /rpc.
class TransportTest : public ::testing::Test {
protected:
  void SetUp() override {
    log::configure(log::Level::kWarn, log::Format::kText);
    HttpTransportOptions options;
    options.ask_timeout = 2s;
    streamable_ = std::make_unique<StreamableHttp>(loop_, app_, options);
    streamable_->addRoutes(router_, "/mcp");
    sse_ = std::make_unique<LegacySse>(loop_, app_, options);
    sse_->addRoutes(router_, "/sse", "/message");
    rpc_ = std::make_unique<RpcEndpoint>(loop_, app_, options);
    rpc_->addRoutes(router_, "/rpc");
    net::HttpServerOptions http;
    http.port = 0;
    http.access_log = false;
    server_ = net::makeHttpServer(
        loop_, http, [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          router_.dispatch(r, w);
        });
    ASSERT_TRUE(server_->listen().ok());
    port_ = server_->port();
    thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    streamable_->closeAll();
    sse_->closeAll();
    loop_.stop();
    thread_.join();
  }

  std::map<std::string, std::string> headers(const std::string& session = {}) {
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}, {"Accept", kAccept}};
    if (!session.empty()) h["Mcp-Session-Id"] = session;
    return h;
  }

  std::optional<test::HttpReply> post(const std::string& body, const std::string& session = {}) {
    return test::httpRequest(port_, "POST", "/mcp", body, headers(session));
  }

  // Initializes a session and returns its id.
  std::string initialize(const std::string& version = "2025-11-25") {
    auto reply =
        post(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")" +
             version + R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    return reply->header("mcp-session-id");
  }

  static json::value errorOf(const test::HttpReply& reply) {
    return json::parse(reply.body).at("error");
  }

  std::shared_ptr<test::ScriptedApp> app_ = std::make_shared<test::ScriptedApp>();
  net::EventLoop loop_{2};
  net::Router router_;
  std::unique_ptr<StreamableHttp> streamable_;
  std::unique_ptr<LegacySse> sse_;
  std::unique_ptr<RpcEndpoint> rpc_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(TransportTest, InitializeCreatesASessionAndNegotiatesTheVersion) {
  auto reply = post(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->header("content-type"), "application/json");
  const std::string session = reply->header("mcp-session-id");
  EXPECT_EQ(session.size(), 32u);
  const auto result = json::parse(reply->body).at("result");
  EXPECT_EQ(result.at("protocolVersion"), "2025-06-18");
  EXPECT_EQ(result.at("serverInfo").at("name"), "scripted");
  EXPECT_EQ(streamable_->sessionCount(), 1u);

  auto unknown = post(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"1999-01-01"}})");
  EXPECT_EQ(json::parse(unknown->body).at("result").at("protocolVersion"), "2025-11-25");
}

TEST_F(TransportTest, NotificationsAreAcceptedWith202) {
  const auto session = initialize();
  auto reply = post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", session);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 202);
  EXPECT_TRUE(reply->body.empty());
  std::lock_guard lock(app_->state->mutex);
  EXPECT_EQ(app_->state->notifications, std::vector<std::string>{"notifications/initialized"});
}

TEST_F(TransportTest, PlainRequestsAreAnsweredWithJson) {
  const auto session = initialize();
  auto reply = post(R"({"jsonrpc":"2.0","id":5,"method":"echo","params":{"x":1}})", session);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->header("content-type"), "application/json");
  EXPECT_EQ(json::parse(reply->body).at("result").at("x"), 1);
  auto ping = post(R"({"jsonrpc":"2.0","id":6,"method":"ping"})", session);
  EXPECT_EQ(json::parse(ping->body).at("result"), json::object{});
}

TEST_F(TransportTest, RelatedMessagesTurnTheAnswerIntoAnSseStreamInOrder) {
  const auto session = initialize();
  auto reply = post(R"({"jsonrpc":"2.0","id":7,"method":"notify_then_reply"})", session);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->header("content-type"), "text/event-stream");
  const auto notification = reply->body.find("notifications/message");
  const auto result = reply->body.find("\"id\":7");
  ASSERT_NE(notification, std::string::npos) << reply->body;
  ASSERT_NE(result, std::string::npos);
  EXPECT_LT(notification, result);
}

TEST_F(TransportTest, ServerToClientRequestsRoundTrip) {
  const auto session = initialize();
  test::RawConnection call;
  ASSERT_TRUE(call.connect(port_));
  const std::string body = R"({"jsonrpc":"2.0","id":9,"method":"ask"})";
  call.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: " +
            std::string(kAccept) + "\r\nMcp-Session-Id: " + session +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto head = call.readHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-type"), "text/event-stream");
  const std::string first = call.readSome(300ms);
  ASSERT_NE(first.find("sampling/createMessage"), std::string::npos) << first;
  const auto id_at = first.find("\"id\":");
  const std::string ask_id = first.substr(id_at + 5, first.find(',', id_at) - id_at - 5);
  auto answer = post(R"({"jsonrpc":"2.0","id":)" + ask_id +
                         R"(,"result":{"role":"assistant","content":{"type":"text","text":"yo"}}})",
                     session);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 202);
  const std::string rest = call.readSome(500ms);
  EXPECT_NE(rest.find(R"("text":"yo")"), std::string::npos) << rest;
  EXPECT_NE(rest.find("\"id\":9"), std::string::npos);
}

TEST_F(TransportTest, CancellationReachesTheApplication) {
  const auto session = initialize();
  test::RawConnection call;
  ASSERT_TRUE(call.connect(port_));
  const std::string body = R"({"jsonrpc":"2.0","id":"w1","method":"wait"})";
  call.send("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: " +
            std::string(kAccept) + "\r\nMcp-Session-Id: " + session +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  std::this_thread::sleep_for(100ms);
  auto cancel = post(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w1","reason":"user"}})",
      session);
  EXPECT_EQ(cancel->status, 202);
  auto reply = call.readReply(2s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 202) << "a cancelled request ends its POST without an answer";
  std::lock_guard lock(app_->state->mutex);
  EXPECT_EQ(app_->state->cancel_reason, "user");
}

TEST_F(TransportTest, GetStreamCarriesUnrelatedMessagesAndIsSingle) {
  const auto session = initialize();
  test::RawConnection stream;
  ASSERT_TRUE(stream.connect(port_));
  stream.send(
      "GET /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nMcp-Session-Id: " +
      session + "\r\n\r\n");
  auto head = stream.readHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  auto second = test::httpRequest(port_, "GET", "/mcp", {},
                                  {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}});
  EXPECT_EQ(second->status, 409);
  post(R"({"jsonrpc":"2.0","id":1,"method":"broadcast"})", session);
  const std::string events = stream.readSome(300ms);
  EXPECT_NE(events.find("notifications/tools/list_changed"), std::string::npos) << events;
}

TEST_F(TransportTest, DeleteEndsTheSession) {
  const auto session = initialize();
  auto deleted = test::httpRequest(port_, "DELETE", "/mcp", {}, {{"Mcp-Session-Id", session}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204);
  EXPECT_EQ(app_->state->closed.load(), 1);
  auto after = post(R"({"jsonrpc":"2.0","id":1,"method":"echo"})", session);
  EXPECT_EQ(after->status, 404);
}

TEST_F(TransportTest, HttpErrorsFollowTheSpecification) {
  const auto session = initialize();
  // No session id: 400; unknown session: 404.
  auto reply = post(R"({"jsonrpc":"2.0","id":1,"method":"echo"})");
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(post(R"({"jsonrpc":"2.0","id":1,"method":"echo"})", "nope")->status, 404);
  // Unsupported protocol version header: 400.
  auto h = headers(session);
  h["MCP-Protocol-Version"] = "2020-01-01";
  EXPECT_EQ(
      test::httpRequest(port_, "POST", "/mcp", R"({"jsonrpc":"2.0","id":1,"method":"echo"})", h)
          ->status,
      400);
  // Any supported version is accepted, not only the negotiated one.
  h["MCP-Protocol-Version"] = "2025-03-26";
  EXPECT_EQ(
      test::httpRequest(port_, "POST", "/mcp", R"({"jsonrpc":"2.0","id":1,"method":"echo"})", h)
          ->status,
      200);
  // Accept without text/event-stream: 406. Not JSON: 415.
  h = headers(session);
  h["Accept"] = "application/json";
  EXPECT_EQ(
      test::httpRequest(port_, "POST", "/mcp", R"({"jsonrpc":"2.0","id":1,"method":"echo"})", h)
          ->status,
      406);
  h = headers(session);
  h["Content-Type"] = "text/plain";
  EXPECT_EQ(test::httpRequest(port_, "POST", "/mcp", "x", h)->status, 415);
  // Parse error -32700, invalid request -32600, unknown method -32601.
  reply = post("{oops", session);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(errorOf(*reply).at("code"), -32700);
  reply = post(R"({"jsonrpc":"2.0","id":1})", session);
  EXPECT_EQ(errorOf(*reply).at("code"), -32600);
  reply = post(R"({"jsonrpc":"2.0","id":1,"method":"nosuch"})", session);
  EXPECT_EQ(errorOf(*reply).at("code"), -32601);
  // Batches only in 2025-03-26.
  reply = post(R"([{"jsonrpc":"2.0","id":1,"method":"echo"}])", session);
  EXPECT_EQ(reply->status, 400);
  // Other methods: 405 with Allow.
  auto put = test::httpRequest(port_, "PUT", "/mcp", "{}", {});
  EXPECT_EQ(put->status, 405);
  EXPECT_NE(put->header("allow").find("POST"), std::string::npos);
}

TEST_F(TransportTest, BatchesWorkIn20250326) {
  const auto session = initialize("2025-03-26");
  auto reply = post(R"([{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}},
                        {"jsonrpc":"2.0","method":"notifications/initialized"},
                        {"jsonrpc":"2.0","id":2,"method":"echo","params":{"a":2}}])",
                    session);
  ASSERT_TRUE(reply);
  const auto answers = json::parse(reply->body).as_array();
  ASSERT_EQ(answers.size(), 2u);
}

TEST_F(TransportTest, ForeignHostOrOriginIsForbidden) {
  auto h = headers();
  h["Origin"] = "http://evil.example.com";
  const std::string init =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})";
  auto reply = test::httpRequest(port_, "POST", "/mcp", init, h);
  EXPECT_EQ(reply->status, 403);
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  c.send(
      "POST /mcp HTTP/1.1\r\nHost: evil.example.com\r\nContent-Type: application/json\r\nAccept: " +
      std::string(kAccept) + "\r\nContent-Length: " + std::to_string(init.size()) + "\r\n\r\n" +
      init);
  EXPECT_EQ(c.readReply()->status, 403);
  h["Origin"] = "http://localhost:" + std::to_string(port_);
  EXPECT_EQ(test::httpRequest(port_, "POST", "/mcp", init, h)->status, 200);
}

TEST_F(TransportTest, RpcEndpointNeedsNoSession) {
  auto reply = test::httpRequest(port_, "POST", "/rpc",
                                 R"({"jsonrpc":"2.0","id":3,"method":"echo","params":{"v":"x"}})",
                                 {{"Content-Type", "application/json"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(json::parse(reply->body).at("result").at("v"), "x");
  reply =
      test::httpRequest(port_, "POST", "/rpc", R"({"jsonrpc":"2.0","id":4,"method":"ask"})", {});
  EXPECT_NE(reply->body.find("no open stream"), std::string::npos) << reply->body;
  reply = test::httpRequest(port_, "POST", "/rpc", "[", {});
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(app_->state->closed.load(), app_->state->opened.load());
}

TEST_F(TransportTest, LegacySseCarriesAnswersOnTheEventStream) {
  test::RawConnection stream;
  ASSERT_TRUE(stream.connect(port_));
  stream.send("GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
  ASSERT_TRUE(stream.readHead());
  const std::string endpoint = stream.readSome(200ms);
  const auto at = endpoint.find("data: /message?sessionId=");
  ASSERT_NE(at, std::string::npos) << endpoint;
  const std::string path = endpoint.substr(at + 6, endpoint.find('\n', at) - at - 6);
  auto reply = test::httpRequest(
      port_, "POST", path,
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05"}})",
      {{"Content-Type", "application/json"}});
  EXPECT_EQ(reply->status, 202);
  reply = test::httpRequest(port_, "POST", path,
                            R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{"k":7}})",
                            {{"Content-Type", "application/json"}});
  EXPECT_EQ(reply->status, 202);
  const std::string events = stream.readSome(300ms);
  EXPECT_NE(events.find(R"("protocolVersion":"2024-11-05")"), std::string::npos) << events;
  EXPECT_NE(events.find(R"("k":7)"), std::string::npos);
  EXPECT_EQ(test::httpRequest(port_, "POST", "/message?sessionId=nope", "{}", {})->status, 404);
}

} // namespace
} // namespace forge::transport
