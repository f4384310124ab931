// HttpProxy: an asynchronous HTTP/1.1 reverse proxy for handlers. A handler that wants another
// server to answer calls forward(): the request goes to the target with its method, body and
// end-to-end headers, and the answer comes back through the handler's ResponseWriter. Bodies
// with a Content-Length are relayed whole; chunked bodies and Server-Sent Events are relayed as
// they arrive (each event reaches the client at once), for as long as the target keeps them
// open. Keep-alive connections are pooled per target. No Beast or Asio here (see
// http_proxy_impl.cc).
//
// Errors are answers: a target that cannot be reached is a 502, one that sends no response head
// within response_timeout a 504 (JSON bodies, Response::error); a target that fails in the
// middle of a streamed body ends the client's stream. A client that leaves cancels the exchange
// and closes its upstream connection.
#pragma once

#include "net/event_loop.h"
#include "net/http.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace forge::net {

struct ProxyOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  // From sending the request to the response head; a Content-Length body must then arrive
  // within the same time again. Streamed bodies have no deadline.
  std::chrono::milliseconds response_timeout{300'000};
  std::size_t max_idle_per_target = 32; // idle keep-alive connections kept per host:port
  // An idle connection older than this is closed instead of reused.
  std::chrono::milliseconds idle_timeout{15'000};
};

class HttpProxy {
public:
  // Status passed to `done` when the client left before the answer was complete.
  static constexpr int kClientClosed = 499;

  explicit HttpProxy(EventLoop& loop, ProxyOptions options = {});
  // Closes idle connections and aborts exchanges in flight (a client still waiting for the head
  // gets a 503, a stream ends). No `done` callback runs once the destructor has returned; a
  // `done` callback must not destroy the proxy.
  ~HttpProxy();
  HttpProxy(const HttpProxy&) = delete;
  HttpProxy& operator=(const HttpProxy&) = delete;

  struct Target {
    std::string host; // a name or an address; IPv6 without brackets
    std::uint16_t port = 0;
    std::string path_and_query; // the request target sent upstream, e.g. "/mcp?x=1"
  };

  // Sends `request` to `target` and answers `writer` with what comes back. Thread-safe; returns
  // at once. What goes upstream: the method, `target.path_and_query`, the body, the request's
  // headers minus hop-by-hop ones (Connection and the fields it names, Keep-Alive, Proxy-*, TE,
  // Trailer, Transfer-Encoding, Upgrade) and Expect, with Host set to the target, the client's
  // address appended to X-Forwarded-For and X-Request-Id set to the request's id. What comes
  // back: the status and the headers minus hop-by-hop ones, then the body.
  //
  // `done(status)` runs once, on a loop thread, when the exchange is over: the status relayed
  // (the upstream's, or the error's when the proxy answered itself: 502, 504, 503 at shutdown,
  // 405 for a method it cannot name), or kClientClosed.
  void forward(const RequestPtr& request, const ResponseWriterPtr& writer, Target target,
               std::function<void(int status)> done = {});

  // Idle pooled connections, all targets together (for tests and metrics).
  std::size_t idleConnections() const;

private:
  struct State;
  std::shared_ptr<State> state_;
};

} // namespace forge::net
