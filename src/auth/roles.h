// Roles and what they allow. A principal has one platform-wide role and a role in each team it
// belongs to; a team's role applies to the team's own gateways and virtual servers.
//   platform_admin  everything
//   team_admin      manage their team's gateways, servers and members; what a developer may
//   developer       read the catalog, call tools, read resources and prompts, own API tokens
//   viewer          read the catalog and resources/prompts; never call a tool
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forge::auth {

enum class Role { kViewer, kDeveloper, kTeamAdmin, kPlatformAdmin };

std::optional<Role> parseRole(std::string_view name);
const char* roleName(Role role);

enum class Permission {
  kCatalogRead,  // list gateways, servers, tools, resources, prompts, tags
  kCatalogWrite, // register, change, delete gateways and servers; enable or disable items
  kToolsExecute, // tools/call
  kContentRead,  // resources/read, prompts/get, completion
  kTokensOwn,    // create, list and revoke one's own API tokens
  kTokensAll,    // every user's tokens
  kUsersManage,  // users, roles, teams
  kAuditRead,    // the audit trail, exports
};

const char* permissionName(Permission permission);

// Whether `role` carries `permission` (platform-wide; team roles use the same table).
bool allows(Role role, Permission permission);

// Who is calling, once authenticated.
struct Principal {
  std::string user_id;
  std::string email;
  Role role = Role::kViewer;
  std::map<std::string, Role> teams; // team id -> role in that team
  // API tokens may be limited to some virtual servers; absent: every server the user may see.
  std::optional<std::vector<std::string>> servers;
  // A token that asked for less (a JWT's "role" claim): no role, platform-wide or in a team, goes
  // above it.
  std::optional<Role> role_cap;
  std::string token_id; // API token id, or the JWT's jti
  bool api_token = false;
  bool development = false; // development mode: an implicit local platform admin

  bool isPlatformAdmin() const {
    return role == Role::kPlatformAdmin && (!role_cap || *role_cap == Role::kPlatformAdmin);
  }
  // The role that applies to an object owned by `team_id` ('' = owned by no team): the stronger
  // of the platform-wide role and the team role, or nothing if the team's objects are hidden
  // from this principal.
  std::optional<Role> roleFor(const std::string& team_id) const;
  // May act with `permission` on an object of `team_id`.
  bool may(Permission permission, const std::string& team_id = "") const;
  // May reach virtual server `server_id` of team `team_id` at all (visibility and token scope).
  bool maySeeServer(const std::string& server_id, const std::string& team_id) const;
  // "ada@example.com", or "token:<id>" for tokens without a user, for logs and the audit trail.
  std::string actor() const;
  // A stable key for this caller: the user id, else "token:<id>"; for rate limits and for
  // binding MCP sessions to whoever opened them.
  std::string key() const;
};

} // namespace forge::auth
