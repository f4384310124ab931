// GatewayApp: the MCP server that clients see. It aggregates the tools, resources, resource
// templates and prompts of a set of upstreams behind one session, under stable names
// ("<upstream><separator><name>", at most 64 characters, collision-free), pages lists toward
// the client, and forwards each call to the upstream that owns the name or URI.
#pragma once

#include "gateway/registry.h"
#include "mcp/session.h"

#include <memory>
#include <string>
#include <vector>

namespace forge::gateway {

// Decides which upstream items an endpoint shows and allows: the catalog's enabled flags, a
// virtual server's members. Consulted on every list and call, from any I/O thread.
class ItemFilter {
public:
  virtual ~ItemFilter() = default;
  // `key`: the item's original name (tools, prompts), URI (resources) or URI template.
  virtual bool allows(ListKind kind, const std::string& upstream, const std::string& key) const = 0;
};

// Decides what the caller of one request may do with upstream items: roles and teams, and rate
// limits per caller and tool. Consulted on every list and call, from any I/O thread. `caller`
// is null where no authentication applies (stdio clients).
class AccessPolicy {
public:
  virtual ~AccessPolicy() = default;
  // Whether lists show the caller items of this kind from this upstream (tools: only those the
  // caller may call).
  virtual bool visible(const auth::Principal* caller, ListKind kind,
                       const std::string& upstream) const = 0;
  // Whether the caller may use an item now (tools/call, prompts/get, resources/read...), or the
  // error to answer with (kForbidden, kRateLimited). `method` is the MCP method, for the audit.
  virtual core::Status mayUse(const auth::Principal* caller, ListKind kind,
                              const std::string& upstream, const std::string& key,
                              const std::string& method) const = 0;
};

struct GatewayAppOptions {
  std::string server_name = "forge";
  std::string separator = "__";
  std::size_t page_size = 0;          // items per page toward clients; 0: everything at once
  std::vector<std::string> upstreams; // which upstreams this endpoint serves; empty: all
  bool prefix_names = true;           // false: keep upstream names (single-upstream endpoints)
  std::string instructions;
  std::shared_ptr<const ItemFilter> filter;   // none: every item of every upstream
  std::shared_ptr<const AccessPolicy> access; // none: every caller may do everything
};

std::shared_ptr<mcp::Application> makeGatewayApp(std::shared_ptr<UpstreamRegistry> registry,
                                                 GatewayAppOptions options);

// The exposed name of an upstream item: prefix + separator + name, shortened to 64 characters
// with a hash suffix when longer, so that distinct inputs never share a name.
std::string exposedName(const std::string& upstream, const std::string& name,
                        const std::string& separator, bool prefix);

} // namespace forge::gateway
