// Releases on disk and the deployments table (on every storage backend).
#include "deploy/deployment.h"
#include "manager/releases.h"
#include "manager/service_config.h"
#include "ops/program.h"
#include "storage/backends.h"
#include "storage/migrations.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace forge::ops {
namespace {

namespace fs = std::filesystem;

class ReleasesTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("forge-releases-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "forge.yaml") << "log: {level: debug}\n";
    script("forge", "echo 'forge 9.9.1 (abc, Release)'");
    script("other", "echo 'hello 1.0'");
  }
  std::string script(const std::string& name, const std::string& body) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string data() const { return (dir_ / "data").string(); }
  fs::path dir_;
};

TEST_F(ReleasesTest, AnInstalledReleaseHoldsCopiesAndPointersMoveAtomically) {
  const std::string self = (dir_ / "forge").string();
  auto first = installRelease(data(), {self, (dir_ / "forge.yaml").string(), ""}, "1.0");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = installRelease(data(), {self, "", ""}, "1.1");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(first->id, second->id); // same second: a suffix keeps them apart, in order
  EXPECT_LT(first->id, second->id);
  EXPECT_TRUE(fs::exists(fs::path(first->dir) / "forge"));
  EXPECT_TRUE(fs::exists(fs::path(first->dir) / "forge.yaml"));
  EXPECT_FALSE(fs::exists(fs::path(second->dir) / "forge.yaml"));
  EXPECT_EQ(releaseInfo(*first).at("version").as_string(), "1.0");
  EXPECT_EQ(filesOf(*first).gateway_config, (fs::path(first->dir) / "forge.yaml").string());
  EXPECT_TRUE(filesOf(*second).gateway_config.empty());

  auto none = manager::resolveRelease(data(), manager::kCurrentRelease);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(manager::pointRelease(data(), manager::kCurrentRelease, first->id).ok());
  ASSERT_TRUE(manager::pointRelease(data(), manager::kCurrentRelease, second->id).ok());
  auto current = manager::resolveRelease(data(), manager::kCurrentRelease);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->id, second->id);
  EXPECT_FALSE(manager::pointRelease(data(), "blue", "no-such-release").ok());
  const auto all = manager::listReleases(data());
  ASSERT_EQ(all.size(), 2u); // pointers are not releases
  EXPECT_EQ(all[0].id, first->id);

  // A pointer whose release was deleted says so.
  fs::remove_all(second->dir);
  auto dangling = manager::resolveRelease(data(), manager::kCurrentRelease);
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.error().message.find("not a release directory"), std::string::npos);
}

TEST_F(ReleasesTest, AReleaseNeedsABinaryThatAnswersLikeForge) {
  EXPECT_FALSE(installRelease(data(), {"", "", ""}, "1").ok());
  auto version = binaryVersion((dir_ / "forge").string());
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(*version, "9.9.1");
  auto other = binaryVersion((dir_ / "other").string());
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("not a forge version"), std::string::npos);
  auto missing = binaryVersion((dir_ / "nope").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot run"), std::string::npos)
      << missing.error().message;
  auto ran =
      runProgram({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(5));
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(ran->exit_code, 3);
  EXPECT_EQ(ran->out, "out\n");
  EXPECT_EQ(ran->err, "err\n");
  auto slow = runProgram({"/bin/sleep", "5"}, std::chrono::milliseconds(100));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, core::Errc::kTimeout);
}

TEST(ReleasePlaceholderTest, ReleaseIsReplacedInTheCommandAndEnvironment) {
  manager::ServiceConfig s;
  s.name = "gateway";
  s.command = {"{release}/forge", "gateway", "--config", "{release}/forge.yaml"};
  s.env = {{"FORGE_CONFIG_DIR", "{release}"}, {"OTHER", "x"}};
  EXPECT_TRUE(manager::usesRelease(s));
  const auto argv = manager::replicaCommand(s, 0, "/d", "/d/releases/r1");
  EXPECT_EQ(argv[0], "/d/releases/r1/forge");
  EXPECT_EQ(argv[3], "/d/releases/r1/forge.yaml");
  EXPECT_EQ(manager::replicaEnv(s, "/d/releases/r1").at("FORGE_CONFIG_DIR"), "/d/releases/r1");
  s.command = {"forge", "gateway"};
  s.env.clear();
  EXPECT_FALSE(manager::usesRelease(s));
  manager::ServiceConfig other = s;
  EXPECT_EQ(other, s);
  other.release = "blue";
  EXPECT_NE(other, s);
}

class DeploymentLogTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    db_ = test::openTestDatabase(GetParam());
    ASSERT_TRUE(db_);
    auto version = storage::migrate(*db_);
    ASSERT_TRUE(version.ok()) << version.error().message;
  }
  storage::DatabasePtr db_;
};

TEST_P(DeploymentLogTest, RecordsDeploymentsWithTheirStepsNewestFirst) {
  DeploymentLog log(*db_);
  Deployment apply{.kind = "apply", .from_release = "r1", .from_version = "1.0"};
  ASSERT_TRUE(log.begin(apply).ok());
  EXPECT_FALSE(apply.id.empty());
  auto ok = runStep(apply.steps, "install", [] { return core::Result<std::string>("done"); }, {});
  EXPECT_TRUE(ok.ok());
  std::vector<std::string> heard;
  auto failed = runStep(
      apply.steps, "restart gateway",
      [] {
        return core::Result<std::string>(core::Error{core::Errc::kTimeout, "too slow"});
      },
      [&](const std::string& line) { heard.push_back(line); });
  EXPECT_FALSE(failed.ok());
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_NE(heard[1].find("FAILED"), std::string::npos) << heard[1];
  apply.result = "failed";
  apply.to_release = "r2";
  ASSERT_TRUE(log.finish(apply).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Deployment rollback{.kind = "rollback", .from_release = "r2"};
  ASSERT_TRUE(log.begin(rollback).ok());

  auto recent = log.recent(10);
  ASSERT_TRUE(recent.ok()) << recent.error().message;
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].kind, "rollback");
  EXPECT_EQ((*recent)[0].result, "running");
  const auto& first = (*recent)[1];
  EXPECT_EQ(first.result, "failed");
  EXPECT_EQ(first.to_release, "r2");
  EXPECT_FALSE(first.finished_at.empty());
  ASSERT_EQ(first.steps.size(), 2u);
  EXPECT_TRUE(first.steps[0].ok);
  EXPECT_EQ(first.steps[1].name, "restart gateway");
  EXPECT_FALSE(first.steps[1].ok);
  EXPECT_EQ(first.steps[1].detail, "too slow");
  EXPECT_EQ(log.recent(1)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeploymentLogTest, ::testing::ValuesIn(test::storageBackends()),
                         test::backendName);

} // namespace
} // namespace forge::ops
