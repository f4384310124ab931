#include "api/rest_api.h"

#include "api/respond.h"
#include "api/shapes.h"
#include "core/log.h"
#include "core/version.h"
#include "mcp/protocol.h"
#include "storage/migrations.h"
#include "storage/worker.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <set>

namespace forge::api {
namespace {

using net::Method;
using storage::Store;

constexpr std::int64_t kDefaultPageSize = 50;
constexpr std::int64_t kExportedAuditRecords = 100'000; // the newest

core::Error notFound(const char* what, std::string_view id) {
  return core::Error{core::Errc::kNotFound, fmt::format("{} {} not found", what, id)};
}

// A unique-constraint violation, in the words of the API rather than of the database.
core::Error nameTaken(core::Error error, const char* what) {
  if (error.code == core::Errc::kConflict)
    error.message = fmt::format("a {} with this name already exists", what);
  return error;
}

// What the caller of a request may see and change: roles and teams (auth/roles.h). Without a
// principal (the API served without the identity layer, as in some tests) everything is allowed.
struct Access {
  std::shared_ptr<const auth::Principal> caller;

  explicit Access(const net::Request& request) : caller(request.principal) {}

  bool sees(const std::string& team) const { return !caller || caller->roleFor(team).has_value(); }
  bool sees(const storage::ServerRecord& s) const {
    return !caller || caller->maySeeServer(s.id, s.team_id);
  }
  // kOk, 404 for objects of teams the caller cannot see, 403 for the others.
  core::Status check(auth::Permission permission, const std::string& team, const char* what,
                     const std::string& id) const {
    if (!caller || caller->may(permission, team)) return core::Ok{};
    if (!sees(team)) return notFound(what, id);
    return core::Error{
        core::Errc::kForbidden,
        fmt::format("forbidden: role {} may not {} this {}",
                    auth::roleName(caller->roleFor(team).value_or(auth::Role::kViewer)),
                    auth::permissionName(permission), what)};
  }
  bool platformAdmin() const { return !caller || caller->isPlatformAdmin() || caller->development; }
  // A changed record that moved to another team needs catalog.write there too.
  template <class Record>
  core::Result<Record> movedTo(core::Result<Record> changed, const std::string& old_team) const {
    if (changed && changed->team_id != old_team) {
      if (auto allowed =
              check(auth::Permission::kCatalogWrite, changed->team_id, "team", changed->team_id);
          !allowed)
        return allowed.error();
    }
    return changed;
  }
};

// Whether the caller holds `permission` in some scope (platform-wide or in one of its teams).
bool mayAnywhere(const auth::Principal& caller, auth::Permission permission) {
  if (caller.may(permission)) return true;
  for (const auto& [team, role] : caller.teams)
    if (caller.may(permission, team)) return true;
  return false;
}

json::object stateChanged(const char* what, const std::string& name, bool active, const char* field,
                          json::object record) {
  return json::object{
      {"status", "success"},
      {"message", fmt::format("{} '{}' {}", what, name, active ? "activated" : "deactivated")},
      {field, std::move(record)}};
}

// Everything a listing joins: read in one storage job.
struct Snapshot {
  std::map<std::string, storage::GatewayRecord> gateways; // by id
  std::vector<storage::ToolRecord> tools;
  std::vector<storage::ResourceRecord> resources;
  std::vector<storage::PromptRecord> prompts;
  std::vector<storage::ServerRecord> servers;
  std::map<std::pair<std::string, std::string>, storage::CallMetrics> metrics; // slug, tool

  const storage::GatewayRecord* gateway(const std::string& id) const {
    auto it = gateways.find(id);
    return it == gateways.end() ? nullptr : &it->second;
  }
  // The team owning an item's upstream.
  std::string teamOf(const std::string& gateway_id) const {
    const auto* g = gateway(gateway_id);
    return g ? g->team_id : std::string();
  }
  const storage::CallMetrics* metricsOf(const storage::ToolRecord& t) const {
    const auto* g = gateway(t.gateway_id);
    if (!g) return nullptr;
    auto it = metrics.find({g->slug, t.original_name});
    return it == metrics.end() ? nullptr : &it->second;
  }
};

core::Result<Snapshot> snapshot(Store& store) {
  Snapshot s;
  auto gateways = store.gateways();
  auto tools = store.tools();
  auto resources = store.resources();
  auto prompts = store.prompts();
  auto servers = store.servers();
  auto metrics = store.callMetrics();
  for (const core::Error* e :
       {gateways ? nullptr : &gateways.error(), tools ? nullptr : &tools.error(),
        resources ? nullptr : &resources.error(), prompts ? nullptr : &prompts.error(),
        servers ? nullptr : &servers.error(), metrics ? nullptr : &metrics.error()}) {
    if (e) return *e;
  }
  for (auto& g : *gateways)
    s.gateways[g.id] = std::move(g);
  s.tools = std::move(*tools);
  s.resources = std::move(*resources);
  s.prompts = std::move(*prompts);
  s.servers = std::move(*servers);
  for (auto& m : *metrics)
    s.metrics[{m.gateway, m.tool}] = std::move(m);
  return s;
}

// Listing options shared by every collection: ?include_inactive, ?tags, ?gateway_id, and
// paging (?limit: default 50, 0 for all; ?cursor; ?include_pagination for an envelope).
struct Listing {
  bool include_inactive = false;
  std::set<std::string> tags;
  std::string gateway_id;
  std::size_t limit = kDefaultPageSize;
  std::size_t offset = 0;
  bool envelope = false;

