#include "storage/store.h"

#include "core/random.h"

#include "auth/secret_box.h"
#include "storage/rows.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

namespace forge::storage {
namespace json = boost::json;
using namespace detail;
namespace {

// ---- Row mapping ------------------------------------------------------------------------------

constexpr const char* kGatewayColumns =
    "id, name, slug, description, transport, url, command, args, env, cwd, headers, session_mode, "
    "call_timeout_ms, max_concurrency, enabled, reachable, health, last_error, capabilities, "
    "source, tags, created_at, updated_at, last_seen, team_id, oauth_token_url, oauth_client_id, "
    "oauth_client_secret, oauth_scope, oauth_audience";

GatewayRecord gatewayFrom(const Row& row) {
  GatewayRecord g;
  std::size_t i = 0;
  g.id = row.text(i++);
  g.name = row.text(i++);
  g.slug = row.text(i++);
  g.description = row.text(i++);
  g.transport = row.text(i++);
  g.url = row.text(i++);
  g.command = row.text(i++);
  g.args = stringList(row.text(i++));
  g.env = stringMap(row.text(i++));
  g.cwd = row.text(i++);
  g.headers = stringMap(row.text(i++));
  g.session_mode = row.text(i++);
  g.call_timeout_ms = row.integer(i++);
  g.max_concurrency = row.integer(i++);
  g.enabled = row.integer(i++) != 0;
  g.reachable = row.integer(i++) != 0;
  g.health = row.text(i++);
  g.last_error = row.text(i++);
  g.capabilities = row.text(i++);
  g.source = row.text(i++);
  g.tags = stringList(row.text(i++));
  g.created_at = row.text(i++);
  g.updated_at = row.text(i++);
  g.last_seen = row.text(i++);
  g.team_id = row.text(i++);
  g.oauth_token_url = row.text(i++);
  g.oauth_client_id = row.text(i++);
  g.oauth_client_secret = row.text(i++);
  g.oauth_scope = row.text(i++);
  g.oauth_audience = row.text(i++);
  return g;
}

std::vector<Value> gatewayValues(const GatewayRecord& g) {
  return {g.id,
          g.name,
          g.slug,
          g.description,
          g.transport,
          g.url,
          g.command,
          toJson(g.args),
          toJson(g.env),
          g.cwd,
          toJson(g.headers),
          g.session_mode,
          g.call_timeout_ms,
          g.max_concurrency,
          flag(g.enabled),
          flag(g.reachable),
          g.health,
          g.last_error,
          g.capabilities,
          g.source,
          toJson(g.tags),
          g.created_at,
          g.updated_at,
          g.last_seen,
          g.team_id,
          g.oauth_token_url,
          g.oauth_client_id,
          g.oauth_client_secret,
          g.oauth_scope,
          g.oauth_audience};
}

constexpr const char* kToolColumns =
    "id, gateway_id, original_name, name, description, input_schema, output_schema, annotations, "
    "enabled, tags, created_at, updated_at";

ToolRecord toolFrom(const Row& row) {
  ToolRecord t;
  std::size_t i = 0;
  t.id = row.text(i++);
  t.gateway_id = row.text(i++);
  t.original_name = row.text(i++);
  t.name = row.text(i++);
  t.description = row.text(i++);
  t.input_schema = row.text(i++);
  t.output_schema = row.text(i++);
  t.annotations = row.text(i++);
  t.enabled = row.integer(i++) != 0;
  t.tags = stringList(row.text(i++));
  t.created_at = row.text(i++);
  t.updated_at = row.text(i++);
  return t;
}

constexpr const char* kResourceColumns = "id, gateway_id, uri, name, description, mime_type, "
                                         "is_template, enabled, tags, created_at, updated_at";

ResourceRecord resourceFrom(const Row& row) {
  ResourceRecord r;
  std::size_t i = 0;
  r.id = row.text(i++);
  r.gateway_id = row.text(i++);
  r.uri = row.text(i++);
  r.name = row.text(i++);
  r.description = row.text(i++);
  r.mime_type = row.text(i++);
  r.is_template = row.integer(i++) != 0;
  r.enabled = row.integer(i++) != 0;
  r.tags = stringList(row.text(i++));
  r.created_at = row.text(i++);
  r.updated_at = row.text(i++);
  return r;
}

constexpr const char* kPromptColumns = "id, gateway_id, original_name, name, description, "
                                       "arguments, enabled, tags, created_at, updated_at";

PromptRecord promptFrom(const Row& row) {
  PromptRecord p;
  std::size_t i = 0;
  p.id = row.text(i++);
  p.gateway_id = row.text(i++);
  p.original_name = row.text(i++);
  p.name = row.text(i++);
  p.description = row.text(i++);
  p.arguments = row.text(i++);
  p.enabled = row.integer(i++) != 0;
  p.tags = stringList(row.text(i++));
  p.created_at = row.text(i++);
  p.updated_at = row.text(i++);
  return p;
}

constexpr const char* kServerColumns =
    "id, name, description, icon, enabled, max_tools, tags, created_at, updated_at, team_id";

ServerRecord serverFrom(const Row& row) {
  ServerRecord s;
  std::size_t i = 0;
  s.id = row.text(i++);
  s.name = row.text(i++);
  s.description = row.text(i++);
  s.icon = row.text(i++);
  s.enabled = row.integer(i++) != 0;
  s.max_tools = row.integer(i++);
  s.tags = stringList(row.text(i++));
  s.created_at = row.text(i++);
  s.updated_at = row.text(i++);
  s.team_id = row.text(i++);
  return s;
}

std::optional<MemberKind> parseMemberKind(const std::string& name) {
  if (name == "tool") return MemberKind::kTool;
  if (name == "resource") return MemberKind::kResource;
  if (name == "prompt") return MemberKind::kPrompt;
  return std::nullopt;
}

} // namespace

const char* memberKindName(MemberKind kind) {
  switch (kind) {
  case MemberKind::kTool:
    return "tool";
  case MemberKind::kResource:
    return "resource";
  case MemberKind::kPrompt:
    return "prompt";
  }
  return "tool";
}

std::string newId() { return core::randomHex(16); }

std::string nowUtc() { return isoUtc(std::chrono::system_clock::now()); }

std::string isoUtc(std::chrono::system_clock::time_point at) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(at)));
}

