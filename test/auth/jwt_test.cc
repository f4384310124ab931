#include "auth/jwt.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace forge::auth {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'750'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

// ---- helpers -------------------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};

struct RsaPem {
  std::string public_pem, private_pem;
};

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

RsaPem generateRsa(std::size_t bits) {
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  EXPECT_TRUE(pkey);
  std::unique_ptr<BIO, BioFree> pub(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, BioFree> priv(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(pub.get(), pkey.get()), 1);
  EXPECT_EQ(PEM_write_bio_PrivateKey(priv.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  return RsaPem{bioText(pub.get()), bioText(priv.get())};
}

// Two RSA key pairs, generated once for the whole suite (2048-bit generation takes a while).
const RsaPem& rsaA() {
  static const RsaPem pem = generateRsa(2048);
  return pem;
}
const RsaPem& rsaB() {
  static const RsaPem pem = generateRsa(2048);
  return pem;
}

std::string b64(std::string_view text) { return base64UrlEncode(text); }

std::string hmac(std::string_view secret, std::string_view input, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

// A token built by hand from raw header and payload JSON text, HMAC-signed with `secret`
// (SHA-256 unless `md` says otherwise) whatever the header claims.
std::string handToken(std::string_view header, std::string_view payload,
                      std::string_view secret = kSecret, const EVP_MD* md = EVP_sha256()) {
  const std::string input = b64(header) + "." + b64(payload);
  return input + "." + b64(hmac(secret, input, md));
}

JwtKey hsKey(std::string kid = {}) {
  auto key = JwtKey::hs256(kSecret, std::move(kid));
  EXPECT_TRUE(key.ok());
  return *key;
}

Claims basicClaims() {
  Claims claims;
  claims.sub = "alice@example.com";
  claims.iss = std::string(kDefaultIssuer);
  claims.aud = {std::string(kDefaultAudience)};
  claims.iat = kNow;
  claims.exp = kNow + 3600;
  return claims;
}

VerifyOptions defaultOptions() {
  VerifyOptions options;
  options.audiences = {std::string(kDefaultAudience)};
  options.issuer = std::string(kDefaultIssuer);
  options.now = kNow;
  return options;
}

std::string signOrDie(const JwtKey& key, const Claims& claims) {
  auto token = sign(key, claims);
  EXPECT_TRUE(token.ok()) << (token ? "" : token.error().message);
  return token ? *token : std::string();
}

// Every verification failure is kUnauthorized with a fixed, short message.
void expectRejected(const core::Result<Claims>& result, std::string_view message) {
  ASSERT_FALSE(result.ok()) << "accepted, expected \"" << message << "\"";
  EXPECT_EQ(result.error().code, core::Errc::kUnauthorized);
  EXPECT_EQ(result.error().message, message);
}

std::vector<std::string> segments(const std::string& token) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = token.find('.', start);
    out.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

// ---- round trips ---------------------------------------------------------------------------

TEST(JwtTest, Hs256RoundTripWithEveryClaim) {
  const JwtKey key = hsKey("key-1");
  Claims claims = basicClaims();
  claims.jti = randomToken(16);
  claims.nbf = kNow - 10;
  claims.aud = {"mcpgateway-api", "other-api"};
  claims.extra["email"] = "alice@example.com";
  claims.extra["teams"] = json::array{"team-a", "team-b"};
  claims.extra["scopes"] = json::object{{"permissions", json::array{"tools.read"}}};
  claims.extra["servers"] = nullptr;
  claims.extra["is_admin"] = true;

  const std::string token = signOrDie(key, claims);
  const auto parts = segments(token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(base64UrlDecode(parts[0]).value(), R"({"alg":"HS256","typ":"JWT","kid":"key-1"})");

  auto verified = verify(token, key, defaultOptions());
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->sub, claims.sub);
  EXPECT_EQ(verified->iss, claims.iss);
  EXPECT_EQ(verified->jti, claims.jti);
  EXPECT_EQ(verified->aud, claims.aud);
  EXPECT_EQ(verified->exp, claims.exp);
  EXPECT_EQ(verified->nbf, claims.nbf);
  EXPECT_EQ(verified->iat, claims.iat);
  EXPECT_EQ(json::value(verified->extra), json::value(claims.extra));
}

TEST(JwtTest, SingleAudienceIsSignedAsAString) {
  const std::string token = signOrDie(hsKey(), basicClaims());
  const auto payload = base64UrlDecode(segments(token)[1]).value();
  EXPECT_NE(payload.find(R"("aud":"mcpgateway-api")"), std::string::npos) << payload;
  auto verified = verify(token, hsKey(), defaultOptions());
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->aud, std::vector<std::string>{"mcpgateway-api"});
}

TEST(JwtTest, Rs256RoundTrip) {
  auto private_key = JwtKey::rs256PrivatePem(rsaA().private_pem);
  auto public_key = JwtKey::rs256PublicPem(rsaA().public_pem);
  ASSERT_TRUE(private_key.ok()) << private_key.error().message;
  ASSERT_TRUE(public_key.ok()) << public_key.error().message;
  EXPECT_TRUE(private_key->canSign());
  EXPECT_FALSE(public_key->canSign());
  EXPECT_EQ(public_key->alg(), JwtAlg::kRs256);

  Claims claims = basicClaims();
  claims.extra["email"] = "alice@example.com";
  const std::string token = signOrDie(*private_key, claims);
  EXPECT_EQ(base64UrlDecode(segments(token)[0]).value(), R"({"alg":"RS256","typ":"JWT"})");
  EXPECT_EQ(base64UrlDecode(segments(token)[2])->size(), 256u);

  for (const JwtKey* key : {&*public_key, &*private_key}) {
    auto verified = verify(token, *key, defaultOptions());
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->sub, "alice@example.com");
    EXPECT_EQ(verified->extra.at("email"), "alice@example.com");
  }
  // Another RSA key does not verify it.
  auto other = JwtKey::rs256PublicPem(rsaB().public_pem);
  ASSERT_TRUE(other.ok());
  expectRejected(verify(token, *other, defaultOptions()), "signature does not match");
}

TEST(JwtTest, CopiesShareTheParsedKey) {
  auto key = JwtKey::rs256PublicPem(rsaA().public_pem, "rsa-1");
  ASSERT_TRUE(key.ok());
  const JwtKey copy = *key;
  std::vector<JwtKey> keys(3, copy);
  EXPECT_EQ(keys[2].kid(), "rsa-1");
  auto signer = JwtKey::rs256PrivatePem(rsaA().private_pem, "rsa-1");
  ASSERT_TRUE(signer.ok());
  EXPECT_TRUE(verify(signOrDie(*signer, basicClaims()), keys, defaultOptions()).ok());
}

// ---- algorithm pinning ---------------------------------------------------------------------

TEST(JwtTest, RejectsAlgNone) {
  const std::string payload = R"({"sub":"admin","exp":1760000000})";
  const std::string unsigned_token =
      b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(payload) + ".";
  expectRejected(verify(unsigned_token, hsKey(), defaultOptions()), "algorithm not allowed");
  // Other spellings, and with a (valid HS256) signature attached.
  for (const char* alg : {"none", "None", "NONE", "nOnE", ""}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"("})";
    expectRejected(verify(handToken(header, payload), hsKey(), defaultOptions()),
                   "algorithm not allowed");
  }
  auto rsa = JwtKey::rs256PublicPem(rsaA().public_pem);
  ASSERT_TRUE(rsa.ok());
  expectRejected(verify(unsigned_token, *rsa, defaultOptions()), "algorithm not allowed");
}

