#include "transport/session_core.h"

#include "core/assert.h"
#include "core/log.h"
#include "mcp/protocol.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <array>

namespace forge::transport {

namespace json = mcp::json;

// ---------------------------------------------------------------------------------------------
// SinkExchange
// ---------------------------------------------------------------------------------------------

SinkExchange::SinkExchange(std::shared_ptr<SessionCore> session, mcp::Message request,
                           ExchangeSink sink)
    : session_(std::move(session)), request_(std::move(request)), sink_(std::move(sink)) {}

SinkExchange::~SinkExchange() {
  // Exactly one response per request: an exchange dropped unanswered still answers.
  if (!answered_) {
    FORGE_BUG(fmt::format("request '{}' was dropped without an answer", request_.method));
    session_->forget(mcp::idKey(request_.id));
    const auto error = mcp::makeError(request_.id, mcp::kInternalError,
                                      "the server dropped the request without answering");
    sink_.finish(&error);
  }
}

void SinkExchange::notify(std::string method, json::value params) {
  if (answered()) return;
  sink_.send(mcp::makeNotification(std::move(method), std::move(params)));
}

json::value SinkExchange::ask(std::string method, json::value params, mcp::ReplyHandler on_reply) {
  return sendAsk(*session_, sink_.send, std::move(method), std::move(params), std::move(on_reply));
}

void SinkExchange::cancelAsk(const json::value& id, const std::string& reason) {
  withdrawAsk(*session_, sink_.send, id, reason);
}

void SinkExchange::reply(json::value result) {
  answer(mcp::makeResult(request_.id, std::move(result)));
}

void SinkExchange::replyRaw(std::string result_json) {
  mcp::Message message = mcp::makeResult(request_.id, nullptr);
  message.raw_result = std::move(result_json);
  answer(std::move(message));
}

void SinkExchange::fail(int code, std::string message, json::value data) {
  answer(mcp::makeError(request_.id, code, std::move(message), std::move(data)));
}

bool SinkExchange::answered() const {
  std::lock_guard lock(mutex_);
  return answered_;
}

void SinkExchange::onCancel(std::function<void(std::string)> handler) {
  {
    std::lock_guard lock(mutex_);
    if (!cancelled_) {
      cancel_handlers_.push_back(std::move(handler));
      return;
    }
  }
  handler("cancelled");
}

void SinkExchange::answer(mcp::Message message) {
  {
    std::lock_guard lock(mutex_);
    if (answered_) return;
    answered_ = true;
  }
  session_->forget(mcp::idKey(request_.id));
  sink_.finish(&message);
}

void SinkExchange::cancel(const std::string& reason) {
  std::vector<std::function<void(std::string)>> handlers;
  {
    std::lock_guard lock(mutex_);
    if (answered_) return;
    answered_ = cancelled_ = true;
    handlers.swap(cancel_handlers_);
  }
  session_->forget(mcp::idKey(request_.id));
  for (auto& handler : handlers)
    handler(reason);
  sink_.finish(nullptr);
}

// ---------------------------------------------------------------------------------------------
// SessionCore
// ---------------------------------------------------------------------------------------------

SessionCore::SessionCore(net::EventLoop& loop, std::chrono::milliseconds ask_timeout)
    : loop_(loop), ask_timeout_(ask_timeout), last_activity_(std::chrono::steady_clock::now()) {}

SessionCore::~SessionCore() = default;

core::Result<json::object> SessionCore::initialize(mcp::Application& app, mcp::SessionInfo info,
                                                   const mcp::Message& request,
                                                   mcp::ClientLinkPtr link) {
  const auto& params = request.paramsObject();
  const auto* requested = params.if_contains("protocolVersion");
  if (!requested || !requested->is_string()) {
    return core::Error{core::Errc::kInvalidParams, "initialize needs \"protocolVersion\""};
  }
  info.protocol_version = mcp::negotiateVersion(requested->get_string());
  if (const auto* caps = params.if_contains("capabilities"); caps && caps->is_object()) {
    info.client_capabilities = caps->get_object();
  }
  if (const auto* client = params.if_contains("clientInfo"); client && client->is_object()) {
    info.client_info = client->get_object();
  }
  auto opened = app.open(info, params, std::move(link));
  if (!opened) return opened.error();
  auto result = std::move(opened->result);
  result["protocolVersion"] = info.protocol_version;
  std::lock_guard lock(mutex_);
  info_ = std::move(info);
  app_session_ = std::move(opened->session);
  return result;
}

bool SessionCore::initialized() const {
  std::lock_guard lock(mutex_);
  return app_session_ != nullptr;
}

void SessionCore::dispatch(const mcp::Message& message, const ExchangeSink& sink) {
  touch();
  if (message.isResponse()) {
    if (!deliverResponse(message)) {
      log::debug("response for unknown request {} ignored", mcp::idKey(message.id));
    }
    return;
  }
  if (message.isNotification()) {
    if (message.method == "notifications/cancelled") {
      deliverCancel(message);
      return;
    }
    mcp::SessionPtr app;
    {
      std::lock_guard lock(mutex_);
      app = app_session_;
    }
    if (app) app->notify(message);
    return;
  }
  if (message.method == "ping") {
    const auto pong = mcp::makeResult(message.id, json::object{});
    sink.finish(&pong);
    return;
  }
  const char* refusal = nullptr;
  mcp::SessionPtr app;
  const std::string key = mcp::idKey(message.id);
  {
    std::lock_guard lock(mutex_);
    app = app_session_;
    const auto it = exchanges_.find(key);
    if (message.method == "initialize")
      refusal = "the session is already initialized";
    else if (!app)
      refusal = "the session is not initialized";
    else if (it != exchanges_.end() && !it->second.expired()) {
      refusal = "a request with this id is already in flight";
    }
  }
  if (refusal) {
    const auto error = mcp::makeError(message.id, mcp::kInvalidRequest, refusal);
    sink.finish(&error);
    return;
  }
  auto exchange = std::make_shared<SinkExchange>(shared_from_this(), message, sink);
  {
    std::lock_guard lock(mutex_);
    exchanges_[key] = exchange;
  }
  app->handle(exchange);
}

json::value SessionCore::registerAsk(mcp::ReplyHandler on_reply) {
  json::value id;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      id = json::value(-1);
    } else {
      id = json::value(next_ask_id_++);
      asks_[mcp::idKey(id)] = std::move(on_reply);
    }
  }
  if (id == json::value(-1)) {
    on_reply(mcp::makeError(id, mcp::kInternalError, "the session has ended"));
    return id;
  }
  loop_.postAfter(ask_timeout_, [weak = weak_from_this(), id, timeout = ask_timeout_] {
    if (auto self = weak.lock()) {
      self->failAsk(id, fmt::format("the client did not answer within {} ms", timeout.count()));
    }
  });
  return id;
}

