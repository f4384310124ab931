#include "upstream/channel.h"

#include "core/log.h"
#include "mocks/mcp/scripted_app.h"
#include "net/http_server.h"
#include "net/router.h"
#include "transport/legacy_sse.h"
#include "transport/streamable_http.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <set>
#include <thread>

namespace forge::upstream {
namespace {

using namespace std::chrono_literals;
namespace json = mcp::json;

// What a channel delivered, in order.
class Inbox {
public:
  struct Received {
    mcp::Message message;
    std::optional<json::value> related;
  };

  ChannelCallbacks callbacks() {
    return ChannelCallbacks{[this](mcp::Message message, std::optional<json::value> related) {
                              std::lock_guard lock(mutex_);
                              received_.push_back(Received{std::move(message), std::move(related)});
                              changed_.notify_all();
                            },
                            [this](std::string reason) {
                              std::lock_guard lock(mutex_);
                              closed_.push_back(std::move(reason));
                              changed_.notify_all();
                            }};
  }

  // The index of the first message matching `match`, waiting up to `limit` for it.
  std::optional<std::size_t> waitFor(const std::function<bool(const Received&)>& match,
                                     std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    std::optional<std::size_t> found;
    changed_.wait_for(lock, limit, [&] {
      for (std::size_t i = 0; i < received_.size(); ++i) {
        if (match(received_[i])) {
          found = i;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // The response (result or error) with this id.
  std::optional<Received> response(const json::value& id, std::chrono::milliseconds limit = 5s) {
    auto at = waitFor(
        [&](const Received& r) { return r.message.isResponse() && r.message.id == id; }, limit);
    if (!at) return std::nullopt;
    return at_(*at);
  }

  std::optional<Received> method(const std::string& name, std::chrono::milliseconds limit = 5s) {
    auto at = waitFor([&](const Received& r) { return r.message.method == name; }, limit);
    if (!at) return std::nullopt;
    return at_(*at);
  }

  std::optional<std::string> closed(std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, limit, [&] { return !closed_.empty(); })) return std::nullopt;
    return closed_.front();
  }

  std::size_t closedCount() {
    std::lock_guard lock(mutex_);
    return closed_.size();
  }

  std::vector<Received> all() {
    std::lock_guard lock(mutex_);
    return received_;
  }

private:
  Received at_(std::size_t index) {
    std::lock_guard lock(mutex_);
    return received_[index];
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> received_;
  std::vector<std::string> closed_;
};

// A request the server saw.
struct Seen {
  net::Method method;
  std::string path;
  std::map<std::string, std::string> headers; // names lower-cased
  std::string body;
  std::string remote; // the client's address and port: one per connection
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

mcp::Message initializeRequest(json::value id, const std::string& version = "2025-11-25") {
  return mcp::makeRequest(
      std::move(id), "initialize",
      json::object{{"protocolVersion", version},
                   {"capabilities", json::object{}},
                   {"clientInfo", json::object{{"name", "t"}, {"version", "1"}}}});
}

// A port on 127.0.0.1 where nothing listens (bound, then released).
std::uint16_t deadPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A real Forge HTTP server on 127.0.0.1 with the scripted app behind Streamable HTTP (/mcp) and
// HTTP+SSE (/sse, /message), a few hand-made routes, and a record of every request.
class HttpChannelTest : public ::testing::Test {
protected:
  void SetUp() override {
    log::configure(log::Level::kWarn, log::Format::kText);
    transport::HttpTransportOptions options;
    options.ask_timeout = 3s;
    streamable_ = std::make_unique<transport::StreamableHttp>(loop_, app_, options);
    streamable_->addRoutes(router_, "/mcp");
    sse_ = std::make_unique<transport::LegacySse>(loop_, app_, options);
    sse_->addRoutes(router_, "/sse", "/message");
    addHandMadeRoutes();
    net::HttpServerOptions http;
    http.port = 0;
    http.access_log = false;
    http.idle_timeout = 300ms; // so that a test can find a pooled connection closed
    server_ = net::makeHttpServer(
        loop_, http, [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          record(*r);
          router_.dispatch(r, w);
        });
    ASSERT_TRUE(server_->listen().ok());
    port_ = server_->port();
    thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    for (auto& channel : channels_)
      channel->close();
    streamable_->closeAll();
    sse_->closeAll();
    loop_.stop();
    thread_.join();
  }

  void addHandMadeRoutes() {
    // An HTTP error with a JSON-RPC error body.
    router_.add(
        net::Method::kPost, "/boom", [](const net::RequestPtr&, const net::ResponseWriterPtr& w) {
          w->send(net::Response::json(
              500, R"({"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"kaput"}})"));
        });
    // A batch answer: a notification, then the response.
    router_.add(
        net::Method::kPost, "/batch",
        [](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          const auto id = json::serialize(json::parse(r->body).at("id"));
          w->send(net::Response::json(
              200,
              R"([{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}},)"
              R"({"jsonrpc":"2.0","id":)" +
                  id + R"(,"result":{"batch":true}}])"));
        });
    // An event stream with awkward framing, written in pieces: a priming event, a comment, CRLF
    // and a CR/LF pair split between writes, a two-line data field, an event of another type,
    // and the response.
    router_.add(
        net::Method::kPost, "/raw",
        [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          const auto id = json::serialize(json::parse(r->body).at("id"));
          net::Headers headers;
          headers.set("Content-Type", "text/event-stream");
          w->startStream(200, headers);
          writeSlowly(
              w, {"id: prime-1\ndata:\n\n", ": a comment\r\n\r\n",
                  "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\r",
                  "\ndata: \"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\r",
                  "\n\r\n", "event: ping\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"ignored\"}\n\n",
                  "data: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{\"raw\":true}}\n\n"});
        });
    // A server without sessions and without a GET stream.
    router_.add({net::Method::kPost, net::Method::kGet}, "/plain",
                [](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
                  if (r->method == net::Method::kGet) return w->send(net::Response{405, {}, {}});
                  const auto body = json::parse(r->body).as_object();
                  if (!body.contains("id") || !body.contains("method")) {
                    return w->send(net::Response{202, {}, {}});
                  }
                  w->send(net::Response::json(
                      200, R"({"jsonrpc":"2.0","id":)" + json::serialize(body.at("id")) +
                               R"(,"result":{"protocolVersion":"2025-11-25","capabilities":{}}})"));
                });
    // Like /plain, but a request's result is written by hand: a number as no serializer writes
    // it, and line breaks between tokens.
    router_.add(
        {net::Method::kPost, net::Method::kGet}, "/verbatim",
        [](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          if (r->method == net::Method::kGet) return w->send(net::Response{405, {}, {}});
          const auto body = json::parse(r->body).as_object();
          if (!body.contains("id")) return w->send(net::Response{202, {}, {}});
          const auto id = json::serialize(body.at("id"));
          if (body.at("method") == "initialize") {
            return w->send(net::Response::json(
                200, R"({"jsonrpc":"2.0","id":)" + id +
                         R"(,"result":{"protocolVersion":"2025-11-25","capabilities":{}}})"));
          }
          w->send(net::Response::json(200, "{\"jsonrpc\":\"2.0\",\"id\":" + id +
                                               ",\n\"result\": {\"n\": 1.50,\n \"s\": \"x\"}}"));
        });
  }

  // Writes `pieces` one by one, 10 ms apart, then ends the stream.
  void writeSlowly(const net::ResponseWriterPtr& w, std::vector<std::string> pieces) {
    if (pieces.empty()) return w->end();
    w->write(pieces.front());
    pieces.erase(pieces.begin());
    loop_.postAfter(10ms, [this, w, pieces = std::move(pieces)]() mutable {
      writeSlowly(w, std::move(pieces));
    });
  }

  void record(const net::Request& request) {
    Seen seen{request.method, request.path, {}, request.body, request.remote_address};
    for (const auto& [name, value] : request.headers) {
      std::string lower = name;
      for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[lower] = value;
    }
    std::lock_guard lock(seen_mutex_);
    seen_.push_back(std::move(seen));
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(seen_mutex_);
    return seen_;
  }

  // Waits until the server has seen a request matching `match`.
  std::optional<Seen> waitForSeen(const std::function<bool(const Seen&)>& match,
                                  std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& s : seen()) {
        if (match(s)) return s;
      }
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  ChannelPtr streamable(Inbox& inbox, const std::string& path = "/mcp",
                        std::map<std::string, std::string> headers = {}) {
    auto channel =
        makeStreamableHttpChannel(loop_, HttpSpec{url(path), std::move(headers), 2s, "test"});
    channels_.push_back(channel);
    channel->open(inbox.callbacks());
    return channel;
  }

  // Initializes over `channel` (and sends notifications/initialized); returns the result.
  json::value handshake(Channel& channel, Inbox& inbox, bool initialized = true) {
    channel.send(initializeRequest(0));
    auto answer = inbox.response(0);
    EXPECT_TRUE(answer);
    if (!answer) return nullptr;
    EXPECT_EQ(answer->message.kind, mcp::Kind::kResult);
    EXPECT_EQ(answer->related, json::value(0));
    channel.setProtocolVersion("2025-11-25");
    if (initialized) channel.send(mcp::makeNotification("notifications/initialized"));
    return answer->message.result;
  }

  // Waits until the server has been handed a call of `method` (its handler runs right after the
  // record, on the same thread).
  bool waitForCall(const std::string& method) {
    const std::string needle = "\"method\":\"" + method + "\"";
    if (!waitForSeen([&](const Seen& s) { return s.body.find(needle) != std::string::npos; })) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
    return true;
  }

  // Waits until the scripted app has seen a `wait` call end, and returns why.
  std::string waitForCancelReason(std::chrono::milliseconds limit = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(app_->state->mutex);
        if (!app_->state->cancel_reason.empty()) return app_->state->cancel_reason;
      }
      std::this_thread::sleep_for(5ms);
    }
    return {};
  }

  // Waits until the channel's GET stream is registered with the server.
  bool waitForGetStream() {
    if (!waitForSeen(
            [](const Seen& s) { return s.method == net::Method::kGet && s.path == "/mcp"; })) {
      return false;
    }
    std::this_thread::sleep_for(50ms); // the handler registers the stream right after the record
    return true;
  }

  std::shared_ptr<test::ScriptedApp> app_ = std::make_shared<test::ScriptedApp>();
  net::EventLoop loop_{2};
  net::Router router_;
  std::unique_ptr<transport::StreamableHttp> streamable_;
  std::unique_ptr<transport::LegacySse> sse_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::mutex seen_mutex_;
  std::vector<Seen> seen_;
  Inbox inbox_; // outlives the channels: TearDown closes them first
  std::vector<ChannelPtr> channels_;
};

TEST_F(HttpChannelTest, InitializeGetsASessionThatLaterRequestsCarry) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/mcp", {{"X-Static", "yes"}});
  const auto result = handshake(*channel, inbox);
  EXPECT_EQ(result.at("serverInfo").at("name"), "scripted");
  channel->send(mcp::makeRequest(1, "echo", json::object{{"x", 1}}));
  auto answer = inbox.response(1);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->message.result.at("x"), 1);
  EXPECT_EQ(answer->related, json::value(1));

