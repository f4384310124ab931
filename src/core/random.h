// Random identifiers from the kernel's CSPRNG (getrandom), for ids and tokens that must not be
// guessable.
#pragma once

#include <cstddef>
#include <string>

namespace forge::core {

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string randomHex(std::size_t bytes);

} // namespace forge::core