std::string minuteUtc(std::chrono::system_clock::time_point at) {
  return fmt::format("{:%Y-%m-%dT%H:%M:00Z}",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(at)));
}

std::string slugify(const std::string& name) {
  std::string out;
  bool dash = false;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      if (dash && !out.empty()) out += '-';
      dash = false;
      out += static_cast<char>(std::tolower(c));
    } else {
      dash = true;
    }
  }
  return out;
}

// ---- Gateways ---------------------------------------------------------------------------------

// ---- Credentials at rest ----------------------------------------------------------------------

namespace {

// Opens one stored credential: a sealed value with the box; a value in clear (written without a
// box, or before credentials were sealed) as it is. `what` names it in the error.
core::Result<std::string> openValue(const auth::SecretBox* box, const GatewayRecord& g,
                                    const std::string& stored, const std::string& what) {
  if (!auth::isSealed(stored)) return stored;
  if (!box) {
    return core::Error{core::Errc::kInternal,
                       fmt::format("gateway '{}': its {} is stored encrypted, but "
                                   "AUTH_ENCRYPTION_SECRET is not set: set it to the secret it "
                                   "was saved with",
                                   g.name, what)};
  }
  auto opened = box->open(stored);
  if (!opened) {
    return core::Error{core::Errc::kInternal,
                       fmt::format("gateway '{}': cannot decrypt its {}: AUTH_ENCRYPTION_SECRET "
                                   "changed since it was saved (or the stored value is damaged); "
                                   "set the previous secret again, or delete the gateway and "
                                   "register it anew",
                                   g.name, what)};
  }
  return std::move(*opened);
}

std::string sealValue(const auth::SecretBox* box, const std::string& value) {
  return box && !value.empty() ? box->seal(value) : value;
}

core::Status openAll(const auth::SecretBox* box, GatewayRecord& g,
                     std::map<std::string, std::string>& values, const char* what) {
  for (auto& [name, value] : values) {
    auto opened = openValue(box, g, value, fmt::format("{} '{}'", what, name));
    if (!opened) return opened.error();
    value = std::move(*opened);
  }
  return core::Ok{};
}

} // namespace

