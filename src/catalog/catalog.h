// Catalog: the gateway's record of what it serves, kept in the database and applied to the
// running gateway. It
//   - seeds the upstreams of forge.yaml on start and connects every enabled upstream stored;
//   - connects an upstream registered at run time and discovers its tools, resources and
//     prompts (again whenever it reconnects or says a list changed), and disconnects one
//     deleted or disabled;
//   - keeps virtual servers and answers, for each MCP endpoint, which items it may show (the
//     ItemFilter of the global endpoint honours enabled flags; a server's honours its members);
//   - follows what other instances sharing the database change (every sync_interval it
//     compares a stamp of the tables, and on a change reloads its view, connects upstreams
//     added or reconfigured elsewhere and disconnects those disabled or deleted there);
//   - rolls tool calls up into hourly metrics, and into per-minute latency histograms kept for
//     metrics_retention (monitoring and reports read those).
// Every database access runs on the StorageWorker; callbacks run on that thread or on an I/O
// thread and must not block.
#pragma once

#include "auth/secret_box.h"
#include "core/error.h"
#include "gateway/gateway_app.h"
#include "gateway/registry.h"
#include "net/event_loop.h"
#include "storage/store.h"
#include "storage/worker.h"
#include "upstream/upstream.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace forge::catalog {

