// JSON Web Tokens (RFC 7519) signed with HS256 or RS256, on OpenSSL 3.
//
// A JwtKey is built once from configuration and pins exactly one algorithm: a token is verified
// only when its header names that algorithm, so "none", a different algorithm, or an HS256 token
// that uses an RSA public key as its HMAC secret (the libjwt 1.10 confusion attack) is rejected
// before any cryptography runs. PEM keys are parsed once, into an EVP_PKEY the key owns; copies of
// a JwtKey share it, and a JwtKey may be used from several threads at once.
//
// Encoding rules (strict, RFC 7515 §2 and §3.1): a token is exactly three base64url segments
// separated by '.', without '=' padding; a padded, non-base64url or non-canonical segment (unused
// trailing bits not zero) is malformed, so a signature has exactly one accepted spelling. Tokens
// longer than kMaxTokenBytes are rejected unread. Every verification failure is an
// Errc::kUnauthorized with a short message that does not echo the token.
#pragma once

#include "core/error.h"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace forge::auth {

// Defaults for the tokens Forge issues and accepts (same as the Python mcpgateway).
inline constexpr std::string_view kDefaultAudience = "mcpgateway-api";
inline constexpr std::string_view kDefaultIssuer = "mcpgateway";
inline constexpr std::chrono::seconds kDefaultLifetime = std::chrono::hours(24 * 7);

// Longest token verify() reads; longer ones are rejected ("token too large").
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;
// Shortest HS256 secret JwtKey::hs256() accepts (RFC 7518 §3.2: at least the hash size).
inline constexpr std::size_t kMinHs256SecretBytes = 32;
// Smallest RSA modulus JwtKey::rs256*Pem() accepts, in bits.
inline constexpr int kMinRsaBits = 2048;

enum class JwtAlg { kHs256, kRs256 };

// "HS256" or "RS256".
std::string_view algName(JwtAlg alg);

// A signing and/or verification key pinned to one algorithm. Create with the factories; they
// return kInvalidParams when the material is unusable (short secret, not a PEM key, not RSA,
// RSA smaller than kMinRsaBits, encrypted private key).
class JwtKey {
public:
  // HMAC-SHA256 with `secret` (raw bytes, at least kMinHs256SecretBytes). Signs and verifies.
  static core::Result<JwtKey> hs256(std::string_view secret, std::string kid = {});
  // RSASSA-PKCS1-v1_5 with SHA-256, verify only: a "-----BEGIN PUBLIC KEY-----" PEM
  // (SubjectPublicKeyInfo).
  static core::Result<JwtKey> rs256PublicPem(std::string_view pem, std::string kid = {});
  // RS256 sign and verify: an unencrypted PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1
  // ("BEGIN RSA PRIVATE KEY") PEM.
  static core::Result<JwtKey> rs256PrivatePem(std::string_view pem, std::string kid = {});

  JwtAlg alg() const;
  // Empty when the key has no key id. sign() writes a non-empty kid into the header.
  const std::string& kid() const;
  bool canSign() const;

  struct State; // defined in jwt.cc

private:
  friend struct KeyAccess; // jwt.cc
  explicit JwtKey(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_; // never null
};

// The claims of a token. Zero / empty means absent: sign() leaves such claims out, verify()
// leaves them zero / empty when the token has none.
struct Claims {
  std::string sub, iss, jti;
  std::vector<std::string> aud; // signed as a string when there is one, an array when several
  std::int64_t exp = 0, nbf = 0, iat = 0;
  boost::json::object extra; // every other claim, e.g. "email", "teams", "scopes", "servers"
};

// The claims of a token Forge issues for `subject`: iss, aud, iat = now, exp = now + lifetime, a
// random jti, and "email" = subject.
Claims issuedClaims(const std::string& subject, const std::string& issuer,
                    const std::string& audience, std::chrono::seconds lifetime);

// A compact JWS with header {"alg": key.alg(), "typ": "JWT"(, "kid": key.kid())}. Fails with
// kInvalidParams when the key cannot sign (RS256 public key) or `extra` repeats a registered claim
// (sub, iss, jti, aud, exp, nbf, iat); kInternal when OpenSSL fails.
core::Result<std::string> sign(const JwtKey& key, const Claims& claims);

struct VerifyOptions {
  std::vector<std::string> audiences; // when not empty, "aud" must contain one of them
  std::string issuer;                 // when not empty, "iss" must equal it
  std::int64_t now = 0;               // seconds since the epoch; 0: the current time
  std::int64_t leeway_seconds = 30;   // clock skew allowed for exp, nbf and iat (negative: 0)
  bool require_exp = true;
};

// Checks, in order: size, three base64url segments, header (a JSON object whose "alg" is the
// key's algorithm, "kid" a string, no "crit"), the signature (HMAC compared in constant time;
// RS256 with EVP_DigestVerify), then the payload (a JSON object; registered claims of the right
// type: exp/nbf/iat integral numbers, sub/iss/jti strings, aud a string or an array of strings),
// exp (required unless !require_exp; now < exp + leeway), nbf (<= now + leeway), iat
// (<= now + leeway), issuer and audience. Every failure is kUnauthorized. Same as the overload
// below with this one key: a header "kid" must be the key's, unless the key has none.
core::Result<Claims> verify(std::string_view token, const JwtKey& key,
                            const VerifyOptions& options);

// Key rotation: the candidate keys are those whose algorithm is the header's "alg"; when the
// header has a "kid", only the keys with that kid, or, if none has it, the keys without a kid.
// The token is accepted if one candidate's signature matches.
core::Result<Claims> verify(std::string_view token, std::span<const JwtKey> keys,
                            const VerifyOptions& options);

// base64url (RFC 4648 §5) without padding.
std::string base64UrlEncode(std::string_view bytes);
// Strict inverse of base64UrlEncode: nullopt for '=' padding, any character outside
// [A-Za-z0-9_-], a length of 4n+1, or non-zero unused trailing bits.
std::optional<std::string> base64UrlDecode(std::string_view text);

// `bytes` bytes from the OpenSSL CSPRNG (RAND_bytes), base64url-encoded: for jti values and API
// token secrets. Aborts if the CSPRNG fails (a predictable secret is worse than no process).
std::string randomToken(std::size_t bytes);

} // namespace forge::auth
