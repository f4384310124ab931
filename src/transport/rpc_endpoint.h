// POST /rpc: plain JSON-RPC for scripts. Each POST is answered with JSON on a short-lived
// session of its own (no initialize needed, no Mcp-Session-Id); server-to-client requests are
// refused because nobody could answer them, and notifications during a call are dropped.
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"
#include "net/router.h"
#include "transport/http_session.h"

#include <memory>
#include <string>

namespace forge::transport {

class RpcEndpoint {
public:
  RpcEndpoint(net::EventLoop& loop, std::shared_ptr<mcp::Application> app,
              HttpTransportOptions options);
  void addRoutes(net::Router& router, const std::string& path);
  void handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer);

private:
  net::EventLoop& loop_;
  std::shared_ptr<mcp::Application> app_;
  HttpTransportOptions options_;
};

} // namespace forge::transport
