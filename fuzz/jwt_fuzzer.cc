// libFuzzer target for JWT verification (auth/jwt.h): every input is a bearer token an attacker
// chose. It goes to auth::verify() with an HS256 key, an RS256 public key, and both at once (key
// rotation), and to the base64url helpers. Run it with tools/fuzz.sh (docs/TESTING.md). Besides
// the crashes ASan and UBSan find, it traps (a libFuzzer crash) when a property does not hold:
//   - every rejection is kUnauthorized, and the RS256-only key accepts nothing (no private key
//     exists outside this process, and it is generated afresh on each run);
//   - an accepted token's claims re-sign with the same key into a token that verifies to the
//     same claims;
//   - base64UrlDecode accepts only canonical text: encoding what it decoded gives the input back.
// The seed fuzz/corpus/jwt/valid_hs256.jwt is signed with kSecret below and expires in 2100, so
// mutations of its payload reach the claim checks only when they keep the signature valid, which
// is what the signature is for; the header and segment checks run before it on every input.
#include "auth/jwt.h"

#include <boost/json/value.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace auth = forge::auth;

void check(bool property) {
  if (!property) __builtin_trap();
}

constexpr std::string_view kSecret = "forge-jwt-fuzzer-secret-0123456789abcdef";

struct Keys {
  auth::JwtKey hs256;
  auth::JwtKey rs256_public;
  std::vector<auth::JwtKey> both;
};

auth::JwtKey rs256PublicKey() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  check(pkey != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  check(bio != nullptr && PEM_write_bio_PUBKEY(bio, pkey) == 1);
  char* data = nullptr;
  const long length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  const std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  auto key = auth::JwtKey::rs256PublicPem(pem, "rsa");
  check(key.ok());
  return *key;
}

// Built once: the keys are parsed once in Forge too, and RSA generation is slow.
const Keys& keys() {
  static const Keys k = [] {
    auto hs256 = auth::JwtKey::hs256(kSecret);
    check(hs256.ok());
    Keys built{*hs256, rs256PublicKey(), {}};
    built.both = {built.rs256_public, built.hs256};
    return built;
  }();
  return k;
}

auth::VerifyOptions options() {
  auth::VerifyOptions o;
  o.audiences = {std::string(auth::kDefaultAudience)};
  o.issuer = std::string(auth::kDefaultIssuer);
  o.now = 1'750'000'000;
  return o;
}

bool sameClaims(const auth::Claims& a, const auth::Claims& b) {
  return a.sub == b.sub && a.iss == b.iss && a.jti == b.jti && a.aud == b.aud && a.exp == b.exp &&
         a.nbf == b.nbf && a.iat == b.iat &&
         boost::json::value(a.extra) == boost::json::value(b.extra);
}

void fuzzVerify(std::string_view token) {
  const Keys& k = keys();
  const auth::VerifyOptions opts = options();

  const auto rsa = auth::verify(token, k.rs256_public, opts);
  check(!rsa.ok() && rsa.error().code == forge::core::Errc::kUnauthorized);

  const auto rotated = auth::verify(token, k.both, opts);
  check(rotated.ok() || rotated.error().code == forge::core::Errc::kUnauthorized);

  const auto hs = auth::verify(token, k.hs256, opts);
  if (!hs.ok()) {
    check(hs.error().code == forge::core::Errc::kUnauthorized);
    check(!rotated.ok());
    return;
  }
  check(rotated.ok() && sameClaims(*hs, *rotated));
  check(token.size() <= auth::kMaxTokenBytes);
  // Re-signing fails only when a zero-valued claim was dropped by the Claims representation
  // (e.g. "exp": 0 cannot be accepted) or the re-encoded token grows past the limit.
  const auto again = auth::sign(k.hs256, *hs);
  if (!again.ok()) return;
  const auto back = auth::verify(*again, k.hs256, opts);
  check(back.ok() && sameClaims(*hs, *back));
}

void fuzzBase64(std::string_view text) {
  if (const auto decoded = auth::base64UrlDecode(text)) {
    check(auth::base64UrlEncode(*decoded) == text);
  }
  const auto round_trip = auth::base64UrlDecode(auth::base64UrlEncode(text));
  check(round_trip.has_value() && *round_trip == text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzzVerify(text);
  fuzzBase64(text);
  return 0;
}
