// SessionCore: the transport-independent half of a client session, shared by every transport
// (Streamable HTTP, HTTP+SSE, /rpc, stdio). It opens the application session on initialize,
// answers ping, hands requests to the application as Exchanges, routes the client's responses
// to the server-to-client requests waiting for them, and delivers cancellations.
//
// Transports differ only in where an outgoing message goes; they say so with a MessageSink.
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace forge::transport {

// Where a transport writes one outgoing message. Returns false when it could not be sent
// (stream closed, no stream open).
using MessageSink = std::function<bool(const mcp::Message& message)>;

// Where an exchange writes: related messages go to `send`; `finish` runs once, with the answer,
// or with nullptr when the client cancelled the request (nothing more will be written).
struct ExchangeSink {
  MessageSink send;
  std::function<void(const mcp::Message* answer)> finish;
  std::shared_ptr<const auth::Principal> principal; // who sent the requests, if known
};

class SessionCore;

// An Exchange whose related messages and answer go to a MessageSink.
class SinkExchange final : public mcp::Exchange, public std::enable_shared_from_this<SinkExchange> {
public:
  SinkExchange(std::shared_ptr<SessionCore> session, mcp::Message request, ExchangeSink sink);
  ~SinkExchange() override;

  // mcp::ClientLink
  void notify(std::string method, mcp::json::value params) override;
  mcp::json::value ask(std::string method, mcp::json::value params,
                       mcp::ReplyHandler on_reply) override;
  void cancelAsk(const mcp::json::value& id, const std::string& reason) override;
  // mcp::Exchange
  const mcp::Message& request() const override { return request_; }
  void reply(mcp::json::value result) override;
  void replyRaw(std::string result_json) override;
  void fail(int code, std::string message, mcp::json::value data = nullptr) override;
  using mcp::Exchange::fail;
  bool answered() const override;
  void onCancel(std::function<void(std::string reason)> handler) override;
  const auth::Principal* principal() const override { return sink_.principal.get(); }

  // Called by SessionCore when the client cancels this request.
  void cancel(const std::string& reason);

private:
  void answer(mcp::Message message);

  std::shared_ptr<SessionCore> session_;
  const mcp::Message request_;
  ExchangeSink sink_;
  mutable std::mutex mutex_;
  bool answered_ = false;
  bool cancelled_ = false;
  std::vector<std::function<void(std::string)>> cancel_handlers_;
};

class SessionCore : public std::enable_shared_from_this<SessionCore> {
public:
  SessionCore(net::EventLoop& loop, std::chrono::milliseconds ask_timeout);
  ~SessionCore();

  // Answers an initialize request: opens the application session (`link` carries unrelated
  // messages). Returns the initialize result, or the error to answer with.
  core::Result<mcp::json::object> initialize(mcp::Application& app, mcp::SessionInfo info,
                                             const mcp::Message& request, mcp::ClientLinkPtr link);
  bool initialized() const;
  const mcp::SessionInfo& info() const { return info_; }

  // Handles one client message on an initialized session. Requests are answered through an
  // exchange writing to `sink`; responses and notifications need no sink.
  void dispatch(const mcp::Message& message, const ExchangeSink& sink);

  // Registers a server-to-client request and returns the id to send it with. `on_reply` runs
  // once: with the client's response, an error after the ask timeout, or when the session ends.
  mcp::json::value registerAsk(mcp::ReplyHandler on_reply);
  // Fails a registered ask at once (used when its message could not be sent).
  void failAsk(const mcp::json::value& id, const std::string& why);

  // Ends the session: fails pending asks and closes the application session.
  void close();
  bool closed() const;
  // Requests in flight (exchanges not yet answered).
  std::size_t inFlight() const;
  std::chrono::steady_clock::time_point lastActivity() const;
  void touch();

private:
  friend class SinkExchange;
  void forget(const std::string& id_key);
  bool deliverResponse(const mcp::Message& response);
  void deliverCancel(const mcp::Message& notification);

  net::EventLoop& loop_;
  const std::chrono::milliseconds ask_timeout_;
  mcp::SessionInfo info_;
  mcp::SessionPtr app_session_;
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::int64_t next_ask_id_ = 1;
  std::unordered_map<std::string, mcp::ReplyHandler> asks_;
  std::unordered_map<std::string, std::weak_ptr<SinkExchange>> exchanges_;
  std::chrono::steady_clock::time_point last_activity_;
};

// A ClientLink that writes to a sink chosen at call time (the GET stream of a session, the
// SSE stream of a legacy session, stdout). Asks sent when no sink is open fail at once.
class SinkLink final : public mcp::ClientLink {
public:
  explicit SinkLink(std::weak_ptr<SessionCore> session) : session_(std::move(session)) {}
  void setSink(MessageSink sink);
  bool hasSink() const;

  // mcp::ClientLink
  void notify(std::string method, mcp::json::value params) override;
  mcp::json::value ask(std::string method, mcp::json::value params,
                       mcp::ReplyHandler on_reply) override;
  void cancelAsk(const mcp::json::value& id, const std::string& reason) override;

private:
  bool send(const mcp::Message& message);

  std::weak_ptr<SessionCore> session_;
  mutable std::mutex mutex_;
  MessageSink sink_;
};

// Sends a server-to-client request through `sink`, registering it with `session` (shared by
// SinkExchange and SinkLink). Returns the id, or null when it could not be sent.
mcp::json::value sendAsk(SessionCore& session, const MessageSink& sink, std::string method,
                         mcp::json::value params, mcp::ReplyHandler on_reply);
// Withdraws an ask: notifications/cancelled through `sink`, and its handler fails.
void withdrawAsk(SessionCore& session, const MessageSink& sink, const mcp::json::value& id,
                 const std::string& reason);

// A cryptographically random session id (32 hex characters).
std::string newSessionId();

} // namespace forge::transport
