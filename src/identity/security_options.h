// What `forge gateway` is told about authentication: the auth.* configuration keys, typed.
#pragma once

#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "core/secret.h"

#include <chrono>
#include <string>
#include <vector>

namespace forge::identity {

struct SecurityOptions {
  // false: development mode, every request acts as a local platform admin. Only allowed when the
  // gateway listens on a loopback address.
  bool auth_required = true;
  core::Secret jwt_secret;          // HS256 key; empty: generated into the data directory
  std::string jwt_public_key_file;  // RS256: verify tokens signed by another issuer with this
  std::string jwt_private_key_file; // RS256: sign (and verify) Forge's own tokens with this
  std::string audience = "mcpgateway-api";
  std::string issuer = "mcpgateway";
  std::chrono::seconds token_lifetime{7 * 24 * 3600};
  core::Secret encryption_secret; // AUTH_ENCRYPTION_SECRET; empty: generated
  std::string admin_email = "admin@example.com";
  core::Secret admin_password;            // empty: generated into the data directory
  auth::RateLimit per_identity{100, 200}; // requests per second per caller
  auth::RateLimit per_tool{20, 40};       // tool calls per second per caller and tool
  std::size_t rate_limit_keys = 100'000;  // memory bound of each limiter
  // The public base URL of the gateway ("https://forge.example.com"), for the OAuth
  // protected-resource metadata; empty: taken from the request's Host header.
  std::string public_url;
  // OAuth authorization servers that issue tokens for this gateway (RFC 9728
  // authorization_servers); empty: the gateway itself (POST /auth/email/login).
  std::vector<std::string> authorization_servers;
  // How long an authenticated user or API token is cached before the database is asked again
  // (role changes and revocations by another gateway instance take effect within this time).
  std::chrono::milliseconds cache_ttl{30'000};
  // GET /metrics without a token (metrics.public), for a Prometheus scraper; otherwise any
  // authenticated caller (viewer or better) may read it.
  bool public_metrics = false;
  auth::PasswordCost password_cost = auth::PasswordCost::kInteractive;
};

} // namespace forge::identity
