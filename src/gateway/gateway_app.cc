#include "gateway/gateway_app.h"

#include "core/log.h"
#include "core/version.h"
#include "mcp/protocol.h"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <span>

namespace forge::gateway {
namespace {

constexpr std::size_t kMaxNameLength = 64;

std::string stringField(const json::object& object, std::string_view key) {
  const auto* v = object.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A client's request to pass on as it is (the upstream gives it an id of its own).
mcp::Message forwarded(const mcp::Message& request) {
  auto out = mcp::makeRequest(nullptr, request.method, request.params);
  out.raw_params = request.raw_params;
  return out;
}

// "c<offset>" cursors: opaque to clients, checked on the way back in.
std::optional<std::size_t> parseCursor(const json::object& params) {
  const auto* cursor = params.if_contains("cursor");
  if (!cursor || cursor->is_null()) return 0;
  if (!cursor->is_string()) return std::nullopt;
  const std::string_view text = cursor->get_string();
  if (text.size() < 2 || text[0] != 'c') return std::nullopt;
  std::size_t offset = 0;
  auto [ptr, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), offset);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return offset;
}

// The name field that identifies items of a kind (tools and prompts are renamed; resources
// and templates keep their URIs).
const char* nameField(ListKind kind) {
  return kind == ListKind::kTools || kind == ListKind::kPrompts ? "name" : nullptr;
}

// The field an ItemFilter judges an item by.
const char* keyField(ListKind kind) {
  switch (kind) {
  case ListKind::kResources:
    return "uri";
  case ListKind::kResourceTemplates:
    return "uriTemplate";
  default:
    return "name";
  }
}

class GatewaySession final : public mcp::Session,
                             public std::enable_shared_from_this<GatewaySession> {
public:
  GatewaySession(std::shared_ptr<UpstreamRegistry> registry, const GatewayAppOptions& options,
                 mcp::SessionInfo info, mcp::ClientLinkPtr link)
      : registry_(std::move(registry)), options_(options),
        info_(std::move(info)), caller_{info_.id, std::move(link), info_.transport != "rpc"} {}

  // mcp::Session
  void handle(const mcp::ExchangePtr& exchange) override {
    const std::string& method = exchange->request().method;
    if (method == "tools/list") return list(ListKind::kTools, exchange);
    if (method == "resources/list") return list(ListKind::kResources, exchange);
    if (method == "resources/templates/list") return list(ListKind::kResourceTemplates, exchange);
    if (method == "prompts/list") return list(ListKind::kPrompts, exchange);
    if (method == "tools/call") return callByName(ListKind::kTools, exchange);
    if (method == "prompts/get") return callByName(ListKind::kPrompts, exchange);
    if (method == "resources/read" || method == "resources/subscribe" ||
        method == "resources/unsubscribe") {
      return callByUri(exchange);
    }
    if (method == "completion/complete") return complete(exchange);
    if (method == "logging/setLevel") return setLevel(exchange);
    exchange->fail(mcp::kMethodNotFound, fmt::format("Method not found: {}", method));
  }

  void notify(const mcp::Message& notification) override {
    // The upstreams cache roots; tell them when the client's change.
    if (notification.method == "notifications/roots/list_changed") {
      for (const auto& name : upstreams()) {
        if (auto up = registry_->find(name)) up->notify(notification.method, json::object{});
      }
    }
  }

  void close() override { registry_->removeSession(info_.id); }

private:
  std::vector<std::string> upstreams() const {
    return options_.upstreams.empty() ? registry_->names() : options_.upstreams;
  }

  bool allowed(ListKind kind, const std::string& upstream, const std::string& key) const {
    return !options_.filter || options_.filter->allows(kind, upstream, key);
  }

  bool visible(const mcp::Exchange& exchange, ListKind kind, const std::string& upstream) const {
    return !options_.access || options_.access->visible(exchange.principal(), kind, upstream);
  }

  // Checks the caller's right to use an item; on refusal answers the exchange and returns false.
  bool admitted(const mcp::ExchangePtr& exchange, ListKind kind, const std::string& upstream,
                const std::string& key) const {
    if (!options_.access) return true;
    auto status = options_.access->mayUse(exchange->principal(), kind, upstream, key,
                                          exchange->request().method);
    if (status) return true;
    exchange->fail(status.error());
    return false;
  }

  std::string expose(const std::string& upstream, const std::string& name) const {
    return exposedName(upstream, name, options_.separator, options_.prefix_names);
  }

  // ---- lists
  // -------------------------------------------------------------------------------------

  void list(ListKind kind, const mcp::ExchangePtr& exchange) {
    const auto offset = parseCursor(exchange->request().paramsObject());
    if (!offset) return exchange->fail(mcp::kInvalidParams, "invalid cursor");
    registry_->lists(kind, upstreams(),
                     [self = shared_from_this(), kind, exchange,
                      start = *offset](std::vector<UpstreamList> lists) {
                       self->answerList(kind, exchange, start, std::move(lists));
                     });
  }

  void answerList(ListKind kind, const mcp::ExchangePtr& exchange, std::size_t start,
                  std::vector<UpstreamList> lists) {
    json::array items;
    json::array errors;
    std::set<std::string> seen;
    const char* field = nameField(kind);
    for (auto& list : lists) {
      if (!visible(*exchange, kind, list.upstream)) continue;
      if (list.error) {
        errors.push_back(json::object{{"upstream", list.upstream}, {"error", *list.error}});
        log::warn("listing {} of upstream {} failed: {}", listField(kind), list.upstream,
                  *list.error);
        continue;
      }
      for (auto& item : list.items) {
        if (!allowed(kind, list.upstream, stringField(item, keyField(kind)))) continue;
        if (field) {
          const std::string name = expose(list.upstream, stringField(item, field));
          if (!seen.insert(name).second) {
            log::warn("{} '{}' of upstream {} hidden: the name is taken", listField(kind), name,
                      list.upstream);
            continue;
          }
          item[field] = name;
        }
        items.push_back(std::move(item));
      }
    }
    if (start > items.size()) return exchange->fail(mcp::kInvalidParams, "invalid cursor");
    const std::size_t page = options_.page_size == 0 ? items.size() : options_.page_size;
    const std::size_t end = std::min(items.size(), start + page);
    json::array slice(items.begin() + static_cast<std::ptrdiff_t>(start),
                      items.begin() + static_cast<std::ptrdiff_t>(end));
    json::object result{{listField(kind), std::move(slice)}};
    if (end < items.size()) result["nextCursor"] = fmt::format("c{}", end);
    if (!errors.empty())
      result["_meta"] = json::object{{"forge/upstreamErrors", std::move(errors)}};
    exchange->reply(std::move(result));
  }

  // ---- calls by name -------------------------------------------------------------------------

  // Whether this session's calls may go to `upstream`: one of its configured upstreams, or of
  // the registry's when none are configured.
  bool serves(const std::string& upstream) const {
    if (options_.upstreams.empty()) return registry_->has(upstream);
    return std::find(options_.upstreams.begin(), options_.upstreams.end(), upstream) !=
           options_.upstreams.end();
  }

  // Splits an exposed name into (upstream, original name) without a lookup when possible.
  std::optional<std::pair<std::string, std::string>> splitName(const std::string& exposed) const {
    if (!options_.prefix_names) {
      const auto names = upstreams();
      if (names.size() == 1) return std::make_pair(names[0], exposed);
      return std::nullopt;
    }
    if (exposed.size() >= kMaxNameLength) return std::nullopt; // may be shortened: look it up
    const auto at = exposed.find(options_.separator);
    if (at == std::string::npos) return std::nullopt;
    std::string upstream = exposed.substr(0, at);
    if (!serves(upstream)) return std::nullopt;
    return std::make_pair(std::move(upstream), exposed.substr(at + options_.separator.size()));
  }

  using Target = std::optional<std::pair<std::string, std::string>>; // splitName()'s

  void callByName(ListKind kind, const mcp::ExchangePtr& exchange) {
    std::string exposed = exchange->request().paramString("name").value_or("");
    if (exposed.empty()) {
      return exchange->fail(mcp::kInvalidParams, fmt::format("missing {} name", itemWord(kind)));
    }
    auto target = splitName(exposed);
    if (target) {
      // The usual case: the upstream's list is cached, and the call goes on without a callback.
      const std::span<const std::string> one(&target->first, 1);
      if (auto found = registry_->lookupCached(kind, one, "name", target->second)) {
        return routeByName(kind, exchange, exposed, target, *found);
      }
    }
    std::vector<std::string> candidates =
        target ? std::vector<std::string>{target->first} : upstreams();
    auto self = shared_from_this();
    const std::string original = target ? target->second : std::string();
    registry_->lookup(kind, candidates, "name", original,
                      [self, kind, exchange, exposed = std::move(exposed),
                       target = std::move(target)](UpstreamRegistry::Found found) {
                        self->routeByName(kind, exchange, exposed, target, found);
                      });
  }

  // Where a call by name goes once lookup() has said which upstream has the item.
  void routeByName(ListKind kind, const mcp::ExchangePtr& exchange, const std::string& exposed,
                   const Target& target, const UpstreamRegistry::Found& found) {
    if (!found && !target) return lookupExposed(kind, exchange, exposed, itemWord(kind));
    if (!found) {
      return exchange->fail(mcp::kInvalidParams,
                            fmt::format("Unknown {}: {}", itemWord(kind), exposed));
    }
    forwardRenamed(kind, exchange, *found, target->second);
  }

  static const char* itemWord(ListKind kind) {
    return kind == ListKind::kTools ? "tool" : "prompt";
  }

  // For names that cannot be split (shortened ones): compare exposed names one by one.
  void lookupExposed(ListKind kind, const mcp::ExchangePtr& exchange, const std::string& exposed,
                     const char* what) {
    registry_->lists(kind, upstreams(),
                     [self = shared_from_this(), kind, exchange, exposed,
                      what](std::vector<UpstreamList> lists) {
                       for (const auto& list : lists) {
                         for (const auto& item : list.items) {
                           const std::string original = stringField(item, "name");
                           if (self->expose(list.upstream, original) == exposed) {
                             return self->forwardRenamed(kind, exchange, list.upstream, original);
                           }
                         }
                       }
                       exchange->fail(mcp::kInvalidParams,
                                      fmt::format("Unknown {}: {}", what, exposed));
                     });
  }

  void forwardRenamed(ListKind kind, const mcp::ExchangePtr& exchange, const std::string& upstream,
                      const std::string& original) {
    const auto& request = exchange->request();
    if (!allowed(kind, upstream, original)) {
      return exchange->fail(
          mcp::kInvalidParams,
          fmt::format("Unknown {}: {}", itemWord(kind), request.paramString("name").value_or("")));
    }
    if (!admitted(exchange, kind, upstream, original)) return;
    static const std::string kNoTool;
    registry_->forward(upstream, exchange, mcp::withStringParam(request, "name", original), caller_,
                       kind == ListKind::kTools ? original : kNoTool);
  }

  // ---- calls by URI --------------------------------------------------------------------------

  void callByUri(const mcp::ExchangePtr& exchange) {
    const auto& params = exchange->request().paramsObject();
    const std::string uri = stringField(params, "uri");
    if (uri.empty()) return exchange->fail(mcp::kInvalidParams, "missing \"uri\"");
    registry_->lookup(ListKind::kResources, upstreams(), "uri", uri,
                      [self = shared_from_this(), exchange, uri](UpstreamRegistry::Found found) {
                        if (found && self->allowed(ListKind::kResources, *found, uri))
                          return self->forwardUri(exchange, *found, uri);
                        self->routeByTemplate(exchange, uri);
                      });
  }

  // A URI no list names may still come from a template ("test://template/{id}/data").
  void routeByTemplate(const mcp::ExchangePtr& exchange, const std::string& uri) {
    registry_->lists(ListKind::kResourceTemplates, upstreams(),
                     [self = shared_from_this(), exchange, uri](std::vector<UpstreamList> lists) {
                       std::string best;
                       std::size_t best_length = 0;
                       for (const auto& list : lists) {
                         for (const auto& item : list.items) {
                           const std::string pattern = stringField(item, "uriTemplate");
                           const std::string prefix = pattern.substr(0, pattern.find('{'));
                           if (!self->allowed(ListKind::kResourceTemplates, list.upstream, pattern))
                             continue;
                           if (!prefix.empty() && uri.rfind(prefix, 0) == 0 &&
                               prefix.size() > best_length) {
                             best = list.upstream;
                             best_length = prefix.size();
                           }
                         }
                       }
                       const auto all = self->upstreams();
                       // One upstream alone may serve URIs it does not list (unless filtered).
                       if (best.empty() && all.size() == 1 && !self->options_.filter) best = all[0];
                       if (best.empty()) {
                         return exchange->fail(mcp::kResourceNotFound,
                                               fmt::format("Resource not found: {}", uri));
                       }
                       self->forwardUri(exchange, best, uri);
                     });
  }

  void forwardUri(const mcp::ExchangePtr& exchange, const std::string& upstream,
                  const std::string& uri) {
    if (!admitted(exchange, ListKind::kResources, upstream, uri)) return;
    const std::string& method = exchange->request().method;
    // Other clients may hold the upstream's subscription too: only the first subscribe and the
    // last unsubscribe go upstream.
    const bool tell_upstream = method == "resources/subscribe" ? registry_->subscribe(info_.id, uri)
                               : method == "resources/unsubscribe"
                                   ? registry_->unsubscribe(info_.id, uri)
                                   : true;
    if (!tell_upstream) return exchange->reply(json::object{});
    registry_->forward(upstream, exchange, forwarded(exchange->request()), caller_);
  }

  // ---- completion and logging ------------------------------------------------------------------

  void complete(const mcp::ExchangePtr& exchange) {
    const auto& params = exchange->request().paramsObject();
    const auto* ref = params.if_contains("ref");
    if (!ref || !ref->is_object()) return exchange->fail(mcp::kInvalidParams, "missing \"ref\"");
    const std::string type = stringField(ref->get_object(), "type");
    if (type == "ref/prompt") {
      const std::string exposed = stringField(ref->get_object(), "name");
      auto target = splitName(exposed);
      if (!target || !allowed(ListKind::kPrompts, target->first, target->second))
        return exchange->fail(mcp::kInvalidParams, fmt::format("Unknown prompt: {}", exposed));
      if (!admitted(exchange, ListKind::kPrompts, target->first, target->second)) return;
      json::object renamed = params;
      renamed["ref"].get_object()["name"] = target->second;
      return registry_->forward(
          target->first, exchange,
          mcp::makeRequest(nullptr, "completion/complete", std::move(renamed)), caller_);
    }
    const std::string uri = stringField(ref->get_object(), "uri");
    registry_->lookup(ListKind::kResourceTemplates, upstreams(), "uriTemplate", uri,
                      [self = shared_from_this(), exchange, uri](UpstreamRegistry::Found found) {
                        const auto all = self->upstreams();
                        if (!found && all.size() != 1) {
                          return exchange->fail(mcp::kInvalidParams,
                                                fmt::format("Unknown resource template: {}", uri));
                        }
                        const std::string& upstream = found ? *found : all[0];
                        if (!self->admitted(exchange, ListKind::kResourceTemplates, upstream, uri))
                          return;
                        self->registry_->forward(upstream, exchange, forwarded(exchange->request()),
                                                 self->caller_);
                      });
  }

  void setLevel(const mcp::ExchangePtr& exchange) {
    const auto& params = exchange->request().paramsValue();
    for (const auto& name : upstreams()) {
      // Only the upstreams the caller may use take its log level.
      if (!visible(*exchange, ListKind::kResources, name)) continue;
      auto up = registry_->find(name);
      if (!up || up->state() != upstream::State::kReady) continue;
      const auto init = up->initializeResult();
      const auto* caps = init.if_contains("capabilities");
      if (caps && caps->is_object() && caps->get_object().contains("logging")) {
        up->call("logging/setLevel", params, [](const mcp::Message&) {});
      }
    }
    exchange->reply(json::object{});
  }

  std::shared_ptr<UpstreamRegistry> registry_;
  const GatewayAppOptions options_;
  const mcp::SessionInfo info_;
  const Caller caller_;
};

class GatewayApp final : public mcp::Application {
public:
  GatewayApp(std::shared_ptr<UpstreamRegistry> registry, GatewayAppOptions options)
      : registry_(std::move(registry)), options_(std::move(options)) {}

