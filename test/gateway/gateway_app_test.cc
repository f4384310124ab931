#include "gateway/gateway_app.h"

#include <gtest/gtest.h>

namespace forge::gateway {
namespace {

TEST(ExposedNameTest, PrefixesWithTheUpstream) {
  EXPECT_EQ(exposedName("everything", "echo", "__", true), "everything__echo");
  EXPECT_EQ(exposedName("everything", "echo", "__", false), "echo");
  EXPECT_EQ(exposedName("a", "b", ".", true), "a.b");
}

TEST(ExposedNameTest, LongNamesStayWithin64CharactersAndDistinct) {
  const std::string long_a(80, 'a');
  const std::string long_b = std::string(79, 'a') + "b";
  const auto a = exposedName("server", long_a, "__", true);
  const auto b = exposedName("server", long_b, "__", true);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(b.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("server__aaaa", 0), 0u);
  // Stable: the same input always gives the same name.
  EXPECT_EQ(a, exposedName("server", long_a, "__", true));
}

} // namespace
} // namespace forge::gateway