TEST(JwtTest, RejectsOtherAlgorithms) {
  const std::string payload = R"({"sub":"admin","exp":1760000000})";
  // A correct HMAC-SHA512 over the token, with the same secret: still not HS256.
  expectRejected(verify(handToken(R"({"alg":"HS512","typ":"JWT"})", payload, kSecret, EVP_sha512()),
                        hsKey(), defaultOptions()),
                 "algorithm not allowed");
  for (const char* alg : {"hs256", "HS384", "RS512", "PS256", "ES256", "EdDSA"}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"("})";
    expectRejected(verify(handToken(header, payload), hsKey(), defaultOptions()),
                   "algorithm not allowed");
  }
  // alg must be a string and present.
  expectRejected(verify(handToken(R"({"alg":["HS256"]})", payload), hsKey(), defaultOptions()),
                 "malformed token header");
  expectRejected(verify(handToken(R"({"typ":"JWT"})", payload), hsKey(), defaultOptions()),
                 "malformed token header");
  // An RS256 token presented to an HS256 key and the other way round.
  auto signer = JwtKey::rs256PrivatePem(rsaA().private_pem);
  ASSERT_TRUE(signer.ok());
  expectRejected(verify(signOrDie(*signer, basicClaims()), hsKey(), defaultOptions()),
                 "algorithm not allowed");
  expectRejected(verify(signOrDie(hsKey(), basicClaims()), *signer, defaultOptions()),
                 "algorithm not allowed");
}