  core::Result<Opened> open(const mcp::SessionInfo& info, const json::object&,
                            mcp::ClientLinkPtr link) override {
    UpstreamRegistry::SessionFilter sees;
    if (options_.access) {
      sees = [access = options_.access, principal = info.principal](const std::string& upstream) {
        return access->visible(principal.get(), ListKind::kResources, upstream);
      };
    }
    registry_->addSession(info.id, link, std::move(sees));
    json::object result{
        {"capabilities",
         json::object{{"tools", json::object{{"listChanged", true}}},
                      {"resources", json::object{{"subscribe", true}, {"listChanged", true}}},
                      {"prompts", json::object{{"listChanged", true}}},
                      {"logging", json::object{}},
                      {"completions", json::object{}}}},
        {"serverInfo", json::object{{"name", options_.server_name}, {"version", core::kVersion}}}};
    if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
    return Opened{std::move(result),
                  std::make_shared<GatewaySession>(registry_, options_, info, std::move(link))};
  }

private:
  std::shared_ptr<UpstreamRegistry> registry_;
  const GatewayAppOptions options_;
};

} // namespace

std::string exposedName(const std::string& upstream, const std::string& name,
                        const std::string& separator, bool prefix) {
  std::string full = prefix ? upstream + separator + name : name;
  if (full.size() <= kMaxNameLength) return full;
  // Keep the readable start, and make the end unique with a hash of the whole name.
  std::uint32_t hash = 2166136261u; // FNV-1a: stable across builds and processes
  for (unsigned char c : full)
    hash = (hash ^ c) * 16777619u;
  const std::string suffix = fmt::format("_{:08x}", hash);
  return full.substr(0, kMaxNameLength - suffix.size()) + suffix;
}

std::shared_ptr<mcp::Application> makeGatewayApp(std::shared_ptr<UpstreamRegistry> registry,
                                                 GatewayAppOptions options) {
  return std::make_shared<GatewayApp>(std::move(registry), std::move(options));
}

} // namespace forge::gateway
