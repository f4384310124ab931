#include "net/http_server.h"

#include "core/log.h"
#include "net/router.h"
#include "support/raw_http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace forge::net {
namespace {

using namespace std::chrono_literals;

// A real server on 127.0.0.1 (port 0) with a few handlers, run on its own loop thread.
class HttpServerTest : public ::testing::Test {
protected:
  void start(HttpServerOptions options = {}) {
    log::configure(log::Level::kWarn, log::Format::kText);
    options.port = 0;
    router_.add(Method::kGet, "/hello", [](const RequestPtr& request, const ResponseWriterPtr& w) {
      w->send(Response::json(200, "{\"hello\":\"" + request->request_id + "\"}"));
    });
    router_.add(Method::kPost, "/echo", [](const RequestPtr& request, const ResponseWriterPtr& w) {
      w->send(Response{200, {}, request->body});
    });
    // Answers from another thread after a delay, as an upstream call would.
    router_.add(Method::kGet, "/slow", [this](const RequestPtr&, const ResponseWriterPtr& w) {
      started_slow_ = true;
      std::thread([w] {
        std::this_thread::sleep_for(400ms);
        w->send(Response{200, {}, "finally"});
      }).detach();
    });
    // A stream of three chunks, then the end.
    router_.add(Method::kGet, "/stream", [](const RequestPtr&, const ResponseWriterPtr& w) {
      Headers headers;
      headers.set("Content-Type", "text/event-stream");
      w->startStream(200, headers);
      std::thread([w] {
        for (int i = 0; i < 3; ++i) {
          w->write("data: " + std::to_string(i) + "\n\n");
          std::this_thread::sleep_for(20ms);
        }
        w->end();
      }).detach();
    });
    // More than a socket takes at once.
    router_.add(Method::kGet, "/big", [](const RequestPtr&, const ResponseWriterPtr& w) {
      w->send(Response{200, {}, std::string(32 * 1024 * 1024, 'b')});
    });
    // Never answers.
    router_.add(Method::kGet, "/never", [](const RequestPtr&, const ResponseWriterPtr&) {});
    // A stream that never ends on its own.
    router_.add(Method::kGet, "/forever", [this](const RequestPtr&, const ResponseWriterPtr& w) {
      w->startStream(200, {});
      w->write(": open\n\n");
      w->onClose([this] { forever_closed_ = true; });
    });
    server_ =
        makeHttpServer(loop_, options, [this](const RequestPtr& r, const ResponseWriterPtr& w) {
          router_.dispatch(r, w);
        });
    ASSERT_TRUE(server_->listen().ok());
    port_ = server_->port();
    thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void shutdownAndWait(std::chrono::milliseconds drain) {
    server_->shutdown(drain, [this] { drained_ = true; });
  }

  // A connection to the server that has sent `bytes`.
  std::unique_ptr<test::RawConnection> sent(std::string_view bytes) {
    auto connection = std::make_unique<test::RawConnection>();
    if (!connection->connect(port_) || !connection->send(bytes)) ADD_FAILURE() << "no server";
    return connection;
  }

  bool waitFor(const std::atomic<bool>& flag, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!flag && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    return flag;
  }

  EventLoop loop_{2};
  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<bool> started_slow_{false};
  std::atomic<bool> forever_closed_{false};
  std::atomic<bool> drained_{false};
};

TEST_F(HttpServerTest, AnswersAndEchoesRequestId) {
  start();
  auto reply = test::httpRequest(port_, "GET", "/hello", {}, {{"X-Request-Id", "abc-123"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "{\"hello\":\"abc-123\"}");
  EXPECT_EQ(reply->header("x-request-id"), "abc-123");
  // An unsafe incoming id is replaced by a generated one.
  reply = test::httpRequest(port_, "GET", "/hello", {}, {{"X-Request-Id", "spaces and / slashes"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->header("x-request-id").size(), 16u);
}

TEST_F(HttpServerTest, KeepsConnectionsAlive) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    auto reply = c.readReply();
    ASSERT_TRUE(reply) << "request " << i;
    EXPECT_EQ(reply->body, "hello");
  }
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  start(options);
  auto reply = test::httpRequest(port_, "POST", "/echo", std::string(2048, 'x'));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_NE(reply->body.find("exceeds the limit of 1024 bytes"), std::string::npos);
  // A chunked body that grows past the limit is caught too.
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i)
    c.send("200\r\n" + std::string(512, 'y') + "\r\n");
  reply = c.readReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  HttpServerOptions options;
  options.max_header_bytes = 2048;
  start(options);
  auto reply = test::httpRequest(port_, "GET", "/hello", {}, {{"X-Big", std::string(4096, 'h')}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  c.send("GARBAGE\r\n\r\n");
  auto reply = c.readReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_NE(reply->body.find("malformed HTTP request"), std::string::npos);
}

TEST_F(HttpServerTest, SlowHeaderSenderIsCutOff) {
  HttpServerOptions options;
  options.header_timeout = 300ms;
  start(options);
  auto c = sent("GET /hello HTTP/1.1\r\nHo");
  const auto start_time = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->waitForClose(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, 2s);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout = 300ms;
  start(options);
  auto c = sent("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->readReply());
  EXPECT_TRUE(c->waitForClose(3s));
}

TEST_F(HttpServerTest, AnAnswerLargerThanTheSocketTakesArrivesWhole) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  std::string body(3 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < body.size(); i += 4096)
    body[i] = static_cast<char>('a' + (i / 4096) % 26);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  auto reply = c.readReply(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(reply->body == body) << "the echo differs (" << reply->body.size() << " bytes)";
  // The connection is still good for the next request.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"));
  reply = c.readReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "ok");
}

TEST_F(HttpServerTest, AClientThatStopsReadingIsCutOffByTheWriteTimeout) {
  HttpServerOptions options;
  options.write_timeout = 300ms;
  start(options);
  auto c = sent("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(1s); // not reading: the answer's write stalls
  // Kept alive (idle timeout 60 s), the connection closes this soon only if the write was cut.
  EXPECT_TRUE(c->waitForClose(5s));
}

TEST_F(HttpServerTest, HandlerMayAnswerFromAnotherThread) {
  start();
  auto reply = test::httpRequest(port_, "GET", "/slow");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "finally");
}

TEST_F(HttpServerTest, StreamsChunks) {
  start();
  auto reply = test::httpRequest(port_, "GET", "/stream");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->header("content-type"), "text/event-stream");
  EXPECT_EQ(reply->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST_F(HttpServerTest, ExpectContinueIsHonoured) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.readHead();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("ping");
  auto reply = c.readReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "ping");
}

TEST_F(HttpServerTest, ConnectionsOverTheCapGet503) {
  HttpServerOptions options;
  options.max_connections = 1;
  start(options);
  test::RawConnection first;
  ASSERT_TRUE(first.connect(port_));
  first.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(first.readReply());
  test::RawConnection second;
  ASSERT_TRUE(second.connect(port_));
  auto reply = second.readReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 503);
}

TEST_F(HttpServerTest, GracefulShutdownFinishesInFlightRequests) {
  start();
  test::RawConnection busy;
  ASSERT_TRUE(busy.connect(port_));
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(waitFor(started_slow_));
  test::RawConnection idle;
  ASSERT_TRUE(idle.connect(port_));
  idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.readReply());

  shutdownAndWait(5s);
  EXPECT_TRUE(idle.waitForClose(2s)) << "idle keep-alive connection should close at once";
  auto reply = busy.readReply();
  ASSERT_TRUE(reply) << "in-flight request must complete";
  EXPECT_EQ(reply->body, "finally");
  EXPECT_EQ(reply->header("connection"), "close");
  EXPECT_TRUE(waitFor(drained_));
  test::RawConnection late;
  EXPECT_FALSE(late.connect(port_) && late.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") &&
               late.readReply(500ms).has_value());
}

TEST_F(HttpServerTest, DrainTimeoutForceClosesStreams) {
  start();
  test::RawConnection stream;
  ASSERT_TRUE(stream.connect(port_));
  stream.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(stream.readHead());
  shutdownAndWait(300ms);
  EXPECT_TRUE(waitFor(drained_, 3s));
  EXPECT_TRUE(waitFor(forever_closed_, 3s));
  EXPECT_TRUE(stream.waitForClose(2s));
}

TEST_F(HttpServerTest, HandlerThatNeverAnswersGets504) {
  HttpServerOptions options;
  options.response_timeout = 200ms;
  start(options);
  auto reply = test::httpRequest(port_, "GET", "/never");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 504);
  EXPECT_NE(reply->body.find("did not answer in time"), std::string::npos);
}

TEST_F(HttpServerTest, ReportsBindErrors) {
  start();
  HttpServerOptions options;
  options.port = port_;
  auto second = makeHttpServer(loop_, options, [](const RequestPtr&, const ResponseWriterPtr&) {});
  auto status = second->listen();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("cannot listen on 127.0.0.1:"), std::string::npos);
}

} // namespace
} // namespace forge::net