core::Status Store::openCredentials(GatewayRecord& g) const {
  const auth::SecretBox* box = box_.get();
  if (auto s = openAll(box, g, g.headers, "header"); !s) return s;
  if (auto s = openAll(box, g, g.env, "environment variable"); !s) return s;
  auto secret = openValue(box, g, g.oauth_client_secret, "OAuth client secret");
  if (!secret) return secret.error();
  g.oauth_client_secret = std::move(*secret);
  return core::Ok{};
}

GatewayRecord Store::sealCredentials(GatewayRecord g) const {
  const auth::SecretBox* box = box_.get();
  for (auto& [name, value] : g.headers)
    value = sealValue(box, value);
  for (auto& [name, value] : g.env)
    value = sealValue(box, value);
  g.oauth_client_secret = sealValue(box, g.oauth_client_secret);
  return g;
}

core::Result<std::vector<GatewayRecord>> Store::gateways() {
  auto all = selectAll<GatewayRecord>(
      db_, fmt::format("SELECT {} FROM gateways ORDER BY created_at, name", kGatewayColumns), {},
      gatewayFrom);
  if (!all) return all;
  for (auto& g : *all) {
    if (auto status = openCredentials(g); !status) return status.error();
  }
  return all;
}

core::Result<std::optional<GatewayRecord>> Store::gateway(const std::string& id) {
  auto one = selectOne<GatewayRecord>(
      db_, fmt::format("SELECT {} FROM gateways WHERE id = ?", kGatewayColumns), {id}, gatewayFrom);
  if (one && one->has_value()) {
    if (auto status = openCredentials(**one); !status) return status.error();
  }
  return one;
}

core::Result<std::optional<GatewayRecord>> Store::gatewayByName(const std::string& name) {
  auto one = selectOne<GatewayRecord>(
      db_, fmt::format("SELECT {} FROM gateways WHERE name = ?", kGatewayColumns), {name},
      gatewayFrom);
  if (one && one->has_value()) {
    if (auto status = openCredentials(**one); !status) return status.error();
  }
  return one;
}

core::Result<GatewayRecord> Store::insertGateway(GatewayRecord record) {
  if (record.id.empty()) record.id = newId();
  if (record.slug.empty()) record.slug = slugify(record.name);
  stamp(record.created_at, record.updated_at);
  auto rows =
      db_.query(insertSql("gateways", kGatewayColumns), gatewayValues(sealCredentials(record)));
  if (!rows) return rows.error();
  return record;
}

core::Result<GatewayRecord> Store::updateGateway(GatewayRecord record) {
  if (record.slug.empty()) record.slug = slugify(record.name);
  stamp(record.created_at, record.updated_at);
  auto values = gatewayValues(sealCredentials(record));
  values.erase(values.begin());
  values.push_back(record.id);
  auto rows = db_.query(updateSql("gateways", kGatewayColumns), values);
  if (!rows) return rows.error();
  if (rows->affected == 0)
    return core::Error{core::Errc::kNotFound, fmt::format("gateway {} not found", record.id)};
  return record;
}

core::Result<bool> Store::deleteGateway(const std::string& id) {
  return deleteById(db_, "gateways", id);
}

