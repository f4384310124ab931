#include "storage/migrations.h"

#include "core/log.h"
#include "storage/store.h"

#include <fmt/format.h>

namespace forge::storage {
namespace {

// Version 1: the catalog. JSON documents (schemas, headers, tags...) are stored as TEXT;
// booleans as INTEGER 0/1; times as ISO 8601 UTC text, which sorts correctly.
constexpr const char* kCatalog = R"sql(
CREATE TABLE gateways (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  slug TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  transport TEXT NOT NULL,
  url TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '',
  args TEXT NOT NULL DEFAULT '[]',
  env TEXT NOT NULL DEFAULT '{}',
  cwd TEXT NOT NULL DEFAULT '',
  headers TEXT NOT NULL DEFAULT '{}',
  session_mode TEXT NOT NULL DEFAULT 'shared',
  call_timeout_ms BIGINT NOT NULL DEFAULT 60000,
  max_concurrency BIGINT NOT NULL DEFAULT 64,
  enabled INTEGER NOT NULL DEFAULT 1,
  reachable INTEGER NOT NULL DEFAULT 0,
  health TEXT NOT NULL DEFAULT 'unknown',
  last_error TEXT NOT NULL DEFAULT '',
  capabilities TEXT NOT NULL DEFAULT '{}',
  source TEXT NOT NULL DEFAULT 'api',
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_seen TEXT NOT NULL DEFAULT ''
);
CREATE TABLE tools (
  id TEXT PRIMARY KEY,
  gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
  original_name TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  input_schema TEXT NOT NULL DEFAULT '{}',
  output_schema TEXT NOT NULL DEFAULT '',
  annotations TEXT NOT NULL DEFAULT '{}',
  enabled INTEGER NOT NULL DEFAULT 1,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (gateway_id, original_name)
);
CREATE INDEX tools_name ON tools (name);
CREATE TABLE resources (
  id TEXT PRIMARY KEY,
  gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
  uri TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  mime_type TEXT NOT NULL DEFAULT '',
  is_template INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (gateway_id, uri)
);
CREATE TABLE prompts (
  id TEXT PRIMARY KEY,
  gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
  original_name TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  arguments TEXT NOT NULL DEFAULT '[]',
  enabled INTEGER NOT NULL DEFAULT 1,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (gateway_id, original_name)
);
CREATE TABLE servers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  icon TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  max_tools BIGINT NOT NULL DEFAULT 0,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE server_members (
  server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  selector TEXT NOT NULL,
  position BIGINT NOT NULL,
  PRIMARY KEY (server_id, kind, selector)
);
CREATE TABLE call_metrics (
  hour TEXT NOT NULL,
  gateway TEXT NOT NULL,
  tool TEXT NOT NULL,
  calls BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  total_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  min_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  max_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, gateway, tool)
)
)sql";

// Version 2: identity. Users (argon2id hashes), teams and their members, API tokens (only a
// hash of the secret is kept), revoked JWT ids, and the audit trail. Gateways and virtual
// servers gain an owning team ('' = visible to every team).
constexpr const char* kIdentity = R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  full_name TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT 'developer',
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_login TEXT NOT NULL DEFAULT ''
);
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  slug TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE team_members (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL DEFAULT 'developer',
  joined_at TEXT NOT NULL,
  PRIMARY KEY (team_id, user_id)
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  jti TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL DEFAULT '',
  token_hash TEXT NOT NULL UNIQUE,
  servers TEXT NOT NULL DEFAULT '[]',
  ip_allow TEXT NOT NULL DEFAULT '[]',
  expires_at TEXT NOT NULL DEFAULT '',
  revoked_at TEXT NOT NULL DEFAULT '',
  revoked_by TEXT NOT NULL DEFAULT '',
  revoke_reason TEXT NOT NULL DEFAULT '',
  last_used_at TEXT NOT NULL DEFAULT '',
  use_count BIGINT NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE token_revocations (
  jti TEXT PRIMARY KEY,
  revoked_at TEXT NOT NULL,
  revoked_by TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target_type TEXT NOT NULL DEFAULT '',
  target_id TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL,
  status BIGINT NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '',
  remote TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
ALTER TABLE servers ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE gateways ADD COLUMN team_id TEXT NOT NULL DEFAULT ''
)sql";

// Version 3: OAuth 2.0 client credentials of HTTP upstreams. The client secret, like header and
// environment values, is stored sealed (auth::SecretBox, "v1:...") when the gateway has an
// AUTH_ENCRYPTION_SECRET.
constexpr const char* kUpstreamOAuth = R"sql(
ALTER TABLE gateways ADD COLUMN oauth_token_url TEXT NOT NULL DEFAULT '';
ALTER TABLE gateways ADD COLUMN oauth_client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE gateways ADD COLUMN oauth_client_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE gateways ADD COLUMN oauth_scope TEXT NOT NULL DEFAULT '';
ALTER TABLE gateways ADD COLUMN oauth_audience TEXT NOT NULL DEFAULT ''
)sql";

