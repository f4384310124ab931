#include "cli/server_list_format.h"

#include <gtest/gtest.h>

namespace forge::cli {
namespace {

using Words = std::vector<std::string>;

TEST(ServerListFormatTest, ParsesServersSkippingCommentsAndBlankLines) {
  const auto list = parseServerList("# name|enabled|upstreams|description\n"
                                    "\n"
                                    "all-fixture|true|fixture|Everything from the fixture\n"
                                    "   # indented comment\n"
                                    "disabled-one|false|fixture, extra|two upstreams\r\n"
                                    "  spaced  | YES | a ,b,,a |  padded  \n");
  EXPECT_TRUE(list.problems.empty());
  ASSERT_EQ(list.servers.size(), 3u);
  EXPECT_EQ(list.servers[0].line, 3u);
  EXPECT_EQ(list.servers[0].name, "all-fixture");
  EXPECT_TRUE(list.servers[0].enabled);
  EXPECT_EQ(list.servers[0].upstreams, (Words{"fixture"}));
  EXPECT_EQ(list.servers[0].description, "Everything from the fixture");
  EXPECT_EQ(list.servers[1].line, 5u);
  EXPECT_FALSE(list.servers[1].enabled);
  EXPECT_EQ(list.servers[1].upstreams, (Words{"fixture", "extra"}));
  EXPECT_EQ(list.servers[1].description, "two upstreams");
  EXPECT_EQ(list.servers[2].name, "spaced");
  EXPECT_TRUE(list.servers[2].enabled);
  EXPECT_EQ(list.servers[2].upstreams, (Words{"a", "b"})); // duplicates and empties dropped
  EXPECT_EQ(list.servers[2].description, "padded");
}

TEST(ServerListFormatTest, DescriptionIsOptionalAndMayContainTheSeparator) {
  const auto list = parseServerList("a|1|x\nb|0|y|pipes | in | here\n");
  ASSERT_TRUE(list.problems.empty());
  ASSERT_EQ(list.servers.size(), 2u);
  EXPECT_EQ(list.servers[0].description, "");
  EXPECT_EQ(list.servers[1].description, "pipes | in | here");
}

TEST(ServerListFormatTest, MalformedLinesAreReportedByLineAndTheOthersKept) {
  const auto list = parseServerList("good|true|fixture|ok\n"
                                    "just-a-name\n"
                                    "|true|fixture|no name\n"
                                    "bad-flag|maybe|fixture|x\n"
                                    "no-upstreams|true| , |x\n"
                                    "good|false|other|again\n"
                                    "last|no|fixture\n");
  ASSERT_EQ(list.servers.size(), 2u);
  EXPECT_EQ(list.servers[0].name, "good");
  EXPECT_EQ(list.servers[1].name, "last");
  ASSERT_EQ(list.problems.size(), 5u);
  EXPECT_EQ(list.problems[0].line, 2u);
  EXPECT_NE(list.problems[0].message.find("expected name|enabled|"), std::string::npos);
  EXPECT_EQ(list.problems[1].line, 3u);
  EXPECT_NE(list.problems[1].message.find("name"), std::string::npos);
  EXPECT_EQ(list.problems[2].line, 4u);
  EXPECT_NE(list.problems[2].message.find("'maybe'"), std::string::npos);
  EXPECT_EQ(list.problems[3].line, 5u);
  EXPECT_NE(list.problems[3].message.find("no upstreams"), std::string::npos);
  EXPECT_EQ(list.problems[4].line, 6u);
  EXPECT_NE(list.problems[4].message.find("already defined on line 1"), std::string::npos);
}

TEST(ServerListFormatTest, EmptyAndCommentOnlyFilesHaveNoServers) {
  EXPECT_TRUE(parseServerList("").servers.empty());
  const auto list = parseServerList("# nothing\n\n   \n");
  EXPECT_TRUE(list.servers.empty());
  EXPECT_TRUE(list.problems.empty());
}

TEST(ServerListFormatTest, EnabledAcceptsTheOriginalSpellings) {
  for (const char* yes : {"true", "TRUE", "yes", "Yes", "1", " true "})
    EXPECT_EQ(parseEnabled(yes), true) << yes;
  for (const char* no : {"false", "False", "no", "NO", "0"})
    EXPECT_EQ(parseEnabled(no), false) << no;
  for (const char* bad : {"", "on", "2", "truthy"})
    EXPECT_EQ(parseEnabled(bad), std::nullopt) << bad;
}

TEST(ServerListFormatTest, EveryToolOfUsesTheSeparator) {
  EXPECT_EQ(everyToolOf({"fixture", "extra"}, "__"), (Words{"fixture__*", "extra__*"}));
  EXPECT_EQ(everyToolOf({"github"}, "."), (Words{"github.*"}));
  EXPECT_TRUE(everyToolOf({}, "__").empty());
}

TEST(ServerListFormatTest, TellsStructuredFilesFromServerLists) {
  EXPECT_TRUE(looksStructured("gateways:\n  - name: x\n"));
  EXPECT_TRUE(looksStructured("# registered at start-up\n\nservers:\n  - name: x\n"));
  EXPECT_TRUE(looksStructured("servers :\n"));
  EXPECT_TRUE(looksStructured("  {\"servers\": []}"));
  EXPECT_TRUE(looksStructured("---\nservers: []\n"));
  EXPECT_FALSE(looksStructured("# servers: not this\nall|true|fixture|x\n"));
  EXPECT_FALSE(looksStructured("servers-all|true|fixture|x\n"));
  EXPECT_FALSE(looksStructured(""));
}

} // namespace
} // namespace forge::cli
