#include "core/assert.h"

#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace forge::core {
namespace {
std::atomic<std::uint64_t> g_bugs{0};
}

void assertFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "forge: assertion failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

void reportBug(std::string_view message, const char* file, int line) {
  g_bugs.fetch_add(1, std::memory_order_relaxed);
  log::error("bug: {} at {}:{}", message, file, line);
}

std::uint64_t bugCount() { return g_bugs.load(std::memory_order_relaxed); }

} // namespace forge::core