struct CatalogOptions {
  std::string separator = "__"; // between upstream slug and item name in exposed names
  // How long registering an upstream waits for it to connect and be discovered before
  // answering (it stays registered, unreachable, if it does not come up in time).
  std::chrono::milliseconds discovery_timeout{15'000};
  std::chrono::milliseconds metrics_flush_interval{5'000};
  // How often the database is checked for changes made by other instances; zero: never.
  std::chrono::milliseconds sync_interval{2'000};
  // How long per-minute call latency is kept (pruned hourly); zero keeps it for ever.
  std::chrono::milliseconds metrics_retention{std::chrono::hours(14 * 24)};
  upstream::UpstreamConfig defaults; // timeouts, limits and back-off for stored upstreams
  // Seals upstream credentials (headers, env values, OAuth client secrets) at rest; none: clear.
  std::shared_ptr<const auth::SecretBox> secrets;
  // Also told of every tool call (the gateway's metrics); must outlive the catalog.
  gateway::RegistryObserver* also_observer = nullptr;
};

// An export document turned into records (api::importPlan), to apply in one go.
struct ImportPlan {
  struct ToolSetting {
    std::string gateway; // gateway name
    std::string original_name;
    bool enabled = true;
    std::vector<std::string> tags;
  };
  std::vector<storage::GatewayRecord> gateways;
  std::vector<storage::ServerRecord> servers;
  std::vector<ToolSetting> tools;
  std::string conflict_strategy = "update"; // update | skip | fail
  bool dry_run = false;
};

struct ImportReport {
  int created = 0;
  int updated = 0;
  int skipped = 0;
  int failed = 0;
  int pending = 0; // tool settings to apply once their upstream has been listed
  std::vector<std::string> errors;
};

template <class T>
using Callback = std::function<void(core::Result<T>)>;
// Turns a stored record into its new version (runs on the storage thread), or refuses.
template <class T>
using Change = std::function<core::Result<T>(const T& current)>;

// Which selectors of a server match an item (id, exposed name, original name or glob).
bool selectorMatches(const std::string& selector, const std::string& id, const std::string& exposed,
                     const std::string& original);
// Shell-style glob: '*' any run, '?' one character.
bool globMatch(std::string_view pattern, std::string_view text);

// The upstream configuration a stored gateway describes.
upstream::UpstreamConfig upstreamConfigOf(const storage::GatewayRecord& record,
                                          const upstream::UpstreamConfig& defaults);
// The stored form of a forge.yaml upstream (source "config").
storage::GatewayRecord gatewayRecordOf(const upstream::UpstreamConfig& config);

class Catalog final : public gateway::RegistryObserver {
public:
  Catalog(net::EventLoop& loop, std::shared_ptr<gateway::UpstreamRegistry> registry,
          std::unique_ptr<storage::StorageWorker> storage, CatalogOptions options);
  ~Catalog() override;

  // Migrates the schema, seeds `configured` upstreams, loads the catalog and registers every
  // enabled upstream with the registry (which startAll() then connects). Blocking: start-up only.
  core::Status load(const std::vector<upstream::UpstreamConfig>& configured);
  // Flushes metrics and stops the storage worker (after the upstreams have stopped).
  void stop();

  storage::StorageWorker& storage() { return *storage_; }
  const CatalogOptions& options() const { return options_; }
  const std::string& separator() const { return options_.separator; }

  // ---- upstreams ("gateways")
  void createGateway(storage::GatewayRecord record, Callback<storage::GatewayRecord> done);
  // Applies `change` to the stored record and saves the result, in one storage job; the
  // upstream reconnects.
  void updateGateway(const std::string& id, Change<storage::GatewayRecord> change,
                     Callback<storage::GatewayRecord> done);
  void deleteGateway(const std::string& id, Callback<bool> done);
  // Lists the upstream again and stores what it offers now.
  void refreshGateway(const std::string& id, Callback<storage::Discovery> done);

  // ---- items and servers: the catalog's view must follow every change
  void setItemEnabled(const std::string& table, const std::string& id, bool enabled,
                      Callback<bool> done);
  void createServer(storage::ServerRecord record, Callback<storage::ServerRecord> done);
  void updateServer(const std::string& id, Change<storage::ServerRecord> change,
                    Callback<storage::ServerRecord> done);
  void deleteServer(const std::string& id, Callback<bool> done);

  // Applies an import: gateways and servers by name (conflicts per the plan's strategy), then
  // tool settings; connects what was added or changed.
  void importCatalog(ImportPlan plan, Callback<ImportReport> done);

  // The filter of the aggregated endpoint (/mcp, /sse, /rpc) and of one virtual server.
  std::shared_ptr<const gateway::ItemFilter> globalFilter();
  std::shared_ptr<const gateway::ItemFilter> serverFilter(const std::string& server_id);
  // True if a virtual server with this id exists and is enabled.
  bool serverActive(const std::string& server_id) const;
  // The team owning an enabled virtual server ("" when shared); nullopt when there is none.
  std::optional<std::string> serverTeam(const std::string& server_id) const;
  // The team owning an upstream ("" when shared); nullopt for an upstream the catalog does not
  // know (one being deleted, say), which access checks treat as invisible.
  std::optional<std::string> upstreamTeam(const std::string& slug) const;

  // gateway::RegistryObserver
  void onUpstreamState(const std::string& upstream, upstream::State state,
                       const std::string& detail) override;
  void onListChanged(const std::string& upstream, std::optional<gateway::ListKind> kind) override;
  void onToolCall(const std::string& upstream, const std::string& tool, bool error,
                  double latency_ms) override;

  struct View; // immutable snapshot of gateways, items and servers

private:
  std::shared_ptr<const View> view() const;
  // Rebuilds the view from the database (on the storage thread).
  core::Status reloadView(storage::Store& store);
  // Lists an upstream and stores what it offers; `announce` tells the clients that their lists
  // changed (not needed when the upstream said so itself: the registry relays that).
  void discover(const std::string& slug, bool announce = true);
  void finishDiscovery(const std::string& slug, core::Result<storage::Discovery> found,
                       bool announce);
  void awaitDiscovery(const std::string& slug, std::function<void()> then);
  // Starts (or restarts) the upstream a record describes, and remembers what it runs.
  void connect(const storage::GatewayRecord& record);
  void disconnect(const std::string& slug);
  // Applies changes made by other instances (storage thread); see scheduleSync().
  void sync(storage::Store& store);
  // Connects and disconnects upstreams until the running set matches the view's enabled ones.
  void followUpstreams(const View& view);
  void scheduleSync();
  void flushMetrics();
  void applySetting(storage::Store& store, const std::string& tool_id,
                    const ImportPlan::ToolSetting& setting);
  // Imported tool settings whose tools had not been discovered yet (by gateway id).
  void applyPendingSettings(storage::Store& store, const std::string& gateway_id);
  void scheduleFlush();
  // Deletes per-minute latency older than the retention, now and then every hour.
  void schedulePrune();

  net::EventLoop& loop_;
  std::shared_ptr<gateway::UpstreamRegistry> registry_;
  std::unique_ptr<storage::StorageWorker> storage_;
  const CatalogOptions options_;

  std::atomic<std::shared_ptr<const View>> view_; // read on every MCP list and call
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::function<void()>>> discovery_waiters_; // by slug
  storage::CallTally calls_; // since the last flush
  std::map<std::string, std::vector<ImportPlan::ToolSetting>> pending_settings_;
  // The upstreams this instance runs, as the records they were started from (by slug).
  std::map<std::string, storage::GatewayRecord> running_;
  std::string catalog_stamp_; // Store::catalogStamp() at the last sync (storage thread)
  bool stopping_ = false;
};

} // namespace forge::catalog