core::Status Store::setGatewayHealth(const std::string& id, bool reachable,
                                     const std::string& health, const std::string& last_error,
                                     const std::string& capabilities) {
  const std::string now = nowUtc();
  auto rows =
      db_.query("UPDATE gateways SET reachable = ?, health = ?, last_error = ?, "
                "capabilities = ?, last_seen = CASE WHEN ? = 1 THEN ? ELSE last_seen END "
                "WHERE id = ?",
                {flag(reachable), health, last_error, capabilities, flag(reachable), now, id});
  if (!rows) return rows.error();
  return core::Ok{};
}

// ---- Discovered items -------------------------------------------------------------------------

namespace {

// Ids, enabled flags, tags and creation times of a gateway's items, by key.
struct Kept {
  std::string id;
  bool enabled = true;
  std::vector<std::string> tags;
  std::string created_at;
};

core::Result<std::map<std::string, Kept>> keptItems(Database& db, const char* table,
                                                    const char* key, const std::string& gateway) {
  auto rows =
      db.query(fmt::format("SELECT {}, id, enabled, tags, created_at FROM {} WHERE gateway_id = ?",
                           key, table),
               {gateway});
  if (!rows) return rows.error();
  std::map<std::string, Kept> out;
  for (const auto& row : rows->rows)
    out[row.text(0)] = Kept{row.text(1), row.integer(2) != 0, stringList(row.text(3)), row.text(4)};
  return out;
}

template <class Record>
void keep(Record& record, const std::string& key, const std::map<std::string, Kept>& kept) {
  auto it = kept.find(key);
  if (it == kept.end()) {
    if (record.id.empty()) record.id = newId();
    stamp(record.created_at, record.updated_at);
    return;
  }
  record.id = it->second.id;
  record.enabled = it->second.enabled;
  if (record.tags.empty()) record.tags = it->second.tags;
  record.created_at = it->second.created_at;
  record.updated_at = nowUtc();
}

// Deletes the gateway's rows of `table` whose key is not in `present`.
core::Status removeGone(Database& db, const char* table, const std::map<std::string, Kept>& kept,
                        const std::set<std::string>& present) {
  for (const auto& [item_key, item] : kept) {
    if (present.count(item_key)) continue;
    auto rows = db.query(fmt::format("DELETE FROM {} WHERE id = ?", table), {item.id});
    if (!rows) return rows.error();
  }
  return core::Ok{};
}

core::Status upsert(Database& db, const char* table, const char* columns, const char* conflict,
                    std::vector<Value> values) {
  // Every column but id and created_at follows the discovered value.
  const std::string sets = assignments(columns, {"id", "created_at"}, "excluded.{}");
  auto rows = db.query(fmt::format("{} ON CONFLICT ({}) DO UPDATE SET {}",
                                   insertSql(table, columns), conflict, sets),
                       values);
  if (!rows) return rows.error();
  return core::Ok{};
}

} // namespace

namespace {

// How discovered items of one kind are stored: table, identifying column, row values.
struct ItemTable {
  const char* table;
  const char* columns;
  const char* key; // unique per gateway
};
constexpr ItemTable kToolTable{"tools", kToolColumns, "original_name"};
constexpr ItemTable kResourceTable{"resources", kResourceColumns, "uri"};
constexpr ItemTable kPromptTable{"prompts", kPromptColumns, "original_name"};

const std::string& keyOf(const ToolRecord& t) { return t.original_name; }
const std::string& keyOf(const ResourceRecord& r) { return r.uri; }
const std::string& keyOf(const PromptRecord& p) { return p.original_name; }

std::vector<Value> valuesOf(const ToolRecord& t) {
  return {t.id,           t.gateway_id,    t.original_name, t.name,          t.description,
          t.input_schema, t.output_schema, t.annotations,   flag(t.enabled), toJson(t.tags),
          t.created_at,   t.updated_at};
}
std::vector<Value> valuesOf(const ResourceRecord& r) {
  return {r.id,        r.gateway_id,        r.uri,           r.name,         r.description,
          r.mime_type, flag(r.is_template), flag(r.enabled), toJson(r.tags), r.created_at,
          r.updated_at};
}
std::vector<Value> valuesOf(const PromptRecord& p) {
  return {p.id,        p.gateway_id,    p.original_name, p.name,       p.description,
          p.arguments, flag(p.enabled), toJson(p.tags),  p.created_at, p.updated_at};
}

// Makes a gateway's rows of one kind exactly `found`, keeping what operators set on them.
template <class Record>
core::Status syncItems(Database& db, const ItemTable& table, const std::string& gateway_id,
                       std::vector<Record>& found) {
  auto kept = keptItems(db, table.table, table.key, gateway_id);
  if (!kept) return kept.error();
  std::set<std::string> present;
  for (auto& item : found) {
    item.gateway_id = gateway_id;
    keep(item, keyOf(item), *kept);
    present.insert(keyOf(item));
    auto status = upsert(db, table.table, table.columns,
                         fmt::format("gateway_id, {}", table.key).c_str(), valuesOf(item));
    if (!status) return status;
  }
  return removeGone(db, table.table, *kept, present);
}

} // namespace

