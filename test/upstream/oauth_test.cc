// OAuth client credentials for HTTP upstreams: a real Forge HTTP server on 127.0.0.1 serving the
// fixture application behind the fixture's OAuth server (token endpoint + bearer check), and an
// Upstream (or AccessTokens alone) talking to it over loopback.
#include "core/log.h"
#include "fixture/fixture_app.h"
#include "fixture/oauth.h"
#include "net/http_server.h"
#include "net/router.h"
#include "transport/streamable_http.h"
#include "upstream/upstream.h"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>

namespace forge::upstream {
namespace {

using namespace std::chrono_literals;
namespace json = mcp::json;

constexpr const char* kClientId = "forge-client";
constexpr const char* kSecret = "Sup3r:s3cret&value";

// Records state changes; lets a test wait for one.
class Listener final : public UpstreamListener {
public:
  void onNotification(const std::string&, const mcp::Message&,
                      const std::optional<json::value>&) override {}
  void onServerRequest(const std::string&, const mcp::Message& request,
                       const std::optional<json::value>&,
                       std::function<void(mcp::Message)> respond) override {
    respond(mcp::makeError(request.id, -32601, "not supported here"));
  }
  void onStateChange(const std::string&, State state, const std::string& detail) override {
    std::lock_guard lock(mutex_);
    states_.push_back(state);
    details_.push_back(detail);
    changed_.notify_all();
  }

