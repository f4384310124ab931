#include "catalog/catalog.h"

#include "core/log.h"
#include "storage/migrations.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <tuple>

namespace forge::catalog {
namespace json = boost::json;
using gateway::ListKind;
using storage::Store;

// What the MCP endpoints consult on every list and call: rebuilt from the database after each
// change and swapped whole, so readers never lock.
struct Catalog::View {
  struct Item {
    std::string id;
    bool enabled = true;
    bool operator==(const Item&) const = default;
  };
  // (kind, upstream slug, key), looked up by string_views: a check allocates nothing.
  using ItemKey = std::tuple<ListKind, std::string, std::string>;
  using ItemRef = std::tuple<ListKind, std::string_view, std::string_view>;
  struct ItemOrder {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return ItemRef(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
             ItemRef(std::get<0>(b), std::get<1>(b), std::get<2>(b));
    }
  };
  std::string separator;
  std::map<std::string, storage::GatewayRecord> gateways; // by slug
  std::map<std::string, std::string> slug_of;             // gateway id -> slug
  std::map<ItemKey, Item, ItemOrder> items;
  bool any_disabled = false;                            // else every item is enabled
  std::map<std::string, storage::ServerRecord> servers; // by id
  // For servers with max_tools: the tools they expose (slug, original name), the first
  // max_tools members in name order, as GET /servers/{id}/tools lists them.
  std::map<std::string, std::set<std::pair<std::string, std::string>>> capped_tools;

