#include "identity/session_sealer.h"

#include "auth/api_token.h"
#include "core/assert.h"

#include <chrono>

namespace forge::identity {
namespace {

namespace json = boost::json;

// The audience of session ids: no other verifier accepts it, and they accept no other token.
constexpr const char* kAudience = "forge-mcp-session";

std::string stringClaim(const json::object& claims, const char* name) {
  const auto* v = claims.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object objectClaim(const json::object& claims, const char* name) {
  const auto* v = claims.if_contains(name);
  return v && v->is_object() ? v->get_object() : json::object();
}

} // namespace

core::Result<std::shared_ptr<const JwtSessionSealer>>
JwtSessionSealer::fromJwtSecret(std::string_view jwt_secret) {
  // A one-way derivation: knowing a session key tells nothing of the JWT secret.
  const std::string derived =
      auth::apiTokenHash(std::string("forge mcp session ids v1\n") + std::string(jwt_secret));
  auto key = auth::JwtKey::hs256(derived, "mcp-session");
  if (!key) return key.error();
  return std::shared_ptr<const JwtSessionSealer>(new JwtSessionSealer(std::move(*key)));
}

std::string JwtSessionSealer::seal(const transport::SealedSession& session) const {
  auth::Claims claims;
  claims.jti = auth::randomToken(16); // unique even for identical sessions
  claims.aud = {kAudience};
  claims.iat = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  claims.extra["e"] = session.endpoint;
  claims.extra["o"] = session.owner;
  claims.extra["v"] = session.protocol_version;
  if (!session.client_capabilities.empty()) claims.extra["c"] = session.client_capabilities;
  if (!session.client_info.empty()) claims.extra["i"] = session.client_info;
  auto id = auth::sign(key_, claims);
  // HS256 signing with a valid key fails only if OpenSSL does.
  FORGE_RELEASE_ASSERT(id.ok());
  return std::move(*id);
}

std::optional<transport::SealedSession> JwtSessionSealer::open(std::string_view id) const {
  auth::VerifyOptions options;
  options.audiences = {kAudience};
  options.require_exp = false;
  auto claims = auth::verify(id, key_, options);
  if (!claims) return std::nullopt;
  transport::SealedSession session;
  session.endpoint = stringClaim(claims->extra, "e");
  session.owner = stringClaim(claims->extra, "o");
  session.protocol_version = stringClaim(claims->extra, "v");
  session.client_capabilities = objectClaim(claims->extra, "c");
  session.client_info = objectClaim(claims->extra, "i");
  if (session.protocol_version.empty()) return std::nullopt;
  return session;
}

} // namespace forge::identity
