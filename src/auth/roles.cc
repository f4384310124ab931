#include "auth/roles.h"

#include <algorithm>

namespace forge::auth {

std::optional<Role> parseRole(std::string_view name) {
  if (name == "platform_admin") return Role::kPlatformAdmin;
  if (name == "team_admin") return Role::kTeamAdmin;
  if (name == "developer") return Role::kDeveloper;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

const char* roleName(Role role) {
  switch (role) {
  case Role::kPlatformAdmin:
    return "platform_admin";
  case Role::kTeamAdmin:
    return "team_admin";
  case Role::kDeveloper:
    return "developer";
  case Role::kViewer:
    return "viewer";
  }
  return "viewer";
}

const char* permissionName(Permission permission) {
  switch (permission) {
  case Permission::kCatalogRead:
    return "catalog.read";
  case Permission::kCatalogWrite:
    return "catalog.write";
  case Permission::kToolsExecute:
    return "tools.execute";
  case Permission::kContentRead:
    return "content.read";
  case Permission::kTokensOwn:
    return "tokens.own";
  case Permission::kTokensAll:
    return "tokens.all";
  case Permission::kUsersManage:
    return "users.manage";
  case Permission::kAuditRead:
    return "audit.read";
  }
  return "";
}

bool allows(Role role, Permission permission) {
  switch (permission) {
  case Permission::kCatalogRead:
  case Permission::kContentRead:
    return true; // every role
  case Permission::kToolsExecute:
  case Permission::kTokensOwn:
    return role != Role::kViewer;
  case Permission::kCatalogWrite:
    return role == Role::kTeamAdmin || role == Role::kPlatformAdmin;
  case Permission::kTokensAll:
  case Permission::kUsersManage:
  case Permission::kAuditRead:
    return role == Role::kPlatformAdmin;
  }
  return false;
}

std::optional<Role> Principal::roleFor(const std::string& team_id) const {
  if (development) return Role::kPlatformAdmin;
  const auto capped = [this](Role r) { return role_cap ? std::min(r, *role_cap) : r; };
  if (isPlatformAdmin()) return capped(Role::kPlatformAdmin);
  if (team_id.empty()) {
    // Shared objects: the platform-wide role, but team administration stops at the team.
    return capped(role == Role::kTeamAdmin ? Role::kDeveloper : role);
  }
  auto it = teams.find(team_id);
  if (it == teams.end()) return std::nullopt; // another team's objects are invisible
  return capped(std::max(it->second, role == Role::kTeamAdmin ? Role::kDeveloper : role));
}

bool Principal::may(Permission permission, const std::string& team_id) const {
  const auto effective = roleFor(team_id);
  return effective && allows(*effective, permission);
}

bool Principal::maySeeServer(const std::string& server_id, const std::string& team_id) const {
  if (!roleFor(team_id)) return false;
  if (!servers) return true;
  return std::find(servers->begin(), servers->end(), server_id) != servers->end();
}

std::string Principal::actor() const {
  if (development) return "development";
  if (!email.empty()) return email;
  return "token:" + token_id;
}

std::string Principal::key() const {
  if (development) return "development";
  if (!user_id.empty()) return user_id;
  return "token:" + token_id;
}

} // namespace forge::auth