  const Item* item(ListKind kind, std::string_view slug, std::string_view key) const {
    auto it = items.find(ItemRef(kind, slug, key));
    return it == items.end() ? nullptr : &it->second;
  }
  bool enabled(ListKind kind, std::string_view slug, std::string_view key) const {
    if (!any_disabled) return true;
    const Item* found = item(kind, slug, key);
    return !found || found->enabled; // not yet discovered: enabled, as new items are
  }
};

namespace {

std::string stringField(const json::object& object, std::string_view key) {
  const auto* v = object.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string documentField(const json::object& object, std::string_view key,
                          std::string_view absent) {
  const auto* v = object.if_contains(key);
  return v ? json::serialize(*v) : std::string(absent);
}

storage::MemberKind memberKindOf(ListKind kind) {
  switch (kind) {
  case ListKind::kTools:
    return storage::MemberKind::kTool;
  case ListKind::kPrompts:
    return storage::MemberKind::kPrompt;
  default:
    return storage::MemberKind::kResource;
  }
}

class GlobalFilter final : public gateway::ItemFilter {
public:
  explicit GlobalFilter(std::function<std::shared_ptr<const Catalog::View>()> view)
      : view_(std::move(view)) {}
  bool allows(ListKind kind, const std::string& upstream, const std::string& key) const override {
    return view_()->enabled(kind, upstream, key);
  }

private:
  std::function<std::shared_ptr<const Catalog::View>()> view_;
};

class ServerFilter final : public gateway::ItemFilter {
public:
  ServerFilter(std::function<std::shared_ptr<const Catalog::View>()> view, std::string server_id)
      : view_(std::move(view)), server_id_(std::move(server_id)) {}

  bool allows(ListKind kind, const std::string& upstream, const std::string& key) const override {
    const auto view = view_();
    auto server = view->servers.find(server_id_);
    if (server == view->servers.end() || !server->second.enabled) return false;
    const auto* item = view->item(kind, upstream, key);
    if (item && !item->enabled) return false;
    const bool renamed = kind == ListKind::kTools || kind == ListKind::kPrompts;
    const std::string exposed =
        renamed ? gateway::exposedName(upstream, key, view->separator, true) : key;
    if (kind == ListKind::kTools && server->second.max_tools > 0) {
      const auto& capped = view->capped_tools.at(server_id_);
      return capped.count({upstream, key}) > 0;
    }
    const std::string id = item ? item->id : std::string();
    for (const auto& member : server->second.members) {
      if (member.kind == memberKindOf(kind) && selectorMatches(member.selector, id, exposed, key))
        return true;
    }
    return false;
  }

private:
  std::function<std::shared_ptr<const Catalog::View>()> view_;
  std::string server_id_;
};

// Runs `then` once: on the first call, whether from discovery or from the timeout.
std::function<void()> once(std::function<void()> then) {
  auto fired = std::make_shared<std::atomic<bool>>(false);
  return [fired, then = std::move(then)] {
    if (!fired->exchange(true)) then();
  };
}

} // namespace

bool globMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool selectorMatches(const std::string& selector, const std::string& id, const std::string& exposed,
                     const std::string& original) {
  if (selector.empty()) return false;
  if (selector == id || selector == exposed || selector == original) return true;
  if (selector.find_first_of("*?") == std::string::npos) return false;
  return globMatch(selector, exposed);
}

upstream::UpstreamConfig upstreamConfigOf(const storage::GatewayRecord& record,
                                          const upstream::UpstreamConfig& defaults) {
  upstream::UpstreamConfig config = defaults;
  config.name = record.slug;
  config.transport = record.transport;
  config.command = record.command;
  config.args = record.args;
  config.env = record.env;
  config.cwd = record.cwd;
  config.url = record.url;
  config.headers = record.headers;
  if (!record.oauth_token_url.empty()) {
    config.oauth = upstream::OAuthClientCredentials{record.oauth_token_url, record.oauth_client_id,
                                                    core::Secret(record.oauth_client_secret),
                                                    record.oauth_scope, record.oauth_audience};
  }
  config.call_timeout = std::chrono::milliseconds(record.call_timeout_ms);
  config.max_concurrency =
      static_cast<std::size_t>(std::max<std::int64_t>(1, record.max_concurrency));
  config.per_client_sessions = record.session_mode == "per-client";
  return config;
}

storage::GatewayRecord gatewayRecordOf(const upstream::UpstreamConfig& config) {
  storage::GatewayRecord record;
  record.name = config.name;
  record.slug = storage::slugify(config.name);
  record.transport = config.transport;
  record.command = config.command;
  record.args = config.args;
  record.env = config.env;
  record.cwd = config.cwd;
  record.url = config.url;
  record.headers = config.headers;
  if (config.oauth) {
    record.oauth_token_url = config.oauth->token_url;
    record.oauth_client_id = config.oauth->client_id;
    record.oauth_client_secret = config.oauth->client_secret.reveal();
    record.oauth_scope = config.oauth->scope;
    record.oauth_audience = config.oauth->audience;
  }
  record.call_timeout_ms = config.call_timeout.count();
  record.max_concurrency = static_cast<std::int64_t>(config.max_concurrency);
  record.session_mode = config.per_client_sessions ? "per-client" : "shared";
  record.source = "config";
  return record;
}

Catalog::Catalog(net::EventLoop& loop, std::shared_ptr<gateway::UpstreamRegistry> registry,
                 std::unique_ptr<storage::StorageWorker> storage, CatalogOptions options)
    : loop_(loop), registry_(std::move(registry)), storage_(std::move(storage)),
      options_(std::move(options)), view_(std::make_shared<View>()) {
  // Before any other job: every record the store reads or writes has its credentials opened
  // or sealed with the box.
  storage_->submit([box = options_.secrets](Store& store) { store.setSecretBox(box); });
  registry_->setObserver(this);
}

Catalog::~Catalog() { stop(); }

std::shared_ptr<const Catalog::View> Catalog::view() const { return view_.load(); }

core::Status Catalog::reloadView(Store& store) {
  auto view = std::make_shared<View>();
  view->separator = options_.separator;
  auto gateways = store.gateways();
  if (!gateways) return gateways.error();
  for (auto& g : *gateways) {
    view->slug_of[g.id] = g.slug;
    view->gateways[g.slug] = std::move(g);
  }
  auto slugOf = [&](const std::string& id) {
    auto it = view->slug_of.find(id);
    return it == view->slug_of.end() ? std::string() : it->second;
  };
  auto tools = store.tools();
  if (!tools) return tools.error();
  for (const auto& t : *tools)
    view->items[{ListKind::kTools, slugOf(t.gateway_id), t.original_name}] = {t.id, t.enabled};
  auto resources = store.resources();
  if (!resources) return resources.error();
  for (const auto& r : *resources) {
    const auto kind = r.is_template ? ListKind::kResourceTemplates : ListKind::kResources;
    view->items[{kind, slugOf(r.gateway_id), r.uri}] = {r.id, r.enabled};
  }
  auto prompts = store.prompts();
  if (!prompts) return prompts.error();
  for (const auto& p : *prompts)
    view->items[{ListKind::kPrompts, slugOf(p.gateway_id), p.original_name}] = {p.id, p.enabled};
  auto servers = store.servers();
  if (!servers) return servers.error();
  for (const auto& [key, item] : view->items)
    view->any_disabled = view->any_disabled || !item.enabled;
  for (auto& s : *servers) {
    if (s.max_tools > 0) {
      auto& capped = view->capped_tools[s.id];
      for (const auto& t : *tools) { // in name order
        if (capped.size() >= static_cast<std::size_t>(s.max_tools)) break;
        if (!t.enabled) continue;
        for (const auto& m : s.members) {
          if (m.kind == storage::MemberKind::kTool &&
              selectorMatches(m.selector, t.id, t.name, t.original_name)) {
            capped.insert({slugOf(t.gateway_id), t.original_name});
            break;
          }
        }
      }
    }
    view->servers[s.id] = std::move(s);
  }
  view_.store(std::move(view));
  return core::Ok{};
}

// ---- start-up ---------------------------------------------------------------------------------

core::Status Catalog::load(const std::vector<upstream::UpstreamConfig>& configured) {
  auto status = storage_->call([&](Store& store) -> core::Status {
    if (auto version = storage::migrate(store.database()); !version) return version.error();
    std::set<std::string> names;
    for (const auto& config : configured) {
      names.insert(config.name);
      auto seeded = gatewayRecordOf(config);
      auto existing = store.gatewayByName(config.name);
      if (!existing) return existing.error();
      core::Result<storage::GatewayRecord> saved = core::Error{core::Errc::kInternal, ""};
      if (*existing) {
        // forge.yaml decides how to reach it; the API's enabled flag and tags are kept.
        seeded.id = (*existing)->id;
        seeded.enabled = (*existing)->enabled;
        seeded.tags = (*existing)->tags;
        seeded.description = (*existing)->description;
        seeded.created_at = (*existing)->created_at;
        saved = store.updateGateway(std::move(seeded));
      } else {
        saved = store.insertGateway(std::move(seeded));
      }
      if (!saved) {
        return core::Error{saved.error().code, fmt::format("seeding upstream '{}': {}", config.name,
                                                           saved.error().message)};
      }
    }
    // Upstreams seeded from an earlier forge.yaml and since removed from it go too.
    auto all = store.gateways();
    if (!all) return all.error();
    for (const auto& g : *all) {
      if (g.source != "config" || names.count(g.name)) continue;
      log::info("upstream '{}' is no longer in the configuration: removing it", g.name);
      if (auto removed = store.deleteGateway(g.id); !removed) return removed.error();
    }
    return reloadView(store);
  });
  if (!status) return status;
  for (const auto& [slug, record] : view()->gateways) {
    if (!record.enabled) continue;
    registry_->add(upstreamConfigOf(record, options_.defaults));
    std::lock_guard lock(mutex_);
    running_[slug] = record;
  }
  log::info("catalog: {} ({}), {} upstream(s), {} virtual server(s)", storage_->backend(),
            storage_->description(), view()->gateways.size(), view()->servers.size());
  scheduleFlush();
  schedulePrune();
  storage_->submit([this](Store& store) {
    if (auto stamp = store.catalogStamp()) catalog_stamp_ = *stamp;
    scheduleSync();
  });
  return core::Ok{};
}

void Catalog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  flushMetrics();
  storage_->stop();
}

// ---- discovery --------------------------------------------------------------------------------

void Catalog::onUpstreamState(const std::string& upstream, upstream::State state,
                              const std::string& detail) {
  if (state == upstream::State::kReady) return discover(upstream);
  // Stopping is deliberate (deleted, disabled, reconfigured): whoever stopped it records why.
  if (state != upstream::State::kRestarting) return;
  const auto v = view();
  auto it = v->gateways.find(upstream);
  if (it != v->gateways.end()) {
    const std::string id = it->second.id;
    const std::string health = upstream::stateName(state);
    storage_->submit([this, id, health, detail](Store& store) {
      if (auto s = store.setGatewayHealth(id, false, health, detail, "{}"); !s)
        log::warn("recording the health of upstream {}: {}", id, s.error().message);
      reloadView(store);
    });
  }
  // A registration waiting for this upstream learns now that it did not come up.
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mutex_);
    waiters.swap(discovery_waiters_[upstream]);
  }
  for (auto& waiter : waiters)
    storage_->submit([waiter](Store&) { waiter(); }); // after the health is recorded
}

