#include "net/http_proxy.h"

#include "core/log.h"
#include "net/http_server.h"
#include "net/router.h"
#include "support/raw_http_client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace forge::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A port on 127.0.0.1 that nothing listens on (bound once, then released).
std::uint16_t unusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// A backend (a real HttpServer with a few handlers) behind a front HttpServer whose handler
// forwards everything to it through an HttpProxy; all on one loop.
class HttpProxyTest : public ::testing::Test {
protected:
  void start(ProxyOptions options = {}, HttpServerOptions backend_options = {}) {
    log::configure(log::Level::kWarn, log::Format::kText);
    const Handler json = [this](const RequestPtr& request, const ResponseWriterPtr& w) {
      remember(request);
      auto response =
          Response::json(201, "{\"method\":\"" + std::string(methodName(request->method)) +
                                  "\",\"body\":\"" + request->body + "\"}");
      response.headers.set("X-Backend", "yes");
      response.headers.set("Proxy-Foo", "drop me");
      response.headers.set("Keep-Alive", "timeout=5");
      w->send(std::move(response));
    };
    router_.add({Method::kGet, Method::kPost}, "/json", json);
    // Three events 200 ms apart, then the end.
    router_.add(Method::kGet, "/sse",
                [this](const RequestPtr& request, const ResponseWriterPtr& w) {
                  remember(request);
                  Headers headers;
                  headers.set("Content-Type", "text/event-stream");
                  headers.set("Cache-Control", "no-cache");
                  w->startStream(200, headers);
                  std::lock_guard lock(mutex_);
                  threads_.emplace_back([this, w] {
                    for (int i = 0; i < 3; ++i) {
                      if (i > 0) std::this_thread::sleep_for(200ms);
                      w->write("event: message\ndata: {\"n\":" + std::to_string(i) + "}\n\n");
                    }
                    sse_ended_ = true;
                    w->end();
                  });
                });
    // A stream that stays open until the client goes, with a comment every 100 ms. (Forge's
    // HttpServer notices a departed client when it next writes: the front needs this traffic to
    // see the client go, and the backend to see the proxy close its connection.)
    router_.add(Method::kGet, "/forever",
                [this](const RequestPtr& request, const ResponseWriterPtr& w) {
                  remember(request);
                  Headers headers;
                  headers.set("Content-Type", "text/event-stream");
                  w->startStream(200, headers);
                  w->write(": open\n\n");
                  w->onClose([this] { forever_closed_ = true; });
                  std::lock_guard lock(mutex_);
                  threads_.emplace_back([w] {
                    const auto deadline = Clock::now() + 10s;
                    while (Clock::now() < deadline && w->write(": ping\n\n"))
                      std::this_thread::sleep_for(100ms);
                  });
                });
    // Never answers.
    router_.add(Method::kGet, "/never",
                [this](const RequestPtr& request, const ResponseWriterPtr&) { remember(request); });

    backend_options.port = 0;
    backend_options.access_log = false;
    backend_ = makeHttpServer(
        loop_, backend_options,
        [this](const RequestPtr& r, const ResponseWriterPtr& w) { router_.dispatch(r, w); });
    ASSERT_TRUE(backend_->listen().ok());
    backend_port_ = backend_->port();
    target_port_ = backend_port_;

    proxy_ = std::make_unique<HttpProxy>(loop_, options);
    HttpServerOptions front_options;
    front_options.port = 0;
    front_options.access_log = false;
    front_ = makeHttpServer(
        loop_, front_options, [this](const RequestPtr& r, const ResponseWriterPtr& w) {
          proxy_->forward(r, w, {"127.0.0.1", target_port_.load(), r->target}, [this](int status) {
            std::lock_guard lock(mutex_);
            done_.push_back(status);
          });
        });
    ASSERT_TRUE(front_->listen().ok());
    port_ = front_->port();
    thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads)
      t.join();
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void remember(const RequestPtr& request) {
    std::lock_guard lock(mutex_);
    seen_.push_back(request);
    remotes_.insert(request->remote_address);
  }

  RequestPtr lastSeen() {
    std::lock_guard lock(mutex_);
    return seen_.empty() ? nullptr : seen_.back();
  }

  std::vector<int> doneStatuses() {
    std::lock_guard lock(mutex_);
    return done_;
  }

