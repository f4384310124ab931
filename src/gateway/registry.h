// UpstreamRegistry: the upstreams behind a gateway process and what they have to offer.
//
// It owns the Upstream clients, caches each one's lists (tools, resources, resource templates,
// prompts; every page fetched) until the upstream says they changed or reconnects, and routes
// what upstreams send on their own (progress, logging, list_changed, resource updates,
// sampling/elicitation/roots requests) to the client exchange or session it belongs to.
#pragma once

#include "mcp/session.h"
#include "net/event_loop.h"
#include "upstream/upstream.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

namespace forge::gateway {

namespace json = mcp::json;

enum class ListKind { kTools, kResources, kResourceTemplates, kPrompts };
// "tools/list", "tools", "nextCursor"-style names of a list kind.
const char* listMethod(ListKind kind);
const char* listField(ListKind kind);

// One upstream's list of one kind, or why it could not be had.
struct UpstreamList {
  std::string upstream;
  std::vector<json::object> items;
  std::optional<std::string> error;
};

// The client session a request comes from.
struct Caller {
  std::string session_id;
  mcp::ClientLinkPtr link;
  // False for one-shot sessions (/rpc): they always use an upstream's shared session.
  bool may_own_upstream_sessions = true;
};

// A call forwarded to an upstream on behalf of a client exchange.
struct ForwardedCall {
  std::string upstream;
  json::value upstream_id;
  std::string key; // in the registry's table of calls: upstream + "/" + the id's key
  std::weak_ptr<mcp::Exchange> exchange;
  std::weak_ptr<mcp::ClientLink> session_link;
};

// Told what happens to upstreams, for whoever keeps a record of them (the catalog). Called from
// I/O threads; implementations must not block.
class RegistryObserver {
public:
  virtual ~RegistryObserver() = default;
  // A shared upstream session came up (kReady), went down or stopped.
  virtual void onUpstreamState(const std::string& upstream, upstream::State state,
                               const std::string& detail) = 0;
  // An upstream said a list changed (`kind` absent: every list).
  virtual void onListChanged(const std::string& upstream, std::optional<ListKind> kind) = 0;
  // A tools/call forwarded to `upstream` was answered (error: a JSON-RPC error or a tool result
  // with isError).
  virtual void onToolCall(const std::string& upstream, const std::string& tool, bool error,
                          double latency_ms) = 0;
};

class UpstreamRegistry : public upstream::UpstreamListener,
                         public std::enable_shared_from_this<UpstreamRegistry> {
public:
  explicit UpstreamRegistry(net::EventLoop& loop);
  ~UpstreamRegistry() override;

  void add(upstream::UpstreamConfig config);
  // Adds an upstream at run time and connects it.
  void addAndStart(upstream::UpstreamConfig config);
  // Disconnects an upstream (its per-client instances too) and forgets it. False if unknown.
  bool remove(const std::string& name);
  // Set once, before startAll(). The observer must outlive the registry's upstreams.
  void setObserver(RegistryObserver* observer) { observer_ = observer; }
  void startAll();
  void stopAll();
  upstream::UpstreamPtr find(const std::string& name) const;
  bool has(const std::string& name) const;
  std::vector<std::string> names() const;

  // Fetches (or takes from cache) the lists of `kind` of the given upstreams; `done` runs once
  // with one entry per upstream, in the order given.
  void lists(ListKind kind, const std::vector<std::string>& upstreams,
             std::function<void(std::vector<UpstreamList>)> done);

  // Finds the item of `kind` whose `field` equals `value` in the lists of `upstreams` (cached,
  // else fetched). `done` gets the name of the upstream that has it, or nothing.
  using Found = std::optional<std::string>;
  void lookup(ListKind kind, const std::vector<std::string>& upstreams, const std::string& field,
              const std::string& value, std::function<void(Found)> done);
  // lookup() answered from the cache at once, when every list of `upstreams` is there; nothing
  // when one is not (then ask lookup()).
  std::optional<Found> lookupCached(ListKind kind, std::span<const std::string> upstreams,
                                    const std::string& field, const std::string& value);

  // Forwards a client request to an upstream. Rewrites the progress token so that clients
  // cannot collide, routes related messages back to `exchange`, relays cancellation both ways,
  // and answers the exchange (result, or error naming the upstream) exactly once. Upstreams in
  // per-client mode get a session (a process, for stdio) of their own for each caller.
  // `request` holds the method and the params (or raw_params) to send; `tool`, for tools/call,
  // the upstream's name of the tool, which the observer is told of when the call ends.
  void forward(const std::string& upstream_name, const mcp::ExchangePtr& exchange,
               mcp::Message request, const Caller& caller, const std::string& tool = {});

  // Forgets the cached lists of an upstream, so that the next listing asks it again.
  void invalidateLists(const std::string& upstream) { invalidate(upstream, std::nullopt); }
  // Sends a notification (e.g. notifications/tools/list_changed) to every client session.
  void broadcast(const std::string& method);

  // Which upstreams a client session may hear from (server-to-client requests that no call
  // explains go only to a session that may see the upstream); none: every upstream.
  using SessionFilter = std::function<bool(const std::string& upstream)>;
  // Client sessions that want unrelated messages (list_changed, resource updates).
  void addSession(const std::string& id, mcp::ClientLinkPtr link, SessionFilter sees = {});
  void removeSession(const std::string& id);
  // Record a session's interest in a resource. The upstream session is shared, so only the
  // first subscriber (true) and the last to leave (true) need to tell the upstream.
  bool subscribe(const std::string& session_id, const std::string& uri);
  bool unsubscribe(const std::string& session_id, const std::string& uri);

  // upstream::UpstreamListener
  void onNotification(const std::string& upstream, const mcp::Message& notification,
                      const std::optional<json::value>& related) override;
  void onServerRequest(const std::string& upstream, const mcp::Message& request,
                       const std::optional<json::value>& related,
                       std::function<void(mcp::Message)> respond) override;
  void onStateChange(const std::string& upstream, upstream::State state,
                     const std::string& detail) override;

private:
  struct CacheEntry {
    bool valid = false;
    std::vector<json::object> items;
    // For each field looked up so far ("name"), the string values the items hold there: a
    // lookup is one hash probe instead of a scan of the list. Cleared with `items`.
    std::map<std::string, std::unordered_set<std::string>, std::less<>> index;
    bool has(const std::string& field, const std::string& value);
    // Bumped by every invalidation: a fetch that started before one must not be stored.
    std::uint64_t generation = 0;
  };
  struct Progress {
    std::weak_ptr<mcp::Exchange> exchange;
    json::value original_token;
  };
  // A server-to-client request relayed to a client, until the client answers.
  struct Relay {
    std::weak_ptr<mcp::ClientLink> target;
    json::value client_id;
    std::atomic<bool> cancelled{false};
  };

  // The upstream withdrew a request it had made (notifications/cancelled): tell the client.
  void withdrawRelay(const std::string& upstream, const json::object& params);

  void fetchAll(ListKind kind, const upstream::UpstreamPtr& up, std::string cursor,
                std::shared_ptr<std::vector<json::object>> acc, int pages,
                std::function<void(std::optional<std::string> error)> done);
  void invalidate(const std::string& upstream, std::optional<ListKind> kind);
  // The exchange a message from `upstream` belongs to: by related id, else the only call in
  // flight on that upstream.
  std::shared_ptr<ForwardedCall> callFor(const std::string& upstream,
                                         const std::optional<json::value>& related);
  // Live client sessions; with `upstream`, only those that may see it.
  std::vector<mcp::ClientLinkPtr> sessionLinks(const std::string* upstream = nullptr);

  net::EventLoop& loop_;
  mutable std::mutex mutex_;
  // The upstream instance that serves `caller` (its own in per-client mode).
  upstream::UpstreamPtr instanceFor(const std::string& name, const Caller& caller);

  std::map<std::string, upstream::UpstreamPtr> upstreams_;
  std::map<std::string, upstream::UpstreamPtr> client_upstreams_; // "<name>#<session id>"
  std::map<std::pair<std::string, ListKind>, CacheEntry> cache_;
  std::map<std::string, std::shared_ptr<ForwardedCall>> calls_; // upstream + "/" + id key
  std::map<std::string, Progress> progress_;                    // gateway progress token
  std::map<std::string, std::shared_ptr<Relay>> relays_;        // upstream + "/" + its id key
  struct SessionEntry {
    std::weak_ptr<mcp::ClientLink> link;
    SessionFilter sees;
  };
  std::map<std::string, SessionEntry> sessions_;
  std::map<std::string, std::set<std::string>> subscriptions_; // uri -> session ids
  std::uint64_t next_token_ = 1;
  RegistryObserver* observer_ = nullptr;
};

} // namespace forge::gateway