core::Status Store::replaceDiscovery(const std::string& gateway_id, Discovery found) {
  return transaction(db_, [&]() -> core::Status {
    if (auto s = syncItems(db_, kToolTable, gateway_id, found.tools); !s) return s;
    if (auto s = syncItems(db_, kResourceTable, gateway_id, found.resources); !s) return s;
    return syncItems(db_, kPromptTable, gateway_id, found.prompts);
  });
}

core::Result<std::vector<ToolRecord>> Store::tools() {
  return selectAll<ToolRecord>(db_, fmt::format("SELECT {} FROM tools ORDER BY name", kToolColumns),
                               {}, toolFrom);
}

core::Result<std::optional<ToolRecord>> Store::tool(const std::string& id) {
  return selectOne<ToolRecord>(db_, fmt::format("SELECT {} FROM tools WHERE id = ?", kToolColumns),
                               {id}, toolFrom);
}

core::Result<std::vector<ResourceRecord>> Store::resources() {
  return selectAll<ResourceRecord>(
      db_, fmt::format("SELECT {} FROM resources ORDER BY uri", kResourceColumns), {},
      resourceFrom);
}

core::Result<std::optional<ResourceRecord>> Store::resource(const std::string& id) {
  return selectOne<ResourceRecord>(
      db_, fmt::format("SELECT {} FROM resources WHERE id = ?", kResourceColumns), {id},
      resourceFrom);
}

core::Result<std::vector<PromptRecord>> Store::prompts() {
  return selectAll<PromptRecord>(
      db_, fmt::format("SELECT {} FROM prompts ORDER BY name", kPromptColumns), {}, promptFrom);
}

core::Result<std::optional<PromptRecord>> Store::prompt(const std::string& id) {
  return selectOne<PromptRecord>(
      db_, fmt::format("SELECT {} FROM prompts WHERE id = ?", kPromptColumns), {id}, promptFrom);
}

namespace {
bool isItemTable(const std::string& table) {
  return table == "tools" || table == "resources" || table == "prompts";
}

// Items are addressed by id, or by what clients know them by: exposed name, or URI.
const char* itemKeyColumn(const std::string& table) {
  return table == "resources" ? "uri" : "name";
}
} // namespace

core::Result<bool> Store::setItemEnabled(const std::string& table, const std::string& id,
                                         bool enabled) {
  if (!isItemTable(table)) return core::Error{core::Errc::kInternal, "unknown item table"};
  auto rows =
      db_.query(fmt::format("UPDATE {} SET enabled = ?, updated_at = ? WHERE id = ? OR {} = ?",
                            table, itemKeyColumn(table)),
                {flag(enabled), nowUtc(), id, id});
  if (!rows) return rows.error();
  return rows->affected > 0;
}

core::Result<bool> Store::setItemTags(const std::string& table, const std::string& id,
                                      const std::vector<std::string>& tags) {
  if (!isItemTable(table)) return core::Error{core::Errc::kInternal, "unknown item table"};
  auto rows = db_.query(fmt::format("UPDATE {} SET tags = ?, updated_at = ? WHERE id = ? OR {} = ?",
                                    table, itemKeyColumn(table)),
                        {toJson(tags), nowUtc(), id, id});
  if (!rows) return rows.error();
  return rows->affected > 0;
}

