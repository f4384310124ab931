#include "gateway/registry.h"

#include "core/log.h"
#include "mcp/protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace forge::gateway {
namespace {

constexpr int kMaxPages = 1000; // a server that pages forever is cut off

std::string callKey(const std::string& upstream, const json::value& id) {
  return upstream + "/" + mcp::idKey(id);
}

const json::value* progressTokenOf(const json::value& params) {
  if (!params.is_object()) return nullptr;
  const auto* meta = params.get_object().if_contains("_meta");
  if (!meta || !meta->is_object()) return nullptr;
  return meta->get_object().if_contains("progressToken");
}

// A failed call: a JSON-RPC error, or a tool result that says isError.
bool isFailure(const mcp::Message& answer) {
  if (answer.kind != mcp::Kind::kResult) return true;
  if (!answer.raw_result.empty()) return answer.raw_result_is_error;
  if (!answer.result.is_object()) return false;
  const auto* flag = answer.result.get_object().if_contains("isError");
  return flag && flag->is_bool() && flag->get_bool();
}

// Answers the client's exchange with an upstream's answer: its result as it came (text, when the
// channel kept it so), or its error.
void answerExchange(mcp::Exchange& exchange, mcp::Message answer) {
  if (answer.kind == mcp::Kind::kResult && !answer.raw_result.empty()) {
    return exchange.replyRaw(std::move(answer.raw_result));
  }
  if (answer.kind == mcp::Kind::kResult) return exchange.reply(std::move(answer.result));
  const auto& error = answer.error;
  const auto* code = error.if_contains("code");
  const auto* message = error.if_contains("message");
  exchange.fail(
      code && code->is_int64() ? static_cast<int>(code->get_int64()) : mcp::kUpstreamError,
      message && message->is_string() ? std::string(message->get_string()) : "upstream error",
      error.contains("data") ? error.at("data") : json::value(nullptr));
}

} // namespace

const char* listMethod(ListKind kind) {
  switch (kind) {
  case ListKind::kTools:
    return "tools/list";
  case ListKind::kResources:
    return "resources/list";
  case ListKind::kResourceTemplates:
    return "resources/templates/list";
  case ListKind::kPrompts:
    return "prompts/list";
  }
  return "";
}

const char* listField(ListKind kind) {
  switch (kind) {
  case ListKind::kTools:
    return "tools";
  case ListKind::kResources:
    return "resources";
  case ListKind::kResourceTemplates:
    return "resourceTemplates";
  case ListKind::kPrompts:
    return "prompts";
  }
  return "";
}

UpstreamRegistry::UpstreamRegistry(net::EventLoop& loop) : loop_(loop) {}
UpstreamRegistry::~UpstreamRegistry() = default;

void UpstreamRegistry::add(upstream::UpstreamConfig config) {
  const std::string name = config.name;
  auto up = upstream::makeUpstream(loop_, std::move(config), *this);
  std::lock_guard lock(mutex_);
  upstreams_[name] = std::move(up);
}

void UpstreamRegistry::addAndStart(upstream::UpstreamConfig config) {
  const std::string name = config.name;
  add(std::move(config));
  if (auto up = find(name)) up->start();
}

bool UpstreamRegistry::remove(const std::string& name) {
  std::vector<upstream::UpstreamPtr> stopped;
  {
    std::lock_guard lock(mutex_);
    auto it = upstreams_.find(name);
    if (it == upstreams_.end()) return false;
    stopped.push_back(it->second);
    upstreams_.erase(it);
    const std::string prefix = name + "#";
    for (auto c = client_upstreams_.begin(); c != client_upstreams_.end();) {
      if (c->first.rfind(prefix, 0) == 0) {
        stopped.push_back(c->second);
        c = client_upstreams_.erase(c);
      } else {
        ++c;
      }
    }
    for (auto c = cache_.begin(); c != cache_.end();)
      c = c->first.first == name ? cache_.erase(c) : std::next(c);
  }
  for (auto& up : stopped)
    up->stop();
  return true;
}

void UpstreamRegistry::broadcast(const std::string& method) {
  for (auto& link : sessionLinks())
    link->notify(method, json::object{});
}

void UpstreamRegistry::startAll() {
  for (const auto& name : names()) {
    if (auto up = find(name)) up->start();
  }
}

void UpstreamRegistry::stopAll() {
  std::map<std::string, upstream::UpstreamPtr> all;
  {
    std::lock_guard lock(mutex_);
    all = upstreams_;
    all.insert(client_upstreams_.begin(), client_upstreams_.end());
    client_upstreams_.clear();
  }
  for (auto& [name, up] : all)
    up->stop();
}

