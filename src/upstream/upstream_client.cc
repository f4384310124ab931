// UpstreamClient: the Upstream implementation, on top of any Channel.
//
// DESIGN. All state lives under one mutex; callbacks (answers, listener calls) always run
// outside it. A call gets a fresh integer id for this upstream; `pending_` maps it to the
// caller's handler. Calls wait in `queue_` while the upstream is (re)starting or while
// max_concurrency calls are in flight. Each connection has a generation number so that late
// events from a dead connection are ignored.
#include "core/log.h"
#include "core/version.h"
#include "mcp/protocol.h"
#include "upstream/upstream.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace forge::upstream {
namespace {

namespace json = mcp::json;
using Clock = std::chrono::steady_clock;

mcp::Message errorAnswer(const json::value& id, int code, std::string message) {
  return mcp::makeError(id, code, std::move(message));
}

class UpstreamClient final : public Upstream, public std::enable_shared_from_this<UpstreamClient> {
public:
  UpstreamClient(net::EventLoop& loop, UpstreamConfig config, UpstreamListener& listener)
      : loop_(loop), config_(std::move(config)), listener_(listener),
        backoff_(config_.restart_initial) {
    if (config_.oauth && config_.transport != "stdio")
      tokens_ = makeAccessTokens(loop_, *config_.oauth, config_.name);
  }

  // Upstream
  const UpstreamConfig& config() const override { return config_; }

  void start() override {
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::kStopped || stopped_for_good_) return;
    }
    connect();
  }

  void stop() override {
    ChannelPtr channel;
    std::vector<CallHandler> failed;
    {
      std::lock_guard lock(mutex_);
      if (stopped_for_good_) return;
      stopped_for_good_ = true;
      state_ = State::kStopped;
      channel = std::move(channel_);
      failed = takeAllLocked();
      ++generation_;
    }
    if (channel) channel->close();
    failAll(failed, fmt::format("upstream '{}' is stopped", config_.name));
    listener_.onStateChange(config_.name, State::kStopped, "stopped");
    std::lock_guard lock(mutex_);
    closing_channel_ = std::move(channel);
  }

  void waitStopped(std::chrono::milliseconds limit) override {
    ChannelPtr channel;
    {
      std::lock_guard lock(mutex_);
      channel = closing_channel_;
    }
    if (channel) channel->waitClosed(limit);
  }

  State state() const override {
    std::lock_guard lock(mutex_);
    return state_;
  }
  std::string lastError() const override {
    std::lock_guard lock(mutex_);
    return last_error_;
  }
  json::object initializeResult() const override {
    std::lock_guard lock(mutex_);
    return initialize_result_;
  }
  std::size_t inFlight() const override {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }
  int pid() const override {
    std::lock_guard lock(mutex_);
    return channel_ ? channel_->pid() : -1;
  }

  using Upstream::call;
  json::value call(mcp::Message request, CallHandler on_answer,
                   std::function<void(const json::value&)> on_id) override {
    std::unique_lock lock(mutex_);
    const json::value id(next_id_++);
    if (on_id) {
      // Runs before anything is sent; the call cannot be answered while we hold the lock.
      lock.unlock();
      on_id(id);
      lock.lock();
    }
    if (stopped_for_good_) {
      lock.unlock();
      on_answer(errorAnswer(id, mcp::kUpstreamError,
                            fmt::format("upstream '{}' is stopped", config_.name)));
      return id;
    }
    if (state_ == State::kRestarting) {
      // Down, waiting to reconnect: say why now rather than after the call deadline.
      const std::string why = last_error_;
      lock.unlock();
      on_answer(errorAnswer(id, mcp::kUpstreamError,
                            fmt::format("upstream '{}' is unavailable: {}", config_.name, why)));
      return id;
    }
    if (queue_.size() >= config_.max_queue) {
      lock.unlock();
      on_answer(errorAnswer(id, mcp::kUpstreamError,
                            fmt::format("upstream '{}' is overloaded ({} calls waiting)",
                                        config_.name, config_.max_queue)));
      return id;
    }
    request.id = id;
    armSweepLocked();
    if (state_ == State::kReady && queue_.empty() && pending_.size() < config_.max_concurrency &&
        channel_) {
      // The usual case: in flight at once, without a turn through the queue.
      markInFlightLocked(id, std::move(on_answer), request.method);
      ChannelPtr channel = channel_;
      lock.unlock();
      channel->send(request);
      return id;
    }
    queue_.push_back(
        Waiting{id, std::move(request), std::move(on_answer), Clock::now() + config_.call_timeout});
    auto ready = drainLocked();
    lock.unlock();
    sendAll(ready);
    return id;
  }

  void cancel(const json::value& upstream_id, const std::string& reason) override {
    CallHandler handler = takeCall(upstream_id);
    if (!handler) return;
    notify("notifications/cancelled", json::object{{"requestId", upstream_id}, {"reason", reason}});
    handler(errorAnswer(upstream_id, mcp::kRequestTimeout, reason));
    pump();
  }

  void notify(std::string method, json::value params) override {
    ChannelPtr channel;
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::kReady) return;
      channel = channel_;
    }
    if (channel) channel->send(mcp::makeNotification(std::move(method), std::move(params)));
  }