  const auto posts = seen();
  ASSERT_GE(posts.size(), 3u);
  EXPECT_EQ(posts[0].header("mcp-session-id"), "") << "initialize carries no session";
  EXPECT_EQ(posts[0].header("accept"), "application/json, text/event-stream");
  EXPECT_EQ(posts[0].header("content-type"), "application/json");
  EXPECT_EQ(posts[0].header("x-static"), "yes");
  std::string session;
  for (std::size_t i = 1; i < posts.size(); ++i) {
    if (posts[i].method != net::Method::kPost) continue;
    if (session.empty()) session = posts[i].header("mcp-session-id");
    EXPECT_EQ(posts[i].header("mcp-session-id"), session);
    EXPECT_EQ(posts[i].header("mcp-protocol-version"), "2025-11-25");
  }
  EXPECT_EQ(session.size(), 32u);
  {
    std::lock_guard lock(app_->state->mutex);
    EXPECT_EQ(app_->state->notifications, std::vector<std::string>{"notifications/initialized"});
  }
  // The GET stream opens after the handshake, with the session and version headers.
  auto get = waitForSeen([](const Seen& s) { return s.method == net::Method::kGet; });
  ASSERT_TRUE(get);
  EXPECT_EQ(get->header("mcp-session-id"), session);
  EXPECT_EQ(get->header("accept"), "text/event-stream");
  EXPECT_EQ(get->header("mcp-protocol-version"), "2025-11-25");
}

TEST_F(HttpChannelTest, ConfiguredHeadersReplaceBuiltInOnesButNeverTheFramingNorTheSession) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/mcp",
                            {{"user-agent", "custom-agent"},
                             {"Content-Length", "5"},
                             {"Transfer-Encoding", "chunked"},
                             {"Authorization", "Bearer configured"},
                             {"content-type", "text/plain"},
                             {"MCP-SESSION-ID", "configured"}});
  handshake(*channel, inbox);
  channel->send(mcp::makeRequest(1, "echo", json::object{{"x", 1}}));
  auto answer = inbox.response(1);
  ASSERT_TRUE(answer) << "a configured Content-Length or Transfer-Encoding broke the request";
  EXPECT_EQ(answer->message.result.at("x"), 1);
  int calls = 0;
  for (const auto& post : seen()) {
    if (post.method != net::Method::kPost) continue;
    EXPECT_EQ(post.header("user-agent"), "custom-agent");
    EXPECT_EQ(post.header("authorization"), "Bearer configured");
    EXPECT_EQ(post.header("content-length"), std::to_string(post.body.size()));
    EXPECT_EQ(post.header("transfer-encoding"), "");
    // The channel's own fields win over configured ones: the body is JSON, and the session is
    // the one the upstream named (none on initialize).
    EXPECT_EQ(post.header("content-type"), "application/json");
    EXPECT_NE(post.header("mcp-session-id"), "configured");
    if (post.body.find("\"initialize\"") == std::string::npos) {
      ++calls;
      EXPECT_NE(post.header("mcp-session-id"), "");
    }
  }
  EXPECT_GE(calls, 1);
}

