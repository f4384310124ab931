#include "cli/split_command.h"

#include <gtest/gtest.h>

namespace forge::cli {
namespace {

using Words = std::vector<std::string>;

TEST(SplitCommandTest, SplitsLikeAShell) {
  EXPECT_EQ(splitCommand("npx -y server"), (Words{"npx", "-y", "server"}));
  EXPECT_EQ(splitCommand("  node   'my server.js'  --x \"a b\" "),
            (Words{"node", "my server.js", "--x", "a b"}));
  EXPECT_EQ(splitCommand(R"(echo a\ b "" c)"), (Words{"echo", "a b", "", "c"}));
  EXPECT_TRUE(splitCommand("   ").empty());
}

} // namespace
} // namespace forge::cli
