#include "auth/password.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>
#include <vector>

namespace forge::auth {
namespace {

// sodium_init() selects CPU-specific code and must run before any other libsodium call. A
// function-local static runs it exactly once, and C++ makes that thread-safe.
bool sodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

struct Limits {
  unsigned long long ops;
  std::size_t mem;
};

Limits limitsFor(PasswordCost cost) {
  switch (cost) {
  case PasswordCost::kMinimum:
    return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
  case PasswordCost::kInteractive:
    break;
  }
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

// libsodium reads a hash as a NUL-terminated string in a crypto_pwhash_STRBYTES buffer; anything
// that does not fit, or hides a NUL, is not one of ours.
bool copyHash(std::string_view hash, char (&out)[crypto_pwhash_STRBYTES]) {
  if (hash.empty() || hash.size() >= sizeof(out) || hash.find('\0') != std::string_view::npos) {
    return false;
  }
  std::memset(out, 0, sizeof(out));
  std::memcpy(out, hash.data(), hash.size());
  return true;
}

std::size_t countCodePoints(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) {
    // UTF-8 continuation bytes are 10xxxxxx; every other byte starts a character.
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++count;
  }
  return count;
}

// Lowercase, uppercase, digit, other: how many of the four classes the password uses.
int countCharacterClasses(std::string_view text) {
  bool lower = false, upper = false, digit = false, other = false;
  for (const char c : text) {
    if (c >= 'a' && c <= 'z')
      lower = true;
    else if (c >= 'A' && c <= 'Z')
      upper = true;
    else if (c >= '0' && c <= '9')
      digit = true;
    else
      other = true;
  }
  return int{lower} + int{upper} + int{digit} + int{other};
}

} // namespace

core::Result<std::string> hashPassword(std::string_view password, PasswordCost cost) {
  if (password.size() > kMaxPasswordBytes) {
    return core::Error{core::Errc::kUnprocessable,
                       fmt::format("password is longer than {} bytes", kMaxPasswordBytes)};
  }
  if (!sodiumReady()) return core::Error{core::Errc::kInternal, "libsodium failed to initialise"};
  const Limits limits = limitsFor(cost);
  char out[crypto_pwhash_STRBYTES] = {};
  // Fails only when the memory limit cannot be allocated.
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.ops, limits.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::Error{core::Errc::kInternal, "out of memory while hashing a password"};
  }
  return std::string(out);
}

bool verifyPassword(std::string_view hash, std::string_view password) {
  char stored[crypto_pwhash_STRBYTES];
  if (password.size() > kMaxPasswordBytes || !copyHash(hash, stored) || !sodiumReady()) {
    return false;
  }
  return crypto_pwhash_str_verify(stored, password.data(), password.size()) == 0;
}

bool passwordNeedsRehash(std::string_view hash, PasswordCost cost) {
  char stored[crypto_pwhash_STRBYTES];
  if (!copyHash(hash, stored) || !sodiumReady()) return true;
  const Limits limits = limitsFor(cost);
  // The argon2id variant answers -1 for an argon2i or malformed string: both need a new hash.
  return crypto_pwhash_argon2id_str_needs_rehash(stored, limits.ops, limits.mem) != 0;
}

core::Status checkPasswordStrength(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return core::Error{core::Errc::kUnprocessable,
                       fmt::format("password is longer than {} bytes", kMaxPasswordBytes)};
  }
  std::vector<std::string> missing;
  if (countCodePoints(password) < kMinPasswordChars) {
    missing.push_back(fmt::format("at least {} characters", kMinPasswordChars));
  }
  if (countCharacterClasses(password) < 2) {
    missing.emplace_back("characters from at least two of: lowercase letters, uppercase "
                         "letters, digits, other symbols");
  }
  if (missing.empty()) return core::Ok{};
  return core::Error{core::Errc::kUnprocessable,
                     fmt::format("password is too weak: it needs {}", fmt::join(missing, " and "))};
}

} // namespace forge::auth