// The libjwt 1.10 bug: an HS256 token whose HMAC secret is the server's RSA public key PEM.
TEST(JwtTest, RejectsHs256TokenSignedWithTheRsaPublicKey) {
  const std::string& public_pem = rsaA().public_pem;
  auto forger = JwtKey::hs256(public_pem); // the attacker knows the public key
  ASSERT_TRUE(forger.ok());
  const std::string forged = signOrDie(*forger, basicClaims());

  auto public_key = JwtKey::rs256PublicPem(public_pem);
  auto private_key = JwtKey::rs256PrivatePem(rsaA().private_pem);
  ASSERT_TRUE(public_key.ok());
  ASSERT_TRUE(private_key.ok());
  expectRejected(verify(forged, *public_key, defaultOptions()), "algorithm not allowed");
  expectRejected(verify(forged, *private_key, defaultOptions()), "algorithm not allowed");

  // The same HMAC under a header that claims RS256 is just a wrong signature.
  const std::string payload = json::serialize(json::object{{"sub", "admin"}, {"exp", kNow + 60}});
  expectRejected(verify(handToken(R"({"alg":"RS256","typ":"JWT"})", payload, public_pem),
                        *public_key, defaultOptions()),
                 "signature does not match");
}

TEST(JwtTest, RejectsCriticalHeadersAndBadKid) {
  const std::string payload = json::serialize(json::object{{"exp", kNow + 60}});
  expectRejected(verify(handToken(R"({"alg":"HS256","crit":["b64"],"b64":false})", payload),
                        hsKey(), defaultOptions()),
                 "unsupported critical header");
  expectRejected(verify(handToken(R"({"alg":"HS256","kid":7})", payload), hsKey(), {}),
                 "malformed token header");
  expectRejected(verify(handToken(R"({"alg":"HS256","typ":1})", payload), hsKey(), {}),
                 "malformed token header");
}

// ---- time claims ---------------------------------------------------------------------------

TEST(JwtTest, RejectsExpiredTokens) {
  Claims claims = basicClaims();
  claims.exp = kNow - 3600;
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), defaultOptions()), "token expired");
}

TEST(JwtTest, RejectsTokensNotYetValid) {
  Claims claims = basicClaims();
  claims.nbf = kNow + 600;
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), defaultOptions()),
                 "token not yet valid");
  claims.nbf = 0;
  claims.iat = kNow + 86400;
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), defaultOptions()),
                 "token issued in the future");
}

TEST(JwtTest, LeewayAppliesToExpNbfAndIat) {
  Claims claims = basicClaims();
  VerifyOptions options = defaultOptions();
  options.leeway_seconds = 30;

  claims.exp = kNow - 29; // expired 29 s ago: within the leeway
  EXPECT_TRUE(verify(signOrDie(hsKey(), claims), hsKey(), options).ok());
  claims.exp = kNow - 30; // exactly at the edge: valid only before exp + leeway
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), options), "token expired");

  claims.exp = kNow + 3600;
  claims.nbf = kNow + 30;
  claims.iat = kNow + 30;
  EXPECT_TRUE(verify(signOrDie(hsKey(), claims), hsKey(), options).ok());
  claims.nbf = kNow + 31;
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), options), "token not yet valid");

  options.leeway_seconds = 0;
  claims.nbf = 0;
  claims.iat = kNow;
  claims.exp = kNow;
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), options), "token expired");
  options.leeway_seconds = -100; // treated as 0
  claims.exp = kNow + 1;
  EXPECT_TRUE(verify(signOrDie(hsKey(), claims), hsKey(), options).ok());
}

TEST(JwtTest, ExpIsRequiredUnlessDisabled) {
  Claims claims = basicClaims();
  claims.exp = 0;
  const std::string token = signOrDie(hsKey(), claims);
  expectRejected(verify(token, hsKey(), defaultOptions()), "token has no expiry");
  VerifyOptions options = defaultOptions();
  options.require_exp = false;
  EXPECT_TRUE(verify(token, hsKey(), options).ok());
}