  // Waits until `count` exchanges have reported done().
  std::vector<int> waitForDone(std::size_t count, std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (doneStatuses().size() < count && Clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    return doneStatuses();
  }

  static bool waitFor(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!flag && Clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    return flag;
  }

  EventLoop loop_{4};
  Router router_;
  std::unique_ptr<HttpServer> backend_;
  std::unique_ptr<HttpProxy> proxy_;
  std::unique_ptr<HttpServer> front_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::uint16_t backend_port_ = 0;
  std::atomic<std::uint16_t> target_port_{0};

  std::mutex mutex_;
  std::vector<RequestPtr> seen_;
  std::set<std::string> remotes_;
  std::vector<int> done_;
  std::vector<std::thread> threads_;
  std::atomic<bool> sse_ended_{false};
  std::atomic<bool> forever_closed_{false};
};

TEST_F(HttpProxyTest, RelaysJsonRequestAndResponse) {
  start();
  auto reply =
      test::httpRequest(port_, "GET", "/json?x=1&y=two", {}, {{"Accept", "application/json"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->header("content-type"), "application/json");
  EXPECT_EQ(reply->header("x-backend"), "yes");
  EXPECT_EQ(reply->body, "{\"method\":\"GET\",\"body\":\"\"}");
  EXPECT_EQ(reply->header("content-length"), std::to_string(reply->body.size()));
  auto seen = lastSeen();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->target, "/json?x=1&y=two");
  EXPECT_EQ(seen->header("Accept"), "application/json");
  EXPECT_EQ(waitForDone(1), std::vector<int>{201});
}

TEST_F(HttpProxyTest, ForwardsPostBody) {
  start();
  auto reply = test::httpRequest(port_, "POST", "/json", "hello proxy",
                                 {{"Content-Type", "text/plain"}, {"X-Custom", "kept"}});
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->body, "{\"method\":\"POST\",\"body\":\"hello proxy\"}");
  auto seen = lastSeen();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->method, Method::kPost);
  EXPECT_EQ(seen->body, "hello proxy");
  EXPECT_EQ(seen->header("Content-Type"), "text/plain");
  EXPECT_EQ(seen->header("Content-Length"), "11");
  EXPECT_EQ(seen->header("X-Custom"), "kept");
}

TEST_F(HttpProxyTest, DropsHopByHopHeadersAndAddsForwardedFor) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send("GET /json HTTP/1.1\r\n"
                     "Host: front.example\r\n"
                     "Connection: keep-alive, X-Drop-Me\r\n"
                     "X-Drop-Me: 1\r\n"
                     "Keep-Alive: timeout=5\r\n"
                     "TE: trailers\r\n"
                     "Proxy-Authorization: Basic abc\r\n"
                     "Upgrade: websocket\r\n"
                     "X-Forwarded-For: 10.0.0.1\r\n"
                     "X-Keep: yes\r\n"
                     "\r\n"));
  auto reply = c.readReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 201);
  // Response: end-to-end headers kept, hop-by-hop ones dropped.
  EXPECT_EQ(reply->header("x-backend"), "yes");
  EXPECT_EQ(reply->header("proxy-foo"), "");
  EXPECT_EQ(reply->header("keep-alive"), "");

  auto seen = lastSeen();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->header("Host"), "127.0.0.1:" + std::to_string(backend_port_));
  EXPECT_EQ(seen->header("X-Forwarded-For"), "10.0.0.1, 127.0.0.1");
  EXPECT_EQ(seen->header("X-Keep"), "yes");
  for (const char* name :
       {"Connection", "X-Drop-Me", "Keep-Alive", "TE", "Proxy-Authorization", "Upgrade"}) {
    EXPECT_FALSE(seen->headers.has(name)) << name;
  }
  // The front's request id travels on, for correlated logs.
  EXPECT_EQ(seen->header("X-Request-Id"), reply->header("x-request-id"));
}

TEST_F(HttpProxyTest, RelaysServerSentEventsAsTheyArrive) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  const auto sent = Clock::now();
  ASSERT_TRUE(c.send("GET /sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"));
  auto head = c.readHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-type"), "text/event-stream");
  EXPECT_EQ(head->header("transfer-encoding"), "chunked");
  EXPECT_EQ(head->header("cache-control"), "no-cache");

  // Each event is noted with the time it arrived.
  std::string received;
  std::vector<Clock::duration> arrivals;
  bool first_before_end = false;
  const auto deadline = Clock::now() + 5s;
  while (arrivals.size() < 3 && Clock::now() < deadline) {
    received += c.readSome(10ms);
    while (arrivals.size() < 3 &&
           contains(received, "data: {\"n\":" + std::to_string(arrivals.size()) + "}")) {
      if (arrivals.empty()) first_before_end = !sse_ended_;
      arrivals.push_back(Clock::now() - sent);
    }
  }
  ASSERT_EQ(arrivals.size(), 3u) << received;
  EXPECT_TRUE(first_before_end);
  EXPECT_LT(arrivals[0], 150ms);
  EXPECT_GT(arrivals[1] - arrivals[0], 120ms);
  EXPECT_GT(arrivals[2] - arrivals[1], 120ms);
  EXPECT_TRUE(contains(received, "event: message\n"));
  // The backend's end is the end of the client's stream.
  const auto end_deadline = Clock::now() + 2s;
  while (!contains(received, "\r\n0\r\n\r\n") && Clock::now() < end_deadline)
    received += c.readSome(10ms);
  EXPECT_TRUE(contains(received, "\r\n0\r\n\r\n"));
  EXPECT_EQ(waitForDone(1), std::vector<int>{200});
}