TEST_F(HttpChannelTest, RelatedNotificationsArriveBeforeTheAnswerOnTheStream) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox);
  channel->send(mcp::makeRequest("n1", "notify_then_reply"));
  auto answer = inbox.response("n1");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->message.result.at("done"), true);
  const auto all = inbox.all();
  std::optional<std::size_t> note, reply;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].message.method == "notifications/message") note = i;
    if (all[i].message.isResponse() && all[i].message.id == json::value("n1")) reply = i;
  }
  ASSERT_TRUE(note && reply);
  EXPECT_LT(*note, *reply);
  EXPECT_EQ(all[*note].related, json::value("n1"));
  EXPECT_EQ(all[*reply].related, json::value("n1"));
}

TEST_F(HttpChannelTest, ServerToClientRequestsCanBeAnswered) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox);
  channel->send(mcp::makeRequest(5, "ask"));
  auto ask = inbox.method("sampling/createMessage");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->message.isRequest());
  EXPECT_EQ(ask->related, json::value(5));
  channel->send(mcp::makeResult(
      ask->message.id, json::object{{"role", "assistant"},
                                    {"content", json::object{{"type", "text"}, {"text", "yo"}}}}));
  auto answer = inbox.response(5);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->message.kind, mcp::Kind::kResult) << mcp::serialize(answer->message);
  EXPECT_EQ(answer->message.result.at("content").at("text"), "yo");
}

