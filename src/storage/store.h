// Store: Forge's catalog in the database. Upstreams ("gateways"), what they offer (tools,
// resources, prompts), virtual servers and their members, and hourly call metrics. Plain
// synchronous calls on a Database: run them on the StorageWorker's thread.
//
// Documents (schemas, annotations, headers, tags) are kept as JSON text and handed back as is;
// the layers above parse what they need. Writes that change several rows are transactions.
#pragma once

#include "core/error.h"
#include "storage/call_latency.h"
#include "storage/database.h"
#include "storage/identity_store.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace forge::auth {
class SecretBox;
} // namespace forge::auth

namespace forge::storage {

// Credentials (header values, env values, the OAuth client secret) are sealed with the Store's
// SecretBox when written and opened when read: callers only ever see them in clear.
struct GatewayRecord {
  std::string id;
  std::string name;
  std::string slug;
  std::string description;
  std::string transport; // stdio | streamable-http | sse
  std::string url;
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;
  std::map<std::string, std::string> headers;
  // OAuth 2.0 client credentials (HTTP transports); no token URL: none.
  std::string oauth_token_url;
  std::string oauth_client_id;
  std::string oauth_client_secret;
  std::string oauth_scope; // space-separated
  std::string oauth_audience;
  std::string session_mode = "shared"; // shared | per-client
  std::int64_t call_timeout_ms = 60'000;
  std::int64_t max_concurrency = 64;
  bool enabled = true;
  bool reachable = false;
  std::string health = "unknown"; // the upstream's state: starting, ready, restarting, stopped
  std::string last_error;
  std::string capabilities = "{}"; // JSON: the upstream's initialize capabilities
  std::string source = "api";      // api | config (seeded from forge.yaml)
  std::vector<std::string> tags;
  std::string created_at;
  std::string updated_at;
  std::string last_seen;
  std::string team_id; // owning team; empty: shared by every team
};

struct ToolRecord {
  std::string id;
  std::string gateway_id;
  std::string original_name;
  std::string name; // exposed: <gateway slug><separator><original name>
  std::string description;
  std::string input_schema = "{}"; // JSON
  std::string output_schema;       // JSON or empty
  std::string annotations = "{}";  // JSON
  bool enabled = true;
  std::vector<std::string> tags;
  std::string created_at;
  std::string updated_at;
};

struct ResourceRecord {
  std::string id;
  std::string gateway_id;
  std::string uri; // a URI, or a URI template when is_template
  std::string name;
  std::string description;
  std::string mime_type;
  bool is_template = false;
  bool enabled = true;
  std::vector<std::string> tags;
  std::string created_at;
  std::string updated_at;
};

struct PromptRecord {
  std::string id;
  std::string gateway_id;
  std::string original_name;
  std::string name; // exposed
  std::string description;
  std::string arguments = "[]"; // JSON
  bool enabled = true;
  std::vector<std::string> tags;
  std::string created_at;
  std::string updated_at;
};

enum class MemberKind { kTool, kResource, kPrompt };
const char* memberKindName(MemberKind kind);

// A virtual server selects members by id, exposed name, original name or glob pattern.
struct Member {
  MemberKind kind = MemberKind::kTool;
  std::string selector;
  bool operator==(const Member&) const = default;
};

struct ServerRecord {
  std::string id;
  std::string name;
  std::string description;
  std::string icon;
  bool enabled = true;
  std::int64_t max_tools = 0; // 0: no limit
  std::vector<std::string> tags;
  std::vector<Member> members; // in the order given
  std::string created_at;
  std::string updated_at;
  std::string team_id; // owning team; empty: shared by every team
};

// The calls of one flush as one histogram per (gateway, tool), all for `minute`.
std::vector<CallMinute> rollUpMinute(const CallTally& tally, const std::string& minute);

struct CallMetrics {
  std::string gateway;
  std::string tool;
  std::int64_t calls = 0;
  std::int64_t errors = 0;
  double total_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  std::string last_hour;
};

// What an upstream offers, as discovered by listing it.
struct Discovery {
  std::vector<ToolRecord> tools;
  std::vector<ResourceRecord> resources;
  std::vector<PromptRecord> prompts;
};

class Store {
public:
  explicit Store(Database& db) : db_(db) {}
  Database& database() { return db_; }
  // Seals credentials at rest from now on (AES-256-GCM). Without a box (development) they are
  // written in clear. Values written in clear earlier are read as they are and sealed on their
  // next write; a sealed value that does not open (AUTH_ENCRYPTION_SECRET changed) makes reading
  // its gateway fail with an error that says so.
  void setSecretBox(std::shared_ptr<const auth::SecretBox> box) { box_ = std::move(box); }
  // Users, teams, tokens and the audit trail, in the same database.
  IdentityStore identity() { return IdentityStore(db_); }