void Catalog::onListChanged(const std::string& upstream, std::optional<ListKind>) {
  // The registry has relayed the upstream's list_changed to the clients already.
  discover(upstream, false);
}

void Catalog::discover(const std::string& slug, bool announce) {
  struct Join {
    std::mutex mutex;
    int remaining = 4;
    storage::Discovery found;
    std::optional<std::string> error;
  };
  auto join = std::make_shared<Join>();
  auto finishOne = [this, slug, join, announce] {
    std::lock_guard lock(join->mutex);
    if (--join->remaining != 0) return;
    if (join->error) {
      finishDiscovery(slug, core::Error{core::Errc::kBadGateway, *join->error}, announce);
    } else {
      finishDiscovery(slug, std::move(join->found), announce);
    }
  };
  const std::string separator = options_.separator;
  for (ListKind kind :
       {ListKind::kTools, ListKind::kResources, ListKind::kResourceTemplates, ListKind::kPrompts}) {
    registry_->lists(
        kind, {slug},
        [join, kind, slug, separator, finishOne](std::vector<gateway::UpstreamList> lists) {
          {
            std::lock_guard lock(join->mutex);
            auto& list = lists.front();
            // Only tools are required: many servers offer no resources or prompts at all.
            if (list.error && kind == ListKind::kTools) join->error = *list.error;
            for (const auto& item : list.items) {
              if (kind == ListKind::kTools) {
                storage::ToolRecord t;
                t.original_name = stringField(item, "name");
                t.name = gateway::exposedName(slug, t.original_name, separator, true);
                t.description = stringField(item, "description");
                t.input_schema = documentField(item, "inputSchema", "{}");
                t.output_schema = documentField(item, "outputSchema", "");
                t.annotations = documentField(item, "annotations", "{}");
                join->found.tools.push_back(std::move(t));
              } else if (kind == ListKind::kPrompts) {
                storage::PromptRecord p;
                p.original_name = stringField(item, "name");
                p.name = gateway::exposedName(slug, p.original_name, separator, true);
                p.description = stringField(item, "description");
                p.arguments = documentField(item, "arguments", "[]");
                join->found.prompts.push_back(std::move(p));
              } else {
                storage::ResourceRecord r;
                r.is_template = kind == ListKind::kResourceTemplates;
                r.uri = stringField(item, r.is_template ? "uriTemplate" : "uri");
                r.name = stringField(item, "name");
                r.description = stringField(item, "description");
                r.mime_type = stringField(item, "mimeType");
                join->found.resources.push_back(std::move(r));
              }
            }
          }
          finishOne();
        });
  }
}

