// services.yml: the example shipped beside the binary loads, and its stack is what it says.
#include "config/config.h"
#include "manager/service_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace forge::manager {
namespace {

const ServiceConfig* named(const ManagerOptions& options, const std::string& name) {
  const auto it = std::find_if(options.services.begin(), options.services.end(),
                               [&](const ServiceConfig& s) { return s.name == name; });
  return it == options.services.end() ? nullptr : &*it;
}

TEST(ServiceConfigTest, TheExampleStackLoads) {
  config::LoadOptions load;
  load.config_path = std::string(FORGE_SOURCE_DIR) + "/services.example.yml";
  const auto options = managerOptions(config::load(managerSchema(), load));
  ASSERT_EQ(options.services.size(), 4u);
  const auto* gateway = named(options, "gateway");
  ASSERT_TRUE(gateway);
  EXPECT_TRUE(gateway->shared_port);
  EXPECT_EQ(gateway->replicas, 2);
  EXPECT_EQ(gateway->host, "127.0.0.1");
  const auto* everything = named(options, "everything");
  ASSERT_TRUE(everything);
  EXPECT_TRUE(everything->sleep.enabled);
  EXPECT_EQ(everything->memory_limit, 512u * 1024 * 1024);
  for (const char* optional : {"redis", "postgres"}) {
    const auto* s = named(options, optional);
    ASSERT_TRUE(s) << optional;
    EXPECT_FALSE(s->auto_start) << optional;
    EXPECT_EQ(s->health.type, "tcp") << optional;
  }
  const auto argv = replicaCommand(*named(options, "postgres"), 0, "/srv/forge");
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_NE(argv[2].find("-p 5432"), std::string::npos) << argv[2];
  EXPECT_NE(argv[2].find("-D /srv/forge/postgres"), std::string::npos) << argv[2];
}

// The blue-green front forwards plain HTTP: colours serving TLS are refused at load, saying how.
TEST(ServiceConfigTest, ABlueGreenPairServingTlsIsRefusedWithWhatToDo) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("forge-bluegreen-tls-" + std::to_string(::getpid()) + ".yml");
  std::ofstream(path) << "bluegreen:\n  port: 8000\n  blue: blue\n  green: green\n"
                         "services:\n"
                         "  - name: blue\n    command: [forge, gateway]\n    port: 8001\n"
                         "    health: {scheme: https}\n"
                         "  - name: green\n    command: [forge, gateway]\n    port: 8002\n";
  config::LoadOptions load;
  load.config_path = path.string();
  try {
    (void)managerOptions(config::load(managerSchema(), load));
    ADD_FAILURE() << "a TLS colour behind the plain-HTTP front was accepted";
  } catch (const config::ConfigError& error) {
    ASSERT_EQ(error.problems().size(), 1u) << error.what();
    EXPECT_NE(error.problems()[0].find("bluegreen service blue serves TLS"), std::string::npos)
        << error.problems()[0];
    EXPECT_NE(error.problems()[0].find("terminate TLS in front of bluegreen.port"),
              std::string::npos);
  }
  std::filesystem::remove(path);
}

} // namespace
} // namespace forge::manager
