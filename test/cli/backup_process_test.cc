// Backups and recovery of a live stack, with the real binaries: a gateway on a data directory
// with upstreams and servers registered, tool calls and writes in flight while `forge backup
// create` runs; then verify, restore into another directory (and a refused restore under the
// running gateway), verify-restore, `forge dr test` measuring the recovery time, and
// `forge db` / `forge prune` on the same data.
#include "support/api_client.h"
#include "support/child_process.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace forge::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class BackupProcessTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = freshTestDir("forge-backup");
    writeFixtureConfig(dir_, FORGE_FIXTURE_BINARY);
    gateway_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        FORGE_BINARY, "gateway", "--config", (dir_ / "forge.yaml").string(), "--server-port", "0",
        "--data-dir", data()});
    const std::string marker = "listening on http://127.0.0.1:";
    auto line = gateway_->waitForLine(marker, 10s);
    ASSERT_TRUE(line) << gateway_->err();
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->find(marker) + marker.size())));
    ASSERT_TRUE(gateway_->waitForLine("upstream fixture: discovered", 10s)) << gateway_->err();
    // A second upstream registered through the API, and a few virtual servers.
    const auto added = request(port_, "POST", "/gateways",
                               json::serialize(json::object{{"name", "extra"},
                                                            {"transport", "stdio"},
                                                            {"command", FORGE_FIXTURE_BINARY},
                                                            {"args", json::array{"--stdio"}}}),
                               {{"Content-Type", "application/json"}}, 20s);
    ASSERT_EQ(added.status, 201) << added.body;
    for (int i = 0; i < 5; ++i)
      addServer(fmt::format("before-{}", i));
  }
  void TearDown() override {
    gateway_.reset();
    fs::remove_all(dir_);
  }

  std::string data() const { return (dir_ / "data").string(); }
  bool addServer(const std::string& name) {
    const auto reply =
        request(port_, "POST", "/servers",
                json::serialize(json::object{{"server", json::object{{"name", name}}}}),
                {{"Content-Type", "application/json"}});
    return reply.status == 201;
  }
  CommandResult forge(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
    args.insert(args.begin(), FORGE_BINARY);
    return runCommand(std::move(args), {}, dir_.string(), timeout);
  }
  static json::value jsonOf(const CommandResult& result) {
    boost::system::error_code ec;
    auto value = json::parse(result.out, ec);
    EXPECT_FALSE(ec) << result.out << result.err;
    return ec ? json::value() : value;
  }
  // A URL where no gateway answers (restore looks for one at --gateway-url).
  static std::string nobody() { return fmt::format("http://127.0.0.1:{}", freePort()); }

  fs::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  std::uint16_t port_ = 0;
};