TEST(JwtTest, UsesTheCurrentTimeWhenNowIsZero) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  Claims claims = basicClaims();
  claims.iat = now;
  claims.exp = now + std::chrono::duration_cast<std::chrono::seconds>(kDefaultLifetime).count();
  VerifyOptions options = defaultOptions();
  options.now = 0;
  EXPECT_TRUE(verify(signOrDie(hsKey(), claims), hsKey(), options).ok());
  claims.exp = now - 3600;
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), options), "token expired");
}

TEST(JwtTest, NumericClaimsMustBeIntegralNumbers) {
  const auto token = [](std::string_view payload) {
    return handToken(R"({"alg":"HS256","typ":"JWT"})", payload);
  };
  const VerifyOptions options{.now = kNow};
  expectRejected(verify(token(R"({"exp":"1760000000"})"), hsKey(), options), "invalid 'exp' claim");
  expectRejected(verify(token(R"({"exp":1760000000.5})"), hsKey(), options), "invalid 'exp' claim");
  expectRejected(verify(token(R"({"exp":true})"), hsKey(), options), "invalid 'exp' claim");
  expectRejected(verify(token(R"({"exp":null})"), hsKey(), options), "invalid 'exp' claim");
  expectRejected(verify(token(R"({"exp":1e300})"), hsKey(), options), "invalid 'exp' claim");
  expectRejected(verify(token(R"({"exp":18446744073709551615})"), hsKey(), options),
                 "invalid 'exp' claim");
  expectRejected(verify(token(R"({"exp":1760000000,"nbf":"0"})"), hsKey(), options),
                 "invalid 'nbf' claim");
  expectRejected(verify(token(R"({"exp":1760000000,"iat":[1]})"), hsKey(), options),
                 "invalid 'iat' claim");
  // An integral double is a number like any other; a huge exp does not overflow.
  auto verified = verify(token(R"({"exp":1.76e9})"), hsKey(), options);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->exp, 1'760'000'000);
  EXPECT_TRUE(verify(token(R"({"exp":9223372036854775807})"), hsKey(), options).ok());
  expectRejected(verify(token(R"({"exp":-9223372036854775808})"), hsKey(), options),
                 "token expired");
}

TEST(JwtTest, StringClaimsMustBeStrings) {
  const auto token = [](std::string_view payload) {
    return handToken(R"({"alg":"HS256"})", payload);
  };
  const VerifyOptions options{.now = kNow};
  expectRejected(verify(token(R"({"exp":1760000000,"sub":1})"), hsKey(), options),
                 "invalid 'sub' claim");
  expectRejected(verify(token(R"({"exp":1760000000,"iss":null})"), hsKey(), options),
                 "invalid 'iss' claim");
  expectRejected(verify(token(R"({"exp":1760000000,"jti":{}})"), hsKey(), options),
                 "invalid 'jti' claim");
  expectRejected(verify(token(R"({"exp":1760000000,"aud":7})"), hsKey(), options),
                 "invalid 'aud' claim");
  expectRejected(verify(token(R"({"exp":1760000000,"aud":["a",7]})"), hsKey(), options),
                 "invalid 'aud' claim");
}

// ---- issuer and audience -------------------------------------------------------------------

TEST(JwtTest, RejectsWrongAudience) {
  Claims claims = basicClaims();
  claims.aud = {"someone-else", "another"};
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), defaultOptions()), "wrong audience");
  // One match among several accepted audiences is enough.
  VerifyOptions options = defaultOptions();
  options.audiences = {"x", "another"};
  EXPECT_TRUE(verify(signOrDie(hsKey(), claims), hsKey(), options).ok());
}

TEST(JwtTest, RejectsMissingAudienceWhenRequired) {
  Claims claims = basicClaims();
  claims.aud.clear();
  const std::string token = signOrDie(hsKey(), claims);
  expectRejected(verify(token, hsKey(), defaultOptions()), "missing audience");
  VerifyOptions options = defaultOptions();
  options.audiences.clear();
  EXPECT_TRUE(verify(token, hsKey(), options).ok());
}

