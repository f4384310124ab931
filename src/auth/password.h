// Password hashing for local accounts: argon2id (libsodium) in the PHC string format, e.g.
// "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>". The string carries its own salt and cost, so
// it is all a database needs to store, and a cost change shows up in passwordNeedsRehash().
#pragma once

#include "core/error.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace forge::auth {

// How much work one hash costs.
enum class PasswordCost {
  kInteractive, // libsodium's OPSLIMIT/MEMLIMIT_INTERACTIVE: 2 passes over 64 MiB; production
  kMinimum,     // OPSLIMIT/MEMLIMIT_MIN: 1 pass over 8 KiB; tests only, never for real accounts
};

// Longer passwords are refused before hashing: argon2 accepts any length, but hashing megabytes
// per login attempt would be a cheap way to burn our CPU.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// The shortest password checkPasswordStrength() accepts, in characters (UTF-8 code points).
inline constexpr std::size_t kMinPasswordChars = 12;

// A fresh PHC string for password, with a random salt: hashing the same password twice gives two
// different strings. Errors: kUnprocessable for a password over kMaxPasswordBytes, kInternal if
// libsodium cannot start or cannot allocate the memory the cost asks for.
core::Result<std::string> hashPassword(std::string_view password,
                                       PasswordCost cost = PasswordCost::kInteractive);

// True if password matches hash (constant time in libsodium). False for a wrong password, for a
// hash that is not a well-formed argon2 PHC string, and for a password over kMaxPasswordBytes.
// Costs what the hash's parameters say (tens of milliseconds and 64 MiB at kInteractive), like
// hashPassword(): call both off the I/O threads.
bool verifyPassword(std::string_view hash, std::string_view password);

// True if hash was not made by hashPassword(_, cost) with today's parameters (another cost,
// argon2i rather than argon2id, or not a PHC string at all): after a successful verifyPassword()
// the caller should store hashPassword(password, cost) in its place. Reads the algorithm and
// parameters only; whether the hash bytes are intact is verifyPassword()'s business.
bool passwordNeedsRehash(std::string_view hash, PasswordCost cost = PasswordCost::kInteractive);

// The rules for a new password, deliberately few (length matters far more than composition):
//   - at least kMinPasswordChars characters and at most kMaxPasswordBytes bytes;
//   - characters from at least two of the classes: lowercase letters, uppercase letters, digits,
//     everything else (punctuation, spaces, non-ASCII).
// Errors: kUnprocessable with a message naming every rule the password breaks (never the
// password itself).
core::Status checkPasswordStrength(std::string_view password);

} // namespace forge::auth
