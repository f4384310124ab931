#include "identity/mcp_access.h"

#include <fmt/format.h>

namespace forge::identity {
namespace {

auth::Permission permissionFor(gateway::ListKind kind) {
  return kind == gateway::ListKind::kTools ? auth::Permission::kToolsExecute
                                           : auth::Permission::kContentRead;
}

} // namespace

McpAccess::McpAccess(TeamOf team_of, auth::RateLimit per_tool, std::size_t max_keys,
                     AuditLog& audit)
    : team_of_(std::move(team_of)), per_tool_(per_tool), limiter_(max_keys), audit_(audit) {}

bool McpAccess::visible(const auth::Principal* caller, gateway::ListKind kind,
                        const std::string& upstream) const {
  if (!caller) return true;
  const auto team = team_of_(upstream);
  return team && caller->may(permissionFor(kind), *team);
}

core::Status McpAccess::mayUse(const auth::Principal* caller, gateway::ListKind kind,
                               const std::string& upstream, const std::string& key,
                               const std::string& method) const {
  if (!caller) return core::Ok{};
  const auto permission = permissionFor(kind);
  const auto team = team_of_(upstream);
  if (!team || !caller->may(permission, *team)) {
    const auto role = team ? caller->roleFor(*team) : std::nullopt;
    const std::string why =
        role ? fmt::format("forbidden: role {} does not allow {}", auth::roleName(*role),
                           auth::permissionName(permission))
             : std::string("forbidden: this upstream belongs to another team");
    deny(*caller, method, upstream, key, 403, why);
    return core::Error{core::Errc::kForbidden, why};
  }
  if (kind == gateway::ListKind::kTools && !caller->development) {
    const auto decision =
        limiter_.take(auth::rateLimitKey(caller->key(), upstream + "/" + key), per_tool_);
    if (!decision.allowed) {
      const std::string why =
          fmt::format("rate limit for tool {} exceeded ({} calls/s); retry after {} ms", key,
                      per_tool_.per_second, decision.retry_after.count());
      deny(*caller, method, upstream, key, 429, why);
      return core::Error{core::Errc::kRateLimited, why};
    }
  }
  return core::Ok{};
}

void McpAccess::deny(const auth::Principal& caller, const std::string& method,
                     const std::string& upstream, const std::string& key, int status,
                     const std::string& why) const {
  storage::AuditRecord r;
  r.actor = caller.actor();
  r.action = method;
  r.target_type = "upstream";
  r.target_id = upstream + "/" + key;
  r.result = "denied";
  r.status = status;
  r.detail = why;
  audit_.record(std::move(r));
}

} // namespace forge::identity
