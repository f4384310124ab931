#include "catalog/catalog.h"

#include <gtest/gtest.h>

namespace forge::catalog {
namespace {

TEST(GlobTest, MatchesShellStylePatterns) {
  EXPECT_TRUE(globMatch("fixture__*", "fixture__add"));
  EXPECT_TRUE(globMatch("*__add", "fixture__add"));
  EXPECT_TRUE(globMatch("fix?ure__a*d", "fixture__add"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(globMatch("fixture__*", "other__add"));
  EXPECT_FALSE(globMatch("a*b*c", "aXXbYY"));
  EXPECT_FALSE(globMatch("?", ""));
}

TEST(SelectorTest, MatchesByIdExposedOrOriginalNameOrPattern) {
  EXPECT_TRUE(selectorMatches("abc123", "abc123", "gw__add", "add"));
  EXPECT_TRUE(selectorMatches("gw__add", "abc123", "gw__add", "add"));
  EXPECT_TRUE(selectorMatches("add", "abc123", "gw__add", "add"));
  EXPECT_TRUE(selectorMatches("gw__*", "abc123", "gw__add", "add"));
  EXPECT_FALSE(selectorMatches("gw__echo", "abc123", "gw__add", "add"));
  EXPECT_FALSE(selectorMatches("", "", "gw__add", "add"));
  // A pattern is matched against the exposed name only: "a*" must not pick every gw__ tool.
  EXPECT_FALSE(selectorMatches("a*", "abc123", "gw__add", "add"));
}

TEST(UpstreamConfigTest, StoredGatewayBecomesAnUpstreamNamedBySlug) {
  storage::GatewayRecord record;
  record.name = "My Server";
  record.slug = "my-server";
  record.transport = "streamable-http";
  record.url = "http://127.0.0.1:9/mcp";
  record.headers = {{"Authorization", "Bearer x"}};
  record.session_mode = "per-client";
  record.call_timeout_ms = 1500;
  record.max_concurrency = 0;
  upstream::UpstreamConfig defaults;
  defaults.restart_max = std::chrono::milliseconds(1234);
  const auto config = upstreamConfigOf(record, defaults);
  EXPECT_EQ(config.name, "my-server");
  EXPECT_EQ(config.url, record.url);
  EXPECT_EQ(config.headers.at("Authorization"), "Bearer x");
  EXPECT_TRUE(config.per_client_sessions);
  EXPECT_EQ(config.call_timeout.count(), 1500);
  EXPECT_EQ(config.max_concurrency, 1u); // never 0: nothing could run
  EXPECT_EQ(config.restart_max.count(), 1234);

  upstream::UpstreamConfig yaml;
  yaml.name = "fixture";
  yaml.command = "/bin/fixture";
  yaml.args = {"--stdio"};
  const auto seeded = gatewayRecordOf(yaml);
  EXPECT_EQ(seeded.slug, "fixture");
  EXPECT_EQ(seeded.source, "config");
  EXPECT_EQ(seeded.args, yaml.args);
}

} // namespace
} // namespace forge::catalog
