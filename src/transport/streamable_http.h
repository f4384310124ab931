// The Streamable HTTP transport (MCP 2025-11-25, also serving 2024-11-05 .. 2025-06-18 clients)
// on one endpoint path:
//   POST    one JSON-RPC message (or a batch on 2025-03-26). Notifications and responses: 202.
//           Requests: answered as application/json, or as a text/event-stream when the server
//           sends related messages (progress, logging, sampling...) before the answer.
//   GET     the session's server-initiated SSE stream (one per session; 409 for a second).
//   DELETE  ends the session.
// Errors are exactly those of the specification: 400 (missing session id, bad version header,
// malformed JSON-RPC), 403 (foreign Host/Origin), 404 (unknown session), 405 (other methods),
// 406 (Accept lacks a required type), 415 (not JSON).
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"
#include "net/router.h"
#include "transport/http_session.h"

#include <memory>
#include <string>

namespace forge::transport {

class StreamableHttp {
public:
  StreamableHttp(net::EventLoop& loop, std::shared_ptr<mcp::Application> app,
                 HttpTransportOptions options);
  ~StreamableHttp();

  // Registers POST, GET and DELETE on `path`.
  void addRoutes(net::Router& router, const std::string& path);
  void handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer);

  std::size_t sessionCount() const;
  // Ends every session (shutdown).
  void closeAll();
  // Ends the long-lived streams (GET / event streams) so that a graceful shutdown can drain.
  void endStreams();

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace forge::transport