void Catalog::finishDiscovery(const std::string& slug, core::Result<storage::Discovery> found,
                              bool announce) {
  std::string capabilities = "{}";
  if (auto up = registry_->find(slug)) {
    const auto init = up->initializeResult();
    if (const auto* caps = init.if_contains("capabilities")) capabilities = json::serialize(*caps);
  }
  storage_->submit([this, slug, found = std::move(found), capabilities,
                    announce](Store& store) mutable {
    auto record = store.gateway(view()->gateways.count(slug) ? view()->gateways.at(slug).id : "");
    if (record && *record) {
      const auto& id = (*record)->id;
      if (found) {
        const auto counts = fmt::format("{} tools, {} resources, {} prompts", found->tools.size(),
                                        found->resources.size(), found->prompts.size());
        if (auto s = store.replaceDiscovery(id, std::move(*found)); !s) {
          log::warn("storing what upstream {} offers: {}", slug, s.error().message);
        } else {
          log::info("upstream {}: discovered {}", slug, counts);
          applyPendingSettings(store, id);
        }
        store.setGatewayHealth(id, true, "ready", "", capabilities);
      } else {
        log::warn("discovering upstream {}: {}", slug, found.error().message);
        store.setGatewayHealth(id, false, "error", found.error().message, capabilities);
      }
      reloadView(store);
      if (announce) registry_->broadcast("notifications/tools/list_changed");
    }
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mutex_);
      waiters.swap(discovery_waiters_[slug]);
    }
    for (auto& waiter : waiters)
      waiter();
  });
}