  bool waitFor(State state, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] {
      return std::find(states_.begin(), states_.end(), state) != states_.end();
    });
  }
  std::vector<std::string> details() {
    std::lock_guard lock(mutex_);
    return details_;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<State> states_;
  std::vector<std::string> details_;
};

// Every log line, to check that no secret reaches one.
class LogCapture {
public:
  LogCapture() {
    log::configure(log::Level::kDebug, log::Format::kText, [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { log::configure(log::Level::kWarn, log::Format::kText); }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class OAuthUpstreamTest : public ::testing::Test {
protected:
  void TearDown() override {
    for (auto& up : upstreams_) {
      up->stop();
      up->waitStopped(2s);
    }
    upstreams_.clear();
    if (mcp_) mcp_->closeAll();
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Starts the fixture behind the OAuth server, tokens living `lifetime`.
  void serve(std::chrono::seconds lifetime = 60s) {
    oauth_ =
        std::make_unique<fixture::OAuthServer>(fixture::OAuthOptions{kClientId, kSecret, lifetime});
    oauth_->addRoutes(router_);
    mcp_ = std::make_unique<transport::StreamableHttp>(loop_, fixture::makeFixtureApp(),
                                                       transport::HttpTransportOptions{});
    mcp_->addRoutes(router_, "/mcp");
    // A token endpoint that answers 200 without a token, and one that answers garbage.
    router_.add(net::Method::kPost, "/no-token",
                [](const net::RequestPtr&, const net::ResponseWriterPtr& w) {
                  w->send(net::Response::json(200, R"({"token_type":"Bearer"})"));
                });
    router_.add(net::Method::kPost, "/garbage",
                [](const net::RequestPtr&, const net::ResponseWriterPtr& w) {
                  w->send(net::Response{200, {}, "<html>hello</html>"});
                });
    router_.add(
        net::Method::kPost, "/slow-token",
        [this](const net::RequestPtr&, const net::ResponseWriterPtr& w) {
          ++slow_token_requests_;
          loop_.postAfter(300ms, [w] {
            w->send(net::Response::json(
                200, R"({"access_token":"tok-1","token_type":"bearer","expires_in":"60"})"));
          });
        });
    net::HttpServerOptions http;
    http.port = 0;
    http.access_log = false;
    server_ = net::makeHttpServer(
        loop_, http, [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          if (r->path.starts_with("/mcp")) {
            if (r->method == net::Method::kGet) ++gets_;
            if (auto auth = r->header("Authorization")) {
              std::lock_guard lock(mutex_);
              bearers_.insert(std::string(*auth));
            }
            if (!oauth_->admit(*r, w)) return;
          }
          router_.dispatch(r, w);
        });
    ASSERT_TRUE(server_->listen().ok());
    thread_ = std::thread([this] { loop_.run(); });
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  OAuthClientCredentials credentials(std::string secret = kSecret) const {
    return OAuthClientCredentials{url("/oauth/token"), kClientId, core::Secret(std::move(secret)),
                                  "tools:read tools:call", "https://mcp.example"};
  }

  UpstreamPtr start(OAuthClientCredentials creds) {
    UpstreamConfig config;
    config.name = "protected";
    config.transport = "streamable-http";
    config.url = url("/mcp");
    config.oauth = std::move(creds);
    config.init_timeout = 10s;
    config.restart_initial = 100ms;
    config.restart_max = 500ms;
    auto up = makeUpstream(loop_, std::move(config), listener_);
    upstreams_.push_back(up);
    up->start();
    return up;
  }

  // Calls the fixture's echo tool and waits for the answer.
  mcp::Message echo(Upstream& up, const std::string& text) {
    auto answer = std::make_shared<std::promise<mcp::Message>>();
    auto future = answer->get_future();
    up.call("tools/call",
            json::object{{"name", "echo"}, {"arguments", json::object{{"message", text}}}},
            [answer](const mcp::Message& m) { answer->set_value(m); });
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 10 s";
      return mcp::makeError(nullptr, -1, "no answer");
    }
    return future.get();
  }

  static std::string echoed(const mcp::Message& m) {
    if (m.kind != mcp::Kind::kResult) return "error: " + mcp::serialize(m);
    return std::string(m.result.at("content").at(0).at("text").as_string());
  }

  core::Result<AccessTokens::Token> tokenFrom(AccessTokens& tokens) {
    std::promise<core::Result<AccessTokens::Token>> promise;
    auto future = promise.get_future();
    tokens.get(
        [&promise](core::Result<AccessTokens::Token> r) { promise.set_value(std::move(r)); });
    if (future.wait_for(10s) != std::future_status::ready)
      return core::Error{core::Errc::kTimeout, "test: no token within 10 s"};
    return future.get();
  }

  std::size_t distinctBearers() {
    std::lock_guard lock(mutex_);
    return bearers_.size();
  }
  std::set<std::string> bearers() {
    std::lock_guard lock(mutex_);
    return bearers_;
  }

  net::EventLoop loop_{2};
  net::Router router_;
  std::unique_ptr<fixture::OAuthServer> oauth_;
  std::unique_ptr<transport::StreamableHttp> mcp_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  Listener listener_;
  std::vector<UpstreamPtr> upstreams_;
  std::atomic<int> slow_token_requests_{0};
  std::atomic<int> gets_{0}; // GET /mcp: the channel's standalone stream
  std::mutex mutex_;
  std::set<std::string> bearers_; // Authorization headers seen on /mcp
};

TEST_F(OAuthUpstreamTest, CallsSucceedWithClientCredentials) {
  LogCapture logs;
  serve();
  auto up = start(credentials());
  ASSERT_TRUE(listener_.waitFor(State::kReady)) << up->lastError();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(echoed(echo(*up, "hi " + std::to_string(i))), "hi " + std::to_string(i));
  const auto stats = oauth_->stats();
  EXPECT_EQ(stats.tokens_issued, 1u) << "one token serves every request while it is fresh";
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(stats.last_scope, "tools:read tools:call");
  EXPECT_EQ(stats.last_audience, "https://mcp.example");
  ASSERT_EQ(distinctBearers(), 1u);
  const std::string bearer = *bearers().begin();
  ASSERT_TRUE(bearer.starts_with("Bearer "));
  const std::string token = bearer.substr(7);
  for (const auto& line : logs.lines()) {
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
    EXPECT_EQ(line.find(token), std::string::npos) << line;
  }
}

TEST_F(OAuthUpstreamTest, AWrongSecretIsAClearErrorWithoutTheSecret) {
  LogCapture logs;
  serve();
  const std::string wrong = "not-the-Secret-42";
  auto up = start(credentials(wrong));
  ASSERT_TRUE(listener_.waitFor(State::kRestarting));
  const std::string error = up->lastError();
  EXPECT_NE(error.find("OAuth token request to " + url("/oauth/token") + " failed"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("HTTP 401: invalid_client"), std::string::npos) << error;
  EXPECT_EQ(error.find(wrong), std::string::npos) << error;
  EXPECT_EQ(oauth_->stats().rejected, 0u) << "nothing reaches the upstream without a token";
  for (const auto& detail : listener_.details())
    EXPECT_EQ(detail.find(wrong), std::string::npos) << detail;
  for (const auto& line : logs.lines())
    EXPECT_EQ(line.find(wrong), std::string::npos) << line;
}

TEST_F(OAuthUpstreamTest, ShortLivedTokensAreRefreshedBeforeTheyExpire) {
  serve(2s);
  auto up = start(credentials());
  ASSERT_TRUE(listener_.waitFor(State::kReady)) << up->lastError();
  const auto until = std::chrono::steady_clock::now() + 4500ms;
  int calls = 0;
  while (std::chrono::steady_clock::now() < until) {
    const std::string text = "n" + std::to_string(calls++);
    ASSERT_EQ(echoed(echo(*up, text)), text);
    std::this_thread::sleep_for(100ms);
  }
  const auto stats = oauth_->stats();
  EXPECT_GE(stats.tokens_issued, 3u) << "a 2 s token is replaced after 1 s";
  EXPECT_EQ(stats.rejected, 0u) << "no request carried an expired token";
  EXPECT_EQ(distinctBearers(), stats.tokens_issued);
  EXPECT_GE(calls, 20);
}

TEST_F(OAuthUpstreamTest, ARefusedTokenIsReplacedOnceAndTheCallSucceeds) {
  serve();
  auto up = start(credentials());
  ASSERT_TRUE(listener_.waitFor(State::kReady)) << up->lastError();
  EXPECT_EQ(echoed(echo(*up, "before")), "before");
  // Once the handshake is over (the GET stream follows it), nothing else is in flight.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (gets_ == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_GT(gets_, 0);
  std::this_thread::sleep_for(50ms);
  oauth_->revokeAll(); // the server forgets the token
  EXPECT_EQ(echoed(echo(*up, "after")), "after");
  auto stats = oauth_->stats();
  EXPECT_EQ(stats.tokens_issued, 2u);
  EXPECT_EQ(stats.rejected, 1u);

  // Several calls refused at once still cost one token request.
  oauth_->revokeAll();
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&, i] {
      if (echoed(echo(*up, "c" + std::to_string(i))) == "c" + std::to_string(i)) ++ok;
    });
  }
  for (auto& t : callers)
    t.join();
  EXPECT_EQ(ok, 8);
  stats = oauth_->stats();
  EXPECT_EQ(stats.tokens_issued, 3u);
  EXPECT_EQ(up->state(), State::kReady);
}

TEST_F(OAuthUpstreamTest, ConcurrentRequestsWaitForOneTokenRequest) {
  serve();
  auto creds = credentials();
  creds.token_url = url("/slow-token");
  auto tokens = makeAccessTokens(loop_, creds, "t");
  std::vector<std::thread> askers;
  std::mutex mutex;
  std::vector<std::string> got;
  for (int i = 0; i < 16; ++i) {
    askers.emplace_back([&] {
      auto token = tokenFrom(*tokens);
      std::lock_guard lock(mutex);
      got.push_back(token ? token->value.reveal() : "error: " + token.error().message);
    });
  }
  for (auto& t : askers)
    t.join();
  EXPECT_EQ(slow_token_requests_, 1);
  EXPECT_EQ(got, std::vector<std::string>(16, "tok-1"));
  EXPECT_EQ(tokens->fetched(), 1u);
  // Cached now (expires_in "60" as a string counts): no second request.
  auto again = tokenFrom(*tokens);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(slow_token_requests_, 1);
  // Refused: the next request fetches; a refusal of an older token changes nothing.
  tokens->refused(again->generation);
  auto fresh = tokenFrom(*tokens);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(slow_token_requests_, 2);
  tokens->refused(again->generation);
  ASSERT_TRUE(tokenFrom(*tokens).ok());
  EXPECT_EQ(slow_token_requests_, 2);
}

TEST_F(OAuthUpstreamTest, BadTokenEndpointAnswersAreClearErrors) {
  serve();
  auto expect = [&](const std::string& token_url, const std::string& needle) {
    auto creds = credentials();
    creds.token_url = token_url;
    auto tokens = makeAccessTokens(loop_, creds, "t");
    auto token = tokenFrom(*tokens);
    ASSERT_FALSE(token.ok()) << token_url;
    EXPECT_NE(token.error().message.find(needle), std::string::npos) << token.error().message;
    EXPECT_EQ(token.error().message.find(kSecret), std::string::npos) << token.error().message;
  };
  expect(url("/no-token"), "failed: the answer has no access_token");
  expect(url("/garbage"), "failed: the answer is not a JSON object");
  expect(url("/nowhere"), "failed: HTTP 404");
  expect("https://127.0.0.1:1/token", "https is not supported");
}

} // namespace
} // namespace forge::upstream
