#include "auth/api_token.h"

#include "auth/jwt.h"
#include "core/assert.h"

#include <openssl/evp.h>

#include <fmt/format.h>

namespace forge::auth {

NewApiToken newApiToken() {
  NewApiToken token;
  token.secret = std::string(kApiTokenPrefix) + randomToken(32);
  token.hash = apiTokenHash(token.secret);
  token.jti = randomToken(16);
  return token;
}

std::string apiTokenHash(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const int ok = EVP_Digest(secret.data(), secret.size(), digest, &length, EVP_sha256(), nullptr);
  FORGE_RELEASE_ASSERT(ok == 1); // SHA-256 of memory cannot fail short of a broken OpenSSL
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i)
    fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
  return hex;
}

bool looksLikeApiToken(std::string_view token) {
  if (!token.starts_with(kApiTokenPrefix)) return false;
  for (char c : token.substr(kApiTokenPrefix.size())) {
    const bool base64url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!base64url) return false;
  }
  return token.size() > kApiTokenPrefix.size();
}

} // namespace forge::auth
