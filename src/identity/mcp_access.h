// McpAccess: roles, teams and per-tool rate limits applied to MCP traffic (the
// gateway::AccessPolicy of every MCP endpoint). A caller sees in tools/list only the tools it may
// call; a viewer may call none; an upstream owned by a team is invisible to callers outside it.
// Every refusal is recorded in the audit log.
#pragma once

#include "auth/rate_limiter.h"
#include "gateway/gateway_app.h"
#include "identity/audit_log.h"

#include <functional>
#include <optional>
#include <string>

namespace forge::identity {

class McpAccess final : public gateway::AccessPolicy {
public:
  // `team_of(upstream)`: the team owning an upstream ("" for shared ones, nullopt when unknown:
  // then nobody may use it).
  using TeamOf = std::function<std::optional<std::string>(const std::string& upstream)>;
  McpAccess(TeamOf team_of, auth::RateLimit per_tool, std::size_t max_keys, AuditLog& audit);

  bool visible(const auth::Principal* caller, gateway::ListKind kind,
               const std::string& upstream) const override;
  core::Status mayUse(const auth::Principal* caller, gateway::ListKind kind,
                      const std::string& upstream, const std::string& key,
                      const std::string& method) const override;

private:
  void deny(const auth::Principal& caller, const std::string& method, const std::string& upstream,
            const std::string& key, int status, const std::string& why) const;

  TeamOf team_of_;
  const auth::RateLimit per_tool_;
  mutable auth::RateLimiter limiter_;
  AuditLog& audit_;
};

} // namespace forge::identity