core::Result<std::string> Store::catalogStamp() {
  std::string stamp;
  for (const char* table : {"gateways", "tools", "resources", "prompts", "servers"}) {
    auto rows =
        db_.query(fmt::format("SELECT COUNT(*), SUM(enabled), MAX(updated_at) FROM {}", table));
    if (!rows) return rows.error();
    const auto& r = rows->rows.at(0);
    stamp += fmt::format("{}/{}/{};", r.integer(0), r.integer(1), r.text(2));
  }
  auto members = db_.query("SELECT COUNT(*) FROM server_members");
  if (!members) return members.error();
  return stamp + std::to_string(members->rows.at(0).integer(0));
}

// ---- Virtual servers --------------------------------------------------------------------------

namespace {

core::Status loadMembers(Database& db, std::vector<ServerRecord>& servers) {
  if (servers.empty()) return core::Ok{};
  auto rows = db.query("SELECT server_id, kind, selector FROM server_members ORDER BY server_id, "
                       "position");
  if (!rows) return rows.error();
  std::map<std::string, ServerRecord*> by_id;
  for (auto& s : servers)
    by_id[s.id] = &s;
  for (const auto& row : rows->rows) {
    auto it = by_id.find(row.text(0));
    const auto kind = parseMemberKind(row.text(1));
    if (it == by_id.end() || !kind) continue;
    it->second->members.push_back(Member{*kind, row.text(2)});
  }
  return core::Ok{};
}

core::Status saveMembers(Database& db, const ServerRecord& server) {
  auto cleared = db.query("DELETE FROM server_members WHERE server_id = ?", {server.id});
  if (!cleared) return cleared.error();
  std::int64_t position = 0;
  for (const auto& member : server.members) {
    auto rows = db.query(
        "INSERT INTO server_members (server_id, kind, selector, position) VALUES "
        "(?, ?, ?, ?)",
        {server.id, std::string(memberKindName(member.kind)), member.selector, position++});
    if (!rows) return rows.error();
  }
  return core::Ok{};
}

std::vector<Value> serverValues(const ServerRecord& s) {
  return {s.id,        s.name,         s.description, s.icon,       flag(s.enabled),
          s.max_tools, toJson(s.tags), s.created_at,  s.updated_at, s.team_id};
}

core::Result<std::optional<ServerRecord>> oneServer(Database& db, const char* where,
                                                    const std::string& value) {
  auto all = selectAll<ServerRecord>(
      db, fmt::format("SELECT {} FROM servers WHERE {} = ?", kServerColumns, where), {value},
      serverFrom);
  if (!all) return all.error();
  if (all->empty()) return std::optional<ServerRecord>();
  auto rows = db.query("SELECT kind, selector FROM server_members WHERE server_id = ? ORDER BY "
                       "position",
                       {all->front().id});
  if (!rows) return rows.error();
  for (const auto& row : rows->rows)
    if (auto kind = parseMemberKind(row.text(0)))
      all->front().members.push_back(Member{*kind, row.text(1)});
  return std::optional<ServerRecord>(std::move(all->front()));
}

} // namespace

core::Result<std::vector<ServerRecord>> Store::servers() {
  auto all = selectAll<ServerRecord>(
      db_, fmt::format("SELECT {} FROM servers ORDER BY created_at, name", kServerColumns), {},
      serverFrom);
  if (!all) return all;
  if (auto status = loadMembers(db_, *all); !status) return status.error();
  return all;
}

core::Result<std::optional<ServerRecord>> Store::server(const std::string& id) {
  return oneServer(db_, "id", id);
}

core::Result<std::optional<ServerRecord>> Store::serverByName(const std::string& name) {
  return oneServer(db_, "name", name);
}

