#include "auth/jwt.h"

#include "core/assert.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <limits>

namespace forge::auth {

namespace json = boost::json;

namespace {

template <auto Free>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using MdPtr = std::unique_ptr<EVP_MD, OsslDeleter<EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, OsslDeleter<EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OsslDeleter<EVP_MAC_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free>>;

// Leaves OpenSSL's thread-local error queue as it found it: a failed verification pushes errors,
// and a stale error there would make a later TLS call on the same thread look failed.
class ErrorQueueMark {
public:
  ErrorQueueMark() { ERR_set_mark(); }
  ~ErrorQueueMark() { ERR_pop_to_mark(); }
  ErrorQueueMark(const ErrorQueueMark&) = delete;
  ErrorQueueMark& operator=(const ErrorQueueMark&) = delete;
};

constexpr std::size_t kSha256Bytes = 32;
// PEM keys larger than this are not keys (an RSA 16384-bit private key is about 13 KB).
constexpr std::size_t kMaxPemBytes = 64 * 1024;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

core::Error unauthorized(std::string message) {
  return core::Error{core::Errc::kUnauthorized, std::move(message)};
}

} // namespace

struct JwtKey::State {
  JwtAlg alg = JwtAlg::kHs256;
  std::string kid;
  bool can_sign = false;
  MacCtxPtr hmac; // HS256: HMAC-SHA256 initialised with the secret; duplicated for each use
  PkeyPtr pkey;   // RS256
  MdPtr sha256;   // RS256
};

struct KeyAccess {
  static const JwtKey::State& state(const JwtKey& key) { return *key.state_; }
};

std::string_view algName(JwtAlg alg) {
  switch (alg) {
  case JwtAlg::kHs256:
    return "HS256";
  case JwtAlg::kRs256:
    return "RS256";
  }
  return "?";
}

// ---- base64url -----------------------------------------------------------------------------

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<signed char, 256> makeDecodeTable() {
  std::array<signed char, 256> table{};
  for (auto& entry : table)
    entry = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  return table;
}
constexpr auto kDecodeTable = makeDecodeTable();

} // namespace

std::string base64UrlEncode(std::string_view input) {
  std::string out;
  out.reserve((input.size() * 4 + 2) / 3);
  const unsigned char* in = bytes(input);
  std::size_t i = 0;
  for (; i + 3 <= input.size(); i += 3) {
    const std::uint32_t n =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = input.size() - i;
  if (rest == 1) {
    const std::uint32_t n = std::uint32_t{in[i]} << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = kDecodeTable[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt; // also rejects '=' padding
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
      acc &= (1u << bits) - 1;
    }
  }
  // 2 or 4 unused bits remain after 2 or 3 characters; they must be zero (canonical encoding).
  if (acc != 0) return std::nullopt;
  return out;
}

std::string randomToken(std::size_t count) {
  FORGE_RELEASE_ASSERT(count <= static_cast<std::size_t>(INT_MAX));
  std::string buffer(count, '\0');
  if (count > 0) {
    const int rc =
        RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), static_cast<int>(count));
    FORGE_RELEASE_ASSERT(rc == 1);
  }
  std::string token = base64UrlEncode(buffer);
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return token;
}

// ---- keys ----------------------------------------------------------------------------------

namespace {

int noPassphrase(char*, int, int, void*) { return -1; }

core::Result<PkeyPtr> readPem(std::string_view pem, bool private_key) {
  if (pem.empty() || pem.size() > kMaxPemBytes)
    return core::Error{core::Errc::kInvalidParams, "RS256 key: not a PEM key"};
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return core::Error{core::Errc::kInternal, "RS256 key: out of memory"};
  PkeyPtr pkey(private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr)
                           : PEM_read_bio_PUBKEY(bio.get(), nullptr, noPassphrase, nullptr));
  if (!pkey) {
    return core::Error{core::Errc::kInvalidParams,
                       private_key
                           ? "RS256 key: not an unencrypted PEM private key"
                           : "RS256 key: not a PEM public key (-----BEGIN PUBLIC KEY-----)"};
  }
  if (EVP_PKEY_is_a(pkey.get(), "RSA") != 1)
    return core::Error{core::Errc::kInvalidParams, "RS256 key: not an RSA key"};
  if (EVP_PKEY_get_bits(pkey.get()) < kMinRsaBits) {
    return core::Error{core::Errc::kInvalidParams,
                       "RS256 key: RSA key shorter than " + std::to_string(kMinRsaBits) + " bits"};
  }
  return pkey;
}

core::Result<JwtKey::State> rsaState(std::string_view pem, bool private_key, std::string kid) {
  auto pkey = readPem(pem, private_key);
  if (!pkey) return pkey.error();
  JwtKey::State state;
  state.alg = JwtAlg::kRs256;
  state.kid = std::move(kid);
  state.can_sign = private_key;
  state.pkey = std::move(*pkey);
  state.sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!state.sha256) return core::Error{core::Errc::kInternal, "RS256 key: no SHA-256"};
  return state;
}

} // namespace

