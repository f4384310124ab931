// Channel: one connection to an upstream MCP server, carrying JSON-RPC messages both ways.
// Implementations: a child process over stdio (stdio_channel.cc), Streamable HTTP
// (http_channel_impl.cc) and the legacy HTTP+SSE transport (same file). A channel knows
// nothing of ids, sessions or retries: the UpstreamClient on top of it does.
#pragma once

#include "mcp/message.h"
#include "net/event_loop.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace forge::upstream {

struct ChannelCallbacks {
  // A message from the server. `related` is the id of our request it belongs to when the
  // transport says so (Streamable HTTP: it came on that request's SSE stream).
  std::function<void(mcp::Message message, std::optional<mcp::json::value> related)> on_message;
  // The connection is gone (process exited, HTTP session ended, stream failed). Runs once.
  std::function<void(std::string reason)> on_closed;
};

class Channel {
public:
  virtual ~Channel() = default;
  // Connects (starts the process). Errors are reported through on_closed.
  virtual void open(ChannelCallbacks callbacks) = 0;
  // Sends one message. Thread-safe; never blocks on the peer.
  virtual void send(const mcp::Message& message) = 0;
  // Tells the channel the protocol version negotiated by initialize (HTTP sends it as a header).
  virtual void setProtocolVersion(std::string version) = 0;
  // Closes the connection; on_closed does not run after close().
  virtual void close() = 0;
  // After close(): waits at most `limit` until the connection is really gone (stdio: the child
  // has exited after stdin closed, SIGTERM, SIGKILL).
  virtual void waitClosed(std::chrono::milliseconds limit) { (void)limit; }
  // The process id for stdio channels (tests, diagnostics); -1 otherwise.
  virtual int pid() const { return -1; }
};
using ChannelPtr = std::shared_ptr<Channel>;

struct StdioSpec {
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env; // added to the gateway's environment
  std::string cwd;
  std::string name; // for log lines
};

struct HttpSpec {
  std::string url; // http://host:port/path
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds connect_timeout{10'000};
  std::string name;
};

ChannelPtr makeStdioChannel(net::EventLoop& loop, StdioSpec spec);
// HTTP channels (http_channel_impl.cc; http:// only, https is reported through on_closed):
// every request sent gets an answer, a synthetic JSON-RPC error (-32000) when HTTP or the network
// fails; on_closed("session expired") when the server no longer knows the session (404);
// on_closed is the last callback. close() waits for callbacks running on other threads, so do
// not call it while holding a lock that the callbacks take.
ChannelPtr makeStreamableHttpChannel(net::EventLoop& loop, HttpSpec spec);
ChannelPtr makeSseChannel(net::EventLoop& loop, HttpSpec spec);

} // namespace forge::upstream