TEST_F(BackupProcessTest, BackupWhileWritingThenVerifyRestoreAndDrill) {
  // ---- load: tool calls and writes in flight during the backups
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::atomic<int> call_failures{0};
  std::atomic<int> writes{0};
  std::thread caller([&] {
    McpClient client(port_, "/mcp");
    if (!client.initialize()) {
      call_failures = 1000;
      return;
    }
    while (!stop) {
      const auto answer = client.callTool("fixture__echo", {{"message", "hi"}});
      (isError(answer) ? call_failures : calls)++;
    }
  });
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      if (addServer(fmt::format("during-{}", i))) ++writes;
    }
  });
  // However the test ends, the load stops and its threads are joined.
  struct StopLoad {
    std::atomic<bool>& stop;
    std::thread& a;
    std::thread& b;
    ~StopLoad() {
      stop = true;
      if (a.joinable()) a.join();
      if (b.joinable()) b.join();
    }
  } stop_load{stop, caller, writer};
  ASSERT_TRUE(eventually([&] { return calls > 5 && writes > 5; }, 20s));
  const int writes_at_start = writes;
  const auto created = forge({"backup", "create", "--data-dir", data(), "--json"});
  const auto second = forge({"backup", "create", "--data-dir", data(), "--keep", "5", "--json"});
  const int writes_before = writes;
  // The gateway went on committing writes while the backups were taken.
  EXPECT_GT(writes_before, writes_at_start);
  ASSERT_TRUE(eventually([&] { return writes > writes_before + 3; }, 20s));
  stop = true;
  caller.join();
  writer.join();
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(created.err.find("online backup"), std::string::npos) << created.err; // progress
  EXPECT_EQ(call_failures, 0);
  const auto manifest = jsonOf(second);
  const std::string id = str(manifest, "id");
  const auto& tables = manifest.at("tables").as_object();
  EXPECT_EQ(tables.at("gateways").as_int64(), 2);
  EXPECT_GE(tables.at("servers").as_int64(), 5 + 5);
  EXPECT_EQ(str(manifest, "backend"), "sqlite");
  EXPECT_GT(manifest.at("size").to_number<std::uint64_t>(), 0u);

  // ---- list and verify
  const auto listed = forge({"backup", "list", "--data-dir", data()});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find(id), std::string::npos) << listed.out;
  const auto verified = forge({"backup", "verify", id, "--data-dir", data(), "--json"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_EQ(str(jsonOf(verified), "status"), "ok");

  // ---- restore: refused onto the running gateway's data, done into another directory
  const auto refused =
      forge({"backup", "restore", id, "--data-dir", data(), "--gateway-url", nobody()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("refusing to restore while the stack runs"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find(std::to_string(gateway_->pid())), std::string::npos) << refused.err;

  const std::string other = (dir_ / "other").string();
  const auto restored = forge({"backup", "restore", id, "--data-dir", other, "--backup-dir",
                               data() + "/backups", "--gateway-url", nobody()});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  EXPECT_NE(restored.out.find("next:"), std::string::npos) << restored.out;
  EXPECT_TRUE(fs::exists(fs::path(other) / "forge.db"));
  EXPECT_TRUE(fs::exists(fs::path(other) / "secrets.json"));
  const auto stats = forge({"db", "stats", "--data-dir", other, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto restored_stats = jsonOf(stats);
  for (const auto& table : restored_stats.at("tables").as_array()) {
    const std::string name = str(table, "name");
    EXPECT_EQ(table.at("rows").as_int64(), tables.at(name).as_int64()) << name;
  }

  // ---- verify-restore and the drill
  const auto scratch = forge({"backup", "verify-restore", id, "--data-dir", data(), "--json"});
  EXPECT_EQ(scratch.exit_code, 0) << scratch.out << scratch.err;
  EXPECT_EQ(str(jsonOf(scratch), "status"), "ok") << scratch.out;

  const auto drill = forge({"dr", "test", "--data-dir", data(), "--backup", id, "--config",
                            (dir_ / "forge.yaml").string(), "--json"},
                           120s);
  EXPECT_EQ(drill.exit_code, 0) << drill.out << drill.err;
  const auto report = jsonOf(drill);
  EXPECT_EQ(str(report, "status"), "ok") << drill.out;
  ASSERT_TRUE(report.at("rto_ms").is_int64()) << drill.out;
  const auto rto = report.at("rto_ms").as_int64();
  EXPECT_GT(rto, 0);
  EXPECT_GE(rto, report.at("restore_ms").as_int64() + report.at("start_ms").as_int64());
  EXPECT_LT(rto, 60'000);
  std::printf("dr test: RTO %lld ms (restore %lld ms, start %lld ms), RPO %lld ms\n",
              static_cast<long long>(rto),
              static_cast<long long>(report.at("restore_ms").as_int64()),
              static_cast<long long>(report.at("start_ms").as_int64()),
              static_cast<long long>(report.at("rpo_ms").as_int64()));
  EXPECT_GE(report.at("rpo_ms").as_int64(), 0);
  EXPECT_NE(drill.err.find("dr: restoring backup"), std::string::npos) << drill.err;
  std::set<std::string> checked;
  for (const auto& check : report.at("checks").as_array())
    checked.insert(str(check, "name"));
  EXPECT_TRUE(checked.contains("REST /gateways"));
  EXPECT_TRUE(checked.contains("MCP tools/list"));
}

// A configuration that gives the gateway a certificate (for its public host only) makes the
// drill's scratch gateway serve TLS; the drill speaks TLS to it on 127.0.0.1.
TEST_F(BackupProcessTest, TheDrillReachesAScratchGatewayServingTls) {
  const auto cert = (dir_ / "cert.pem").string();
  const auto key = (dir_ / "key.pem").string();
  const auto made = forge({"certs", "renew", "--cert", cert, "--key", key, "--name",
                           "gateway.example.com", "--days", "30"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::ifstream plain(dir_ / "forge.yaml");
  std::stringstream config;
  config << plain.rdbuf() << fmt::format("server:\n  tls_cert: {}\n  tls_key: {}\n", cert, key);
  std::ofstream(dir_ / "tls.yaml") << config.str();

  const auto created = forge({"backup", "create", "--data-dir", data(), "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  const auto drill =
      forge({"dr", "test", "--data-dir", data(), "--backup", str(jsonOf(created), "id"), "--config",
             (dir_ / "tls.yaml").string(), "--json"},
            120s);
  EXPECT_EQ(drill.exit_code, 0) << drill.out << drill.err;
  const auto report = jsonOf(drill);
  EXPECT_EQ(str(report, "status"), "ok") << drill.out;
  EXPECT_EQ(str(report, "scheme"), "https") << drill.out;
  EXPECT_TRUE(report.at("rto_ms").is_int64()) << drill.out;
  std::set<std::string> passed;
  for (const auto& check : report.at("checks").as_array()) {
    if (str(check, "status") == "ok") passed.insert(str(check, "name"));
  }
  EXPECT_TRUE(passed.contains("REST /gateways")) << drill.out;
  EXPECT_TRUE(passed.contains("MCP tools/list")) << drill.out;
}

TEST_F(BackupProcessTest, DbStatusVacuumAndPruneOnALiveStack) {
  const auto status = forge({"db", "status", "--data-dir", data()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("pending migrations"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("none"), std::string::npos) << status.out;
  const auto vacuum = forge({"db", "vacuum", "--data-dir", data(), "--json"});
  EXPECT_EQ(vacuum.exit_code, 0) << vacuum.out << vacuum.err;
  const auto pruned =
      forge({"prune", "--older-than", "30", "--dry-run", "--data-dir", data(), "--json"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_TRUE(jsonOf(pruned).at("dry_run").as_bool());
  const auto missing = forge({"db", "status", "--data-dir", (dir_ / "nowhere").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no database at"), std::string::npos) << missing.err;
  // The gateway still answers after all of it.
  EXPECT_TRUE(addServer("after-maintenance"));
}

TEST_F(BackupProcessTest, ScheduleRunLoopBacksUpAndPrunesUntilSigterm) {
  ChildProcess loop({FORGE_BINARY, "backup", "schedule", "--run", "--every", "1s", "--keep", "2",
                     "--data-dir", data()});
  ASSERT_TRUE(eventually(
      [&] {
        std::size_t n = 0;
        for (auto pos = loop.out().find("backup "); pos != std::string::npos;
             pos = loop.out().find("backup ", pos + 1))
          ++n;
        return n >= 3;
      },
      30s))
      << loop.out() << loop.err();
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(10s), 0) << loop.err();
  EXPECT_NE(loop.out().find("pruned"), std::string::npos) << loop.out();
  const auto listed = forge({"backup", "list", "--data-dir", data(), "--json"});
  EXPECT_EQ(jsonOf(listed).at("backups").as_array().size(), 2u) << listed.out;
  const auto printed = forge(
      {"backup", "schedule", "--every", "6h", "--keep", "28", "--print", "--data-dir", data()});
  EXPECT_EQ(printed.exit_code, 0);
  EXPECT_NE(printed.out.find("0 */6 * * * "), std::string::npos) << printed.out;
  EXPECT_NE(printed.out.find("OnUnitActiveSec=21600s"), std::string::npos) << printed.out;
}

} // namespace
} // namespace forge::test