TEST(JwtTest, RejectsWrongIssuer) {
  Claims claims = basicClaims();
  claims.iss = "evil";
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), defaultOptions()), "wrong issuer");
  claims.iss.clear();
  expectRejected(verify(signOrDie(hsKey(), claims), hsKey(), defaultOptions()), "missing issuer");
}

// ---- tampering and malformed tokens --------------------------------------------------------

TEST(JwtTest, RejectsTamperedPayload) {
  const std::string token = signOrDie(hsKey(), basicClaims());
  auto parts = segments(token);
  Claims admin = basicClaims();
  admin.sub = "admin@example.com";
  admin.extra["is_admin"] = true;
  parts[1] = segments(signOrDie(hsKey("other"), admin))[1]; // a valid payload segment
  expectRejected(verify(parts[0] + "." + parts[1] + "." + parts[2], hsKey(), defaultOptions()),
                 "signature does not match");
}

TEST(JwtTest, RejectsTamperedSignature) {
  for (const bool rsa : {false, true}) {
    auto key = rsa ? JwtKey::rs256PrivatePem(rsaA().private_pem) : JwtKey::hs256(kSecret);
    ASSERT_TRUE(key.ok());
    const std::string token = signOrDie(*key, basicClaims());
    auto parts = segments(token);
    std::string signature = base64UrlDecode(parts[2]).value();
    signature[signature.size() / 2] ^= 0x01;
    expectRejected(verify(parts[0] + "." + parts[1] + "." + b64(signature), *key, defaultOptions()),
                   "signature does not match");
    signature.pop_back();
    expectRejected(verify(parts[0] + "." + parts[1] + "." + b64(signature), *key, defaultOptions()),
                   "signature does not match");
    expectRejected(verify(parts[0] + "." + parts[1] + ".", *key, defaultOptions()),
                   "signature does not match");
    // A non-canonical spelling of the same signature (non-zero unused bits) is malformed.
    std::string last = parts[2];
    const auto index =
        std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            .find(last.back());
    last.back() = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[index ^ 1];
    expectRejected(verify(parts[0] + "." + parts[1] + "." + last, *key, defaultOptions()),
                   "malformed token");
  }
}

TEST(JwtTest, RejectsMalformedTokens) {
  const std::string token = signOrDie(hsKey(), basicClaims());
  const auto parts = segments(token);
  const VerifyOptions options = defaultOptions();
  expectRejected(verify("", hsKey(), options), "malformed token");
  // Cut in the payload (two segments left), and cut in the signature.
  expectRejected(verify(token.substr(0, token.size() / 2), hsKey(), options), "malformed token");
  for (std::size_t cut = 1; cut <= 8; ++cut) {
    const auto result = verify(token.substr(0, token.size() - cut), hsKey(), options);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, core::Errc::kUnauthorized);
  }
  expectRejected(verify(parts[0] + "." + parts[1], hsKey(), options), "malformed token");
  expectRejected(verify(parts[0], hsKey(), options), "malformed token");
  expectRejected(verify(token + ".", hsKey(), options), "malformed token");
  expectRejected(verify(token + "." + parts[2], hsKey(), options), "malformed token");
  expectRejected(verify("..", hsKey(), options), "malformed token header");
  expectRejected(verify("@@@.###.$$$", hsKey(), options), "malformed token");
  expectRejected(verify(parts[0] + "=." + parts[1] + "." + parts[2], hsKey(), options),
                 "malformed token");
  expectRejected(verify(parts[0] + ".a+b/." + parts[2], hsKey(), options), "malformed token");
  expectRejected(verify(parts[0] + "." + parts[1] + "." + parts[2] + "=", hsKey(), options),
                 "malformed token");
  expectRejected(verify(" " + token, hsKey(), options), "malformed token");
  expectRejected(verify(token + "\n", hsKey(), options), "malformed token");
  expectRejected(verify("Bearer " + token, hsKey(), options), "malformed token");
}

TEST(JwtTest, RejectsNonObjectHeaderOrPayload) {
  const std::string payload = json::serialize(json::object{{"exp", kNow + 60}});
  for (const char* header : {R"(["HS256"])", R"("HS256")", "null", "{", "{\"alg\":\"HS256\"} x"})
    expectRejected(verify(handToken(header, payload), hsKey(), {}), "malformed token header");
  // Validly signed, but the payload is not a JSON object.
  for (const char* body : {"[1,2]", "42", R"("sub")", "{\"exp\":1", "", "\xff\xfe"}) {
    expectRejected(verify(handToken(R"({"alg":"HS256"})", body), hsKey(), {}),
                   "malformed token payload");
  }
}