namespace {
// Each (kind, selector) once, in the order first given: what is stored is what is answered.
void dropDuplicateMembers(ServerRecord& record) {
  std::set<std::pair<MemberKind, std::string>> seen;
  std::erase_if(record.members, [&](const Member& m) {
    return !seen.insert({m.kind, m.selector}).second;
  });
}
} // namespace

core::Result<ServerRecord> Store::insertServer(ServerRecord record) {
  dropDuplicateMembers(record);
  if (record.id.empty()) record.id = newId();
  stamp(record.created_at, record.updated_at);
  auto status = transaction(db_, [&]() -> core::Status {
    auto rows = db_.query(insertSql("servers", kServerColumns), serverValues(record));
    if (!rows) return rows.error();
    return saveMembers(db_, record);
  });
  if (!status) return status.error();
  return record;
}

core::Result<ServerRecord> Store::updateServer(ServerRecord record) {
  dropDuplicateMembers(record);
  stamp(record.created_at, record.updated_at);
  auto status = transaction(db_, [&]() -> core::Status {
    auto values = serverValues(record);
    values.erase(values.begin());
    values.push_back(record.id);
    auto rows = db_.query(updateSql("servers", kServerColumns), values);
    if (!rows) return rows.error();
    if (rows->affected == 0)
      return core::Error{core::Errc::kNotFound, fmt::format("server {} not found", record.id)};
    return saveMembers(db_, record);
  });
  if (!status) return status.error();
  return record;
}

core::Result<bool> Store::deleteServer(const std::string& id) {
  return deleteById(db_, "servers", id);
}

// ---- Metrics ----------------------------------------------------------------------------------

namespace {
std::string currentHour() {
  return fmt::format("{:%Y-%m-%dT%H:00:00Z}", fmt::gmtime(std::chrono::system_clock::to_time_t(
                                                  std::chrono::system_clock::now())));
}
} // namespace

core::Status Store::addCalls(const CallTally& tally, const std::string& hour) {
  if (tally.empty()) return core::Ok{};
  const std::string bucket = hour.empty() ? currentHour() : hour;
  return transaction(db_, [&]() -> core::Status {
    core::Status status = core::Ok{};
    tally.forEach([&](const std::string& gateway, const std::string& tool, const CallTotals& t) {
      if (!status) return;
      const auto& h = t.histogram;
      auto rows = db_.query(
          "INSERT INTO call_metrics (hour, gateway, tool, calls, errors, total_ms, min_ms, max_ms) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hour, gateway, tool) DO UPDATE SET "
          "calls = call_metrics.calls + excluded.calls, "
          "errors = call_metrics.errors + excluded.errors, "
          "total_ms = call_metrics.total_ms + excluded.total_ms, "
          "min_ms = CASE WHEN excluded.min_ms < call_metrics.min_ms THEN excluded.min_ms ELSE "
          "call_metrics.min_ms END, "
          "max_ms = CASE WHEN excluded.max_ms > call_metrics.max_ms THEN excluded.max_ms ELSE "
          "call_metrics.max_ms END",
          {bucket, gateway, tool, h.calls, h.errors, h.total_ms, t.min_ms, h.max_ms});
      if (!rows) status = rows.error();
    });
    return status;
  });
}

namespace {
CallMetrics metricsFrom(const Row& row) {
  return CallMetrics{row.text(0), row.text(1), row.integer(2), row.integer(3),
                     row.real(4), row.real(5), row.real(6),    row.text(7)};
}
} // namespace

core::Result<std::vector<CallMetrics>> Store::callMetrics() {
  return selectAll<CallMetrics>(
      db_,
      "SELECT gateway, tool, SUM(calls), SUM(errors), SUM(total_ms), MIN(min_ms), MAX(max_ms), "
      "MAX(hour) FROM call_metrics GROUP BY gateway, tool ORDER BY gateway, tool",
      {}, metricsFrom);
}