void Catalog::awaitDiscovery(const std::string& slug, std::function<void()> then) {
  auto fire = once(std::move(then));
  {
    std::lock_guard lock(mutex_);
    discovery_waiters_[slug].push_back(fire);
  }
  // The answer goes back through the storage queue, after any write already queued.
  loop_.postAfter(options_.discovery_timeout, [this, fire] {
    if (!storage_->submit([fire](Store&) { fire(); })) fire();
  });
}

void Catalog::connect(const storage::GatewayRecord& record) {
  registry_->remove(record.slug);
  registry_->addAndStart(upstreamConfigOf(record, options_.defaults));
  std::lock_guard lock(mutex_);
  running_[record.slug] = record;
}

void Catalog::disconnect(const std::string& slug) {
  registry_->remove(slug);
  std::lock_guard lock(mutex_);
  running_.erase(slug);
}

// ---- instances sharing a database --------------------------------------------------------------

namespace {

// Whether two records start the same upstream (names, health and tags aside).
bool sameConnection(const storage::GatewayRecord& a, const storage::GatewayRecord& b) {
  auto fields = [](const storage::GatewayRecord& g) {
    return std::tie(g.transport, g.url, g.command, g.args, g.env, g.cwd, g.headers,
                    g.oauth_token_url, g.oauth_client_id, g.oauth_client_secret, g.oauth_scope,
                    g.oauth_audience, g.session_mode, g.call_timeout_ms, g.max_concurrency);
  };
  return fields(a) == fields(b);
}

// Whether what clients list may differ between two views: items shown or hidden, upstreams or
// virtual servers added, removed or changed.
bool listsDiffer(const Catalog::View& a, const Catalog::View& b) {
  if (a.items != b.items || a.gateways.size() != b.gateways.size() ||
      a.servers.size() != b.servers.size())
    return true;
  auto gateway = [](const auto& entry) {
    return std::tie(entry.first, entry.second.enabled, entry.second.updated_at);
  };
  auto server = [](const auto& entry) {
    return std::tie(entry.first, entry.second.enabled, entry.second.updated_at);
  };
  return !std::equal(a.gateways.begin(), a.gateways.end(), b.gateways.begin(),
                     [&](const auto& x, const auto& y) { return gateway(x) == gateway(y); }) ||
         !std::equal(a.servers.begin(), a.servers.end(), b.servers.begin(),
                     [&](const auto& x, const auto& y) { return server(x) == server(y); });
}

} // namespace

void Catalog::scheduleSync() {
  if (options_.sync_interval.count() <= 0) return;
  loop_.postAfter(options_.sync_interval, [this] {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    // The next check is scheduled when this one is done: a slow database never piles them up.
    storage_->submit([this](Store& store) {
      sync(store);
      scheduleSync();
    });
  });
}

void Catalog::sync(Store& store) {
  auto stamp = store.catalogStamp();
  if (!stamp) {
    log::warn("checking the catalog for changes by other instances: {}", stamp.error().message);
    return;
  }
  if (*stamp == catalog_stamp_) return;
  catalog_stamp_ = std::move(*stamp);
  const auto before = view();
  if (auto status = reloadView(store); !status) {
    log::warn("reloading the catalog: {}", status.error().message);
    return;
  }
  const auto after = view();
  followUpstreams(*after);
  if (!listsDiffer(*before, *after)) return;
  for (const char* list : {"tools", "resources", "prompts"})
    registry_->broadcast(fmt::format("notifications/{}/list_changed", list));
}

void Catalog::followUpstreams(const View& view) {
  std::vector<std::string> gone;
  std::vector<const storage::GatewayRecord*> changed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [slug, record] : running_) {
      auto it = view.gateways.find(slug);
      if (it == view.gateways.end() || !it->second.enabled) gone.push_back(slug);
    }
    for (const auto& [slug, record] : view.gateways) {
      if (!record.enabled) continue;
      auto it = running_.find(slug);
      if (it == running_.end() || !sameConnection(it->second, record)) changed.push_back(&record);
    }
  }
  for (const auto& slug : gone) {
    log::info("upstream {} was disabled or deleted by another instance: disconnecting it", slug);
    disconnect(slug);
  }
  for (const auto* record : changed) {
    log::info("upstream {} was added or changed by another instance: connecting it", record->slug);
    connect(*record);
  }
}

// ---- gateways ---------------------------------------------------------------------------------

