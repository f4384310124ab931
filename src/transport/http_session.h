// What the HTTP transports (Streamable HTTP, HTTP+SSE) share: the options, the session table
// with idle expiry and a size cap, and Server-Sent Events framing.
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"
#include "net/http.h"
#include "transport/origin_guard.h"
#include "transport/session_core.h"
#include "transport/session_seal.h"

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace forge::transport {

struct HttpTransportOptions {
  OriginPolicy origin;
  std::chrono::milliseconds session_idle_timeout{30 * 60 * 1000};
  std::size_t max_sessions = 10'000;
  std::chrono::milliseconds keepalive_interval{15'000}; // SSE comment lines on idle streams
  std::chrono::milliseconds ask_timeout{5 * 60 * 1000}; // server-to-client requests
  // Portable session ids (session_seal.h); null: random ids known to this process only.
  std::shared_ptr<const SessionSealer> sealer;
};

// One client session over HTTP: the protocol state and, when open, its long-lived stream (the
// GET stream of Streamable HTTP, the event stream of HTTP+SSE).
struct HttpSession {
  std::string id;
  // The caller who opened it (Principal::key(), empty without authentication). Requests from
  // anyone else are answered as if the session did not exist, so a leaked session id is useless.
  std::string owner;
  std::shared_ptr<SessionCore> core;
  std::shared_ptr<SinkLink> link;

  std::mutex mutex;
  net::ResponseWriterPtr stream;

  bool hasOpenStream() {
    std::lock_guard lock(mutex);
    return stream && !stream->closed();
  }
};
using HttpSessionPtr = std::shared_ptr<HttpSession>;

// The owner key of a request's caller (see HttpSession::owner).
std::string ownerOf(const net::Request& request);

// Sessions by id. Idle sessions (no request in flight, no open stream) expire after
// session_idle_timeout; when the table is full the least recently used idle session makes room.
class SessionTable : public std::enable_shared_from_this<SessionTable> {
public:
  SessionTable(net::EventLoop& loop, const HttpTransportOptions& options);

  // A new session (not yet in the table) with `id`, or a fresh random one.
  HttpSessionPtr make(std::string id = {});
  // Adds a session; fails with kUnavailable when full of busy sessions.
  core::Status insert(const HttpSessionPtr& session);
  // Adds a session unless one with its id is there already; returns the one in the table.
  core::Result<HttpSessionPtr> adopt(const HttpSessionPtr& session);
  HttpSessionPtr find(const std::string& id);
  // find(), but only a session opened by the request's caller.
  HttpSessionPtr findFor(const std::string& id, const net::Request& request);
  // Removes and closes a session (a DELETE); false if unknown. The id is remembered as ended.
  bool close(const std::string& id);
  // Whether close() ended `id` here (among the last max_sessions ended): a session the client
  // ended is not taken over again (session_seal.h).
  bool ended(const std::string& id) const;
  void closeAll();
  // Ends every session's long-lived stream, keeping the sessions (graceful shutdown).
  void endStreams();
  std::size_t size() const;
  // Starts the periodic expiry sweep.
  void startSweeping();

private:
  void sweep();
  bool evictOne(); // requires mutex_ held

  net::EventLoop& loop_;
  const HttpTransportOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, HttpSessionPtr> sessions_;
  std::unordered_set<std::string> ended_;
  std::deque<std::string> ended_order_; // oldest first
};

// What every HTTP transport holds: its loop, its application, its options and its sessions.
struct HttpTransportState {
  HttpTransportState(net::EventLoop& event_loop, std::shared_ptr<mcp::Application> application,
                     HttpTransportOptions opts)
      : loop(event_loop), app(std::move(application)), options(std::move(opts)),
        sessions(std::make_shared<SessionTable>(loop, options)) {}

  net::EventLoop& loop;
  std::shared_ptr<mcp::Application> app;
  const HttpTransportOptions options;
  std::shared_ptr<SessionTable> sessions;
};

// Answers an initialize request on an HTTP session: opens the application session for the
// request's caller (SessionCore::initialize) over `transport` ("streamable-http", "sse").
core::Result<mcp::json::object> initializeSession(mcp::Application& app, HttpSession& session,
                                                  const net::Request& request,
                                                  std::string transport,
                                                  const mcp::Message& message);

// "event: message\ndata: {...}\n\n"
std::string sseEvent(const mcp::Message& message);
// Headers of an SSE response.
net::Headers sseHeaders();

// Ends a session's long-lived stream, if any.
void endStream(HttpSession& session);

// Makes `writer` the session's standing stream: the session's unrelated messages (its
// ClientLink) go there as SSE events, and an SSE comment every `interval` keeps it open through
// proxies and notices a vanished client.
void attachStream(net::EventLoop& loop, const HttpSessionPtr& session,
                  const net::ResponseWriterPtr& writer, std::chrono::milliseconds interval);

} // namespace forge::transport