TEST(JwtTest, RejectsHugeTokens) {
  std::string huge = signOrDie(hsKey(), basicClaims());
  huge.insert(huge.find('.') + 1, kMaxTokenBytes, 'A');
  expectRejected(verify(huge, hsKey(), defaultOptions()), "token too large");
  // sign() will not produce a token verify() would refuse.
  Claims claims = basicClaims();
  claims.extra["blob"] = std::string(kMaxTokenBytes, 'x');
  auto token = sign(hsKey(), claims);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, core::Errc::kInvalidParams);
}

// ---- keys ----------------------------------------------------------------------------------

TEST(JwtTest, KeyRotationByKid) {
  const std::vector<JwtKey> keys = {
      *JwtKey::hs256("old-secret-old-secret-old-secret-old", "2024"),
      *JwtKey::hs256("new-secret-new-secret-new-secret-new", "2025"),
      *JwtKey::rs256PublicPem(rsaA().public_pem, "rsa-2025"),
  };
  const Claims claims = basicClaims();
  for (const JwtKey& signer : {keys[0], keys[1]}) {
    auto verified = verify(signOrDie(signer, claims), keys, defaultOptions());
    EXPECT_TRUE(verified.ok()) << signer.kid();
  }
  auto rsa_signer = JwtKey::rs256PrivatePem(rsaA().private_pem, "rsa-2025");
  ASSERT_TRUE(rsa_signer.ok());
  EXPECT_TRUE(verify(signOrDie(*rsa_signer, claims), keys, defaultOptions()).ok());

  // A kid that no key has.
  auto stranger = JwtKey::hs256("new-secret-new-secret-new-secret-new", "2026");
  ASSERT_TRUE(stranger.ok());
  expectRejected(verify(signOrDie(*stranger, claims), keys, defaultOptions()), "unknown key id");
  // The right kid on the wrong algorithm's key.
  auto wrong_alg = JwtKey::hs256("new-secret-new-secret-new-secret-new", "rsa-2025");
  ASSERT_TRUE(wrong_alg.ok());
  expectRejected(verify(signOrDie(*wrong_alg, claims), keys, defaultOptions()), "unknown key id");
  // The kid selects the key: a token signed with the old secret but naming the new kid fails.
  auto liar = JwtKey::hs256("old-secret-old-secret-old-secret-old", "2025");
  ASSERT_TRUE(liar.ok());
  expectRejected(verify(signOrDie(*liar, claims), keys, defaultOptions()),
                 "signature does not match");
  // No kid: every key of the header's algorithm is tried.
  auto anonymous = JwtKey::hs256("old-secret-old-secret-old-secret-old");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_TRUE(verify(signOrDie(*anonymous, claims), keys, defaultOptions()).ok());
  // A key without a kid accepts a token whose kid no key has.
  const std::vector<JwtKey> plain = {*anonymous};
  EXPECT_TRUE(verify(signOrDie(keys[0], claims), plain, defaultOptions()).ok());
  // No keys at all.
  expectRejected(verify(signOrDie(keys[0], claims), std::span<const JwtKey>{}, defaultOptions()),
                 "algorithm not allowed");
}

TEST(JwtTest, RefusesShortHs256Secret) {
  auto key = JwtKey::hs256(std::string(31, 'k'));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::Errc::kInvalidParams);
  EXPECT_NE(key.error().message.find("at least 32 bytes"), std::string::npos)
      << key.error().message;
  EXPECT_FALSE(JwtKey::hs256("").ok());
  EXPECT_TRUE(JwtKey::hs256(std::string(32, 'k')).ok());
}