upstream::UpstreamPtr UpstreamRegistry::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = upstreams_.find(name);
  return it == upstreams_.end() ? nullptr : it->second;
}

bool UpstreamRegistry::has(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return upstreams_.contains(name);
}

std::vector<std::string> UpstreamRegistry::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, up] : upstreams_)
    out.push_back(name);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

void UpstreamRegistry::lists(ListKind kind, const std::vector<std::string>& upstreams,
                             std::function<void(std::vector<UpstreamList>)> done) {
  struct Join {
    std::mutex mutex;
    std::vector<UpstreamList> results;
    std::size_t remaining;
    std::function<void(std::vector<UpstreamList>)> done;
  };
  auto join = std::make_shared<Join>();
  join->results.resize(upstreams.size());
  join->remaining = upstreams.size();
  join->done = std::move(done);
  auto finishOne = [join](std::size_t index, UpstreamList list) {
    bool last;
    {
      std::lock_guard lock(join->mutex);
      join->results[index] = std::move(list);
      last = --join->remaining == 0;
    }
    if (last) join->done(std::move(join->results));
  };
  if (upstreams.empty()) return join->done({});

  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const std::string& name = upstreams[i];
    auto up = find(name);
    if (!up) {
      finishOne(i, UpstreamList{name, {}, "unknown upstream"});
      continue;
    }
    std::optional<UpstreamList> cached;
    {
      std::lock_guard lock(mutex_);
      auto it = cache_.find({name, kind});
      if (it != cache_.end() && it->second.valid) cached = UpstreamList{name, it->second.items, {}};
    }
    if (cached) {
      finishOne(i, std::move(*cached));
      continue;
    }
    // A server that does not offer this kind has an empty list, not an error.
    const auto caps = up->initializeResult();
    const auto* capabilities = caps.if_contains("capabilities");
    const char* capability = kind == ListKind::kTools     ? "tools"
                             : kind == ListKind::kPrompts ? "prompts"
                                                          : "resources";
    if (up->state() == upstream::State::kReady && capabilities && capabilities->is_object() &&
        !capabilities->get_object().contains(capability)) {
      finishOne(i, UpstreamList{name, {}, std::nullopt});
      continue;
    }
    std::uint64_t generation;
    {
      std::lock_guard lock(mutex_);
      generation = cache_[{name, kind}].generation;
    }
    auto acc = std::make_shared<std::vector<json::object>>();
    fetchAll(kind, up, {}, acc, 0,
             [this, self = shared_from_this(), name, kind, acc, i, generation,
              finishOne](std::optional<std::string> error) {
               if (!error) {
                 std::lock_guard lock(mutex_);
                 auto& entry = cache_[{name, kind}];
                 if (entry.generation == generation) {
                   entry.valid = true;
                   entry.items = *acc;
                   entry.index.clear();
                 }
               }
               finishOne(i, UpstreamList{name, error ? std::vector<json::object>{} : *acc, error});
             });
  }
}

bool UpstreamRegistry::CacheEntry::has(const std::string& field, const std::string& value) {
  auto it = index.find(field);
  if (it == index.end()) {
    it = index.emplace(field, std::unordered_set<std::string>{}).first;
    for (const auto& item : items) {
      if (const auto* v = item.if_contains(field); v && v->is_string())
        it->second.emplace(v->get_string());
    }
  }
  return it->second.contains(value);
}

std::optional<UpstreamRegistry::Found>
UpstreamRegistry::lookupCached(ListKind kind, std::span<const std::string> upstreams,
                               const std::string& field, const std::string& value) {
  // Looked up without copying the lists.
  Found found;
  std::lock_guard lock(mutex_);
  for (const auto& name : upstreams) {
    auto it = cache_.find({name, kind});
    if (it == cache_.end() || !it->second.valid) return std::nullopt;
    if (!found && it->second.has(field, value)) found = name;
  }
  return found;
}

void UpstreamRegistry::lookup(ListKind kind, const std::vector<std::string>& upstreams,
                              const std::string& field, const std::string& value,
                              std::function<void(Found)> done) {
  if (auto cached = lookupCached(kind, upstreams, field, value)) return done(std::move(*cached));
  lists(kind, upstreams, [field, value, done = std::move(done)](std::vector<UpstreamList> all) {
    for (auto& list : all) {
      for (auto& item : list.items) {
        const auto* v = item.if_contains(field);
        if (v && v->is_string() && v->get_string() == value) {
          return done(list.upstream);
        }
      }
    }
    done(std::nullopt);
  });
}