namespace {
// Reads a gateway back (its health as discovery left it) and hands it to `done`.
void answerGateway(Store& store, const std::string& id,
                   const Callback<storage::GatewayRecord>& done) {
  auto record = store.gateway(id);
  if (!record) return done(record.error());
  if (!*record)
    return done(core::Error{core::Errc::kNotFound, fmt::format("gateway {} not found", id)});
  done(std::move(**record));
}
} // namespace

void Catalog::createGateway(storage::GatewayRecord record, Callback<storage::GatewayRecord> done) {
  storage_->submit([this, record = std::move(record), done](Store& store) mutable {
    auto saved = store.insertGateway(std::move(record));
    if (!saved) return done(saved.error());
    reloadView(store);
    if (!saved->enabled) return done(std::move(*saved));
    const std::string id = saved->id;
    awaitDiscovery(saved->slug, [this, id, done] {
      storage_->submit([id, done](Store& s) { answerGateway(s, id, done); });
    });
    connect(*saved);
  });
}

void Catalog::updateGateway(const std::string& id, Change<storage::GatewayRecord> change,
                            Callback<storage::GatewayRecord> done) {
  // Read, change and write in one job: two concurrent updates cannot lose each other's fields.
  storage_->submit([this, id, change = std::move(change), done](Store& store) {
    auto before = store.gateway(id);
    if (!before) return done(before.error());
    if (!*before)
      return done(core::Error{core::Errc::kNotFound, fmt::format("gateway {} not found", id)});
    auto changed = change(**before);
    if (!changed) return done(changed.error());
    changed->id = id;
    auto saved = store.updateGateway(std::move(*changed));
    if (!saved) return done(saved.error());
    reloadView(store);
    disconnect((*before)->slug);
    if (!saved->enabled) {
      registry_->broadcast("notifications/tools/list_changed");
      return done(std::move(*saved));
    }
    awaitDiscovery(saved->slug, [this, id, done] {
      storage_->submit([id, done](Store& s) { answerGateway(s, id, done); });
    });
    connect(*saved);
  });
}

void Catalog::deleteGateway(const std::string& id, Callback<bool> done) {
  storage_->submit([this, id, done](Store& store) {
    auto record = store.gateway(id);
    if (!record) return done(record.error());
    if (!*record) return done(false);
    auto deleted = store.deleteGateway(id);
    if (!deleted) return done(deleted.error());
    reloadView(store);
    disconnect((*record)->slug);
    registry_->broadcast("notifications/tools/list_changed");
    done(true);
  });
}

void Catalog::refreshGateway(const std::string& id, Callback<storage::Discovery> done) {
  storage_->submit([this, id, done](Store& store) {
    auto record = store.gateway(id);
    if (!record) return done(record.error());
    if (!*record)
      return done(core::Error{core::Errc::kNotFound, fmt::format("gateway {} not found", id)});
    if (!registry_->find((*record)->slug)) {
      return done(core::Error{core::Errc::kConflict,
                              fmt::format("gateway {} is disabled: activate it first", id)});
    }
    awaitDiscovery((*record)->slug, [this, id, done] {
      storage_->submit([id, done](Store& s) {
        storage::Discovery now;
        auto tools = s.tools();
        auto resources = s.resources();
        auto prompts = s.prompts();
        if (!tools || !resources || !prompts)
          return done(core::Error{core::Errc::kUnavailable, "reading the catalog failed"});
        for (auto& t : *tools)
          if (t.gateway_id == id) now.tools.push_back(std::move(t));
        for (auto& r : *resources)
          if (r.gateway_id == id) now.resources.push_back(std::move(r));
        for (auto& p : *prompts)
          if (p.gateway_id == id) now.prompts.push_back(std::move(p));
        done(std::move(now));
      });
    });
    registry_->invalidateLists((*record)->slug);
    discover((*record)->slug);
  });
}

// ---- items and servers ------------------------------------------------------------------------

void Catalog::setItemEnabled(const std::string& table, const std::string& id, bool enabled,
                             Callback<bool> done) {
  storage_->submit([this, table, id, enabled, done](Store& store) {
    auto changed = store.setItemEnabled(table, id, enabled);
    if (!changed) return done(changed.error());
    reloadView(store);
    registry_->broadcast(fmt::format("notifications/{}/list_changed", table));
    done(*changed);
  });
}