TEST_F(HttpChannelTest, ASlowCallDoesNotHoldBackAFastOne) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox);
  channel->send(mcp::makeRequest("slow", "wait"));
  ASSERT_TRUE(waitForCall("wait"));
  channel->send(mcp::makeRequest("fast", "echo", json::object{{"v", 2}}));
  auto answer = inbox.response("fast");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->message.result.at("v"), 2);
  EXPECT_FALSE(inbox.response("slow", 50ms));
  // Cancelling ends the slow call's POST with 202: nothing is delivered for it.
  channel->send(mcp::makeNotification("notifications/cancelled",
                                      json::object{{"requestId", "slow"}, {"reason", "user"}}));
  EXPECT_EQ(waitForCancelReason(), "user");
  EXPECT_FALSE(inbox.response("slow", 100ms));
}

TEST_F(HttpChannelTest, TheGetStreamCarriesUnrelatedMessages) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox);
  ASSERT_TRUE(waitForGetStream());
  channel->send(mcp::makeRequest(8, "broadcast"));
  auto changed = inbox.method("notifications/tools/list_changed");
  ASSERT_TRUE(changed);
  EXPECT_FALSE(changed->related.has_value());
  auto answer = inbox.response(8);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->related, json::value(8));
}

TEST_F(HttpChannelTest, EventStreamFramingIsParsedAsItArrives) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/raw");
  channel->send(mcp::makeRequest(3, "anything"));
  auto answer = inbox.response(3);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->message.result.at("raw"), true);
  const auto all = inbox.all();
  ASSERT_EQ(all.size(), 2u) << "the priming event, the comment and the ping event are skipped";
  EXPECT_EQ(all[0].message.method, "notifications/progress");
  EXPECT_EQ(all[0].message.params.at("progress"), 1);
  EXPECT_EQ(all[0].related, json::value(3));
}

