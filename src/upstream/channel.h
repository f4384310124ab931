// Channel: one connection to an upstream MCP server, carrying JSON-RPC messages both ways.
// Implementations: a child process over stdio (stdio_channel.cc), Streamable HTTP
// (http_channel_impl.cc) and the legacy HTTP+SSE transport (same file). A channel knows
// nothing of ids, sessions or retries: the UpstreamClient on top of it does.
#pragma once

#include "core/error.h"
#include "core/secret.h"
#include "mcp/message.h"
#include "net/event_loop.h"

#include <chrono>
#include <cstdint>
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

// OAuth 2.0 client credentials (RFC 6749 §4.4) for an HTTP upstream: Forge gets an access token
// from token_url and sends it as "Authorization: Bearer" on every request to the upstream.
struct OAuthClientCredentials {
  std::string token_url; // http:// only, like upstream URLs
  std::string client_id;
  core::Secret client_secret;
  std::string scope;    // space-separated; sent when not empty
  std::string audience; // sent when not empty (Auth0, Okta and others want one)
};

// The access tokens of one OAuth client, shared by the HTTP channels of an upstream (so that a
// reconnect does not need a token of its own). One token request at a time: whoever asks while
// it runs waits for it. A token is handed out until `expires_in` minus a margin (30 s, or half
// its lifetime when that is shorter), and refreshed in the background shortly before that; a
// token without `expires_in` is kept until the upstream refuses it. Thread-safe. Neither the
// client secret nor a token ever reaches a log line or an error message.
class AccessTokens {
public:
  struct Token {
    core::Secret value;
    std::uint64_t generation = 0; // tells tokens apart, for refused()
  };
  using TokenHandler = std::function<void(core::Result<Token>)>;

  virtual ~AccessTokens() = default;
  // Calls `done` once with a token: at once, on the calling thread, when a usable one is cached;
  // else when the token request ends, on an I/O thread. Errors (kBadGateway; kTimeout) name the
  // token URL, never the secret.
  virtual void get(TokenHandler done) = 0;
  // The upstream refused this token (HTTP 401): the next get() fetches a new one, unless a newer
  // one is cached already.
  virtual void refused(std::uint64_t generation) = 0;
  // How many token requests succeeded (tests, diagnostics).
  virtual std::size_t fetched() const = 0;
};
using AccessTokensPtr = std::shared_ptr<AccessTokens>;

// `name` names the upstream in log lines.
AccessTokensPtr makeAccessTokens(net::EventLoop& loop, OAuthClientCredentials credentials,
                                 std::string name);

struct HttpSpec {
  std::string url; // http://host:port/path
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds connect_timeout{10'000};
  std::string name;
  // OAuth: every request carries a token from here; on a 401 the channel gets a new token once
  // and sends the request once more. Null: no OAuth.
  AccessTokensPtr tokens;
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