core::Result<std::vector<CallMetrics>> Store::callHistory(const std::string& gateway,
                                                          const std::string& tool, int hours) {
  return selectAll<CallMetrics>(
      db_,
      "SELECT gateway, tool, calls, errors, total_ms, min_ms, max_ms, hour FROM call_metrics "
      "WHERE gateway = ? AND tool = ? ORDER BY hour DESC LIMIT ?",
      {gateway, tool, std::int64_t{hours}}, metricsFrom);
}

// ---- Call latency per minute ------------------------------------------------------------------

std::vector<CallMinute> rollUpMinute(const CallTally& tally, const std::string& minute) {
  std::vector<CallMinute> out;
  tally.forEach([&](const std::string& gateway, const std::string& tool, const CallTotals& t) {
    out.push_back(CallMinute{minute, gateway, tool, t.histogram});
  });
  return out;
}

namespace {

// "b0, b1, ..., b15" with each name passed through `column`.
template <class Column>
std::string bucketList(Column column) {
  std::string out;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i)
    out += fmt::format("{}{}", i ? ", " : "", column(fmt::format("b{}", i)));
  return out;
}

const std::string& upsertMinuteSql() {
  static const std::string sql = fmt::format(
      "INSERT INTO call_latency (minute, gateway, tool, calls, errors, total_ms, max_ms, {}) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, {}) ON CONFLICT (minute, gateway, tool) DO UPDATE SET "
      "calls = call_latency.calls + excluded.calls, "
      "errors = call_latency.errors + excluded.errors, "
      "total_ms = call_latency.total_ms + excluded.total_ms, "
      "max_ms = CASE WHEN excluded.max_ms > call_latency.max_ms THEN excluded.max_ms ELSE "
      "call_latency.max_ms END, {}",
      bucketList([](const std::string& b) { return b; }),
      bucketList([](const std::string&) { return std::string("?"); }),
      bucketList([](const std::string& b) {
        return fmt::format("{0} = call_latency.{0} + excluded.{0}", b);
      }));
  return sql;
}

CallMinute minuteFrom(const Row& row) {
  CallMinute m{row.text(0), row.text(1), row.text(2), {}};
  m.histogram.calls = row.integer(3);
  m.histogram.errors = row.integer(4);
  m.histogram.total_ms = row.real(5);
  m.histogram.max_ms = row.real(6);
  for (std::size_t i = 0; i < kLatencyBuckets; ++i)
    m.histogram.buckets[i] = row.integer(7 + i);
  return m;
}

} // namespace

core::Status Store::addCallMinutes(const std::vector<CallMinute>& minutes) {
  if (minutes.empty()) return core::Ok{};
  return transaction(db_, [&]() -> core::Status {
    for (const auto& m : minutes) {
      const auto& h = m.histogram;
      std::vector<Value> params{m.minute, m.gateway,  m.tool,  h.calls,
                                h.errors, h.total_ms, h.max_ms};
      params.insert(params.end(), h.buckets.begin(), h.buckets.end());
      if (auto rows = db_.query(upsertMinuteSql(), params); !rows) return rows.error();
    }
    return core::Ok{};
  });
}

core::Result<std::vector<CallMinute>> Store::callMinutes(const std::string& from,
                                                         const std::string& to) {
  static const std::string columns =
      fmt::format("minute, gateway, tool, calls, errors, total_ms, max_ms, {}",
                  bucketList([](const std::string& b) { return b; }));
  if (to.empty()) {
    return selectAll<CallMinute>(
        db_, fmt::format("SELECT {} FROM call_latency WHERE minute >= ? ORDER BY minute", columns),
        {from}, minuteFrom);
  }
  return selectAll<CallMinute>(
      db_,
      fmt::format("SELECT {} FROM call_latency WHERE minute >= ? AND minute < ? ORDER BY minute",
                  columns),
      {from, to}, minuteFrom);
}

core::Result<std::int64_t> Store::pruneCallMinutes(const std::string& before) {
  auto rows = db_.query("DELETE FROM call_latency WHERE minute < ?", {before});
  if (!rows) return rows.error();
  return rows->affected;
}

} // namespace forge::storage
