// SecretBox: authenticated encryption for secrets Forge keeps at rest (upstream credentials in
// the database). AES-256-GCM with a key derived from the operator's AUTH_ENCRYPTION_SECRET.
//
// Sealed format, version 1:  "v1:" + base64url-without-padding(nonce || ciphertext || tag)
//   nonce       12 random bytes, fresh for every seal (so sealing twice never gives equal values)
//   ciphertext  as long as the plaintext
//   tag         16 bytes; the "v1:" prefix is authenticated with it as additional data
// The version prefix makes values self-describing: a later key rotation or algorithm change adds
// "v2:" and can still open (and re-seal) every "v1:" value. Random 96-bit nonces are safe for
// about 2^32 seals under one key, far more credentials than a gateway stores.
#pragma once

#include "core/error.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace forge::auth {

// The shortest AUTH_ENCRYPTION_SECRET accepted, in bytes.
inline constexpr std::size_t kMinEncryptionSecretBytes = 32;

class SecretBox {
public:
  // key = HKDF-SHA256(ikm = secret, salt = a fixed Forge constant, info = purpose), 32 bytes.
  // Distinct purposes give unrelated keys, so one secret can serve several kinds of value.
  // Errors: kInvalidParams for a secret shorter than kMinEncryptionSecretBytes; kInternal if
  // OpenSSL cannot derive the key.
  static core::Result<SecretBox> fromSecret(std::string_view secret,
                                            std::string_view purpose = "forge-credentials");

  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  ~SecretBox(); // wipes the key

  // The sealed form of plaintext (any bytes, any length). Cannot fail short of a broken
  // OpenSSL (no randomness, no memory), in which case the process aborts rather than store a
  // value it could not protect.
  std::string seal(std::string_view plaintext) const;

  // The plaintext of a value seal() produced with the same secret and purpose. Every failure
  // (not "v1:", bad base64url, too short, tag mismatch) is kInternal "cannot decrypt: wrong
  // AUTH_ENCRYPTION_SECRET or damaged value": nothing about the value is revealed.
  core::Result<std::string> open(std::string_view sealed) const;

private:
  static constexpr std::size_t kKeyBytes = 32;
  explicit SecretBox(const std::array<unsigned char, kKeyBytes>& key) : key_(key) {}

  std::array<unsigned char, kKeyBytes> key_;
};

// True if value has the shape of a sealed value ("v1:", valid base64url, long enough for nonce
// and tag): tells sealed values from plaintext ones, e.g. while migrating a database. Says
// nothing about whether it opens.
bool isSealed(std::string_view value);

} // namespace forge::auth
