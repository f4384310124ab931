// The contract between an MCP server application (the gateway, the fixture server) and the
// transports that carry its messages (Streamable HTTP, HTTP+SSE, /rpc, stdio).
//
// The transport owns framing, HTTP rules, session ids, protocol-version checks, ping, and the
// matching of a client's responses to the server's requests. The application sees:
//   - Application::open()   once per client session, with the initialize request;
//   - Session::handle()     once per client request (every method but initialize and ping),
//                           with an Exchange to answer through;
//   - Session::notify()     for the client's notifications (cancellation is delivered to the
//                           Exchange it cancels instead);
//   - Session::close()      when the session ends.
// Everything here is thread-safe and may be called from any thread.
#pragma once

#include "auth/roles.h"
#include "core/error.h"
#include "mcp/message.h"

#include <functional>
#include <memory>
#include <string>

namespace forge::mcp {

// Receives the client's answer to a server-to-client request: a result or an error message.
using ReplyHandler = std::function<void(const Message& response)>;

// Sends to the client. On an Exchange, messages are related to that request (Streamable HTTP
// puts them on the request's own SSE stream, before the response). On a session's ClientLink
// they are unrelated (GET stream, legacy SSE stream); without such a stream they are dropped.
class ClientLink {
public:
  virtual ~ClientLink() = default;
  virtual void notify(std::string method, json::value params) = 0;
  // Sends a request to the client; `on_reply` runs exactly once: with the client's response,
  // or with an error response when the client is gone or the session ends. Returns the id the
  // request carries toward the client (null when it could not be sent).
  virtual json::value ask(std::string method, json::value params, ReplyHandler on_reply) = 0;
  // Withdraws a request made with ask(): the client is told (notifications/cancelled) and the
  // request's ReplyHandler runs with an error. Links that cannot withdraw ignore it.
  virtual void cancelAsk(const json::value& id, const std::string& reason) {
    (void)id;
    (void)reason;
  }
};
using ClientLinkPtr = std::shared_ptr<ClientLink>;

// One client request being served. Answer exactly once, with reply() or fail(); later answers
// are ignored.
class Exchange : public ClientLink {
public:
  virtual const Message& request() const = 0;
  virtual void reply(json::value result) = 0;
  // Answers with a result already written as JSON (a Message's raw_result: validated, one line),
  // so that a result the server only forwards is not parsed and written again. By default it is
  // parsed and given to reply().
  virtual void replyRaw(std::string result_json) { reply(parseRaw(result_json)); }
  virtual void fail(int code, std::string message, json::value data = nullptr) = 0;
  void fail(const core::Error& error) { fail(core::jsonRpcCode(error.code), error.message); }
  virtual bool answered() const = 0;
  // Runs `handler(reason)` if the client cancels this request (notifications/cancelled).
  virtual void onCancel(std::function<void(std::string reason)> handler) = 0;
  // Who sent this request, as the HTTP layer authenticated it; null where no authentication
  // applies (stdio, tests).
  virtual const auth::Principal* principal() const { return nullptr; }
};
using ExchangePtr = std::shared_ptr<Exchange>;

// What the transport knows about a session when it opens.
struct SessionInfo {
  std::string id;               // Mcp-Session-Id (or a generated id on stdio and /rpc)
  std::string protocol_version; // negotiated
  json::object client_capabilities;
  json::object client_info;
  std::string transport;                            // "streamable-http", "sse", "rpc", "stdio"
  std::string remote;                               // peer address, for logs
  std::shared_ptr<const auth::Principal> principal; // who opened it, when authenticated
};

class Session {
public:
  virtual ~Session() = default;
  virtual void handle(const ExchangePtr& exchange) = 0;
  virtual void notify(const Message& notification) = 0;
  virtual void close() = 0;
};
using SessionPtr = std::shared_ptr<Session>;

class Application {
public:
  virtual ~Application() = default;

  struct Opened {
    json::object result; // the initialize result: protocolVersion, capabilities, serverInfo...
    SessionPtr session;
  };
  // Opens a session for an initialize request. `link` carries unrelated messages to the client.
  virtual core::Result<Opened> open(const SessionInfo& info, const json::object& initialize_params,
                                    ClientLinkPtr link) = 0;
};

} // namespace forge::mcp