void SessionCore::failAsk(const json::value& id, const std::string& why) {
  mcp::ReplyHandler handler;
  {
    std::lock_guard lock(mutex_);
    auto it = asks_.find(mcp::idKey(id));
    if (it == asks_.end()) return;
    handler = std::move(it->second);
    asks_.erase(it);
  }
  handler(mcp::makeError(id, mcp::kRequestTimeout, why));
}

bool SessionCore::deliverResponse(const mcp::Message& response) {
  mcp::ReplyHandler handler;
  {
    std::lock_guard lock(mutex_);
    auto it = asks_.find(mcp::idKey(response.id));
    if (it == asks_.end()) return false;
    handler = std::move(it->second);
    asks_.erase(it);
  }
  handler(response);
  return true;
}

void SessionCore::deliverCancel(const mcp::Message& notification) {
  const auto& params = notification.paramsObject();
  const auto* request_id = params.if_contains("requestId");
  if (!request_id) return;
  std::string reason = "cancelled by the client";
  if (const auto* r = params.if_contains("reason"); r && r->is_string()) reason = r->get_string();
  std::shared_ptr<SinkExchange> exchange;
  {
    std::lock_guard lock(mutex_);
    auto it = exchanges_.find(mcp::idKey(*request_id));
    if (it != exchanges_.end()) exchange = it->second.lock();
  }
  if (exchange) exchange->cancel(reason);
}