  // Gateways. insertGateway fills id and times when empty; kConflict for a taken name/slug.
  core::Result<std::vector<GatewayRecord>> gateways();
  core::Result<std::optional<GatewayRecord>> gateway(const std::string& id);
  core::Result<std::optional<GatewayRecord>> gatewayByName(const std::string& name);
  core::Result<GatewayRecord> insertGateway(GatewayRecord record);
  core::Result<GatewayRecord> updateGateway(GatewayRecord record);
  // Deletes the gateway and (by cascade) its tools, resources and prompts. False if unknown.
  core::Result<bool> deleteGateway(const std::string& id);
  core::Status setGatewayHealth(const std::string& id, bool reachable, const std::string& health,
                                const std::string& last_error, const std::string& capabilities);

  // Replaces what a gateway offers with `found`, in one transaction: items keep their id,
  // enabled flag and tags across refreshes; items no longer offered are removed.
  core::Status replaceDiscovery(const std::string& gateway_id, Discovery found);

  core::Result<std::vector<ToolRecord>> tools();
  core::Result<std::optional<ToolRecord>> tool(const std::string& id);
  core::Result<std::vector<ResourceRecord>> resources();
  core::Result<std::optional<ResourceRecord>> resource(const std::string& id);
  core::Result<std::vector<PromptRecord>> prompts();
  core::Result<std::optional<PromptRecord>> prompt(const std::string& id);
  // Sets `enabled` on a tool, resource or prompt ("tools", "resources", "prompts"). False if
  // the id is unknown.
  core::Result<bool> setItemEnabled(const std::string& table, const std::string& id, bool enabled);
  core::Result<bool> setItemTags(const std::string& table, const std::string& id,
                                 const std::vector<std::string>& tags);

  // A fingerprint of the catalog's tables (row counts, enabled counts, last change): another
  // instance sharing the database compares it to learn cheaply whether anything it serves
  // changed. Times are to the second, so a change is seen as long as it alters a count or
  // lands in a later second than the previous one.
  core::Result<std::string> catalogStamp();

  // Virtual servers. kConflict for a taken name.
  core::Result<std::vector<ServerRecord>> servers();
  core::Result<std::optional<ServerRecord>> server(const std::string& id);
  core::Result<std::optional<ServerRecord>> serverByName(const std::string& name);
  core::Result<ServerRecord> insertServer(ServerRecord record);
  core::Result<ServerRecord> updateServer(ServerRecord record);
  core::Result<bool> deleteServer(const std::string& id);

  // Adds the calls to the hourly bucket `hour` ("2026-11-27T16:00:00Z"; empty: the current
  // hour), one row per (gateway, tool), in one transaction.
  core::Status addCalls(const CallTally& tally, const std::string& hour = {});
  // Totals per (gateway, tool) over every hour kept.
  core::Result<std::vector<CallMetrics>> callMetrics();
  // Hourly buckets of one tool, newest first.
  core::Result<std::vector<CallMetrics>> callHistory(const std::string& gateway,
                                                     const std::string& tool, int hours);

  // Adds histograms to their minutes (one transaction): counts and buckets add up, so every
  // gateway process may write the same minute.
  core::Status addCallMinutes(const std::vector<CallMinute>& minutes);
  // Minutes in [from, to) (ISO 8601 UTC; an empty `to`: no end), oldest first.
  core::Result<std::vector<CallMinute>> callMinutes(const std::string& from,
                                                    const std::string& to = {});
  // Deletes the minutes before `before`; returns how many rows went.
  core::Result<std::int64_t> pruneCallMinutes(const std::string& before);

private:
  core::Status openCredentials(GatewayRecord& record) const;
  GatewayRecord sealCredentials(GatewayRecord record) const;

  Database& db_;
  std::shared_ptr<const auth::SecretBox> box_;
};

// A new random id: 32 lowercase hex characters.
std::string newId();
// The current time as ISO 8601 UTC with seconds ("2026-11-27T16:30:05Z").
std::string nowUtc();
// A time as ISO 8601 UTC with seconds, and the start of its minute ("2026-11-27T16:30:00Z").
std::string isoUtc(std::chrono::system_clock::time_point at);
std::string minuteUtc(std::chrono::system_clock::time_point at);
// A name made fit for URLs and tool prefixes: lower-case letters and digits, every run of
// other characters one '-' (so a slug never holds the "__" of exposed names).
std::string slugify(const std::string& name);

} // namespace forge::storage
