// forge.yaml's upstreams as the gateway reads them: the OAuth block.
#include "server/gateway_config.h"

#include "storage/backends.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

namespace forge::server {
namespace {

// Loads `yaml` as forge.yaml and returns the gateway's options (throws ConfigError).
GatewayOptions optionsFrom(const std::string& yaml) {
  const std::string path = test::makeTempDir() + "/forge.yaml";
  std::ofstream(path) << yaml;
  config::LoadOptions load;
  load.config_path = path;
  return gatewayOptions(config::load(gatewaySchema(), load));
}

std::vector<std::string> problemsOf(const std::string& yaml) {
  try {
    optionsFrom(yaml);
  } catch (const config::ConfigError& error) {
    return error.problems();
  }
  return {};
}

TEST(GatewayConfigTest, ReadsAnUpstreamsOAuthBlock) {
  const auto options = optionsFrom(R"(upstreams:
  - name: api
    transport: streamable-http
    url: http://127.0.0.1:9/mcp
    oauth:
      token_url: http://127.0.0.1:9/oauth/token
      client_id: forge
      client_secret: yaml-secret-1
      scope: read write
      audience: https://api.example
  - name: plain
    transport: sse
    url: http://127.0.0.1:9/sse
)");
  ASSERT_EQ(options.upstreams.size(), 2u);
  const auto& oauth = options.upstreams[0].oauth;
  ASSERT_TRUE(oauth.has_value());
  EXPECT_EQ(oauth->token_url, "http://127.0.0.1:9/oauth/token");
  EXPECT_EQ(oauth->client_id, "forge");
  EXPECT_EQ(oauth->client_secret.reveal(), "yaml-secret-1");
  EXPECT_EQ(oauth->scope, "read write");
  EXPECT_EQ(oauth->audience, "https://api.example");
  EXPECT_FALSE(options.upstreams[1].oauth.has_value());
}

TEST(GatewayConfigTest, OAuthProblemsNameTheUpstreamAndNeverTheSecret) {
  const auto problems = problemsOf(R"(upstreams:
  - name: api
    transport: stdio
    command: run
    oauth:
      token_url: ftp://x
      client_secret: yaml-secret-2
      grant_type: password
      scopez: x
)");
  ASSERT_EQ(problems.size(), 5u);
  for (const auto& problem : problems) {
    EXPECT_NE(problem.find("'upstreams[0].oauth'"), std::string::npos) << problem;
    EXPECT_EQ(problem.find("yaml-secret-2"), std::string::npos) << problem;
  }
  const auto has = [&](const std::string& needle) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(needle) != std::string::npos; });
  };
  EXPECT_TRUE(has("grant_type must be client_credentials"));
  EXPECT_TRUE(has("unknown key 'scopez'"));
  EXPECT_TRUE(has("'token_url' must be an http:// or https:// URL"));
  EXPECT_TRUE(has("'client_id' is required"));
  EXPECT_TRUE(has("OAuth needs an HTTP transport"));
}

} // namespace
} // namespace forge::server