core::Result<JwtKey> JwtKey::hs256(std::string_view secret, std::string kid) {
  if (secret.size() < kMinHs256SecretBytes) {
    return core::Error{core::Errc::kInvalidParams, "HS256 secret too short: at least " +
                                                       std::to_string(kMinHs256SecretBytes) +
                                                       " bytes required"};
  }
  if (secret.size() > static_cast<std::size_t>(INT_MAX))
    return core::Error{core::Errc::kInvalidParams, "HS256 secret too long"};
  const ErrorQueueMark mark;
  auto state = std::make_shared<State>();
  state->alg = JwtAlg::kHs256;
  state->kid = std::move(kid);
  state->can_sign = true;
  const MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (mac) state->hmac.reset(EVP_MAC_CTX_new(mac.get()));
  if (!state->hmac) return core::Error{core::Errc::kInternal, "HS256 key: no HMAC"};
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(state->hmac.get(), bytes(secret), secret.size(), params) != 1)
    return core::Error{core::Errc::kInternal, "HS256 key: HMAC initialisation failed"};
  return JwtKey(std::move(state));
}

core::Result<JwtKey> JwtKey::rs256PublicPem(std::string_view pem, std::string kid) {
  const ErrorQueueMark mark;
  auto state = rsaState(pem, false, std::move(kid));
  if (!state) return state.error();
  return JwtKey(std::make_shared<const State>(std::move(*state)));
}

core::Result<JwtKey> JwtKey::rs256PrivatePem(std::string_view pem, std::string kid) {
  const ErrorQueueMark mark;
  auto state = rsaState(pem, true, std::move(kid));
  if (!state) return state.error();
  return JwtKey(std::make_shared<const State>(std::move(*state)));
}

JwtAlg JwtKey::alg() const { return state_->alg; }
const std::string& JwtKey::kid() const { return state_->kid; }
bool JwtKey::canSign() const { return state_->can_sign; }

// ---- signatures ----------------------------------------------------------------------------

namespace {

// HMAC-SHA256 of `input`; false when OpenSSL fails.
bool hmacSha256(const JwtKey::State& key, std::string_view input,
                std::array<unsigned char, kSha256Bytes>& out) {
  const MacCtxPtr ctx(EVP_MAC_CTX_dup(key.hmac.get()));
  if (!ctx) return false;
  std::size_t length = 0;
  return EVP_MAC_update(ctx.get(), bytes(input), input.size()) == 1 &&
         EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) == 1 && length == out.size();
}

// An EVP_MD_CTX set up for RS256 (SHA-256, PKCS#1 v1.5 padding) signing or verifying.
MdCtxPtr rsaContext(const JwtKey::State& key, bool signing) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  EVP_PKEY_CTX* pctx = nullptr;
  const int rc =
      signing ? EVP_DigestSignInit(ctx.get(), &pctx, key.sha256.get(), nullptr, key.pkey.get())
              : EVP_DigestVerifyInit(ctx.get(), &pctx, key.sha256.get(), nullptr, key.pkey.get());
  if (rc != 1 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return nullptr;
  return ctx;
}

core::Result<std::string> signatureOf(const JwtKey::State& key, std::string_view input) {
  switch (key.alg) {
  case JwtAlg::kHs256: {
    std::array<unsigned char, kSha256Bytes> mac{};
    if (!hmacSha256(key, input, mac)) return core::Error{core::Errc::kInternal, "HMAC failed"};
    return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
  }
  case JwtAlg::kRs256: {
    const MdCtxPtr ctx = rsaContext(key, true);
    std::size_t length = 0;
    if (!ctx || EVP_DigestSign(ctx.get(), nullptr, &length, bytes(input), input.size()) != 1)
      return core::Error{core::Errc::kInternal, "RS256 signing failed"};
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       bytes(input), input.size()) != 1)
      return core::Error{core::Errc::kInternal, "RS256 signing failed"};
    signature.resize(length);
    return signature;
  }
  }
  return core::Error{core::Errc::kInternal, "unknown algorithm"};
}

bool signatureMatches(const JwtKey::State& key, std::string_view input,
                      std::string_view signature) {
  switch (key.alg) {
  case JwtAlg::kHs256: {
    std::array<unsigned char, kSha256Bytes> mac{};
    if (!hmacSha256(key, input, mac)) return false;
    // The length is public; the contents are compared in constant time.
    return signature.size() == mac.size() &&
           CRYPTO_memcmp(mac.data(), signature.data(), mac.size()) == 0;
  }
  case JwtAlg::kRs256: {
    if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey.get())))
      return false;
    const MdCtxPtr ctx = rsaContext(key, false);
    return ctx && EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(input),
                                   input.size()) == 1;
  }
  }
  return false;
}

} // namespace

