// Assertions for conditions that Forge itself guarantees (never for client input):
//   FORGE_ASSERT(cond)          debug builds only;
//   FORGE_RELEASE_ASSERT(cond)  always; aborts with the location;
//   FORGE_BUG(msg)              logs an error and counts it (see core::bugCount()); does not abort.
#pragma once

#include <cstdint>
#include <string_view>

namespace forge::core {

[[noreturn]] void assertFailed(const char* expr, const char* file, int line);
void reportBug(std::string_view message, const char* file, int line);
std::uint64_t bugCount();

} // namespace forge::core

#define FORGE_RELEASE_ASSERT(cond)                                                                 \
  do {                                                                                             \
    if (!(cond)) ::forge::core::assertFailed(#cond, __FILE__, __LINE__);                           \
  } while (false)

#ifdef NDEBUG
#define FORGE_ASSERT(cond)                                                                         \
  do {                                                                                             \
  } while (false)
#else
#define FORGE_ASSERT(cond) FORGE_RELEASE_ASSERT(cond)
#endif

#define FORGE_BUG(msg) ::forge::core::reportBug((msg), __FILE__, __LINE__)
