// Serves one MCP session over a pair of file descriptors (stdin/stdout): one JSON-RPC message
// per line in each direction. Used by `forge-fixture --stdio`; the stdio side of a server.
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"

#include <chrono>
#include <memory>

namespace forge::transport {

// Reads messages from `in_fd` until end of file, writing every outgoing message to `out_fd`.
// Blocks the calling thread; the application's asynchronous work runs on `loop`.
// Returns 0 at end of input.
int serveStdio(net::EventLoop& loop, std::shared_ptr<mcp::Application> app, int in_fd, int out_fd,
               std::chrono::milliseconds ask_timeout = std::chrono::minutes(5));

} // namespace forge::transport
