// `forge autoscale` against a real `forge manager`: a service whose processes keep a core busy
// is scaled up, an idle one with two replicas is scaled down, and the decisions are recorded.
#include "support/api_client.h"
#include "support/child_process.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace forge::test {
namespace {

using namespace std::chrono_literals;

TEST(AutoscaleProcessTest, ScalesABusyServiceUpAndAnIdleOneDownAndRecordsWhy) {
  const auto dir = freshTestDir("forge-autoscale");
  const auto data = (dir / "data").string();
  // Four busy loops in one replica's process group: well above a 1 % target even on a machine
  // whose cores are shared with other work.
  std::ofstream(dir / "services.yml") << "manager:\n"
                                         "  port: 0\n"
                                         "services:\n"
                                         "  - name: busy\n"
                                         "    command: [/bin/sh, -c, \"for i in 1 2 3 4; do (while "
                                         ":; do :; done) & done; wait\"]\n"
                                         "    stop_grace: 1s\n"
                                         "  - name: idle\n"
                                         "    command: [/bin/sleep, \"300\"]\n"
                                         "    replicas: 2\n"
                                         "    stop_grace: 1s\n";
  ChildProcess manager(
      {FORGE_BINARY, "manager", "--config", (dir / "services.yml").string(), "--data-dir", data},
      {"AUTH_REQUIRED=false"}, dir.string());
  auto line = manager.waitForLine("manager listening on http://127.0.0.1:", 15s);
  ASSERT_TRUE(line) << manager.err();
  const auto port =
      static_cast<std::uint16_t>(std::stoi(line->substr(line->find("127.0.0.1:") + 10)));
  const std::vector<std::string> env{fmt::format("FORGE_MANAGER_URL=http://127.0.0.1:{}", port),
                                     "FORGE_TOKEN=unused-with-auth-off"};
  auto forge = [&](std::vector<std::string> args) {
    args.insert(args.begin(), FORGE_BINARY);
    args.insert(args.end(), {"--data-dir", data});
    return runCommand(args, env, dir.string(), 60s);
  };

  auto refused = forge({"autoscale", "policy", "busy", "--min", "3", "--max", "2"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("max"), std::string::npos) << refused.err;
  auto unknown = forge({"autoscale", "policy", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no service named nope"), std::string::npos) << unknown.err;

  ASSERT_EQ(forge({"autoscale", "policy", "busy", "--min", "1", "--max", "2", "--target-cpu", "1",
                   "--scale-down-below", "0.5"})
                .exit_code,
            0);
  ASSERT_EQ(forge({"autoscale", "policy", "idle", "--min", "1", "--max", "3", "--target-cpu", "50",
                   "--scale-down-below", "25"})
                .exit_code,
            0);
  auto run = forge({"autoscale", "run", "--interval", "1", "--count", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("busy: 1 -> 2 replicas"), std::string::npos) << run.out << run.err;
  EXPECT_NE(run.out.find("idle: 2 -> 1 replicas"), std::string::npos) << run.out << run.err;

  EXPECT_TRUE(eventually([&] {
    return parse(request(port, "GET", "/services/busy").body).at("replicas_desired") == 2 &&
           parse(request(port, "GET", "/services/idle").body).at("replicas_desired") == 1;
  }));
  auto events = forge({"autoscale", "events", "--json"});
  ASSERT_EQ(events.exit_code, 0) << events.err;
  const auto list = parse(events.out);
  ASSERT_TRUE(list.is_array()) << events.out;
  ASSERT_EQ(list.as_array().size(), 2u) << events.out;
  auto busy = findBy(list, "service", "busy");
  EXPECT_EQ(str(busy, "result"), "ok");
  EXPECT_GT(busy.at("cpu_percent").to_number<double>(), 1.0);
  auto status = forge({"autoscale", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("busy"), std::string::npos);
  EXPECT_NE(status.out.find("1->2"), std::string::npos) << status.out;

  manager.signal(SIGTERM);
  EXPECT_TRUE(manager.wait(20s));
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace forge::test
