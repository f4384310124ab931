#include "auth/secret_box.h"

#include "core/assert.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <optional>

namespace forge::auth {
namespace {

constexpr std::string_view kPrefix = "v1:";
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
// HKDF's salt only separates Forge's keys from any other use of the same secret; it need not be
// secret or random (RFC 5869, section 3.1). Changing it would orphan every sealed value.
constexpr std::string_view kHkdfSalt = "forge.secret-box.v1";
// EVP_*Update take int lengths; longer inputs go in pieces of this size.
constexpr std::size_t kChunkBytes = std::size_t{1} << 30;
constexpr int kBase64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

constexpr const char* kCannotDecrypt =
    "cannot decrypt: wrong AUTH_ENCRYPTION_SECRET or damaged value";

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OSSL_PARAM wants mutable pointers even for inputs it only reads.
OSSL_PARAM octets(const char* name, std::string_view value) {
  return OSSL_PARAM_construct_octet_string(name, const_cast<char*>(value.data()), value.size());
}

bool hkdfSha256(std::string_view secret, std::string_view purpose, unsigned char* out,
                std::size_t out_len) {
  const std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return false;
  const std::unique_ptr<EVP_KDF_CTX, KdfFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return false;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      octets(OSSL_KDF_PARAM_KEY, secret),
      octets(OSSL_KDF_PARAM_SALT, kHkdfSalt),
      octets(OSSL_KDF_PARAM_INFO, purpose),
      OSSL_PARAM_construct_end(),
  };
  return EVP_KDF_derive(ctx.get(), out, out_len, params) == 1;
}

// Feeds in to EVP_{En,De}cryptUpdate (whichever update is) in int-sized pieces; out receives as
// many bytes as in has (GCM is a stream mode).
template <class Update>
bool updateAll(EVP_CIPHER_CTX* ctx, Update update, const unsigned char* in, std::size_t size,
               unsigned char* out) {
  while (size > 0) {
    const std::size_t chunk = std::min(size, kChunkBytes);
    int written = 0;
    if (update(ctx, out, &written, in, static_cast<int>(chunk)) != 1) return false;
    in += chunk;
    out += chunk;
    size -= chunk;
  }
  return true;
}

std::string base64url(std::string& raw) {
  std::string text(sodium_base64_ENCODED_LEN(raw.size(), kBase64), '\0');
  sodium_bin2base64(text.data(), text.size(), bytes(raw), raw.size(), kBase64);
  text.pop_back(); // the NUL terminator libsodium writes
  return text;
}

// The nonce || ciphertext || tag bytes of a sealed value, or nothing if it is not one. The
// libsodium codec functions are pure and need no sodium_init().
std::optional<std::string> decodeSealed(std::string_view sealed) {
  if (!sealed.starts_with(kPrefix)) return std::nullopt;
  sealed.remove_prefix(kPrefix.size());
  std::string raw(sealed.size() * 3 / 4 + 1, '\0');
  std::size_t raw_len = 0;
  // With no end pointer, anything but a complete, canonical base64url text is an error.
  if (sodium_base642bin(bytes(raw), raw.size(), sealed.data(), sealed.size(), nullptr, &raw_len,
                        nullptr, kBase64) != 0 ||
      raw_len < kNonceBytes + kTagBytes) {
    return std::nullopt;
  }
  raw.resize(raw_len);
  return raw;
}

} // namespace

core::Result<SecretBox> SecretBox::fromSecret(std::string_view secret, std::string_view purpose) {
  if (secret.size() < kMinEncryptionSecretBytes) {
    return core::Error{core::Errc::kInvalidParams,
                       "AUTH_ENCRYPTION_SECRET must be at least 32 characters"};
  }
  std::array<unsigned char, kKeyBytes> key{};
  const bool derived = hkdfSha256(secret, purpose, key.data(), key.size());
  SecretBox box(key);
  OPENSSL_cleanse(key.data(), key.size());
  if (!derived) return core::Error{core::Errc::kInternal, "cannot derive the encryption key"};
  return box;
}

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string SecretBox::seal(std::string_view plaintext) const {
  std::string raw(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  unsigned char* const nonce = bytes(raw);
  unsigned char* const body = nonce + kNonceBytes;
  unsigned char* const tag = body + plaintext.size();
  // Every failure below means OpenSSL has no randomness or no memory. Carrying on could reuse a
  // nonce or store a value unprotected; neither is acceptable for credentials.
  FORGE_RELEASE_ASSERT(RAND_bytes(nonce, kNonceBytes) == 1);
  const CipherCtx ctx(EVP_CIPHER_CTX_new());
  FORGE_RELEASE_ASSERT(ctx != nullptr);
  int written = 0;
  const bool sealed =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &written, bytes(kPrefix),
                        static_cast<int>(kPrefix.size())) == 1 &&
      updateAll(ctx.get(), EVP_EncryptUpdate, bytes(plaintext), plaintext.size(), body) &&
      EVP_EncryptFinal_ex(ctx.get(), tag, &written) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
  FORGE_RELEASE_ASSERT(sealed);
  return std::string(kPrefix) + base64url(raw);
}

core::Result<std::string> SecretBox::open(std::string_view sealed) const {
  std::optional<std::string> raw = decodeSealed(sealed);
  if (!raw) return core::Error{core::Errc::kInternal, kCannotDecrypt};
  unsigned char* const nonce = bytes(*raw);
  unsigned char* const body = nonce + kNonceBytes;
  const std::size_t body_size = raw->size() - kNonceBytes - kTagBytes;
  unsigned char* const tag = body + body_size;

  std::string plaintext(body_size, '\0');
  const CipherCtx ctx(EVP_CIPHER_CTX_new());
  int written = 0;
  const bool opened =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &written, bytes(kPrefix),
                        static_cast<int>(kPrefix.size())) == 1 &&
      updateAll(ctx.get(), EVP_DecryptUpdate, body, body_size, bytes(plaintext)) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), bytes(plaintext) + body_size, &written) == 1;
  if (!opened) {
    // GCM decrypts before it checks the tag: wipe the unauthenticated bytes, never return them.
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return core::Error{core::Errc::kInternal, kCannotDecrypt};
  }
  return plaintext;
}

bool isSealed(std::string_view value) { return decodeSealed(value).has_value(); }

} // namespace forge::auth