TEST_F(HttpChannelTest, AJsonArrayAnswerDeliversEachMessage) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/batch");
  channel->send(mcp::makeRequest(4, "anything"));
  auto answer = inbox.response(4);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->message.result.at("batch"), true);
  const auto all = inbox.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].message.method, "notifications/message");
  EXPECT_EQ(all[0].related, json::value(4));
}

TEST_F(HttpChannelTest, ADeadUrlAnswersRequestsWithOneError) {
  Inbox& inbox = inbox_;
  const auto port = deadPort();
  auto channel = makeStreamableHttpChannel(
      loop_, HttpSpec{"http://127.0.0.1:" + std::to_string(port) + "/mcp", {}, 2s, "dead"});
  channels_.push_back(channel);
  channel->open(inbox.callbacks());
  channel->send(initializeRequest(1));
  channel->send(mcp::makeNotification("notifications/initialized")); // nobody to tell: no callback
  auto answer = inbox.response(1);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->message.kind, mcp::Kind::kError);
  EXPECT_EQ(answer->message.error.at("code"), -32000);
  EXPECT_EQ(answer->related, json::value(1));
  const std::string message(answer->message.error.at("message").as_string());
  EXPECT_EQ(message,
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox.all().size(), 1u);
}

TEST_F(HttpChannelTest, HttpErrorsBecomeOneSyntheticError) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/boom");
  channel->send(mcp::makeRequest("b", "anything"));
  auto answer = inbox.response("b");
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->message.kind, mcp::Kind::kError);
  EXPECT_EQ(answer->message.error.at("code"), -32000);
  EXPECT_EQ(answer->message.error.at("message"), "upstream HTTP 500: kaput");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox.all().size(), 1u);
  EXPECT_EQ(inbox.closedCount(), 0u);
}

TEST_F(HttpChannelTest, AnEndedSessionClosesTheChannel) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox, /*initialized=*/false);
  streamable_->closeAll(); // the server forgets the session
  channel->send(mcp::makeRequest(2, "echo"));
  auto reason = inbox.closed();
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "session expired");
  EXPECT_FALSE(inbox.response(2, 100ms)) << "on_closed is the last callback";
  EXPECT_EQ(inbox.closedCount(), 1u);
}

TEST_F(HttpChannelTest, WithoutAGetStreamTheChannelStopsAsking) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/plain");
  handshake(*channel, inbox);
  ASSERT_TRUE(waitForSeen([](const Seen& s) { return s.method == net::Method::kGet; }));
  channel->send(mcp::makeRequest(1, "ping"));
  ASSERT_TRUE(inbox.response(1));
  std::this_thread::sleep_for(800ms); // longer than the first back-off
  std::size_t gets = 0;
  for (const auto& s : seen())
    gets += s.method == net::Method::kGet ? 1 : 0;
  EXPECT_EQ(gets, 1u);
  EXPECT_EQ(inbox.closedCount(), 0u);
}

// A request sent forward_only gets its result as the upstream wrote it; others get it parsed.
TEST_F(HttpChannelTest, AForwardOnlyRequestGetsTheResultAsWritten) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox, "/verbatim");
  handshake(*channel, inbox);
  auto forwarded = mcp::makeRequest(1, "tools/call");
  forwarded.forward_only = true;
  channel->send(forwarded);
  const auto raw = inbox.response(1);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->message.raw_result, R"({"n": 1.50,  "s": "x"})");
  EXPECT_TRUE(raw->message.result.is_null());
  EXPECT_EQ(mcp::serialize(raw->message),
            R"({"jsonrpc":"2.0","id":1,"result":{"n": 1.50,  "s": "x"}})");
  EXPECT_TRUE(raw->related.has_value());

  channel->send(mcp::makeRequest(2, "tools/call"));
  const auto parsed = inbox.response(2);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->message.raw_result.empty());
  EXPECT_EQ(parsed->message.result.at("n"), json::value(1.5));
}

TEST_F(HttpChannelTest, CloseDeletesTheSessionAndSilencesCallbacks) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox);
  ASSERT_TRUE(waitForGetStream());
  channel->send(mcp::makeRequest("w", "wait"));
  ASSERT_TRUE(waitForCall("wait"));
  const std::size_t before = inbox.all().size();
  channel->close();
  channel->send(mcp::makeRequest(9, "echo"));
  auto deleted = waitForSeen([](const Seen& s) { return s.method == net::Method::kDelete; });
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(deleted->header("mcp-session-id").empty());
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (streamable_->sessionCount() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(streamable_->sessionCount(), 0u);
  EXPECT_EQ(waitForCancelReason(), "the session has ended");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox.all().size(), before);
  EXPECT_EQ(inbox.closedCount(), 0u);
}

