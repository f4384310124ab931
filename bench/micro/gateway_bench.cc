// Routing a tools/call: the exposed name of a tool, the registry's lookup of the upstream that
// owns it (from the cached list), and a whole call through the real GatewayApp and
// UpstreamRegistry to the fixture server running as a stdio child (the gateway's path minus HTTP:
// route, id remap, serialise, pipe, parse, answer).
#include "core/log.h"
#include "gateway/gateway_app.h"
#include "gateway/registry.h"
#include "mcp/protocol.h"

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace forge::gateway {
namespace {

using namespace std::chrono_literals;

// The fixture binary: FORGE_FIXTURE in the environment, else the one built with this benchmark.
std::string fixturePath() {
  const char* path = std::getenv("FORGE_FIXTURE");
  return path ? path : FORGE_FIXTURE_PATH;
}

// Drops what the gateway sends a client besides answers (nothing, for echo).
class NullLink final : public mcp::ClientLink {
public:
  void notify(std::string, json::value) override {}
  json::value ask(std::string, json::value, mcp::ReplyHandler on_reply) override {
    on_reply(mcp::makeError(nullptr, mcp::kMethodNotFound, "no client"));
    return nullptr;
  }
};

// One client request; the benchmark thread waits for its answer.
class WaitingExchange final : public mcp::Exchange {
public:
  explicit WaitingExchange(const mcp::Message& request) : request_(request) {}

  const mcp::Message& request() const override { return request_; }
  void reply(json::value) override { finish(true); }
  using Exchange::fail;
  void fail(int, std::string, json::value) override { finish(false); }
  bool answered() const override {
    std::lock_guard lock(mutex_);
    return done_;
  }
  void onCancel(std::function<void(std::string)>) override {}
  void notify(std::string, json::value) override {}
  json::value ask(std::string, json::value, mcp::ReplyHandler on_reply) override {
    on_reply(mcp::makeError(nullptr, mcp::kMethodNotFound, "no client"));
    return nullptr;
  }

  // True when the answer was a result.
  bool wait() {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [this] { return done_; });
    return ok_;
  }

private:
  void finish(bool ok) {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    ok_ = ok;
    done_cv_.notify_all();
  }

  const mcp::Message& request_;
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool ok_ = false;
};

// A registry with the fixture as its one stdio upstream, its tool list cached, and a gateway
// session on top; made once, on first use, and torn down at exit.
class Bench {
public:
  static Bench& get() {
    static Bench bench;
    return bench;
  }

  UpstreamRegistry& registry() { return *registry_; }
  mcp::Session& session() { return *session_; }

private:
  Bench() : loop_(1), registry_(std::make_shared<UpstreamRegistry>(loop_)) {
    log::configure(log::Level::kWarn, log::Format::kText);
    io_ = std::thread([this] { loop_.run(); });
    upstream::UpstreamConfig config;
    config.name = "fixture";
    config.transport = "stdio";
    config.command = fixturePath();
    config.args = {"--stdio"};
    registry_->add(config);
    registry_->startAll();
    waitReady();
    cacheTools();
    openSession();
  }

  ~Bench() {
    session_->close();
    registry_->stopAll();
    loop_.stop();
    io_.join();
  }

  void waitReady() {
    for (int i = 0; i < 1000; ++i) {
      if (registry_->find("fixture")->state() == upstream::State::kReady) return;
      std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("the fixture upstream did not start: " + fixturePath());
  }

  void cacheTools() {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    registry_->lists(ListKind::kTools, {"fixture"}, [&](std::vector<UpstreamList>) {
      std::lock_guard lock(mutex);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return done; });
  }

  void openSession() {
    auto app = makeGatewayApp(registry_, {});
    mcp::SessionInfo info;
    info.id = "bench";
    info.protocol_version = std::string(mcp::kLatestProtocolVersion);
    info.transport = "streamable-http";
    auto opened = app->open(info, {}, std::make_shared<NullLink>());
    if (!opened) throw std::runtime_error("cannot open a gateway session");
    session_ = opened->session;
  }

  net::EventLoop loop_;
  std::shared_ptr<UpstreamRegistry> registry_;
  std::thread io_;
  mcp::SessionPtr session_;
};

void BM_ExposedName(benchmark::State& state) {
  const std::string upstream = "fixture", tool = "echo", separator = "__";
  for (auto _ : state) {
    auto name = exposedName(upstream, tool, separator, true);
    benchmark::DoNotOptimize(name);
  }
}
BENCHMARK(BM_ExposedName);

// The registry finds the upstream of "echo" in its cached tool list (the fast path of every
// tools/call on the aggregated endpoint).
void BM_RouteLookup(benchmark::State& state) {
  auto& registry = Bench::get().registry();
  const std::vector<std::string> upstreams{"fixture"};
  const std::string field = "name", value = "echo";
  for (auto _ : state) {
    bool found = false;
    registry.lookup(ListKind::kTools, upstreams, field, value,
                    [&found](UpstreamRegistry::Found hit) { found = hit.has_value(); });
    if (!found) state.SkipWithError("echo not found");
  }
}
BENCHMARK(BM_RouteLookup);

// A whole tools/call through GatewayApp, the registry and the stdio upstream, one at a time.
void BM_GatewayCallStdio(benchmark::State& state) {
  auto& session = Bench::get().session();
  const mcp::Message request =
      mcp::makeRequest(json::value(1), "tools/call",
                       json::object{{"name", "fixture__echo"}, {"arguments", json::object{}}});
  for (auto _ : state) {
    auto exchange = std::make_shared<WaitingExchange>(request);
    session.handle(exchange);
    if (!exchange->wait()) state.SkipWithError("the call failed");
  }
}
BENCHMARK(BM_GatewayCallStdio)->UseRealTime();

} // namespace
} // namespace forge::gateway
