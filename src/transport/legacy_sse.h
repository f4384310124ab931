// The HTTP+SSE transport of MCP 2024-11-05, still used by many clients:
//   GET  <base>/sse                      opens the session's event stream; the first event,
//                                        "endpoint", names the URL to POST messages to;
//   POST <base>/message?sessionId=ID     one JSON-RPC message; 202. Every answer and every
//                                        server message arrives on the event stream.
// The session lives as long as its event stream.
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"
#include "net/router.h"
#include "transport/http_session.h"

#include <memory>
#include <string>

namespace forge::transport {

class LegacySse {
public:
  LegacySse(net::EventLoop& loop, std::shared_ptr<mcp::Application> app,
            HttpTransportOptions options);
  ~LegacySse();

  // Registers GET `sse_path` and POST `message_path`.
  void addRoutes(net::Router& router, const std::string& sse_path, const std::string& message_path);
  // The same, for callers that route themselves (one endpoint per virtual server): GET of the
  // stream, whose "endpoint" event names `message_path`; and POST of a message.
  void openStream(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                  const std::string& message_path);
  void postMessage(const net::RequestPtr& request, const net::ResponseWriterPtr& writer);
  std::size_t sessionCount() const;
  void closeAll();
  // Ends the long-lived streams (GET / event streams) so that a graceful shutdown can drain.
  void endStreams();

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace forge::transport