  template <class Record>
  bool wants(const Record& r) const {
    if (!include_inactive && !r.enabled) return false;
    if (tags.empty()) return true;
    for (const auto& t : r.tags)
      if (tags.count(t)) return true;
    return false;
  }
};

core::Result<std::size_t> sizeParam(const std::optional<std::string>& value, const char* name,
                                    std::size_t fallback) {
  if (!value || value->empty()) return fallback;
  std::size_t n = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || ptr != value->data() + value->size()) {
    return core::Error{core::Errc::kUnprocessable,
                       fmt::format("query parameter {}: must be a non-negative integer", name)};
  }
  return n;
}

core::Result<Listing> listing(const net::Request& request) {
  Listing l;
  auto inactive = boolParam(request.queryParam("include_inactive"), "include_inactive", false);
  if (!inactive) return inactive.error();
  l.include_inactive = *inactive;
  auto envelope = boolParam(request.queryParam("include_pagination"), "include_pagination", false);
  if (!envelope) return envelope.error();
  l.envelope = *envelope;
  auto limit = sizeParam(request.queryParam("limit"), "limit", kDefaultPageSize);
  if (!limit) return limit.error();
  l.limit = *limit;
  auto cursor = sizeParam(request.queryParam("cursor"), "cursor", 0);
  if (!cursor) return cursor.error();
  l.offset = *cursor;
  if (auto tags = request.queryParam("tags")) {
    std::string_view rest = *tags;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      if (auto tag = rest.substr(0, comma); !tag.empty()) l.tags.emplace(tag);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  l.gateway_id = request.queryParam("gateway_id").value_or("");
  return l;
}

// A page of `items`: a bare array, or {"<field>": [...], "nextCursor": ...} when asked.
json::value page(json::array items, const Listing& l, const char* field) {
  const std::size_t start = std::min(l.offset, items.size());
  const std::size_t end = l.limit == 0 ? items.size() : std::min(items.size(), start + l.limit);
  json::array slice(items.begin() + static_cast<std::ptrdiff_t>(start),
                    items.begin() + static_cast<std::ptrdiff_t>(end));
  if (!l.envelope) return slice;
  json::object out{{field, std::move(slice)}, {"total", items.size()}};
  out["nextCursor"] = end < items.size() ? json::value(std::to_string(end)) : json::value(nullptr);
  return out;
}

// ?activate=true|false, or {"activate": bool} in the body.
core::Result<bool> activation(const net::Request& request) {
  if (request.queryParam("activate"))
    return boolParam(request.queryParam("activate"), "activate", true);
  if (!request.body.empty()) {
    auto body = parseBody(request.body);
    if (!body) return body.error();
    if (const auto* v = body->if_contains("activate")) {
      if (!v->is_bool())
        return core::Error{core::Errc::kUnprocessable, "activate: must be true or false"};
      return v->get_bool();
    }
  }
  return core::Error{core::Errc::kUnprocessable,
                     "activate: required (?activate=true or ?activate=false)"};
}

// How each kind of item renders in listings, and the keys GET /<kind>/{key} accepts.
json::object toolView(const storage::ToolRecord& t, const Snapshot& s) {
  return toolJson(t, s.gateway(t.gateway_id), s.metricsOf(t));
}
json::object resourceView(const storage::ResourceRecord& r, const Snapshot& s) {
  return resourceJson(r, s.gateway(r.gateway_id));
}
json::object promptView(const storage::PromptRecord& p, const Snapshot& s) {
  return promptJson(p, s.gateway(p.gateway_id));
}
bool hasKey(const storage::ToolRecord& t, const std::string& key) {
  return t.id == key || t.name == key;
}
bool hasKey(const storage::ResourceRecord& r, const std::string& key) {
  return r.id == key || r.uri == key;
}
bool hasKey(const storage::PromptRecord& p, const std::string& key) {
  return p.id == key || p.name == key;
}

template <class Record>
using Items = std::vector<Record> Snapshot::*;
template <class Record>
using Render = json::object (*)(const Record&, const Snapshot&);

// GET /tools, /resources, /prompts: the listing options applied to one kind of item.
template <class Record>
void listItems(storage::StorageWorker& storage, const net::RequestPtr& request,
               const net::ResponseWriterPtr& writer, Items<Record> items, Render<Record> render,
               const char* field) {
  auto l = listing(*request);
  if (!l) return sendError(writer, l.error());
  storage.submit([writer, l = *l, items, render, field, access = Access(*request)](Store& store) {
    auto snap = snapshot(store);
    if (!snap) return sendError(writer, snap.error());
    json::array out;
    for (const auto& item : (*snap).*items) {
      if (!l.wants(item) || (!l.gateway_id.empty() && item.gateway_id != l.gateway_id)) continue;
      if (!access.sees(snap->teamOf(item.gateway_id))) continue;
      out.push_back(render(item, *snap));
    }
    sendJson(writer, 200, page(std::move(out), l, field));
  });
}

// GET /tools/{id} (also by exposed name), /resources/{id} (or URI), /prompts/{id} (or name).
template <class Record>
void getItem(storage::StorageWorker& storage, const net::RequestPtr& request,
             const net::ResponseWriterPtr& writer, Items<Record> items, Render<Record> render,
             const char* what) {
  storage.submit([writer, items, render, what, key = std::string(request->param("id")),
                  access = Access(*request)](Store& store) {
    auto snap = snapshot(store);
    if (!snap) return sendError(writer, snap.error());
    for (const auto& item : (*snap).*items)
      if (hasKey(item, key) && access.sees(snap->teamOf(item.gateway_id)))
        return sendJson(writer, 200, render(item, *snap));
    sendError(writer, notFound(what, key));
  });
}

// Does a server's selector list pick this item?
bool picks(const storage::ServerRecord& server, storage::MemberKind kind, const std::string& id,
           const std::string& exposed, const std::string& original) {
  for (const auto& m : server.members) {
    if (m.kind == kind && catalog::selectorMatches(m.selector, id, exposed, original)) return true;
  }
  return false;
}

} // namespace

RestApi::RestApi(catalog::Catalog& catalog, std::shared_ptr<gateway::UpstreamRegistry> registry,
                 std::chrono::steady_clock::time_point started)
    : catalog_(catalog), registry_(std::move(registry)), started_(started) {}

void RestApi::route(net::Router& router, OpenApiDocument& doc, Operation op, Handler handler) {
  // Reads need catalog.read, changes catalog.write somewhere (platform-wide or in a team); the
  // handlers then check the object's own team. Rendering a prompt reads content.
  const auth::Permission needed = op.method == Method::kGet    ? auth::Permission::kCatalogRead
                                  : op.path == "/prompts/{id}" ? auth::Permission::kContentRead
                                                               : auth::Permission::kCatalogWrite;
  router.add(op.method, op.path,
             [this, handler, needed](const net::RequestPtr& request,
                                     const net::ResponseWriterPtr& writer) {
               if (request->principal && !mayAnywhere(*request->principal, needed)) {
                 return sendError(writer, core::Error{core::Errc::kForbidden,
                                                      fmt::format("forbidden: requires {}",
                                                                  auth::permissionName(needed))});
               }
               (this->*handler)(request, writer);
             });
  doc.add(std::move(op));
}

void RestApi::addRoutes(net::Router& router, OpenApiDocument& doc) {
  const std::vector<std::string> list_queries{"include_inactive", "tags", "limit", "cursor",
                                              "include_pagination"};
  const std::vector<std::string> tool_queries{
      "include_inactive", "tags", "gateway_id", "limit", "cursor", "include_pagination"};
  const std::vector<std::string> activate{"activate"};
  auto add = [&](Method m, const char* path, const char* summary, const char* tag,
                 const char* request_schema, const char* response_schema, int success,
                 std::vector<int> errors, std::vector<std::string> queries, Handler h) {
    route(router, doc,
          Operation{m, path, summary, tag, request_schema, response_schema, success,
                    std::move(errors), std::move(queries)},
          h);
  };
  // Gateways (upstreams)
  add(Method::kGet, "/gateways", "List upstreams", "gateways", "", "[Gateway]", 200, {422},
      list_queries, &RestApi::listGateways);
  add(Method::kPost, "/gateways", "Register an upstream; it is connected and discovered at once",
      "gateways", "GatewayCreate", "Gateway", 201, {400, 409, 422}, {}, &RestApi::createGateway);
  add(Method::kGet, "/gateways/{id}", "Read an upstream", "gateways", "", "Gateway", 200, {404}, {},
      &RestApi::getGateway);
  add(Method::kPut, "/gateways/{id}", "Update an upstream (fields given); it reconnects",
      "gateways", "GatewayCreate", "Gateway", 200, {400, 404, 409, 422}, {},
      &RestApi::updateGateway);
  add(Method::kDelete, "/gateways/{id}", "Delete an upstream; it is disconnected", "gateways", "",
      "StateChange", 200, {404}, {}, &RestApi::deleteGateway);
  add(Method::kPost, "/gateways/{id}/state", "Activate or deactivate an upstream", "gateways", "",
      "StateChange", 200, {404, 422}, activate, &RestApi::setGatewayState);
  add(Method::kPost, "/gateways/{id}/tools/refresh", "List an upstream again and store its tools",
      "gateways", "", "", 200, {404, 409}, {}, &RestApi::refreshGateway);
  // Virtual servers
  add(Method::kGet, "/servers", "List virtual servers", "servers", "", "[Server]", 200, {422},
      list_queries, &RestApi::listServers);
  add(Method::kPost, "/servers", "Create a virtual server", "servers", "ServerCreate", "Server",
      201, {400, 409, 422}, {}, &RestApi::createServer);
  add(Method::kGet, "/servers/{id}", "Read a virtual server", "servers", "", "Server", 200, {404},
      {}, &RestApi::getServer);
  add(Method::kPut, "/servers/{id}", "Update a virtual server (fields given)", "servers",
      "ServerCreate", "Server", 200, {400, 404, 409, 422}, {}, &RestApi::updateServer);
  add(Method::kDelete, "/servers/{id}", "Delete a virtual server", "servers", "", "StateChange",
      200, {404}, {}, &RestApi::deleteServer);
  add(Method::kPost, "/servers/{id}/state", "Activate or deactivate a virtual server", "servers",
      "", "StateChange", 200, {404, 422}, activate, &RestApi::setServerState);
  add(Method::kGet, "/servers/{id}/tools", "The tools a virtual server exposes", "servers", "",
      "[Tool]", 200, {404}, {}, &RestApi::serverTools);
  add(Method::kGet, "/servers/{id}/resources", "The resources a virtual server exposes", "servers",
      "", "[Resource]", 200, {404}, {}, &RestApi::serverResources);
  add(Method::kGet, "/servers/{id}/prompts", "The prompts a virtual server exposes", "servers", "",
      "[Prompt]", 200, {404}, {}, &RestApi::serverPrompts);
  // What upstreams offer
  add(Method::kGet, "/tools", "List tools (limit=0 for all)", "tools", "", "[Tool]", 200, {422},
      tool_queries, &RestApi::listTools);
  add(Method::kGet, "/tools/{id}", "Read a tool", "tools", "", "Tool", 200, {404}, {},
      &RestApi::getTool);
  add(Method::kPost, "/tools/{id}/state", "Enable or disable a tool", "tools", "", "StateChange",
      200, {404, 422}, activate, &RestApi::setToolState);
  add(Method::kGet, "/resources", "List resources and resource templates", "resources", "",
      "[Resource]", 200, {422}, tool_queries, &RestApi::listResources);
  add(Method::kGet, "/resources/{id}", "Read a resource's record", "resources", "", "Resource", 200,
      {404}, {}, &RestApi::getResource);
  add(Method::kPost, "/resources/{id}/state", "Enable or disable a resource", "resources", "",
      "StateChange", 200, {404, 422}, activate, &RestApi::setResourceState);
  add(Method::kGet, "/prompts", "List prompts", "prompts", "", "[Prompt]", 200, {422}, tool_queries,
      &RestApi::listPrompts);
  add(Method::kGet, "/prompts/{id}", "Read a prompt's record", "prompts", "", "Prompt", 200, {404},
      {}, &RestApi::getPrompt);
  add(Method::kPost, "/prompts/{id}", "Render a prompt with arguments (by id or name)", "prompts",
      "", "", 200, {400, 404, 422, 502}, {}, &RestApi::renderPrompt);
  add(Method::kPost, "/prompts/{id}/state", "Enable or disable a prompt", "prompts", "",
      "StateChange", 200, {404, 422}, activate, &RestApi::setPromptState);
  // Catalog-wide
  add(Method::kGet, "/tags", "Tags in use and what carries them", "catalog", "", "[Tag]", 200, {},
      {"entity_types"}, &RestApi::listTags);
  add(Method::kGet, "/export", "Export upstreams, servers and tool settings", "catalog", "", "",
      200, {}, {}, &RestApi::exportCatalog);
  add(Method::kPost, "/import", "Import an export document", "catalog", "", "", 200, {400, 422},
      {"conflict_strategy", "dry_run"}, &RestApi::importCatalog);
  add(Method::kGet, "/version", "Version, database and uptime", "catalog", "", "", 200, {}, {},
      &RestApi::version);
}

void RestApi::authorize(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                        const std::string& what, std::function<void()> then) {
  catalog_.storage().submit([writer, what, then = std::move(then), access = Access(*request),
                             id = std::string(request->param("id"))](Store& store) {
    std::vector<std::string> teams; // of every object the key names (none: unknown)
    if (what == "gateway") {
      auto g = store.gateway(id);
      if (!g) return sendError(writer, g.error());
      if (*g) teams.push_back((*g)->team_id);
    } else if (what == "server") {
      auto s = store.server(id);
      if (!s) return sendError(writer, s.error());
      if (*s) teams.push_back((*s)->team_id);
    } else {
      auto snap = snapshot(store);
      if (!snap) return sendError(writer, snap.error());
      // The same keys the change itself matches: id, exposed name, URI.
      auto find = [&](const auto& items) {
        for (const auto& item : items)
          if (hasKey(item, id)) teams.push_back(snap->teamOf(item.gateway_id));
      };
      if (what == "tools") find(snap->tools);
      if (what == "resources") find(snap->resources);
      if (what == "prompts") find(snap->prompts);
    }
    // Unknown objects go on: the change itself answers 404.
    for (const auto& team : teams) {
      if (auto allowed = access.check(auth::Permission::kCatalogWrite, team, what.c_str(), id);
          !allowed)
        return sendError(writer, allowed.error());
    }
    then();
  });
}

// ---- gateways ---------------------------------------------------------------------------------

void RestApi::listGateways(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto l = listing(*request);
  if (!l) return sendError(writer, l.error());
  catalog_.storage().submit([writer, l = *l, access = Access(*request)](Store& store) {
    auto gateways = store.gateways();
    if (!gateways) return sendError(writer, gateways.error());
    json::array items;
    for (const auto& g : *gateways)
      if (l.wants(g) && access.sees(g.team_id)) items.push_back(gatewayJson(g));
    sendJson(writer, 200, page(std::move(items), l, "gateways"));
  });
}

void RestApi::createGateway(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto body = parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  auto record = gatewayFromBody(*body, nullptr);
  if (!record) return sendError(writer, record.error());
  if (auto allowed = Access(*request).check(auth::Permission::kCatalogWrite, record->team_id,
                                            "team", record->team_id);
      !allowed)
    return sendError(writer, allowed.error());
  record->source = "api";
  catalog_.createGateway(std::move(*record),
                         [writer](const core::Result<storage::GatewayRecord>& saved) {
                           if (!saved)
                             return sendError(writer, nameTaken(saved.error(), "gateway"));
                           sendJson(writer, 201, gatewayJson(*saved));
                         });
}

void RestApi::getGateway(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  catalog_.storage().submit(
      [writer, id = std::string(request->param("id")), access = Access(*request)](Store& store) {
        auto g = store.gateway(id);
        if (!g) return sendError(writer, g.error());
        if (!*g || !access.sees((*g)->team_id)) return sendError(writer, notFound("gateway", id));
        sendJson(writer, 200, gatewayJson(**g));
      });
}

void RestApi::updateGateway(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto body = parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  catalog_.updateGateway(
      std::string(request->param("id")),
      [body = std::move(*body), access = Access(*request)](
          const storage::GatewayRecord& current) -> core::Result<storage::GatewayRecord> {
        if (auto allowed = access.check(auth::Permission::kCatalogWrite, current.team_id, "gateway",
                                        current.id);
            !allowed)
          return allowed.error();
        // forge.yaml decides how to reach the upstreams it declares: a change here would be
        // undone by the next start.
        if (current.source == "config") {
          for (const char* field : {"name", "url", "command", "args", "env", "cwd", "headers",
                                    "transport", "session_mode", "sessionMode", "auth_type",
                                    "authType", "oauth_config", "oauthConfig"}) {
            if (body.contains(field)) {
              return core::Error{core::Errc::kConflict,
                                 fmt::format("{}: gateway '{}' is declared in forge.yaml; change "
                                             "it there (only description, tags and enabled can "
                                             "be changed here)",
                                             field, current.name)};
            }
          }
        }
        return access.movedTo(gatewayFromBody(body, &current), current.team_id);
      },
      [writer](const core::Result<storage::GatewayRecord>& saved) {
        if (!saved) return sendError(writer, nameTaken(saved.error(), "gateway"));
        sendJson(writer, 200, gatewayJson(*saved));
      });
}

void RestApi::deleteGateway(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const std::string id(request->param("id"));
  authorize(request, writer, "gateway", [this, writer, id] {
    catalog_.deleteGateway(id, [writer, id](const core::Result<bool>& deleted) {
      if (!deleted) return sendError(writer, deleted.error());
      if (!*deleted) return sendError(writer, notFound("gateway", id));
      sendJson(
          writer, 200,
          json::object{{"status", "success"}, {"message", fmt::format("Gateway {} deleted", id)}});
    });
  });
}

void RestApi::setGatewayState(const net::RequestPtr& request,
                              const net::ResponseWriterPtr& writer) {
  auto active = activation(*request);
  if (!active) return sendError(writer, active.error());
  catalog_.updateGateway(
      std::string(request->param("id")),
      [active = *active, access = Access(*request)](
          const storage::GatewayRecord& current) -> core::Result<storage::GatewayRecord> {
        if (auto allowed = access.check(auth::Permission::kCatalogWrite, current.team_id, "gateway",
                                        current.id);
            !allowed)
          return allowed.error();
        auto changed = current;
        changed.enabled = active;
        if (!active) {
          changed.reachable = false;
          changed.health = "disabled";
        }
        return changed;
      },
      [writer, active = *active](const core::Result<storage::GatewayRecord>& g) {
        if (!g) return sendError(writer, g.error());
        sendJson(writer, 200, stateChanged("Gateway", g->name, active, "gateway", gatewayJson(*g)));
      });
}

void RestApi::refreshGateway(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const std::string id(request->param("id"));
  authorize(request, writer, "gateway", [this, writer, id] {
    catalog_.refreshGateway(id, [writer, id](const core::Result<storage::Discovery>& found) {
      if (!found) return sendError(writer, found.error());
      json::array tools;
      for (const auto& t : found->tools)
        tools.push_back(toolJson(t, nullptr, nullptr));
      sendJson(writer, 200,
               json::object{{"gatewayId", id},
                            {"toolCount", found->tools.size()},
                            {"resourceCount", found->resources.size()},
                            {"promptCount", found->prompts.size()},
                            {"tools", std::move(tools)},
                            {"refreshedAt", storage::nowUtc()}});
    });
  });
}

// ---- servers ----------------------------------------------------------------------------------

void RestApi::listServers(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto l = listing(*request);
  if (!l) return sendError(writer, l.error());
  catalog_.storage().submit([writer, l = *l, access = Access(*request)](Store& store) {
    auto servers = store.servers();
    if (!servers) return sendError(writer, servers.error());
    json::array items;
    for (const auto& s : *servers)
      if (l.wants(s) && access.sees(s)) items.push_back(serverJson(s));
    sendJson(writer, 200, page(std::move(items), l, "servers"));
  });
}

namespace {
void answerServer(const net::ResponseWriterPtr& writer, int status,
                  const core::Result<storage::ServerRecord>& saved) {
  if (!saved) return sendError(writer, nameTaken(saved.error(), "server"));
  sendJson(writer, status, serverJson(*saved));
}
} // namespace

void RestApi::createServer(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto body = parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  auto record = serverFromBody(*body, nullptr);
  if (!record) return sendError(writer, record.error());
  if (auto allowed = Access(*request).check(auth::Permission::kCatalogWrite, record->team_id,
                                            "team", record->team_id);
      !allowed)
    return sendError(writer, allowed.error());
  catalog_.createServer(std::move(*record),
                        [writer](const core::Result<storage::ServerRecord>& saved) {
                          answerServer(writer, 201, saved);
                        });
}

void RestApi::getServer(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  catalog_.storage().submit(
      [writer, id = std::string(request->param("id")), access = Access(*request)](Store& store) {
        auto s = store.server(id);
        if (!s) return sendError(writer, s.error());
        if (!*s || !access.sees(**s)) return sendError(writer, notFound("server", id));
        sendJson(writer, 200, serverJson(**s));
      });
}

void RestApi::updateServer(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto body = parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  catalog_.updateServer(
      std::string(request->param("id")),
      [body = std::move(*body), access = Access(*request)](
          const storage::ServerRecord& current) -> core::Result<storage::ServerRecord> {
        if (auto allowed = access.check(auth::Permission::kCatalogWrite, current.team_id, "server",
                                        current.id);
            !allowed)
          return allowed.error();
        return access.movedTo(serverFromBody(body, &current), current.team_id);
      },
      [writer](const core::Result<storage::ServerRecord>& saved) {
        answerServer(writer, 200, saved);
      });
}

void RestApi::deleteServer(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const std::string id(request->param("id"));
  authorize(request, writer, "server", [this, writer, id] {
    catalog_.deleteServer(id, [writer, id](const core::Result<bool>& deleted) {
      if (!deleted) return sendError(writer, deleted.error());
      if (!*deleted) return sendError(writer, notFound("server", id));
      sendJson(
          writer, 200,
          json::object{{"status", "success"}, {"message", fmt::format("Server {} deleted", id)}});
    });
  });
}

void RestApi::setServerState(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  auto active = activation(*request);
  if (!active) return sendError(writer, active.error());
  catalog_.updateServer(
      std::string(request->param("id")),
      [active = *active, access = Access(*request)](
          const storage::ServerRecord& current) -> core::Result<storage::ServerRecord> {
        if (auto allowed = access.check(auth::Permission::kCatalogWrite, current.team_id, "server",
                                        current.id);
            !allowed)
          return allowed.error();
        auto changed = current;
        changed.enabled = active;
        return changed;
      },
      [writer, active = *active](const core::Result<storage::ServerRecord>& s) {
        if (!s) return sendError(writer, s.error());
        sendJson(writer, 200, stateChanged("Server", s->name, active, "server", serverJson(*s)));
      });
}

void RestApi::serverMembers(storage::MemberKind kind, const net::RequestPtr& request,
                            const net::ResponseWriterPtr& writer) {
  const std::string separator = catalog_.separator();
  catalog_.storage().submit([writer, kind, separator, id = std::string(request->param("id")),
                             access = Access(*request)](Store& store) {
    auto snap = snapshot(store);
    if (!snap) return sendError(writer, snap.error());
    const storage::ServerRecord* server = nullptr;
    for (const auto& s : snap->servers)
      if (s.id == id) server = &s;
    if (!server || !access.sees(*server)) return sendError(writer, notFound("server", id));
    json::array items;
    if (kind == storage::MemberKind::kTool) {
      for (const auto& t : snap->tools) {
        if (!t.enabled || !picks(*server, kind, t.id, t.name, t.original_name)) continue;
        if (!access.sees(snap->teamOf(t.gateway_id))) continue;
        if (server->max_tools > 0 && items.size() >= static_cast<std::size_t>(server->max_tools))
          break;
        items.push_back(toolJson(t, snap->gateway(t.gateway_id), snap->metricsOf(t)));
      }
    } else if (kind == storage::MemberKind::kResource) {
      for (const auto& r : snap->resources)
        if (r.enabled && picks(*server, kind, r.id, r.uri, r.name) &&
            access.sees(snap->teamOf(r.gateway_id)))
          items.push_back(resourceJson(r, snap->gateway(r.gateway_id)));
    } else {
      for (const auto& p : snap->prompts)
        if (p.enabled && picks(*server, kind, p.id, p.name, p.original_name) &&
            access.sees(snap->teamOf(p.gateway_id)))
          items.push_back(promptJson(p, snap->gateway(p.gateway_id)));
    }
    sendJson(writer, 200, items);
  });
}

void RestApi::serverTools(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  serverMembers(storage::MemberKind::kTool, request, writer);
}
void RestApi::serverResources(const net::RequestPtr& request,
                              const net::ResponseWriterPtr& writer) {
  serverMembers(storage::MemberKind::kResource, request, writer);
}
void RestApi::serverPrompts(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  serverMembers(storage::MemberKind::kPrompt, request, writer);
}

// ---- tools, resources, prompts ----------------------------------------------------------------

void RestApi::listTools(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  listItems(catalog_.storage(), request, writer, &Snapshot::tools, toolView, "tools");
}

void RestApi::getTool(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  getItem(catalog_.storage(), request, writer, &Snapshot::tools, toolView, "tool");
}

void RestApi::setItemState(const char* table, const char* singular, const net::RequestPtr& request,
                           const net::ResponseWriterPtr& writer) {
  auto active = activation(*request);
  if (!active) return sendError(writer, active.error());
  const std::string id(request->param("id"));
  authorize(request, writer, table, [this, writer, table, singular, id, active = *active] {
    catalog_.setItemEnabled(
        table, id, active, [writer, id, singular, active](const core::Result<bool>& changed) {
          if (!changed) return sendError(writer, changed.error());
          if (!*changed) return sendError(writer, notFound(singular, id));
          sendJson(writer, 200,
                   json::object{{"status", "success"},
                                {"message", fmt::format("{} {} {}", singular, id,
                                                        active ? "activated" : "deactivated")},
                                {"id", id},
                                {"enabled", active}});
        });
  });
}

void RestApi::setToolState(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  setItemState("tools", "tool", request, writer);
}
void RestApi::setResourceState(const net::RequestPtr& request,
                               const net::ResponseWriterPtr& writer) {
  setItemState("resources", "resource", request, writer);
}
void RestApi::setPromptState(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  setItemState("prompts", "prompt", request, writer);
}

void RestApi::listResources(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  listItems(catalog_.storage(), request, writer, &Snapshot::resources, resourceView, "resources");
}

void RestApi::getResource(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  getItem(catalog_.storage(), request, writer, &Snapshot::resources, resourceView, "resource");
}

void RestApi::listPrompts(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  listItems(catalog_.storage(), request, writer, &Snapshot::prompts, promptView, "prompts");
}

void RestApi::getPrompt(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  getItem(catalog_.storage(), request, writer, &Snapshot::prompts, promptView, "prompt");
}

void RestApi::renderPrompt(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  json::object arguments;
  if (!request->body.empty()) {
    auto body = parseBody(request->body);
    if (!body) return sendError(writer, body.error());
    // {"arguments": {...}} or the arguments themselves.
    if (const auto* wrapped = body->if_contains("arguments"); wrapped && wrapped->is_object())
      arguments = wrapped->get_object();
    else
      arguments = std::move(*body);
    for (const auto& [key, value] : arguments) {
      if (!value.is_string()) {
        return sendError(
            writer, core::Error{core::Errc::kUnprocessable,
                                fmt::format("arguments.{}: must be a string", std::string(key))});
      }
    }
  }
  catalog_.storage().submit([this, writer, arguments = std::move(arguments),
                             id = std::string(request->param("id")),
                             access = Access(*request)](Store& store) {
    auto snap = snapshot(store);
    if (!snap) return sendError(writer, snap.error());
    const storage::PromptRecord* prompt = nullptr;
    for (const auto& p : snap->prompts)
      if (p.id == id || p.name == id) prompt = &p;
    if (!prompt || !prompt->enabled) return sendError(writer, notFound("prompt", id));
    if (auto allowed = access.check(auth::Permission::kContentRead,
                                    snap->teamOf(prompt->gateway_id), "prompt", id);
        !allowed)
      return sendError(writer, allowed.error());
    const auto* gateway = snap->gateway(prompt->gateway_id);
    auto up = gateway ? registry_->find(gateway->slug) : nullptr;
    if (!up) {
      return sendError(writer, core::Error{core::Errc::kBadGateway,
                                           fmt::format("the upstream of prompt {} is not connected",
                                                       prompt->name)});
    }
    up->call("prompts/get", json::object{{"name", prompt->original_name}, {"arguments", arguments}},
             [writer](const mcp::Message& answer) {
               if (answer.kind == mcp::Kind::kResult) return sendJson(writer, 200, answer.result);
               const auto error = mcp::toError(answer);
               const auto* code = answer.error.if_contains("code");
               const bool bad_arguments =
                   code && code->is_int64() && code->get_int64() == mcp::kInvalidParams;
               sendError(writer, core::Error{bad_arguments ? core::Errc::kUnprocessable
                                                           : core::Errc::kBadGateway,
                                             error.message});
             });
  });
}

// ---- catalog-wide -----------------------------------------------------------------------------

void RestApi::listTags(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  std::set<std::string> types;
  if (auto wanted = request->queryParam("entity_types")) {
    std::string_view rest = *wanted;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      types.emplace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  catalog_.storage().submit([writer, types, access = Access(*request)](Store& store) {
    auto snap = snapshot(store);
    if (!snap) return sendError(writer, snap.error());
    struct Tag {
      std::map<std::string, int> stats;
      json::array entities;
    };
    std::map<std::string, Tag> tags;
    auto note = [&](const char* type, const std::vector<std::string>& record_tags,
                    const std::string& id, const std::string& name) {
      if (!types.empty() && !types.count(type)) return;
      for (const auto& tag : record_tags) {
        auto& t = tags[tag];
        ++t.stats[type];
        t.entities.push_back(json::object{{"id", id}, {"name", name}, {"type", type}});
      }
    };
    for (const auto& [id, g] : snap->gateways)
      if (access.sees(g.team_id)) note("gateways", g.tags, g.id, g.name);
    for (const auto& s : snap->servers)
      if (access.sees(s)) note("servers", s.tags, s.id, s.name);
    for (const auto& t : snap->tools)
      if (access.sees(snap->teamOf(t.gateway_id))) note("tools", t.tags, t.id, t.name);
    for (const auto& r : snap->resources)
      if (access.sees(snap->teamOf(r.gateway_id))) note("resources", r.tags, r.id, r.uri);
    for (const auto& p : snap->prompts)
      if (access.sees(snap->teamOf(p.gateway_id))) note("prompts", p.tags, p.id, p.name);
    json::array out;
    for (auto& [name, tag] : tags) {
      json::object stats;
      int total = 0;
      for (const char* type : {"tools", "resources", "prompts", "servers", "gateways"}) {
        stats[type] = tag.stats[type];
        total += tag.stats[type];
      }
      stats["total"] = total;
      out.push_back(json::object{
          {"name", name}, {"stats", std::move(stats)}, {"entities", std::move(tag.entities)}});
    }
    sendJson(writer, 200, out);
  });
}

void RestApi::exportCatalog(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  // The whole catalog and the audit trail: platform admins only.
  if (!Access(*request).platformAdmin()) {
    return sendError(
        writer, core::Error{core::Errc::kForbidden, "forbidden: export is for platform admins"});
  }
  catalog_.storage().submit([writer](Store& store) {
    auto snap = snapshot(store);
    if (!snap) return sendError(writer, snap.error());
    std::vector<storage::GatewayRecord> gateways;
    for (const auto& [id, g] : snap->gateways)
      gateways.push_back(g);
    auto doc = exportJson(gateways, snap->servers, snap->tools);
    storage::AuditQuery everything;
    everything.limit = kExportedAuditRecords;
    auto audit = store.identity().audit(everything);
    if (!audit) return sendError(writer, audit.error());
    json::array records;
    for (const auto& r : *audit)
      records.push_back(auditJson(r));
    doc["audit_log"] = std::move(records);
    sendJson(writer, 200, doc);
  });
}

void RestApi::importCatalog(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (!Access(*request).platformAdmin()) {
    return sendError(
        writer, core::Error{core::Errc::kForbidden, "forbidden: import is for platform admins"});
  }
  auto body = parseBody(request->body);
  if (!body) return sendError(writer, body.error());
  // {"import_data": <export>, "conflict_strategy": ..., "dry_run": ...} or the export itself.
  const json::object* doc = &*body;
  if (const auto* wrapped = body->if_contains("import_data")) {
    if (!wrapped->is_object())
      return sendError(writer,
                       core::Error{core::Errc::kUnprocessable, "import_data: must be an object"});
    doc = &wrapped->get_object();
  }
  catalog::ImportPlan plan;
  std::string strategy = request->queryParam("conflict_strategy").value_or("");
  if (const auto* s = body->if_contains("conflict_strategy"); s && s->is_string())
    strategy = std::string(s->get_string());
  plan.conflict_strategy = strategy.empty() ? "update" : strategy;
  if (plan.conflict_strategy != "update" && plan.conflict_strategy != "skip" &&
      plan.conflict_strategy != "fail") {
    return sendError(writer, core::Error{core::Errc::kUnprocessable,
                                         "conflict_strategy: must be update, skip or fail"});
  }
  auto dry = boolParam(request->queryParam("dry_run"), "dry_run", false);
  if (!dry) return sendError(writer, dry.error());
  plan.dry_run = *dry;
  if (const auto* d = body->if_contains("dry_run"); d && d->is_bool()) plan.dry_run = d->get_bool();

  auto section = [&](const char* name) -> core::Result<const json::array*> {
    const auto* v = doc->if_contains(name);
    if (!v || v->is_null()) return static_cast<const json::array*>(nullptr);
    if (!v->is_array())
      return core::Error{core::Errc::kUnprocessable, fmt::format("{}: must be a list", name)};
    return &v->get_array();
  };
  auto gateways = section("gateways");
  auto servers = section("servers");
  auto tools = section("tools");
  for (const auto* s : {&gateways, &servers, &tools})
    if (!*s) return sendError(writer, s->error());
  std::size_t index = 0;
  for (const auto& item : *gateways ? **gateways : json::array{}) {
    auto record =
        item.is_object()
            ? gatewayFromBody(item.get_object(), nullptr)
            : core::Result<storage::GatewayRecord>(core::Errc::kUnprocessable, "must be an object");
    if (!record) {
      return sendError(writer,
                       core::Error{core::Errc::kUnprocessable,
                                   fmt::format("gateways[{}].{}", index, record.error().message)});
    }
    if (record->oauth_client_secret == kMaskedValue) {
      return sendError(writer, core::Error{core::Errc::kUnprocessable,
                                           fmt::format("gateways[{}]: the OAuth client secret is "
                                                       "hidden in exports; fill it in before "
                                                       "importing",
                                                       index)});
    }
    for (const auto* values : {&record->headers, &record->env}) {
      for (const auto& [name, value] : *values) {
        if (value == kMaskedValue) {
          return sendError(writer, core::Error{core::Errc::kUnprocessable,
                                               fmt::format("gateways[{}]: the value of {} is "
                                                           "hidden in exports; fill it in before "
                                                           "importing",
                                                           index, name)});
        }
      }
    }
    record->source = "api";
    plan.gateways.push_back(std::move(*record));
    ++index;
  }
  index = 0;
  for (const auto& item : *servers ? **servers : json::array{}) {
    auto record = item.is_object() ? serverFromBody(item.get_object(), nullptr)
                                   : core::Result<storage::ServerRecord>(core::Errc::kUnprocessable,
                                                                         "must be an object");
    if (!record) {
      return sendError(writer,
                       core::Error{core::Errc::kUnprocessable,
                                   fmt::format("servers[{}].{}", index, record.error().message)});
    }
    plan.servers.push_back(std::move(*record));
    ++index;
  }
  for (const auto& item : *tools ? **tools : json::array{}) {
    if (!item.is_object()) continue;
    const auto& t = item.get_object();
    catalog::ImportPlan::ToolSetting setting;
    if (const auto* v = t.if_contains("gateway"); v && v->is_string())
      setting.gateway = v->get_string();
    if (const auto* v = t.if_contains("original_name"); v && v->is_string())
      setting.original_name = v->get_string();
    if (const auto* v = t.if_contains("enabled"); v && v->is_bool())
      setting.enabled = v->get_bool();
    if (const auto* v = t.if_contains("tags"); v && v->is_array())
      for (const auto& tag : v->get_array())
        if (tag.is_string()) setting.tags.emplace_back(tag.get_string());
    plan.tools.push_back(std::move(setting));
  }
  catalog_.importCatalog(std::move(plan),
                         [writer](const core::Result<catalog::ImportReport>& report) {
                           if (!report) return sendError(writer, report.error());
                           json::array errors;
                           for (const auto& e : report->errors)
                             errors.emplace_back(e);
                           sendJson(writer, 200,
                                    json::object{{"status", report->failed ? "partial" : "success"},
                                                 {"created", report->created},
                                                 {"updated", report->updated},
                                                 {"skipped", report->skipped},
                                                 {"failed", report->failed},
                                                 {"pending", report->pending},
                                                 {"errors", std::move(errors)}});
                         });
}

void RestApi::version(const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  const std::string backend = catalog_.storage().backend();
  const std::string where = catalog_.storage().description();
  // The release this process was started from, when the service manager started it from one
  // (docs/ops/deployment.md).
  const char* env_release = std::getenv("FORGE_RELEASE");
  std::string release = env_release ? env_release : "";
  catalog_.storage().submit([writer, uptime, backend, where, release](Store& store) {
    auto schema = storage::schemaVersion(store.database());
    sendJson(writer, 200,
             json::object{{"app", json::object{{"name", "forge"},
                                               {"version", core::kVersion},
                                               {"commit", core::kGitCommit},
                                               {"release", release}}},
                          {"database", json::object{{"backend", backend},
                                                    {"location", where},
                                                    {"schemaVersion", schema ? *schema : -1},
                                                    {"reachable", schema.ok()}}},
                          {"uptime_seconds", uptime.count()}});
  });
}

} // namespace forge::api