void UpstreamRegistry::fetchAll(ListKind kind, const upstream::UpstreamPtr& up, std::string cursor,
                                std::shared_ptr<std::vector<json::object>> acc, int pages,
                                std::function<void(std::optional<std::string>)> done) {
  json::object params;
  if (!cursor.empty()) params["cursor"] = cursor;
  up->call(
      listMethod(kind), params,
      [this, self = shared_from_this(), kind, up, acc, pages, done](const mcp::Message& answer) {
        if (answer.kind == mcp::Kind::kError) return done(mcp::toError(answer).message);
        const auto* items = answer.result.is_object()
                                ? answer.result.get_object().if_contains(listField(kind))
                                : nullptr;
        if (!items || !items->is_array()) {
          return done(fmt::format("{} answered without \"{}\"", listMethod(kind), listField(kind)));
        }
        for (const auto& item : items->get_array()) {
          if (item.is_object()) acc->push_back(item.get_object());
        }
        const auto* next = answer.result.get_object().if_contains("nextCursor");
        if (next && next->is_string() && !next->get_string().empty() && pages + 1 < kMaxPages) {
          return fetchAll(kind, up, std::string(next->get_string()), acc, pages + 1, done);
        }
        done(std::nullopt);
      });
}

void UpstreamRegistry::invalidate(const std::string& instance, std::optional<ListKind> kind) {
  // Lists are cached under the upstream's name; per-client instances are "<name>#<session>".
  const std::string upstream = instance.substr(0, instance.find('#'));
  std::lock_guard lock(mutex_);
  for (auto& [key, entry] : cache_) {
    if (key.first == upstream && (!kind || key.second == *kind)) {
      entry.valid = false;
      ++entry.generation;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forwarding
// ---------------------------------------------------------------------------------------------

upstream::UpstreamPtr UpstreamRegistry::instanceFor(const std::string& name, const Caller& caller) {
  auto shared = find(name);
  if (!shared || !shared->config().per_client_sessions || !caller.may_own_upstream_sessions ||
      caller.session_id.empty()) {
    return shared;
  }
  const std::string key = name + "#" + caller.session_id;
  upstream::UpstreamPtr instance;
  {
    std::lock_guard lock(mutex_);
    if (auto it = client_upstreams_.find(key); it != client_upstreams_.end()) return it->second;
    auto config = shared->config();
    config.name = key;
    instance = upstream::makeUpstream(loop_, std::move(config), *this);
    client_upstreams_[key] = instance;
  }
  instance->start();
  return instance;
}

void UpstreamRegistry::forward(const std::string& upstream_name, const mcp::ExchangePtr& exchange,
                               mcp::Message request, const Caller& caller,
                               const std::string& tool) {
  auto up = instanceFor(upstream_name, caller);
  if (!up) {
    return exchange->fail(mcp::kInvalidParams, fmt::format("unknown upstream '{}'", upstream_name));
  }
  // What the answer needs is kept with the call, in one allocation, not in the callbacks.
  struct Tracked {
    ForwardedCall call;
    std::string token; // the gateway's progress token, if the request had one
    std::string tool;
    std::string upstream_name;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  };
  auto tracked = std::make_shared<Tracked>();
  // The table of calls holds the call; the alias keeps the rest of `tracked` alive with it.
  std::shared_ptr<ForwardedCall> call(tracked, &tracked->call);
  if (request.hasParam("_meta")) {
    if (const auto* original = progressTokenOf(request.paramsValue())) {
      std::lock_guard lock(mutex_);
      tracked->token = fmt::format("forge-{}", next_token_++);
      progress_[tracked->token] = Progress{exchange, *original};
      request.mutableParams().get_object()["_meta"].get_object()["progressToken"] = tracked->token;
    }
  }
  if (observer_ && !tool.empty()) {
    tracked->tool = tool;
    tracked->upstream_name = upstream_name;
  }
  request.forward_only = true; // the result is only passed on to the client
  call->upstream = up->config().name;
  call->exchange = exchange;
  call->session_link = caller.link;
  const json::value id = up->call(
      std::move(request),
      [this, self = shared_from_this(), exchange, tracked](mcp::Message answer) {
        {
          std::lock_guard lock(mutex_);
          calls_.erase(tracked->call.key);
          if (!tracked->token.empty()) progress_.erase(tracked->token);
        }
        if (!tracked->tool.empty()) {
          const std::chrono::duration<double, std::milli> took =
              std::chrono::steady_clock::now() - tracked->started;
          observer_->onToolCall(tracked->upstream_name, tracked->tool, isFailure(answer),
                                took.count());
        }
        answerExchange(*exchange, std::move(answer));
      },
      // Registered before the request leaves, so that related messages find their exchange.
      [this, call = std::move(call)](const json::value& upstream_id) {
        call->upstream_id = upstream_id;
        call->key = callKey(call->upstream, upstream_id);
        std::lock_guard lock(mutex_);
        calls_.emplace(call->key, call);
      });
  exchange->onCancel([up, id](std::string reason) { up->cancel(id, reason); });
}

std::shared_ptr<ForwardedCall>
UpstreamRegistry::callFor(const std::string& upstream, const std::optional<json::value>& related) {
  std::lock_guard lock(mutex_);
  if (related) {
    auto it = calls_.find(callKey(upstream, *related));
    return it == calls_.end() ? nullptr : it->second;
  }
  // Nothing in the message says which call it belongs to (stdio). Any call of the right client
  // will do: ambiguous only when calls of different clients are in flight.
  std::shared_ptr<ForwardedCall> first;
  const std::string prefix = upstream + "/";
  for (auto it = calls_.lower_bound(prefix); it != calls_.end() && it->first.starts_with(prefix);
       ++it) {
    const auto& call = it->second;
    if (!first) {
      first = call;
      continue;
    }
    const bool same_client = !first->session_link.owner_before(call->session_link) &&
                             !call->session_link.owner_before(first->session_link);
    if (!same_client) {
      log::debug("upstream {}: calls of several clients in flight; cannot relate a message",
                 upstream);
      return nullptr;
    }
  }
  return first;
}

std::vector<mcp::ClientLinkPtr> UpstreamRegistry::sessionLinks(const std::string* upstream) {
  std::lock_guard lock(mutex_);
  std::vector<mcp::ClientLinkPtr> out;
  for (auto& [id, entry] : sessions_) {
    if (upstream && entry.sees && !entry.sees(*upstream)) continue;
    if (auto link = entry.link.lock()) out.push_back(std::move(link));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sessions and subscriptions
// ---------------------------------------------------------------------------------------------

void UpstreamRegistry::addSession(const std::string& id, mcp::ClientLinkPtr link,
                                  SessionFilter sees) {
  std::lock_guard lock(mutex_);
  sessions_[id] = SessionEntry{link, std::move(sees)};
}

void UpstreamRegistry::removeSession(const std::string& id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
  for (auto& [uri, subscribers] : subscriptions_)
    subscribers.erase(id);
}

bool UpstreamRegistry::subscribe(const std::string& session_id, const std::string& uri) {
  std::lock_guard lock(mutex_);
  auto& subscribers = subscriptions_[uri];
  const bool first = subscribers.empty();
  subscribers.insert(session_id);
  return first;
}

bool UpstreamRegistry::unsubscribe(const std::string& session_id, const std::string& uri) {
  std::lock_guard lock(mutex_);
  auto it = subscriptions_.find(uri);
  if (it == subscriptions_.end() || it->second.erase(session_id) == 0) return false;
  if (!it->second.empty()) return false;
  subscriptions_.erase(it);
  return true;
}

// ---------------------------------------------------------------------------------------------
// What upstreams send on their own
// ---------------------------------------------------------------------------------------------

void UpstreamRegistry::onNotification(const std::string& upstream, const mcp::Message& notification,
                                      const std::optional<json::value>& related) {
  const std::string& method = notification.method;
  const auto& params = notification.paramsObject();
  if (method == "notifications/progress") {
    const auto* token = params.if_contains("progressToken");
    if (!token || !token->is_string()) return;
    std::shared_ptr<mcp::Exchange> exchange;
    json::value original;
    {
      std::lock_guard lock(mutex_);
      auto it = progress_.find(std::string(token->get_string()));
      if (it == progress_.end()) return;
      exchange = it->second.exchange.lock();
      original = it->second.original_token;
    }
    if (!exchange) return;
    json::object relayed = params;
    relayed["progressToken"] = original;
    exchange->notify(method, std::move(relayed));
    return;
  }
  if (method.ends_with("/list_changed")) {
    const std::optional<ListKind> kind =
        method == "notifications/tools/list_changed"       ? std::optional(ListKind::kTools)
        : method == "notifications/prompts/list_changed"   ? std::optional(ListKind::kPrompts)
        : method == "notifications/resources/list_changed" ? std::optional(ListKind::kResources)
                                                           : std::nullopt;
    invalidate(upstream, kind);
    if (kind == ListKind::kResources) invalidate(upstream, ListKind::kResourceTemplates);
    if (observer_ && upstream.find('#') == std::string::npos)
      observer_->onListChanged(upstream, kind);
    for (auto& link : sessionLinks())
      link->notify(method, json::object{});
    return;
  }
  if (method == "notifications/resources/updated") {
    const auto* uri = params.if_contains("uri");
    if (!uri || !uri->is_string()) return;
    std::vector<mcp::ClientLinkPtr> links;
    {
      std::lock_guard lock(mutex_);
      auto subscribers = subscriptions_.find(std::string(uri->get_string()));
      if (subscribers == subscriptions_.end()) return;
      for (const auto& id : subscribers->second) {
        if (auto it = sessions_.find(id); it != sessions_.end()) {
          if (auto link = it->second.link.lock()) links.push_back(std::move(link));
        }
      }
    }
    for (auto& link : links)
      link->notify(method, params);
    return;
  }
  if (method == "notifications/cancelled") return withdrawRelay(upstream, params);
  if (method == "notifications/message") {
    if (auto call = callFor(upstream, related)) {
      if (auto exchange = call->exchange.lock()) return exchange->notify(method, params);
    }
    log::debug("upstream {}: log message with no call to relate it to", upstream);
    return;
  }
  log::debug("upstream {}: notification {} not relayed", upstream, method);
}

void UpstreamRegistry::onServerRequest(const std::string& upstream, const mcp::Message& request,
                                       const std::optional<json::value>& related,
                                       std::function<void(mcp::Message)> respond) {
  mcp::ClientLinkPtr target;
  if (auto call = callFor(upstream, related)) target = call->exchange.lock();
  if (!target && !related) {
    // No call to relate it to (roots/list after a roots change, say): a lone client is it, if
    // it may see this upstream at all.
    const std::string name = upstream.substr(0, upstream.find('#'));
    auto links = sessionLinks(&name);
    if (links.size() == 1) target = links[0];
  }
  if (!target) {
    return respond(
        mcp::makeError(request.id, mcp::kInternalError,
                       fmt::format("forge cannot tell which client '{}' from upstream '{}' is for: "
                                   "calls of several clients, or of none, are in flight (an "
                                   "upstream with session_mode: per-client never has this doubt)",
                                   request.method, upstream.substr(0, upstream.find('#')))));
  }
  // Remember the relay so that the upstream can withdraw it (notifications/cancelled).
  const std::string key = callKey(upstream, request.id);
  auto relay = std::make_shared<Relay>();
  relay->target = target;
  {
    std::lock_guard lock(mutex_);
    relays_[key] = relay;
  }
  auto finish = [this, self = shared_from_this(), key, relay, respond](const mcp::Message& answer) {
    {
      std::lock_guard lock(mutex_);
      relays_.erase(key);
    }
    if (!relay->cancelled) respond(answer);
  };
  const json::value client_id = target->ask(request.method, request.paramsValue(), finish);
  std::lock_guard lock(mutex_);
  relay->client_id = client_id;
}

void UpstreamRegistry::withdrawRelay(const std::string& upstream, const json::object& params) {
  const auto* id = params.if_contains("requestId");
  if (!id) return;
  std::shared_ptr<Relay> relay;
  json::value client_id;
  {
    std::lock_guard lock(mutex_);
    auto it = relays_.find(callKey(upstream, *id));
    if (it == relays_.end()) return;
    relay = it->second;
    relay->cancelled = true;
    client_id = relay->client_id;
  }
  const auto* reason = params.if_contains("reason");
  if (auto target = relay->target.lock()) {
    target->cancelAsk(client_id, reason && reason->is_string() ? std::string(reason->get_string())
                                                               : "cancelled by the server");
  }
}

void UpstreamRegistry::onStateChange(const std::string& upstream, upstream::State state,
                                     const std::string& detail) {
  if (upstream.find('#') != std::string::npos) return;
  invalidate(upstream, std::nullopt);
  log::debug("upstream {}: {} ({})", upstream, upstream::stateName(state), detail);
  if (observer_) observer_->onUpstreamState(upstream, state, detail);
}

} // namespace forge::gateway
