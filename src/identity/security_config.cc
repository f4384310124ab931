#include "identity/security_config.h"

namespace forge::identity {

using config::Type;

void addSecurityKeys(config::Schema& schema) {
  schema.add({.key = "auth.required",
              .type = Type::kBool,
              .default_value = "true",
              .help = "false: development mode, no authentication, every request acts as a "
                      "platform admin; only allowed when server.host is a loopback address",
              .env_aliases = {"AUTH_REQUIRED"}});
  schema.add({.key = "auth.jwt_secret",
              .type = Type::kSecret,
              .help = "HS256 key of the JWTs Forge issues and accepts (at least 32 characters); "
                      "empty: generated into <data_dir>/secrets.json",
              .env_aliases = {"JWT_SECRET_KEY"}});
  schema.add({.key = "auth.jwt_private_key_file",
              .type = Type::kString,
              .help = "RS256 private key (PEM): Forge signs its tokens with it instead of HS256"});
  schema.add({.key = "auth.jwt_public_key_file",
              .type = Type::kString,
              .help = "RS256 public key (PEM) of another issuer whose tokens are accepted"});
  schema.add({.key = "auth.jwt_audience",
              .type = Type::kString,
              .default_value = "mcpgateway-api",
              .help = "The aud claim tokens must carry",
              .env_aliases = {"JWT_AUDIENCE"}});
  schema.add({.key = "auth.jwt_issuer",
              .type = Type::kString,
              .default_value = "mcpgateway",
              .help = "The iss claim tokens must carry",
              .env_aliases = {"JWT_ISSUER"}});
  schema.add({.key = "auth.token_lifetime",
              .type = Type::kDuration,
              .default_value = "7d",
              .help = "Lifetime of the JWTs issued at login"});
  schema.add({.key = "auth.encryption_secret",
              .type = Type::kSecret,
              .help = "Key material for upstream credentials at rest (AES-256-GCM, at least 32 "
                      "characters); empty: generated into <data_dir>/secrets.json",
              .env_aliases = {"AUTH_ENCRYPTION_SECRET"}});
  schema.add({.key = "auth.admin_email",
              .type = Type::kString,
              .default_value = "admin@example.com",
              .help = "The first platform admin, created on first start",
              .env_aliases = {"PLATFORM_ADMIN_EMAIL"}});
  schema.add({.key = "auth.admin_password",
              .type = Type::kSecret,
              .help = "Its password; empty: generated into <data_dir>/secrets.json",
              .env_aliases = {"PLATFORM_ADMIN_PASSWORD"}});
  schema.add({.key = "auth.rate_limit",
              .type = Type::kInt,
              .default_value = "100",
              .help = "Requests per second per caller (token bucket; 429 beyond)",
              .min = 1,
              .max = 1'000'000});
  schema.add({.key = "auth.rate_limit_burst",
              .type = Type::kInt,
              .default_value = "200",
              .help = "Requests a caller may send at once before the rate applies",
              .min = 1,
              .max = 1'000'000});
  schema.add({.key = "auth.tool_rate_limit",
              .type = Type::kInt,
              .default_value = "20",
              .help = "Calls per second per caller and tool (JSON-RPC error -32029 beyond)",
              .min = 1,
              .max = 1'000'000});
  schema.add({.key = "auth.tool_rate_limit_burst",
              .type = Type::kInt,
              .default_value = "40",
              .help = "Calls of one tool a caller may make at once",
              .min = 1,
              .max = 1'000'000});
  schema.add({.key = "auth.public_url",
              .type = Type::kString,
              .help = "The gateway's public base URL, for OAuth metadata (default: from the "
                      "request's Host)"});
  schema.add({.key = "auth.authorization_servers",
              .type = Type::kStringList,
              .help = "OAuth authorization servers to announce (default: the gateway itself)"});
  schema.add({.key = "auth.cache_ttl",
              .type = Type::kDuration,
              .default_value = "30s",
              .help = "How long a checked user or API token is trusted before the database is "
                      "asked again"});
  schema.add({.key = "auth.password_cost",
              .type = Type::kEnum,
              .default_value = "interactive",
              .help = "argon2id cost: interactive (64 MiB, production) or minimum (tests only)",
              .choices = {"interactive", "minimum"}});
}

identity::SecurityOptions securityOptions(const config::Config& config) {
  identity::SecurityOptions out;
  out.auth_required = config.boolean("auth.required");
  out.jwt_secret = config.secret("auth.jwt_secret");
  out.jwt_private_key_file = config.string("auth.jwt_private_key_file");
  out.jwt_public_key_file = config.string("auth.jwt_public_key_file");
  out.audience = config.string("auth.jwt_audience");
  out.issuer = config.string("auth.jwt_issuer");
  out.token_lifetime =
      std::chrono::duration_cast<std::chrono::seconds>(config.duration("auth.token_lifetime"));
  out.encryption_secret = config.secret("auth.encryption_secret");
  out.admin_email = config.string("auth.admin_email");
  out.admin_password = config.secret("auth.admin_password");
  out.per_identity = {static_cast<double>(config.integer("auth.rate_limit")),
                      static_cast<double>(config.integer("auth.rate_limit_burst"))};
  out.per_tool = {static_cast<double>(config.integer("auth.tool_rate_limit")),
                  static_cast<double>(config.integer("auth.tool_rate_limit_burst"))};
  out.public_url = config.string("auth.public_url");
  while (out.public_url.ends_with('/'))
    out.public_url.pop_back();
  out.authorization_servers = config.stringList("auth.authorization_servers");
  out.cache_ttl = config.duration("auth.cache_ttl");
  out.password_cost = config.string("auth.password_cost") == "minimum"
                          ? auth::PasswordCost::kMinimum
                          : auth::PasswordCost::kInteractive;
  return out;
}

} // namespace forge::identity