void Catalog::createServer(storage::ServerRecord record, Callback<storage::ServerRecord> done) {
  storage_->submit([this, record = std::move(record), done](Store& store) mutable {
    auto saved = store.insertServer(std::move(record));
    if (saved) reloadView(store);
    done(std::move(saved));
  });
}

void Catalog::updateServer(const std::string& id, Change<storage::ServerRecord> change,
                           Callback<storage::ServerRecord> done) {
  storage_->submit([this, id, change = std::move(change), done](Store& store) {
    auto before = store.server(id);
    if (!before) return done(before.error());
    if (!*before)
      return done(core::Error{core::Errc::kNotFound, fmt::format("server {} not found", id)});
    auto changed = change(**before);
    if (!changed) return done(changed.error());
    changed->id = id;
    auto saved = store.updateServer(std::move(*changed));
    if (saved) {
      reloadView(store);
      registry_->broadcast("notifications/tools/list_changed");
    }
    done(std::move(saved));
  });
}

void Catalog::deleteServer(const std::string& id, Callback<bool> done) {
  storage_->submit([this, id, done](Store& store) {
    auto deleted = store.deleteServer(id);
    if (deleted && *deleted) reloadView(store);
    done(std::move(deleted));
  });
}

namespace {

// Inserts `record`, or resolves a name conflict with `existing` per the strategy. Returns
// whether the row was written.
template <class Record, class Insert, class Update>
bool importOne(Record record, const std::optional<Record>& existing, const ImportPlan& plan,
               ImportReport& report, const char* what, Insert insert, Update update) {
  if (existing && plan.conflict_strategy == "skip") {
    ++report.skipped;
    return false;
  }
  if (existing && plan.conflict_strategy == "fail") {
    ++report.failed;
    report.errors.push_back(fmt::format("{} '{}' already exists", what, record.name));
    return false;
  }
  if (plan.dry_run) {
    ++(existing ? report.updated : report.created);
    return false;
  }
  core::Status status = core::Ok{};
  if (existing) {
    record.id = existing->id;
    record.created_at = existing->created_at;
    auto saved = update(std::move(record));
    if (!saved) status = saved.error();
  } else {
    auto saved = insert(std::move(record));
    if (!saved) status = saved.error();
  }
  if (!status) {
    ++report.failed;
    report.errors.push_back(fmt::format("{}: {}", what, status.error().message));
    return false;
  }
  ++(existing ? report.updated : report.created);
  return true;
}

} // namespace

void Catalog::applySetting(Store& store, const std::string& tool_id,
                           const ImportPlan::ToolSetting& setting) {
  if (auto s = store.setItemEnabled("tools", tool_id, setting.enabled); !s)
    log::warn("applying an imported setting to tool {}: {}", tool_id, s.error().message);
  if (auto s = store.setItemTags("tools", tool_id, setting.tags); !s)
    log::warn("applying imported tags to tool {}: {}", tool_id, s.error().message);
}

void Catalog::applyPendingSettings(Store& store, const std::string& gateway_id) {
  std::vector<ImportPlan::ToolSetting> settings;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_settings_.find(gateway_id);
    if (it == pending_settings_.end()) return;
    settings = std::move(it->second);
    pending_settings_.erase(it);
  }
  auto tools = store.tools();
  if (!tools) return;
  for (const auto& setting : settings) {
    for (const auto& t : *tools) {
      if (t.gateway_id == gateway_id && t.original_name == setting.original_name)
        applySetting(store, t.id, setting);
    }
  }
}