TEST_F(HttpChannelTest, PooledConnectionsAreReusedAndReplacedWhenStale) {
  Inbox& inbox = inbox_;
  auto channel = streamable(inbox);
  handshake(*channel, inbox);
  ASSERT_TRUE(waitForGetStream());
  for (int i = 1; i <= 5; ++i) {
    channel->send(mcp::makeRequest(i, "echo"));
    ASSERT_TRUE(inbox.response(i));
  }
  std::set<std::string> remotes;
  std::size_t posts = 0;
  for (const auto& s : seen()) {
    if (s.method != net::Method::kPost) continue;
    ++posts;
    remotes.insert(s.remote);
  }
  EXPECT_EQ(posts, 7u);
  EXPECT_LE(remotes.size(), 2u) << "POSTs that follow each other share a connection";
  std::this_thread::sleep_for(500ms); // the server has closed the idle ones meanwhile
  channel->send(mcp::makeRequest(6, "echo", json::object{{"again", true}}));
  auto answer = inbox.response(6);
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->message.kind, mcp::Kind::kResult) << mcp::serialize(answer->message);
  EXPECT_EQ(answer->message.result.at("again"), true);
}

TEST_F(HttpChannelTest, ACallbackMayCloseTheChannel) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto channel = makeStreamableHttpChannel(loop_, HttpSpec{url("/raw"), {}, 2s, "self"});
  channels_.push_back(channel);
  std::weak_ptr<Channel> weak = channel;
  channel->open(ChannelCallbacks{[calls, weak](mcp::Message, std::optional<json::value>) {
                                   ++*calls;
                                   if (auto c = weak.lock()) c->close();
                                 },
                                 [calls](std::string) { ++*calls; }});
  channel->send(mcp::makeRequest(1, "anything")); // a progress notification, then the answer
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (*calls == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(*calls, 1);
}

TEST_F(HttpChannelTest, HttpsIsRefusedClearly) {
  Inbox& inbox = inbox_;
  auto channel =
      makeStreamableHttpChannel(loop_, HttpSpec{"https://127.0.0.1:1/mcp", {}, 2s, "tls"});
  channels_.push_back(channel);
  channel->open(inbox.callbacks());
  auto reason = inbox.closed();
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("https is not supported"), std::string::npos) << *reason;
  EXPECT_NE(reason->find("TLS-terminating proxy"), std::string::npos) << *reason;
}

TEST_F(HttpChannelTest, LegacySseRoundTrip) {
  Inbox& inbox = inbox_;
  auto channel = makeSseChannel(loop_, HttpSpec{url("/sse"), {}, 2s, "legacy"});
  channels_.push_back(channel);
  channel->open(inbox.callbacks());
  channel->send(initializeRequest(1, "2024-11-05")); // before the endpoint is known: queued
  auto init = inbox.response(1);
  ASSERT_TRUE(init);
  EXPECT_EQ(init->message.result.at("protocolVersion"), "2024-11-05");
  EXPECT_FALSE(init->related.has_value());
  channel->send(mcp::makeNotification("notifications/initialized"));
  channel->send(mcp::makeRequest(2, "echo", json::object{{"k", 7}}));
  auto echo = inbox.response(2);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->message.result.at("k"), 7);
  auto post = waitForSeen([](const Seen& s) { return s.method == net::Method::kPost; });
  ASSERT_TRUE(post);
  EXPECT_EQ(post->path, "/message");
  EXPECT_EQ(sse_->sessionCount(), 1u);

  sse_->closeAll(); // the server ends the event stream (and forgets the session)
  auto reason = inbox.closed();
  ASSERT_TRUE(reason);
  // Either the end of the stream or a POST refused for the forgotten session comes first.
  EXPECT_TRUE(*reason == "upstream closed the event stream" || *reason == "session expired")
      << *reason;
}

TEST_F(HttpChannelTest, LegacySseToADeadUrlCloses) {
  Inbox& inbox = inbox_;
  auto channel = makeSseChannel(
      loop_, HttpSpec{"http://127.0.0.1:" + std::to_string(deadPort()) + "/sse", {}, 2s, "dead"});
  channels_.push_back(channel);
  channel->open(inbox.callbacks());
  auto reason = inbox.closed();
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("cannot connect"), std::string::npos) << *reason;
}

} // namespace
} // namespace forge::upstream