TEST(JwtTest, RefusesUnusableRsaKeys) {
  for (const std::string& pem :
       {std::string(), std::string("not a key"), rsaA().private_pem, std::string(kSecret)}) {
    auto key = JwtKey::rs256PublicPem(pem);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.error().code, core::Errc::kInvalidParams);
  }
  auto from_public = JwtKey::rs256PrivatePem(rsaA().public_pem);
  ASSERT_FALSE(from_public.ok());
  EXPECT_EQ(from_public.error().code, core::Errc::kInvalidParams);

  const RsaPem small = generateRsa(1024);
  auto weak = JwtKey::rs256PublicPem(small.public_pem);
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.error().message.find("2048"), std::string::npos) << weak.error().message;
  EXPECT_FALSE(JwtKey::rs256PrivatePem(small.private_pem).ok());

  // An EC key is not an RS256 key.
  std::unique_ptr<EVP_PKEY, PkeyFree> ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec);
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), ec.get()), 1);
  auto ec_key = JwtKey::rs256PublicPem(bioText(bio.get()));
  ASSERT_FALSE(ec_key.ok());
  EXPECT_EQ(ec_key.error().message, "RS256 key: not an RSA key");
}

TEST(JwtTest, PublicKeyCannotSignAndRegisteredClaimsStayOutOfExtra) {
  auto key = JwtKey::rs256PublicPem(rsaA().public_pem);
  ASSERT_TRUE(key.ok());
  auto token = sign(*key, basicClaims());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, core::Errc::kInvalidParams);

  Claims claims = basicClaims();
  claims.extra["exp"] = kNow + 999999;
  token = sign(hsKey(), claims);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, core::Errc::kInvalidParams);
}

TEST(JwtTest, LeavesTheOpenSslErrorQueueEmpty) {
  ERR_clear_error();
  auto public_key = JwtKey::rs256PublicPem(rsaA().public_pem);
  ASSERT_TRUE(public_key.ok());
  auto signer = JwtKey::rs256PrivatePem(rsaB().private_pem);
  ASSERT_TRUE(signer.ok());
  expectRejected(verify(signOrDie(*signer, basicClaims()), *public_key, defaultOptions()),
                 "signature does not match");
  EXPECT_FALSE(
      JwtKey::rs256PublicPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(JwtTest, KeysAreUsableFromSeveralThreads) {
  auto rsa_private = JwtKey::rs256PrivatePem(rsaA().private_pem);
  ASSERT_TRUE(rsa_private.ok());
  const JwtKey hs = hsKey();
  const JwtKey rsa = *rsa_private;
  const std::string hs_token = signOrDie(hs, basicClaims());
  const std::string rsa_token = signOrDie(rsa, basicClaims());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (!verify(hs_token, hs, defaultOptions()).ok()) ++failures[t];
        if (i % 10 == 0 && !verify(rsa_token, rsa, defaultOptions()).ok()) ++failures[t];
        if (!sign(hs, basicClaims()).ok()) ++failures[t];
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// ---- helpers -------------------------------------------------------------------------------

TEST(JwtBase64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64UrlEncode(""), "");
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  EXPECT_EQ(base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64UrlEncode("\xfb\xff\xbf"), "-_-_");
}

TEST(JwtBase64Test, DecodesStrictly) {
  EXPECT_EQ(base64UrlDecode("").value(), "");
  EXPECT_EQ(base64UrlDecode("Zm9vYmE").value(), "fooba");
  EXPECT_EQ(base64UrlDecode("-_-_").value(), "\xfb\xff\xbf");
  EXPECT_FALSE(base64UrlDecode("Zm9vYmE=")); // padding
  EXPECT_FALSE(base64UrlDecode("Zg=="));     // padding
  EXPECT_FALSE(base64UrlDecode("+/+/"));     // standard base64 alphabet
  EXPECT_FALSE(base64UrlDecode("Zm9vY"));    // 4n+1 characters
  EXPECT_FALSE(base64UrlDecode("Zm 9v"));    // whitespace
  EXPECT_FALSE(base64UrlDecode("Zh"));       // non-zero unused bits ("Zg" is canonical)
  EXPECT_FALSE(base64UrlDecode("Zm9"));      // non-zero unused bits ("Zm8" is canonical)
  EXPECT_FALSE(base64UrlDecode(std::string_view("Zg\0\0", 4)));
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  for (std::size_t length = 0; length <= all.size(); ++length)
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(all.substr(0, length))).value(),
              all.substr(0, length));
}

TEST(JwtBase64Test, RandomTokensAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string token = randomToken(32);
    EXPECT_EQ(token.size(), 43u);
    EXPECT_EQ(
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_EQ(base64UrlDecode(token)->size(), 32u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(randomToken(0), "");
}

} // namespace
} // namespace forge::auth