TEST_F(HttpProxyTest, ClientThatLeavesClosesTheUpstreamStream) {
  start();
  test::RawConnection c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.readHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  std::string received;
  const auto deadline = Clock::now() + 2s;
  while (!contains(received, ": open") && Clock::now() < deadline)
    received += c.readSome(10ms);
  ASSERT_TRUE(contains(received, ": open"));
  EXPECT_FALSE(forever_closed_);
  c.close();
  EXPECT_TRUE(waitFor(forever_closed_, 1s));
  EXPECT_EQ(waitForDone(1), std::vector<int>{HttpProxy::kClientClosed});
  EXPECT_EQ(proxy_->idleConnections(), 0u);
}

TEST_F(HttpProxyTest, UnreachableBackendIs502) {
  start();
  const auto port = unusedPort();
  target_port_ = port;
  auto reply = test::httpRequest(port_, "GET", "/json");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 502);
  EXPECT_EQ(reply->header("content-type"), "application/json");
  EXPECT_TRUE(contains(reply->body, "\"error\":\"bad_gateway\"")) << reply->body;
  EXPECT_TRUE(contains(reply->body, "127.0.0.1:" + std::to_string(port))) << reply->body;
  EXPECT_EQ(waitForDone(1), std::vector<int>{502});
}

TEST_F(HttpProxyTest, SlowBackendIs504) {
  ProxyOptions options;
  options.response_timeout = 300ms;
  start(options);
  const auto started = Clock::now();
  auto reply = test::httpRequest(port_, "GET", "/never");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 504);
  EXPECT_TRUE(contains(reply->body, "\"error\":\"timeout\"")) << reply->body;
  EXPECT_TRUE(contains(reply->body, "127.0.0.1:" + std::to_string(backend_port_))) << reply->body;
  EXPECT_LT(Clock::now() - started, 2s);
  EXPECT_EQ(waitForDone(1), std::vector<int>{504});
  // The connection that timed out is closed, not reused: the next request gets a new one.
  EXPECT_EQ(proxy_->idleConnections(), 0u);
  reply = test::httpRequest(port_, "GET", "/json");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 201);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(remotes_.size(), 2u);
}

TEST_F(HttpProxyTest, ReusesUpstreamConnections) {
  start();
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    auto reply = test::httpRequest(port_, i % 2 ? "POST" : "GET", "/json", i % 2 ? "x" : "");
    ASSERT_TRUE(reply) << i;
    ASSERT_EQ(reply->status, 201) << i;
  }
  std::size_t connections = 0;
  {
    std::lock_guard lock(mutex_);
    connections = remotes_.size();
    EXPECT_EQ(seen_.size(), static_cast<std::size_t>(kRequests));
  }
  EXPECT_LT(connections, static_cast<std::size_t>(kRequests));
  EXPECT_LE(connections, 2u);
  EXPECT_EQ(waitForDone(kRequests).size(), static_cast<std::size_t>(kRequests));
  EXPECT_GE(proxy_->idleConnections(), 1u);
}

// A pooled connection that the backend closed while it was idle is not used again.
TEST_F(HttpProxyTest, IdleConnectionClosedByBackendIsReplaced) {
  HttpServerOptions backend_options;
  backend_options.idle_timeout = 100ms;
  start({}, backend_options);
  auto reply = test::httpRequest(port_, "GET", "/json");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 201);
  std::this_thread::sleep_for(400ms);
  for (const char* method : {"POST", "GET"}) {
    reply = test::httpRequest(port_, method, "/json", "again");
    ASSERT_TRUE(reply) << method;
    EXPECT_EQ(reply->status, 201) << method;
  }
  std::lock_guard lock(mutex_);
  EXPECT_EQ(remotes_.size(), 2u);
}

TEST_F(HttpProxyTest, FiftyConcurrentRequestsSucceed) {
  start();
  constexpr int kClients = 50;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([this, i, &succeeded] {
      const std::string body = "client-" + std::to_string(i);
      auto reply = test::httpRequest(port_, "POST", "/json", body);
      if (reply && reply->status == 201 &&
          reply->body == "{\"method\":\"POST\",\"body\":\"" + body + "\"}") {
        ++succeeded;
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(succeeded.load(), kClients);
  const auto done = waitForDone(kClients);
  EXPECT_EQ(done.size(), static_cast<std::size_t>(kClients));
  EXPECT_TRUE(std::all_of(done.begin(), done.end(), [](int s) { return s == 201; }));
  EXPECT_LE(proxy_->idleConnections(), ProxyOptions{}.max_idle_per_target);
}

} // namespace
} // namespace forge::net
