// AccessGuard: the door every HTTP request passes before routing. It
//   - lets public routes through (health, readiness, the OpenAPI document, OAuth metadata,
//     login);
//   - authenticates the bearer token (Authorization header only: tokens in URLs end up in logs)
//     and answers 401 with a WWW-Authenticate header pointing at the protected-resource
//     metadata (RFC 9728), as the MCP authorization spec asks;
//   - keeps API tokens limited to virtual servers on those servers' endpoints;
//   - applies the per-caller rate limit (429 with Retry-After);
//   - records in the audit log every change made through the API and every refused request.
// In development mode (auth.required: false, loopback only) every request acts as a local
// platform admin; changes are still audited.
#pragma once

#include "api/openapi.h"
#include "auth/rate_limiter.h"
#include "identity/audit_log.h"
#include "identity/authenticator.h"
#include "identity/security_options.h"
#include "net/router.h"

#include <memory>
#include <string>

namespace forge::identity {

// True for the paths of MCP endpoints (/mcp, /sse, /message, /rpc, /upstreams/<name>/mcp,
// /servers/<id>/mcp|sse|message, and the manager's /services/<name>/mcp), whose requests are
// protocol traffic rather than changes.
bool isMcpPath(std::string_view path);

// The audit record of a request and its outcome.
storage::AuditRecord auditRecordOf(const net::Request& request, const auth::Principal* caller,
                                   int status, std::string detail = {});

class AccessGuard {
public:
  AccessGuard(const SecurityOptions& options, Authenticator& authenticator, AuditLog& audit);

  // Admits the request and runs `next`, or answers it (401, 403, 429) itself.
  void handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
              const net::Handler& next);

  // /.well-known/oauth-protected-resource[/<path>] (RFC 9728).
  void addRoutes(net::Router& router, api::OpenApiDocument& doc);

  // The caller every request acts as in development mode.
  static PrincipalPtr developmentPrincipal();

private:
  void admit(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
             const net::Handler& next, PrincipalPtr principal);
  void refuse(const net::Request& request, const net::ResponseWriterPtr& writer,
              const auth::Principal* caller, const core::Error& error);
  std::string baseUrl(const net::Request& request) const;
  std::string metadataUrl(const net::Request& request) const;

  const SecurityOptions options_;
  Authenticator& authenticator_;
  AuditLog& audit_;
  auth::RateLimiter limiter_;
};

} // namespace forge::identity