void SessionCore::forget(const std::string& id_key) {
  std::lock_guard lock(mutex_);
  exchanges_.erase(id_key);
}

void SessionCore::close() {
  std::unordered_map<std::string, mcp::ReplyHandler> asks;
  std::vector<std::shared_ptr<SinkExchange>> exchanges;
  mcp::SessionPtr app;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    asks.swap(asks_);
    for (auto& [key, weak] : exchanges_) {
      if (auto e = weak.lock()) exchanges.push_back(std::move(e));
    }
    exchanges_.clear();
    app = std::move(app_session_);
  }
  for (auto& [key, handler] : asks) {
    handler(mcp::makeError(nullptr, mcp::kInternalError, "the session has ended"));
  }
  for (auto& exchange : exchanges)
    exchange->cancel("the session has ended");
  if (app) app->close();
}

bool SessionCore::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t SessionCore::inFlight() const {
  std::lock_guard lock(mutex_);
  return exchanges_.size();
}

std::chrono::steady_clock::time_point SessionCore::lastActivity() const {
  std::lock_guard lock(mutex_);
  return last_activity_;
}

void SessionCore::touch() {
  std::lock_guard lock(mutex_);
  last_activity_ = std::chrono::steady_clock::now();
}

// ---------------------------------------------------------------------------------------------
// SinkLink
// ---------------------------------------------------------------------------------------------

void SinkLink::setSink(MessageSink sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
}

bool SinkLink::hasSink() const {
  std::lock_guard lock(mutex_);
  return static_cast<bool>(sink_);
}

bool SinkLink::send(const mcp::Message& message) {
  MessageSink sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  return sink && sink(message);
}

void SinkLink::notify(std::string method, json::value params) {
  send(mcp::makeNotification(std::move(method), std::move(params)));
}

json::value SinkLink::ask(std::string method, json::value params, mcp::ReplyHandler on_reply) {
  auto session = session_.lock();
  if (!session) {
    on_reply(mcp::makeError(nullptr, mcp::kInternalError, "the session has ended"));
    return nullptr;
  }
  return sendAsk(
      *session, [this](const mcp::Message& m) { return send(m); }, std::move(method),
      std::move(params), std::move(on_reply));
}

void SinkLink::cancelAsk(const json::value& id, const std::string& reason) {
  if (auto session = session_.lock()) {
    withdrawAsk(
        *session, [this](const mcp::Message& m) { return send(m); }, id, reason);
  }
}

json::value sendAsk(SessionCore& session, const MessageSink& sink, std::string method,
                    json::value params, mcp::ReplyHandler on_reply) {
  const json::value id = session.registerAsk(std::move(on_reply));
  if (id == json::value(-1)) return nullptr; // session ended; the handler already ran
  if (!sink || !sink(mcp::makeRequest(id, std::move(method), std::move(params)))) {
    session.failAsk(id, "there is no open stream to the client");
    return nullptr;
  }
  return id;
}

void withdrawAsk(SessionCore& session, const MessageSink& sink, const json::value& id,
                 const std::string& reason) {
  if (id.is_null()) return;
  if (sink) {
    sink(mcp::makeNotification("notifications/cancelled",
                               json::object{{"requestId", id}, {"reason", reason}}));
  }
  session.failAsk(id, reason);
}

std::string newSessionId() {
  std::array<unsigned char, 16> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    FORGE_RELEASE_ASSERT(n > 0);
    filled += static_cast<std::size_t>(n);
  }
  std::string id;
  for (unsigned char b : bytes)
    id += fmt::format("{:02x}", b);
  return id;
}

} // namespace forge::transport