// ---- sign ----------------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 7> kRegisteredClaims = {"sub", "iss", "jti", "aud",
                                                               "exp", "nbf", "iat"};

bool isRegistered(std::string_view name) {
  return std::find(kRegisteredClaims.begin(), kRegisteredClaims.end(), name) !=
         kRegisteredClaims.end();
}

} // namespace

core::Result<std::string> sign(const JwtKey& key, const Claims& claims) {
  const JwtKey::State& state = KeyAccess::state(key);
  if (!state.can_sign)
    return core::Error{core::Errc::kInvalidParams, "an RS256 public key cannot sign tokens"};
  for (const auto& entry : claims.extra) {
    if (isRegistered(entry.key())) {
      return core::Error{core::Errc::kInvalidParams,
                         "claim '" + std::string(entry.key()) + "' belongs in Claims, not extra"};
    }
  }

  json::object header;
  header["alg"] = algName(state.alg);
  header["typ"] = "JWT";
  if (!state.kid.empty()) header["kid"] = state.kid;

  json::object payload;
  if (!claims.iss.empty()) payload["iss"] = claims.iss;
  if (!claims.sub.empty()) payload["sub"] = claims.sub;
  if (claims.aud.size() == 1) {
    payload["aud"] = claims.aud.front();
  } else if (!claims.aud.empty()) {
    json::array aud;
    for (const auto& audience : claims.aud)
      aud.emplace_back(audience);
    payload["aud"] = std::move(aud);
  }
  if (claims.iat != 0) payload["iat"] = claims.iat;
  if (claims.nbf != 0) payload["nbf"] = claims.nbf;
  if (claims.exp != 0) payload["exp"] = claims.exp;
  if (!claims.jti.empty()) payload["jti"] = claims.jti;
  for (const auto& entry : claims.extra)
    payload[entry.key()] = entry.value();

  std::string token =
      base64UrlEncode(json::serialize(header)) + '.' + base64UrlEncode(json::serialize(payload));
  const ErrorQueueMark mark;
  auto signature = signatureOf(state, token);
  if (!signature) return signature.error();
  token += '.';
  token += base64UrlEncode(*signature);
  if (token.size() > kMaxTokenBytes) {
    return core::Error{core::Errc::kInvalidParams,
                       "token longer than " + std::to_string(kMaxTokenBytes) + " bytes"};
  }
  return token;
}

// ---- verify --------------------------------------------------------------------------------