// Version 4: call latency per minute, upstream and tool, with the counts of the fixed latency
// buckets of storage/call_latency.h (b0 for calls up to 1 ms ... b15 for those over 60 s), so
// that percentiles can be estimated for any window and summed over every gateway process. Kept
// for metrics.retention; the hourly call_metrics stay for the REST API.
constexpr const char* kCallLatency = R"sql(
CREATE TABLE call_latency (
  minute TEXT NOT NULL,
  gateway TEXT NOT NULL,
  tool TEXT NOT NULL,
  calls BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  total_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  max_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  b0 BIGINT NOT NULL DEFAULT 0,
  b1 BIGINT NOT NULL DEFAULT 0,
  b2 BIGINT NOT NULL DEFAULT 0,
  b3 BIGINT NOT NULL DEFAULT 0,
  b4 BIGINT NOT NULL DEFAULT 0,
  b5 BIGINT NOT NULL DEFAULT 0,
  b6 BIGINT NOT NULL DEFAULT 0,
  b7 BIGINT NOT NULL DEFAULT 0,
  b8 BIGINT NOT NULL DEFAULT 0,
  b9 BIGINT NOT NULL DEFAULT 0,
  b10 BIGINT NOT NULL DEFAULT 0,
  b11 BIGINT NOT NULL DEFAULT 0,
  b12 BIGINT NOT NULL DEFAULT 0,
  b13 BIGINT NOT NULL DEFAULT 0,
  b14 BIGINT NOT NULL DEFAULT 0,
  b15 BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, gateway, tool)
)
)sql";

// Version 5: monitoring alerts. An alert is open while ended_at is empty; a metric has at most
// one open alert (a warning that turns critical is the same alert, its level raised).
constexpr const char* kAlerts = R"sql(
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  metric TEXT NOT NULL,
  level TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL DEFAULT 0,
  threshold DOUBLE PRECISION NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  ended_at TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alerts_open ON alerts (metric) WHERE ended_at = '';
CREATE INDEX alerts_started ON alerts (started_at)
)sql";

// Version 6: incidents and their timelines (ops/incident.h). Ids are small integers, assigned
// as MAX(id) + 1 by the insert itself; an event's seq numbers the incident's timeline.
constexpr const char* kIncidents = R"sql(
CREATE TABLE incidents (
  id BIGINT PRIMARY KEY,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'open',
  level BIGINT NOT NULL DEFAULT 1,
  opened_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  closed_at TEXT NOT NULL DEFAULT '',
  opened_by TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT '',
  resolution TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_state ON incidents (state);
CREATE TABLE incident_events (
  incident_id BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (incident_id, seq)
)
)sql";

core::Status ensureMigrationsTable(Database& db) {
  auto created = db.query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY "
                          "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  if (!created) return created.error();
  return core::Ok{};
}

// Version 7: deployments (forge deploy, forge bluegreen): one row per apply, rollback,
// blue-green deploy or switch; steps is a JSON array of {name, ok, detail, seconds}.
constexpr const char* kDeployments = R"sql(
CREATE TABLE deployments (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  from_release TEXT NOT NULL DEFAULT '',
  to_release TEXT NOT NULL DEFAULT '',
  from_version TEXT NOT NULL DEFAULT '',
  to_version TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT 'running',
  steps TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX deployments_started ON deployments (started_ms);
)sql";

} // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{
      {1, "catalog", kCatalog},
      {2, "identity", kIdentity},
      {3, "upstream-oauth", kUpstreamOAuth},
      {4, "call-latency", kCallLatency},
      {5, "alerts", kAlerts},
      {6, "incidents", kIncidents},
      {7, "deployments", kDeployments},
  };
  return all;
}

core::Result<int> schemaVersion(Database& db) {
  if (auto status = ensureMigrationsTable(db); !status) return status.error();
  auto rows = db.query("SELECT MAX(version) FROM schema_migrations");
  if (!rows) return rows.error();
  if (rows->rows.empty() || rows->rows[0].isNull(0)) return 0;
  return static_cast<int>(rows->rows[0].integer(0));
}

namespace {

// Serialises migrations between processes for the rest of the transaction. SQLite's
// transactions take the write lock at BEGIN already (BEGIN IMMEDIATE); PostgreSQL's do not.
core::Status lockForMigration(Database& db) {
  if (std::string_view(db.backend()) != "postgresql") return core::Ok{};
  auto locked = db.query("SELECT pg_advisory_xact_lock(7408352310)"); // "forge" migrations
  if (!locked) return locked.error();
  return core::Ok{};
}

} // namespace

core::Result<int> migrate(Database& db) {
  auto current = schemaVersion(db);
  if (!current) return current.error();
  const int newest = migrations().back().version;
  if (*current > newest) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("the database {} has schema version {}, newer than this forge "
                                   "binary knows ({}): upgrade forge, or restore a backup",
                                   db.describe(), *current, newest)};
  }
  for (const auto& migration : migrations()) {
    if (migration.version <= *current) continue;
    bool applied_here = true;
    auto status = transaction(db, [&]() -> core::Status {
      // Another process may be migrating the same database at this moment (two replicas
      // starting together): holding the migration lock, look again.
      if (auto locked = lockForMigration(db); !locked) return locked;
      auto done = db.query("SELECT 1 FROM schema_migrations WHERE version = ?",
                           {std::int64_t{migration.version}});
      if (!done) return done.error();
      applied_here = done->rows.empty();
      if (!applied_here) return core::Ok{};
      if (auto applied = db.execScript(migration.sql); !applied) return applied;
      auto recorded =
          db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES "
                   "(?, ?, ?)",
                   {std::int64_t{migration.version}, std::string(migration.name), nowUtc()});
      if (!recorded) return recorded.error();
      return core::Ok{};
    });
    if (!status) {
      return core::Error{status.error().code,
                         fmt::format("migration {} ({}) failed: {}", migration.version,
                                     migration.name, status.error().message)};
    }
    if (applied_here) {
      log::info("database {}: applied migration {} ({})", db.describe(), migration.version,
                migration.name);
    }
  }
  return newest;
}

} // namespace forge::storage
