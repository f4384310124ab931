// API tokens: long-lived opaque bearer secrets for scripts and MCP clients. The secret is shown
// once, when the token is made; the database keeps only its SHA-256, so a stolen database does
// not yield usable tokens. A secret reads "forge_" + 43 base64url characters (32 random bytes),
// which tells it apart from a JWT (three dot-separated segments) at a glance.
#pragma once

#include <string>
#include <string_view>

namespace forge::auth {

inline constexpr std::string_view kApiTokenPrefix = "forge_";

struct NewApiToken {
  std::string secret; // give to the user once
  std::string hash;   // store this
  std::string jti;    // a random id, for revocation by jti
};

NewApiToken newApiToken();

// Lowercase hex SHA-256 of the secret: what the database stores and looks tokens up by.
std::string apiTokenHash(std::string_view secret);

// True if `token` has the shape of an API token secret (not of a JWT).
bool looksLikeApiToken(std::string_view token);

} // namespace forge::auth