namespace {

// An integral JSON number that fits in int64 (NumericDate, RFC 7519 §2).
std::optional<std::int64_t> integral(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) {
    const std::uint64_t u = value.get_uint64();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (value.is_double()) {
    const double d = value.get_double();
    if (!std::isfinite(d) || std::trunc(d) != d || d < -0x1p63 || d >= 0x1p63) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::int64_t saturatingAdd(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum))
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  return sum;
}

std::optional<json::object> parseObject(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

struct Segments {
  std::string_view signing_input; // header '.' payload
  std::string header, payload, signature;
};

core::Result<Segments> split(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return unauthorized("token too large");
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return unauthorized("malformed token");
  auto header = base64UrlDecode(token.substr(0, first));
  auto payload = base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto signature = base64UrlDecode(token.substr(second + 1));
  if (!header || !payload || !signature) return unauthorized("malformed token");
  return Segments{token.substr(0, second), std::move(*header), std::move(*payload),
                  std::move(*signature)};
}

// Copies the payload's claims into Claims, checking the registered claims' types.
core::Result<Claims> readClaims(json::object payload, bool& has_exp, bool& has_nbf, bool& has_iat,
                                bool& has_aud, bool& has_iss) {
  Claims claims;
  for (auto& entry : payload) {
    const std::string_view name = entry.key();
    json::value& value = entry.value();
    if (name == "exp" || name == "nbf" || name == "iat") {
      const auto number = integral(value);
      if (!number) return unauthorized("invalid '" + std::string(name) + "' claim");
      if (name == "exp") {
        claims.exp = *number;
        has_exp = true;
      } else if (name == "nbf") {
        claims.nbf = *number;
        has_nbf = true;
      } else {
        claims.iat = *number;
        has_iat = true;
      }
    } else if (name == "sub" || name == "iss" || name == "jti") {
      if (!value.is_string()) return unauthorized("invalid '" + std::string(name) + "' claim");
      std::string text(value.get_string());
      if (name == "sub") {
        claims.sub = std::move(text);
      } else if (name == "iss") {
        claims.iss = std::move(text);
        has_iss = true;
      } else {
        claims.jti = std::move(text);
      }
    } else if (name == "aud") {
      has_aud = true;
      if (value.is_string()) {
        claims.aud.emplace_back(value.get_string());
      } else if (value.is_array()) {
        for (const auto& item : value.get_array()) {
          if (!item.is_string()) return unauthorized("invalid 'aud' claim");
          claims.aud.emplace_back(item.get_string());
        }
      } else {
        return unauthorized("invalid 'aud' claim");
      }
    } else {
      claims.extra.emplace(name, std::move(value));
    }
  }
  return claims;
}

core::Result<Claims> checkClaims(json::object payload, const VerifyOptions& options) {
  bool has_exp = false, has_nbf = false, has_iat = false, has_aud = false, has_iss = false;
  auto claims = readClaims(std::move(payload), has_exp, has_nbf, has_iat, has_aud, has_iss);
  if (!claims) return claims;

  const std::int64_t now = options.now != 0
                               ? options.now
                               : std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  const std::int64_t leeway = std::max<std::int64_t>(options.leeway_seconds, 0);

  if (has_exp) {
    // RFC 7519 §4.1.4: the token is valid only before exp.
    if (now >= saturatingAdd(claims->exp, leeway)) return unauthorized("token expired");
  } else if (options.require_exp) {
    return unauthorized("token has no expiry");
  }
  if (has_nbf && claims->nbf > saturatingAdd(now, leeway))
    return unauthorized("token not yet valid");
  if (has_iat && claims->iat > saturatingAdd(now, leeway))
    return unauthorized("token issued in the future");

  if (!options.issuer.empty()) {
    if (!has_iss) return unauthorized("missing issuer");
    if (claims->iss != options.issuer) return unauthorized("wrong issuer");
  }
  if (!options.audiences.empty()) {
    if (!has_aud) return unauthorized("missing audience");
    const bool match = std::any_of(claims->aud.begin(), claims->aud.end(), [&](const auto& aud) {
      return std::find(options.audiences.begin(), options.audiences.end(), aud) !=
             options.audiences.end();
    });
    if (!match) return unauthorized("wrong audience");
  }
  return claims;
}

} // namespace

core::Result<Claims> verify(std::string_view token, std::span<const JwtKey> keys,
                            const VerifyOptions& options) {
  auto segments = split(token);
  if (!segments) return segments.error();

  // The header decides nothing by itself: it only selects among the configured keys, and an
  // algorithm no key is pinned to ends verification here, before any cryptography.
  const auto header = parseObject(segments->header);
  if (!header) return unauthorized("malformed token header");
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return unauthorized("malformed token header");
  if (header->contains("crit")) return unauthorized("unsupported critical header");
  std::string_view kid;
  bool has_kid = false;
  if (const json::value* value = header->if_contains("kid")) {
    if (!value->is_string()) return unauthorized("malformed token header");
    kid = value->get_string();
    has_kid = true;
  }
  if (const json::value* typ = header->if_contains("typ"); typ != nullptr && !typ->is_string())
    return unauthorized("malformed token header");

  std::vector<const JwtKey::State*> candidates;
  for (const auto& key : keys) {
    const JwtKey::State& state = KeyAccess::state(key);
    if (algName(state.alg) == std::string_view(alg->get_string())) candidates.push_back(&state);
  }
  if (candidates.empty()) return unauthorized("algorithm not allowed");
  if (has_kid) {
    const auto by_kid = [&](std::string_view wanted) {
      std::vector<const JwtKey::State*> out;
      for (const auto* state : candidates)
        if (state->kid == wanted) out.push_back(state);
      return out;
    };
    auto matching = by_kid(kid);
    if (matching.empty()) matching = by_kid("");
    if (matching.empty()) return unauthorized("unknown key id");
    candidates = std::move(matching);
  }

  {
    const ErrorQueueMark mark;
    const bool verified =
        std::any_of(candidates.begin(), candidates.end(), [&](const JwtKey::State* state) {
          return signatureMatches(*state, segments->signing_input, segments->signature);
        });
    if (!verified) return unauthorized("signature does not match");
  }

  auto payload = parseObject(segments->payload);
  if (!payload) return unauthorized("malformed token payload");
  return checkClaims(std::move(*payload), options);
}

core::Result<Claims> verify(std::string_view token, const JwtKey& key,
                            const VerifyOptions& options) {
  return verify(token, std::span<const JwtKey>(&key, 1), options);
}

Claims issuedClaims(const std::string& subject, const std::string& issuer,
                    const std::string& audience, std::chrono::seconds lifetime) {
  Claims claims;
  claims.sub = subject;
  claims.iss = issuer;
  if (!audience.empty()) claims.aud = {audience};
  claims.iat = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  claims.exp = claims.iat + lifetime.count();
  claims.jti = randomToken(16);
  claims.extra["email"] = subject;
  return claims;
}

} // namespace forge::auth