void Catalog::importCatalog(ImportPlan plan, Callback<ImportReport> done) {
  storage_->submit([this, plan = std::move(plan), done](Store& store) {
    ImportReport report;
    std::vector<std::string> touched; // names of gateways written
    for (const auto& g : plan.gateways) {
      auto existing = store.gatewayByName(g.name);
      if (!existing) return done(existing.error());
      if (importOne(
              g, *existing, plan, report, "gateway",
              [&](storage::GatewayRecord r) { return store.insertGateway(std::move(r)); },
              [&](storage::GatewayRecord r) { return store.updateGateway(std::move(r)); }))
        touched.push_back(g.name);
    }
    for (const auto& s : plan.servers) {
      auto existing = store.serverByName(s.name);
      if (!existing) return done(existing.error());
      importOne(
          s, *existing, plan, report, "server",
          [&](storage::ServerRecord r) { return store.insertServer(std::move(r)); },
          [&](storage::ServerRecord r) { return store.updateServer(std::move(r)); });
    }
    if (!plan.dry_run) {
      auto tools = store.tools();
      auto gateways = store.gateways();
      if (!tools || !gateways)
        return done(core::Error{core::Errc::kUnavailable, "reading the catalog failed"});
      for (const auto& setting : plan.tools) {
        // Settings follow their gateway: not applied where the gateway was skipped.
        if (std::find(touched.begin(), touched.end(), setting.gateway) == touched.end()) {
          ++report.skipped;
          continue;
        }
        std::string gateway_id;
        for (const auto& g : *gateways)
          if (g.name == setting.gateway) gateway_id = g.id;
        auto tool = std::find_if(tools->begin(), tools->end(), [&](const storage::ToolRecord& t) {
          return t.gateway_id == gateway_id && t.original_name == setting.original_name;
        });
        if (tool == tools->end()) {
          // Not discovered yet: applied when the gateway has been listed.
          std::lock_guard lock(mutex_);
          pending_settings_[gateway_id].push_back(setting);
          ++report.pending;
          continue;
        }
        applySetting(store, tool->id, setting);
        ++report.updated;
      }
    }
    reloadView(store);
    const auto v = view();
    for (const auto& name : touched) {
      for (const auto& [slug, record] : v->gateways) {
        if (record.name != name) continue;
        disconnect(slug);
        if (record.enabled) connect(record);
      }
    }
    done(std::move(report));
  });
}

std::shared_ptr<const gateway::ItemFilter> Catalog::globalFilter() {
  return std::make_shared<GlobalFilter>([this] { return view(); });
}

std::shared_ptr<const gateway::ItemFilter> Catalog::serverFilter(const std::string& server_id) {
  return std::make_shared<ServerFilter>([this] { return view(); }, server_id);
}

bool Catalog::serverActive(const std::string& server_id) const {
  const auto v = view();
  auto it = v->servers.find(server_id);
  return it != v->servers.end() && it->second.enabled;
}

std::optional<std::string> Catalog::serverTeam(const std::string& server_id) const {
  const auto v = view();
  auto it = v->servers.find(server_id);
  if (it == v->servers.end() || !it->second.enabled) return std::nullopt;
  return it->second.team_id;
}

std::optional<std::string> Catalog::upstreamTeam(const std::string& slug) const {
  const auto v = view();
  auto it = v->gateways.find(slug);
  if (it == v->gateways.end()) return std::nullopt;
  return it->second.team_id;
}

// ---- metrics ----------------------------------------------------------------------------------

void Catalog::onToolCall(const std::string& upstream, const std::string& tool, bool error,
                         double latency_ms) {
  if (options_.also_observer) options_.also_observer->onToolCall(upstream, tool, error, latency_ms);
  std::lock_guard lock(mutex_);
  calls_.add(upstream, tool, error, latency_ms);
}

void Catalog::flushMetrics() {
  storage::CallTally calls;
  {
    std::lock_guard lock(mutex_);
    std::swap(calls, calls_);
  }
  if (calls.empty()) return;
  // The minute of the flush: a call is at most one flush interval late in its minute.
  storage_->submit([calls = std::move(calls),
                    minute = storage::minuteUtc(std::chrono::system_clock::now())](Store& store) {
    if (auto s = store.addCalls(calls); !s)
      log::warn("recording call metrics: {}", s.error().message);
    if (auto s = store.addCallMinutes(storage::rollUpMinute(calls, minute)); !s)
      log::warn("recording the call latency of {}: {}", minute, s.error().message);
  });
}

void Catalog::schedulePrune() {
  if (options_.metrics_retention.count() <= 0) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
  const auto cutoff =
      storage::minuteUtc(std::chrono::system_clock::now() - options_.metrics_retention);
  storage_->submit([cutoff](Store& store) {
    auto pruned = store.pruneCallMinutes(cutoff);
    if (!pruned)
      log::warn("pruning call latency before {}: {}", cutoff, pruned.error().message);
    else if (*pruned > 0)
      log::info("pruned {} minute(s) of call latency before {}", *pruned, cutoff);
  });
  loop_.postAfter(std::chrono::hours(1), [this] { schedulePrune(); });
}

void Catalog::scheduleFlush() {
  loop_.postAfter(options_.metrics_flush_interval, [this] {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    flushMetrics();
    scheduleFlush();
  });
}

} // namespace forge::catalog
