// The token check on every authenticated request: verifying a JWT (HS256, and RS256 with a key
// parsed once) and hashing an API token secret for its lookup. The Authenticator caches the
// principal behind a token, but verification itself runs on every JWT request.
#include "auth/api_token.h"
#include "auth/jwt.h"

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace forge::auth {
namespace {

const std::string kSecret = "bench-secret-bench-secret-bench-secret-0123456789";

Claims benchClaims() {
  return issuedClaims("bench@example.com", std::string(kDefaultIssuer),
                      std::string(kDefaultAudience), std::chrono::hours(1));
}

VerifyOptions benchOptions() {
  VerifyOptions options;
  options.audiences = {std::string(kDefaultAudience)};
  options.issuer = std::string(kDefaultIssuer);
  return options;
}

// A fresh 2048-bit RSA private key as PKCS#8 PEM (the benchmark needs no key file).
std::string rsaPrivatePem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("cannot make an RSA key");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void verifyLoop(benchmark::State& state, const JwtKey& key) {
  const std::string token = sign(key, benchClaims()).value();
  const VerifyOptions options = benchOptions();
  for (auto _ : state) {
    auto claims = verify(token, key, options);
    if (!claims) state.SkipWithError("token refused");
    benchmark::DoNotOptimize(claims);
  }
}

void BM_JwtVerifyHs256(benchmark::State& state) {
  verifyLoop(state, JwtKey::hs256(kSecret).value());
}
BENCHMARK(BM_JwtVerifyHs256);

void BM_JwtVerifyRs256(benchmark::State& state) {
  verifyLoop(state, JwtKey::rs256PrivatePem(rsaPrivatePem()).value());
}
BENCHMARK(BM_JwtVerifyRs256);

void BM_ApiTokenHash(benchmark::State& state) {
  const std::string secret = newApiToken().secret;
  for (auto _ : state) {
    auto hash = apiTokenHash(secret);
    benchmark::DoNotOptimize(hash);
  }
}
BENCHMARK(BM_ApiTokenHash);

} // namespace
} // namespace forge::auth