private:
  struct Waiting {
    json::value id;
    mcp::Message request;
    CallHandler handler;
    Clock::time_point deadline;
  };
  struct Pending {
    CallHandler handler;
    std::string method;
    Clock::time_point deadline = Clock::time_point::max(); // initialize: its own timeout
    json::value id;
  };

  // ---- connection lifecycle ------------------------------------------------------------------

  void connect() {
    auto channel = makeChannel(loop_, config_, tokens_);
    std::uint64_t generation;
    {
      std::lock_guard lock(mutex_);
      if (stopped_for_good_) return;
      state_ = State::kStarting;
      channel_ = channel;
      generation = ++generation_;
    }
    std::weak_ptr<UpstreamClient> weak = weak_from_this();
    channel->open(ChannelCallbacks{
        [weak, generation](mcp::Message message, std::optional<json::value> related) {
          if (auto self = weak.lock()) self->onMessage(generation, std::move(message), related);
        },
        [weak, generation](std::string reason) {
          if (auto self = weak.lock()) self->onClosed(generation, std::move(reason));
        }});
    sendInitialize(channel, generation);
  }

  void sendInitialize(const ChannelPtr& channel, std::uint64_t generation) {
    const json::value id("forge-init-" + std::to_string(generation));
    {
      std::lock_guard lock(mutex_);
      if (generation != generation_) return;
      pending_[mcp::idKey(id)] =
          Pending{[weak = weak_from_this(), generation](const mcp::Message& m) {
                    if (auto self = weak.lock()) self->onInitialized(generation, m);
                  },
                  "initialize"};
    }
    loop_.postAfter(config_.init_timeout, [weak = weak_from_this(), id, generation] {
      auto self = weak.lock();
      if (!self) return;
      if (CallHandler h = self->takeCall(id)) {
        h(errorAnswer(id, mcp::kRequestTimeout, "initialize timed out"));
      }
    });
    channel->send(mcp::makeRequest(
        id, "initialize",
        json::object{
            {"protocolVersion", mcp::kLatestProtocolVersion},
            {"capabilities", json::object{{"roots", json::object{{"listChanged", true}}},
                                          {"sampling", json::object{}},
                                          {"elicitation", json::object{}}}},
            {"clientInfo", json::object{{"name", "forge-gateway"}, {"version", core::kVersion}}}}));
  }

  void onInitialized(std::uint64_t generation, const mcp::Message& answer) {
    if (answer.kind != mcp::Kind::kResult || !answer.result.is_object()) {
      const std::string why = answer.kind == mcp::Kind::kError
                                  ? mcp::toError(answer).message
                                  : "initialize answered without a result";
      log::warn("upstream {}: initialize failed: {}", config_.name, why);
      onClosed(generation, "initialize failed: " + why);
      return;
    }
    ChannelPtr channel;
    std::vector<Waiting> ready;
    {
      std::lock_guard lock(mutex_);
      if (generation != generation_) return;
      initialize_result_ = answer.result.get_object();
      state_ = State::kReady;
      ready_since_ = Clock::now();
      channel = channel_;
      if (const auto* v = initialize_result_.if_contains("protocolVersion"); v && v->is_string()) {
        channel->setProtocolVersion(std::string(v->get_string()));
      }
    }
    channel->send(mcp::makeNotification("notifications/initialized", json::object{}));
    log::info("upstream {}: ready", config_.name);
    listener_.onStateChange(config_.name, State::kReady, "initialized");
    pump();
  }

  void onClosed(std::uint64_t generation, std::string reason) {
    std::vector<CallHandler> failed;
    ChannelPtr channel;
    std::chrono::milliseconds delay;
    {
      std::lock_guard lock(mutex_);
      if (generation != generation_ || stopped_for_good_) return;
      ++generation_;
      channel = std::move(channel_);
      state_ = State::kRestarting;
      last_error_ = reason;
      // Calls waiting for the connection fail with it too: while restarting, new calls are
      // refused at once, and these would otherwise wait for their deadline (a list of all
      // upstreams held up by one that cannot start).
      failed = takeAllLocked();
      // A connection that stayed healthy for a while starts the back-off afresh.
      if (ready_since_ && Clock::now() - *ready_since_ > std::chrono::seconds(30)) {
        backoff_ = config_.restart_initial;
      }
      ready_since_.reset();
      delay = backoff_;
      backoff_ = std::min(backoff_ * 2, config_.restart_max);
    }
    if (channel) channel->close();
    log::warn("upstream {}: connection lost ({}); reconnecting in {} ms", config_.name, reason,
              delay.count());
    failAll(failed, fmt::format("upstream '{}' failed: {}", config_.name, reason));
    listener_.onStateChange(config_.name, State::kRestarting, reason);
    loop_.postAfter(delay, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->connect();
    });
  }

  // ---- messages --------------------------------------------------------------------------------

  void onMessage(std::uint64_t generation, mcp::Message message,
                 std::optional<json::value> related) {
    {
      std::lock_guard lock(mutex_);
      if (generation != generation_) return;
    }
    if (message.isResponse()) {
      if (CallHandler handler = takeCall(message.id)) {
        handler(std::move(message));
        pump();
      }
      return;
    }
    if (message.isNotification()) {
      listener_.onNotification(config_.name, message, related);
      return;
    }
    respondToServerRequest(generation, std::move(message), related);
  }

  void respondToServerRequest(std::uint64_t generation, mcp::Message request,
                              const std::optional<json::value>& related) {
    std::weak_ptr<UpstreamClient> weak = weak_from_this();
    auto respond = [weak, generation](mcp::Message response) {
      auto self = weak.lock();
      if (!self) return;
      ChannelPtr channel;
      {
        std::lock_guard lock(self->mutex_);
        if (generation != self->generation_) return;
        channel = self->channel_;
      }
      if (channel) channel->send(response);
    };
    if (request.method == "ping") {
      respond(mcp::makeResult(request.id, json::object{}));
      return;
    }
    listener_.onServerRequest(config_.name, request, related,
                              [respond, id = request.id](mcp::Message response) {
                                response.id = id;
                                respond(std::move(response));
                              });
  }

  // ---- the call table --------------------------------------------------------------------------

  // Deadlines. Every call waits call_timeout at most, for a free slot (or for the upstream to be
  // ready), then for its answer (then it is cancelled upstream and its caller gets a timeout
  // error). One sweep timer per upstream, running while calls are waiting
  // or in flight, expires them: a timer per call would hold its closure for the full timeout
  // after the answer came, which at thousands of calls per second is hundreds of megabytes.

  std::chrono::milliseconds sweepInterval() const {
    return std::clamp(config_.call_timeout / 8, std::chrono::milliseconds(10),
                      std::chrono::milliseconds(250));
  }

  void armSweepLocked() {
    if (sweep_armed_) return;
    sweep_armed_ = true;
    loop_.postAfter(sweepInterval(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->sweep();
    });
  }

  void sweep() {
    std::vector<std::pair<json::value, CallHandler>> unanswered, unsent;
    std::size_t in_flight = 0;
    {
      std::lock_guard lock(mutex_);
      sweep_armed_ = false;
      const auto now = Clock::now();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline > now) {
          ++it;
          continue;
        }
        unanswered.emplace_back(std::move(it->second.id), std::move(it->second.handler));
        it = pending_.erase(it);
      }
      while (!queue_.empty() && queue_.front().deadline <= now) {
        unsent.emplace_back(std::move(queue_.front().id), std::move(queue_.front().handler));
        queue_.pop_front();
      }
      in_flight = pending_.size();
      if (!pending_.empty() || !queue_.empty()) armSweepLocked();
    }
    for (auto& [id, handler] : unanswered) {
      notify("notifications/cancelled",
             json::object{{"requestId", id}, {"reason", "deadline exceeded"}});
      handler(errorAnswer(id, mcp::kRequestTimeout,
                          fmt::format("upstream '{}' did not answer within {} ms", config_.name,
                                      config_.call_timeout.count())));
    }
    for (auto& [id, handler] : unsent) {
      handler(errorAnswer(id, mcp::kRequestTimeout,
                          fmt::format("upstream '{}' could not take the call within {} ms "
                                      "({} calls in flight)",
                                      config_.name, config_.call_timeout.count(), in_flight)));
    }
    if (!unanswered.empty()) pump();
  }

  CallHandler takePending(const json::value& id) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(mcp::idKey(id));
    if (it == pending_.end()) return nullptr;
    CallHandler handler = std::move(it->second.handler);
    pending_.erase(it);
    return handler;
  }

  CallHandler takeQueued(const json::value& id) {
    std::lock_guard lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->id == id) {
        CallHandler handler = std::move(it->handler);
        queue_.erase(it);
        return handler;
      }
    }
    return nullptr;
  }

  // Removes a call (waiting or in flight) and returns its handler, or null if already answered.
  CallHandler takeCall(const json::value& id) {
    CallHandler handler = takePending(id);
    return handler ? handler : takeQueued(id);
  }

  // A call now waits for its answer, for call_timeout at most.
  void markInFlightLocked(const json::value& id, CallHandler handler, const std::string& method) {
    pending_[mcp::idKey(id)] =
        Pending{std::move(handler), method, Clock::now() + config_.call_timeout, id};
  }

  // Moves waiting calls in flight while the upstream is ready and below its concurrency limit.
  std::vector<mcp::Message> drainLocked() {
    std::vector<mcp::Message> ready;
    while (state_ == State::kReady && !queue_.empty() &&
           pending_.size() < config_.max_concurrency) {
      Waiting w = std::move(queue_.front());
      queue_.pop_front();
      markInFlightLocked(w.id, std::move(w.handler), w.request.method);
      ready.push_back(std::move(w.request));
    }
    return ready;
  }

  void sendAll(const std::vector<mcp::Message>& requests) {
    if (requests.empty()) return;
    ChannelPtr channel;
    {
      std::lock_guard lock(mutex_);
      channel = channel_;
    }
    if (!channel) return;
    for (const auto& r : requests)
      channel->send(r);
  }

  void pump() {
    std::vector<mcp::Message> ready;
    {
      std::lock_guard lock(mutex_);
      ready = drainLocked();
    }
    sendAll(ready);
  }

  // In-flight calls fail when their connection dies; waiting ones wait for the next connection.
  std::vector<CallHandler> takeInFlightLocked() {
    std::vector<CallHandler> out;
    for (auto& [key, p] : pending_)
      out.push_back(std::move(p.handler));
    pending_.clear();
    return out;
  }

  std::vector<CallHandler> takeAllLocked() {
    auto out = takeInFlightLocked();
    for (auto& w : queue_)
      out.push_back(std::move(w.handler));
    queue_.clear();
    return out;
  }

  static void failAll(std::vector<CallHandler>& handlers, const std::string& why) {
    for (auto& h : handlers)
      h(errorAnswer(nullptr, mcp::kUpstreamError, why));
  }

  net::EventLoop& loop_;
  const UpstreamConfig config_;
  UpstreamListener& listener_;
  mutable std::mutex mutex_;
  State state_ = State::kStopped;
  bool stopped_for_good_ = false;
  ChannelPtr channel_;
  std::uint64_t generation_ = 0;
  std::int64_t next_id_ = 1;
  std::unordered_map<std::string, Pending> pending_;
  std::deque<Waiting> queue_;
  bool sweep_armed_ = false;
  json::object initialize_result_;
  std::string last_error_;
  std::chrono::milliseconds backoff_;
  std::optional<Clock::time_point> ready_since_;
  ChannelPtr closing_channel_; // after stop(), until its process has gone
  AccessTokensPtr tokens_;     // OAuth: shared by the channels of every connection
};

} // namespace

const char* stateName(State state) {
  switch (state) {
  case State::kStarting:
    return "starting";
  case State::kReady:
    return "ready";
  case State::kRestarting:
    return "restarting";
  case State::kStopped:
    return "stopped";
  }
  return "unknown";
}

ChannelPtr makeChannel(net::EventLoop& loop, const UpstreamConfig& config, AccessTokensPtr tokens) {
  if (config.transport == "stdio") {
    return makeStdioChannel(
        loop, StdioSpec{config.command, config.args, config.env, config.cwd, config.name});
  }
  if (config.oauth && !tokens) tokens = makeAccessTokens(loop, *config.oauth, config.name);
  HttpSpec spec{config.url, config.headers, std::chrono::milliseconds(10'000), config.name,
                config.oauth ? std::move(tokens) : nullptr};
  if (config.transport == "sse") return makeSseChannel(loop, std::move(spec));
  return makeStreamableHttpChannel(loop, std::move(spec));
}

UpstreamPtr makeUpstream(net::EventLoop& loop, UpstreamConfig config, UpstreamListener& listener) {
  return std::make_shared<UpstreamClient>(loop, std::move(config), listener);
}

} // namespace forge::upstream
